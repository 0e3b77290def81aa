#include "core/stable_vector.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace pond {
namespace {

// Against std::vector (the obvious model), with records that own memory, so
// ASan and LeakSanitizer see every construction and destruction.
TEST(StableVectorTest, HoldsWhatAVectorWouldAndNeverMovesARecord) {
  StableVector<std::string> v;
  std::vector<std::string> model;
  std::vector<const std::string*> addresses;
  for (int i = 0; i < 5000; ++i) {
    std::string s = "record " + std::to_string(i) + std::string(static_cast<size_t>(i % 40), 'x');
    if (i % 3 == 0) {
      v.push_back(s);
    } else {
      v.emplace_back(s);
    }
    model.push_back(s);
    addresses.push_back(&v.back());
  }
  v.resize(5100);
  model.resize(5100);
  ASSERT_EQ(v.size(), model.size());
  for (size_t i = 0; i < model.size(); ++i) {
    ASSERT_EQ(v[i], model[i]) << i;
    if (i < addresses.size()) {
      ASSERT_EQ(&v[i], addresses[i]) << "record " << i << " moved";
    }
  }
  StableVector<std::string> moved = std::move(v);
  EXPECT_EQ(moved.size(), 5100u);
  EXPECT_EQ(&moved[4321], addresses[4321]) << "moving the vector moves no record";
  EXPECT_TRUE(v.empty());  // NOLINT(bugprone-use-after-move): a moved-from vector is empty
  moved = StableVector<std::string>();
  EXPECT_TRUE(moved.empty());
}

}  // namespace
}  // namespace pond
