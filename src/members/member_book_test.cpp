#include "members/member_book.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "core/random.hpp"

namespace pond {
namespace {

Identity Phone(std::string v) { return {IdentityKind::kPhone, std::move(v)}; }
Identity Union(std::string v) { return {IdentityKind::kUnionid, std::move(v)}; }
MemberRef Ref(std::vector<Identity> ids) { return MemberRef{std::move(ids), std::nullopt}; }

TEST(MemberBookTest, UnknownIdentityCreatesAMemberWithItsSource) {
  MemberBook book;
  auto r = book.Resolve(Ref({Phone("13800000001")}), Timestamp::FromSeconds(100), "order");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->created);
  EXPECT_EQ(r->member, 1);
  EXPECT_EQ(book.Get(1)->profile.source, "order");
  auto again = book.Resolve(Ref({Phone("13800000001")}), Timestamp::FromSeconds(200), "order");
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->member, 1);
  EXPECT_TRUE(again->attached.empty());
}

TEST(MemberBookTest, TwoIdentitiesOnTwoMembersMergeIntoTheOlder) {
  MemberBook book;
  ASSERT_TRUE(book.Resolve(Ref({Phone("13800000001")}), Timestamp::FromSeconds(1), "store_qr").ok());
  ASSERT_TRUE(book.Resolve(Ref({Union("o6_abc")}), Timestamp::FromSeconds(2), "official_account").ok());
  book.UpdateProfile(2, MemberProfile{.name = "王小明"});
  auto r = book.Resolve(Ref({Union("o6_abc"), Phone("13800000001")}), Timestamp::FromSeconds(3), "x");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->member, 1);
  ASSERT_EQ(r->merges.size(), 1u);
  EXPECT_EQ(r->merges[0].merged, 2);
  EXPECT_EQ(r->merges[0].reason, "phone+unionid");
  EXPECT_EQ(book.Standing(2), 1);
  EXPECT_EQ(book.FindByIdentity(Union("o6_abc")), 1);
  EXPECT_EQ(book.Get(1)->profile.name, "王小明");  // learnt from the merged member
  EXPECT_EQ(book.Get(1)->profile.source, "store_qr");  // the survivor's own stays
  EXPECT_EQ(book.Get(1)->identities.size(), 2u);
  EXPECT_EQ(book.standing_count(), 1);
}

TEST(MemberBookTest, UnknownMemberIdIsAFieldError) {
  MemberBook book;
  auto r = book.Resolve(MemberRef{{}, 7}, Timestamp(), "order");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().field_errors()[0].field, "member.member_id");
  EXPECT_EQ(book.size(), 0);
}

TEST(MemberBookTest, ReloadingRowsRebuildsTheSameBook) {
  MemberBook live;
  ASSERT_TRUE(live.Resolve(Ref({Phone("1"), Union("a")}), Timestamp::FromSeconds(1), "s").ok());
  ASSERT_TRUE(live.Resolve(Ref({Phone("2")}), Timestamp::FromSeconds(2), "s").ok());
  ASSERT_TRUE(live.Resolve(Ref({Phone("2"), Union("a")}), Timestamp::FromSeconds(3), "s").ok());
  MemberBook loaded;
  // Rows as the store keeps them: each member as it stands now, the
  // merged one pointing at its survivor; then the merge, for the history.
  for (MemberId id : {1, 2}) {
    Member row = *live.Get(id);
    row.merges.clear();
    loaded.LoadMember(row);
  }
  EXPECT_EQ(loaded.Standing(2), 1);
  EXPECT_TRUE(loaded.LoadMerge(live.Get(1)->merges[0]));
  EXPECT_FALSE(loaded.LoadMerge(MergeRecord{1, 9, Timestamp::FromSeconds(4), "phone"}));
  EXPECT_EQ(loaded.FindByIdentity(Phone("2")), 1);
  EXPECT_EQ(loaded.standing_count(), 1);
  EXPECT_EQ(loaded.Get(1)->identities, live.Get(1)->identities);
  EXPECT_EQ(loaded.Get(1)->merges.size(), 1u);
}

// Model: identities are nodes; every resolved reference joins its identities
// into one person (union-find over identities). The book must put two
// identities on the same standing member exactly when the model joined them.
TEST(MemberBookTest, RandomReferencesAgreeWithAUnionFindModel) {
  Random rng(42);
  MemberBook book;
  std::map<std::string, std::string> parent;
  std::function<std::string(const std::string&)> root = [&](const std::string& x) {
    return parent[x] == x ? x : parent[x] = root(parent[x]);
  };
  std::set<std::string> seen;
  for (int step = 0; step < 5000; ++step) {
    std::vector<Identity> ids;
    const int n = 1 + static_cast<int>(rng.Uniform(3));
    for (int i = 0; i < n; ++i) {
      const auto kind = static_cast<IdentityKind>(rng.Uniform(kIdentityKinds));
      ids.push_back({kind, std::to_string(rng.Uniform(800))});
    }
    ASSERT_TRUE(book.Resolve(Ref(ids), Timestamp::FromSeconds(step), "t").ok());
    for (const auto& id : ids) {
      std::string key = std::string(IdentityKindName(id.kind)) + id.value;
      if (seen.insert(key).second) parent[key] = key;
    }
    for (size_t i = 1; i < ids.size(); ++i) {
      parent[root(std::string(IdentityKindName(ids[i].kind)) + ids[i].value)] =
          root(std::string(IdentityKindName(ids[0].kind)) + ids[0].value);
    }
  }
  // Compare every pair through a canonical representative.
  std::map<std::string, MemberId> member_of_root;
  for (const auto& key : seen) {
    const auto kind_end = key.find_first_of("0123456789");
    const auto kind = *IdentityKindFromName(key.substr(0, kind_end));
    const MemberId m = book.FindByIdentity({kind, key.substr(kind_end)});
    ASSERT_NE(m, 0);
    auto [it, inserted] = member_of_root.emplace(root(key), m);
    ASSERT_EQ(it->second, m) << key;
  }
  std::set<MemberId> distinct;
  for (const auto& [r, m] : member_of_root) distinct.insert(m);
  EXPECT_EQ(distinct.size(), member_of_root.size());
  EXPECT_EQ(book.standing_count(), static_cast<int64_t>(distinct.size()));
}

}  // namespace
}  // namespace pond
