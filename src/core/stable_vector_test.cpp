#include "core/stable_vector.hpp"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <chrono>
#include <memory>
#include <thread>
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

// The block after the last is made at half of it and faulted in on the
// background thread: writing into it costs the writing thread no page fault
// (a cold 1 MiB block costs 256, or one per huge page).
TEST(StableVectorTest, TheNextBlockIsFaultedInBeforeItIsWritten) {
  struct Kilobyte {
    char bytes[1024] = {};
  };
  StableVector<Kilobyte> v;
  for (int i = 0; i < 512; ++i) v.emplace_back();
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!v.next_ready() && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_TRUE(v.next_ready());
  for (int i = 512; i < 1024; ++i) v.emplace_back();  // the rest of the first block
  rusage before{};
  getrusage(RUSAGE_THREAD, &before);
  for (int i = 1024; i < 2048; ++i) v.emplace_back().bytes[1000] = static_cast<char>(i);
  rusage after{};
  getrusage(RUSAGE_THREAD, &after);
  EXPECT_LE(after.ru_minflt - before.ru_minflt, 1);  // the list of blocks may grow into a fresh page
  EXPECT_EQ(v[1500].bytes[1000], static_cast<char>(1500));
}

}  // namespace
}  // namespace pond
