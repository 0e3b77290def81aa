// MemberBook: a tenant's members, their identities and the merges between
// them — the identity resolution of DOMAIN.md §1 and CONTRACT.md.
//
// Members are numbered densely from 1 (member_id) in creation order. An
// identity (phone, unionid, external_userid, pos_id) belongs to exactly one
// standing member. When one event names identities held by two members, the
// younger member is merged into the older one (the survivor): identities and
// history move, the merged member keeps its number and points at the
// survivor, and the merge is recorded. Lookups by a merged member's number
// land on the survivor.
//
// Pure in-memory logic, no I/O. Not thread-safe: the tenant engine calls
// mutators from its writer thread and readers under its read lock.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/hash_index.hpp"
#include "core/stable_vector.hpp"
#include "core/status.hpp"
#include "core/time.hpp"
#include "events/event.hpp"

namespace pond {

struct MergeRecord {
  MemberId survivor = 0;
  MemberId merged = 0;
  Timestamp at;
  std::string reason;  // the identity kinds that met: "phone+unionid"
};

struct Member {
  MemberId id = 0;
  MemberProfile profile;
  std::vector<Identity> identities;  // sorted by kind, then value: the same live and after a reload
  MemberId merged_into = 0;          // 0 while standing on its own
  Timestamp created_at;
  std::vector<MergeRecord> merges;   // merges this member survived, oldest first
  // Digests of the member events applied to this member (the newest
  // kMaxEventDigests), so that a re-sent event is known as a duplicate even
  // after a merge moved it to another member.
  std::vector<uint64_t> event_digests;
};

inline constexpr size_t kMaxEventDigests = 16;

// What resolving one member reference did, so the caller can persist it.
struct Resolution {
  MemberId member = 0;                  // the standing member the reference names
  bool created = false;                 // a new member was made for it
  std::vector<Identity> attached;       // identities newly attached to `member`
  std::vector<MergeRecord> merges;      // merges this resolution performed
};

class MemberBook {
 public:
  // The member numbered `id` as stored (possibly merged), or nullptr.
  const Member* Get(MemberId id) const;
  // The standing member that `id` is or was merged into; 0 if unknown.
  MemberId Standing(MemberId id) const;
  // Every member merged into `survivor`, and into those, oldest merge
  // first: what per-member limits count together with it (CONTRACT.md
  // "Merged members and per-member limits"). Empty for most members.
  std::vector<MemberId> MergedInto(MemberId survivor) const;
  // The standing member holding `identity`; 0 if none.
  MemberId FindByIdentity(const Identity& identity) const;
  // Finds without changing anything: the standing member `ref` names, or 0
  // when its identities are unknown or point at several members.
  MemberId Find(const MemberRef& ref) const;

  // Resolves `ref` for a write: finds its member, creating one (with
  // `source_if_created` as first touchpoint) when no identity is known, and
  // merging when the identities point at several members. NotFound when
  // ref.member_id names no member.
  Result<Resolution> Resolve(const MemberRef& ref, Timestamp now, std::string_view source_if_created);

  // Sets the fields present in `update`; returns whether anything changed.
  bool UpdateProfile(MemberId id, const MemberProfile& update);

  // Whether a member event with this digest was applied to the member (or
  // to one merged into it).
  bool HasSeenEvent(MemberId id, uint64_t digest) const;
  // Remembers a member event's digest, forgetting the oldest past the cap.
  void RememberEvent(MemberId id, uint64_t digest);

  // Number of member numbers handed out, merged ones included.
  int64_t size() const { return static_cast<int64_t>(members_.size()); }
  // Members standing on their own.
  int64_t standing_count() const { return standing_; }

  // Rebuilding from the store: every member as it stands (with the
  // identities it holds and, when merged, its survivor), in id order; then
  // the merges, oldest first, which add the survivors' histories only.
  void LoadMember(Member member);
  // False when either member is unknown.
  bool LoadMerge(const MergeRecord& merge);

 private:
  static uint64_t Hash(const Identity& identity);
  // Whether the standing member that `holder` is or was merged into holds it.
  bool Holds(MemberId holder, const Identity& identity) const;
  // Records `holder` as the first holder of `identity` in the index.
  void Index(const Identity& identity, MemberId holder) {
    by_identity_.Insert(Hash(identity), static_cast<int32_t>(holder));
  }
  Member* Mutable(MemberId id) { return &members_[static_cast<size_t>(id - 1)]; }
  // Adds `identity` to a member's sorted list.
  static void Insert(Member& m, Identity identity);
  // Moves identities and merge history of `merged` onto `survivor`.
  void MoveInto(MemberId survivor, MemberId merged, const MergeRecord& record);

  StableVector<Member> members_;  // growing never moves members
  // Identity → the member that held it when it was learnt (follow merges).
  // The values themselves live in the members' identity lists. Member
  // numbers fit 32 bits: the largest brands hold tens of millions, not 2^31.
  HashIndex<int32_t> by_identity_;
  int64_t standing_ = 0;
};

// "138****0001": the first three and last four digits of a phone.
std::string MaskPhone(std::string_view phone);

}  // namespace pond
