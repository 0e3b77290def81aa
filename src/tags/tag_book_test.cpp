#include "tags/tag_book.hpp"

#include <gtest/gtest.h>

#include "segments/expr.hpp"

namespace pond::tags {
namespace {

TagDefinition Manual(std::string name) {
  return TagDefinition{std::move(name), "活动", TagKind::kManual, "", "", "E0007", Timestamp::FromMicros(5)};
}

std::string FirstError(const Status& s) {
  return s.field_errors().empty() ? "" : s.field_errors()[0].field + ": " + s.field_errors()[0].reason;
}

TEST(TagBookTest, DefinitionsAreCheckedFieldByField) {
  EXPECT_TRUE(CheckDefinition(Manual("双11到店")).ok());
  EXPECT_EQ(FirstError(CheckDefinition(Manual(""))), "name: is required");
  EXPECT_EQ(FirstError(CheckDefinition(Manual(" vip"))), "name: must not start or end with a space");
  for (const char* invisible : {"\u3000VIP", "VIP\u00a0", "\u200bVIP", "VIP\ufeff"}) {
    EXPECT_EQ(FirstError(CheckDefinition(Manual(invisible))), "name: must not start or end with a space") << invisible;
  }
  EXPECT_TRUE(CheckDefinition(Manual("会员 日")).ok()) << "inside is fine";
  EXPECT_EQ(FirstError(CheckDefinition(Manual("a|b"))), "name: must not contain '|', which separates tags in exports");
  EXPECT_FALSE(CheckDefinition(Manual("tier:")).ok());
  EXPECT_EQ(FirstError(CheckDefinition(Manual("a\tb"))), "name: must not contain control characters");
  EXPECT_EQ(FirstError(CheckDefinition(Manual(std::string(101, 'x')))), "name: must be at most 100 bytes");
  EXPECT_EQ(FirstError(CheckDefinition(Manual("tier:vip"))),
            "name: starts with a system tag prefix (tier:, lifecycle:, rfm:, source:, home_store:)");
  TagDefinition rule = Manual("r");
  rule.kind = TagKind::kRule;
  EXPECT_EQ(FirstError(CheckDefinition(rule)), "rule: is required for a rule tag");
  TagDefinition manual_with_rule = Manual("m");
  manual_with_rule.rule = "points > 1";
  EXPECT_EQ(FirstError(CheckDefinition(manual_with_rule)), "rule: is only for rule tags");
}

TEST(TagBookTest, DefaultsAreValidRulesInCanonicalForm) {
  const std::vector<TagDefinition> defaults = DefaultTags();
  ASSERT_EQ(defaults.size(), 5u);
  for (const TagDefinition& d : defaults) {
    EXPECT_TRUE(CheckDefinition(d).ok()) << d.name;
    auto parsed = segments::ParseExpr(d.rule);
    ASSERT_TRUE(parsed.ok()) << d.name << ": " << parsed.status().ToString();
    EXPECT_EQ(segments::ToText(**parsed), d.rule) << "stored rules are canonical";
  }
  TagBook book;
  EXPECT_NE(book.Find("零食吃货"), nullptr);
}

TEST(TagBookTest, DefinitionsSurviveTheirJsonDocument) {
  TagBook book;
  book.Put(Manual("双11到店"));
  book.Remove("囤货达人");
  auto back = ParseTagDefinitions(TagDefinitionsJson(book));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  TagBook loaded;
  loaded.Reset(*back);
  ASSERT_EQ(loaded.definitions().size(), book.definitions().size());
  EXPECT_EQ(loaded.Find("囤货达人"), nullptr);
  const TagDefinition* d = loaded.Find("双11到店");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->group, "活动");
  EXPECT_EQ(d->created_by, "E0007");
  EXPECT_EQ(d->created_at, Timestamp::FromMicros(5));
  EXPECT_EQ(loaded.Find("爱美妆")->rule, book.Find("爱美妆")->rule);
  EXPECT_FALSE(ParseTagDefinitions("[]").ok());
  EXPECT_FALSE(ParseTagDefinitions(R"({"tags":[{"name":"tier:x"}]})").ok());
}

TEST(TagBookTest, TheLastAddSaysWhoAndWhenWhileTheMemberHoldsTheTag) {
  TagBook book;
  book.Record(TagOperation{1, "vip", true, "E1", Timestamp::FromMicros(10), "", {3, 5, 9}});
  book.Record(TagOperation{2, "other", true, "E2", Timestamp::FromMicros(20), "", {5}});
  book.Record(TagOperation{3, "vip", false, "E3", Timestamp::FromMicros(30), "", {5}});
  book.Record(TagOperation{4, "vip", true, "E4", Timestamp::FromMicros(40), "", {9}});
  ASSERT_NE(book.LastAdd("vip", 3), nullptr);
  EXPECT_EQ(book.LastAdd("vip", 3)->by, "E1");
  EXPECT_EQ(book.LastAdd("vip", 5), nullptr) << "removed by operation 3";
  EXPECT_EQ(book.LastAdd("vip", 9)->by, "E4");
  EXPECT_EQ(book.LastAdd("vip", 4), nullptr);
  EXPECT_EQ(book.next_operation_id(), 5);
  const auto ops = book.OperationsOf("vip", 2);
  ASSERT_EQ(ops.size(), 2u);
  EXPECT_EQ(ops[0]->id, 4);
  EXPECT_EQ(ops[1]->id, 3);
}

}  // namespace
}  // namespace pond::tags
