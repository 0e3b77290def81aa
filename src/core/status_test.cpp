#include "core/status.hpp"

#include <gtest/gtest.h>

namespace pond {
namespace {

Result<int> Half(int x) {
  if (x % 2) return FieldInvalid("x", "must be even");
  return x / 2;
}

Result<int> Quarter(int x) {
  ASSIGN_OR_RETURN(int h, Half(x));
  ASSIGN_OR_RETURN(int q, Half(h));
  return q;
}

Status Check(int x) {
  RETURN_IF_ERROR(Half(x));
  return Status::Ok();
}

TEST(StatusTest, FieldErrorsAndContextAreKept) {
  Status s = FieldInvalid("items[2].qty", "must be > 0");
  s.With("order_id", "A1");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  ASSERT_EQ(s.field_errors().size(), 1u);
  EXPECT_EQ(s.field_errors()[0].field, "items[2].qty");
  EXPECT_EQ(s.ToString(), "InvalidArgument: items[2].qty must be > 0 {items[2].qty: must be > 0} [order_id=A1]");
}

TEST(StatusTest, MacrosPropagateTheFirstError) {
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_FALSE(Quarter(6).ok());
  EXPECT_EQ(Quarter(6).status().field_errors()[0].reason, "must be even");
  EXPECT_TRUE(Check(4).ok());
  EXPECT_EQ(Check(3).code(), StatusCode::kInvalidArgument);
}

}  // namespace
Status Loads(bool fail) {
  RETURN_IF_ERROR(fail ? Internal("row does not decode") : Status::Ok(), "tenant", "acme", "tick", 42);
  return Status::Ok();
}

TEST(StatusTest, ReturnIfErrorAddsTheContextGiven) {
  EXPECT_TRUE(Loads(false).ok());
  const Status s = Loads(true);
  EXPECT_EQ(s.code(), StatusCode::kInternal);
  EXPECT_EQ(s.message(), "row does not decode");
  EXPECT_NE(s.ToString().find("tenant=acme"), std::string::npos) << s.ToString();
  EXPECT_NE(s.ToString().find("tick=42"), std::string::npos) << s.ToString();
}

}  // namespace pond
