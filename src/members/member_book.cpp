#include "members/member_book.hpp"

#include <algorithm>

namespace pond {
namespace {
bool IdentityLess(const Identity& a, const Identity& b) {
  return a.kind != b.kind ? a.kind < b.kind : a.value < b.value;
}
}  // namespace

uint64_t MemberBook::Hash(const Identity& identity) {
  return HashKey(identity.value) + (static_cast<uint64_t>(identity.kind) + 1) * 0x9e3779b97f4a7c15ULL;
}

bool MemberBook::Holds(MemberId holder, const Identity& identity) const {
  const Member* m = Get(Standing(holder));
  return m && std::binary_search(m->identities.begin(), m->identities.end(), identity, IdentityLess);
}

const Member* MemberBook::Get(MemberId id) const {
  if (id < 1 || id > size()) return nullptr;
  return &members_[static_cast<size_t>(id - 1)];
}

MemberId MemberBook::Standing(MemberId id) const {
  const Member* m = Get(id);
  while (m && m->merged_into) m = Get(m->merged_into);
  return m ? m->id : 0;
}

std::vector<MemberId> MemberBook::MergedInto(MemberId survivor) const {
  std::vector<MemberId> out;
  const Member* m = Get(survivor);
  if (m == nullptr || m->merges.empty()) return out;
  std::vector<MemberId> survivors = {survivor};
  for (size_t i = 0; i < survivors.size(); ++i) {
    for (const MergeRecord& merge : Get(survivors[i])->merges) {
      out.push_back(merge.merged);
      survivors.push_back(merge.merged);
    }
  }
  return out;
}

MemberId MemberBook::FindByIdentity(const Identity& identity) const {
  const int32_t* holder = by_identity_.Find(Hash(identity), [&](int32_t h) { return Holds(h, identity); });
  return holder ? Standing(*holder) : 0;
}

MemberId MemberBook::Find(const MemberRef& ref) const {
  MemberId found = ref.member_id ? Standing(*ref.member_id) : 0;
  if (ref.member_id && !found) return 0;
  for (const Identity& identity : ref.identities) {
    const MemberId m = FindByIdentity(identity);
    if (!m) continue;
    if (found && m != found) return 0;
    found = m;
  }
  return found;
}

Result<Resolution> MemberBook::Resolve(const MemberRef& ref, Timestamp now, std::string_view source_if_created) {
  Resolution res;
  // Every standing member the reference touches, with the identity kinds that
  // led to it (for the merge reason).
  std::vector<std::pair<MemberId, std::string>> touched;
  auto touch = [&](MemberId m, std::string_view why) {
    for (auto& [id, reason] : touched) {
      if (id == m) {
        reason += "+";
        reason += why;
        return;
      }
    }
    touched.emplace_back(m, std::string(why));
  };
  if (ref.member_id) {
    const MemberId m = Standing(*ref.member_id);
    if (!m) {
      return FieldInvalid("member.member_id", "unknown member " + std::to_string(*ref.member_id))
          .With("member_id", std::to_string(*ref.member_id));
    }
    touch(m, "member_id");
  }
  for (const Identity& identity : ref.identities) {
    if (const MemberId m = FindByIdentity(identity)) touch(m, IdentityKindName(identity.kind));
  }

  if (touched.empty()) {
    Member m;
    m.id = size() + 1;
    m.created_at = now;
    m.profile.source = std::string(source_if_created);
    m.profile.registered_at = now;
    members_.push_back(std::move(m));
    ++standing_;
    res.member = size();
    res.created = true;
  } else {
    // The oldest member survives: it is the one most systems already know.
    std::sort(touched.begin(), touched.end());
    res.member = touched.front().first;
    for (size_t i = 1; i < touched.size(); ++i) {
      MergeRecord record{res.member, touched[i].first, now, touched.front().second + "+" + touched[i].second};
      Member& merged = *Mutable(record.merged);
      Member& survivor = *Mutable(record.survivor);
      // The survivor keeps what it knows and learns what only the merged knew.
      auto fill = [](auto& into, const auto& from) {
        if (!into && from) into = from;
      };
      fill(survivor.profile.name, merged.profile.name);
      fill(survivor.profile.gender, merged.profile.gender);
      fill(survivor.profile.birthday, merged.profile.birthday);
      fill(survivor.profile.city, merged.profile.city);
      fill(survivor.profile.home_store, merged.profile.home_store);
      fill(survivor.profile.source, merged.profile.source);
      fill(survivor.profile.owner_staff, merged.profile.owner_staff);
      if (merged.profile.registered_at &&
          (!survivor.profile.registered_at || *merged.profile.registered_at < *survivor.profile.registered_at)) {
        survivor.profile.registered_at = merged.profile.registered_at;
      }
      MoveInto(record.survivor, record.merged, record);
      res.merges.push_back(std::move(record));
    }
  }
  for (const Identity& identity : ref.identities) {
    if (FindByIdentity(identity)) continue;  // known, and now on res.member
    Index(identity, res.member);
    Insert(*Mutable(res.member), identity);
    res.attached.push_back(identity);
  }
  return res;
}

void MemberBook::Insert(Member& m, Identity identity) {
  m.identities.insert(std::upper_bound(m.identities.begin(), m.identities.end(), identity, IdentityLess),
                      std::move(identity));
}

void MemberBook::MoveInto(MemberId survivor_id, MemberId merged_id, const MergeRecord& record) {
  Member& merged = *Mutable(merged_id);
  Member& survivor = *Mutable(survivor_id);
  for (Identity& identity : merged.identities) Insert(survivor, std::move(identity));
  merged.identities.clear();
  for (uint64_t digest : merged.event_digests) RememberEvent(survivor_id, digest);
  merged.event_digests.clear();
  merged.merged_into = survivor_id;
  survivor.merges.push_back(record);
  --standing_;
}

bool MemberBook::UpdateProfile(MemberId id, const MemberProfile& update) {
  MemberProfile& p = Mutable(id)->profile;
  const MemberProfile before = p;
  auto set = [](auto& into, const auto& from) {
    if (from) into = from;
  };
  set(p.name, update.name);
  set(p.gender, update.gender);
  set(p.birthday, update.birthday);
  set(p.city, update.city);
  set(p.home_store, update.home_store);
  set(p.source, update.source);
  set(p.owner_staff, update.owner_staff);
  set(p.registered_at, update.registered_at);
  return !(p == before);
}

void MemberBook::LoadMember(Member member) {
  // Rows arrive by member_id; numbers are dense, so a gap means a lost row.
  // Fill it with an empty member so later numbers stay right.
  while (size() < member.id - 1) {
    Member gap;
    gap.id = size() + 1;
    members_.push_back(std::move(gap));
    ++standing_;
  }
  std::sort(member.identities.begin(), member.identities.end(), IdentityLess);
  for (const Identity& identity : member.identities) Index(identity, member.id);
  if (!member.merged_into) ++standing_;
  members_.push_back(std::move(member));
}

bool MemberBook::HasSeenEvent(MemberId id, uint64_t digest) const {
  const auto& seen = Get(id)->event_digests;
  return std::find(seen.begin(), seen.end(), digest) != seen.end();
}

void MemberBook::RememberEvent(MemberId id, uint64_t digest) {
  auto& seen = Mutable(id)->event_digests;
  seen.push_back(digest);
  if (seen.size() > kMaxEventDigests) seen.erase(seen.begin(), seen.end() - kMaxEventDigests);
}

bool MemberBook::LoadMerge(const MergeRecord& merge) {
  if (!Get(merge.survivor) || !Get(merge.merged)) return false;
  Mutable(merge.survivor)->merges.push_back(merge);
  return true;
}

std::string MaskPhone(std::string_view phone) {
  if (phone.size() < 8) return std::string(phone.size(), '*');
  return std::string(phone.substr(0, 3)) + "****" + std::string(phone.substr(phone.size() - 4));
}

}  // namespace pond
