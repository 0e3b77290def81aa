#include "core/id_list.hpp"

#include <gtest/gtest.h>

#include <random>

namespace pond {
namespace {

TEST(IdListTest, RandomListsComeBackAsTheyWent) {
  std::mt19937_64 rng(7);
  for (int round = 0; round < 200; ++round) {
    std::vector<int64_t> ids;
    int64_t id = 0;
    const int n = static_cast<int>(rng() % 300);
    const uint64_t spread = uint64_t{1} << (rng() % 40);
    for (int i = 0; i < n; ++i) ids.push_back(id += 1 + static_cast<int64_t>(rng() % spread));
    auto back = DecodeIdList(EncodeIdList(ids));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, ids);
  }
}

TEST(IdListTest, ReadInPiecesFromWhereTheLastReaderStopped) {
  std::mt19937_64 rng(11);
  std::vector<int64_t> ids;
  IdListWriter writer;
  for (int64_t id = 0, i = 0; i < 500; ++i) writer.Add(id += 1 + static_cast<int64_t>(rng() % 100'000));
  const std::string bytes = writer.bytes();
  const std::vector<int64_t> all = DecodeIdList(bytes).value();
  ASSERT_EQ(all.size(), 500u);
  // Readers of a random number of ids each, as slices of a bulk issue.
  size_t at = 0;
  int64_t previous = 0;
  for (bool more = true; more;) {
    IdListReader reader(bytes, at, previous);
    for (int n = static_cast<int>(rng() % 40); n >= 0; --n) {
      int64_t id = 0;
      more = reader.Next(id).value();
      if (!more) break;
      ids.push_back(id);
    }
    at = reader.at();
    previous = reader.previous();
  }
  EXPECT_EQ(ids, all);
  int64_t id = 0;
  EXPECT_FALSE(IdListReader(std::string("\x05\x00", 2), 1, 5).Next(id).ok()) << "a repeated id, read from the middle";
}

TEST(IdListTest, DenseListsTakeAByteAnId) {
  std::vector<int64_t> ids;
  for (int64_t i = 1; i <= 1000; ++i) ids.push_back(i * 3);
  EXPECT_EQ(EncodeIdList(ids).size(), 1000u);
  EXPECT_EQ(EncodeIdList(std::vector<int64_t>{300}).size(), 2u);
}

TEST(IdListTest, DamagedBytesAreRefused) {
  EXPECT_FALSE(DecodeIdList(std::string("\x80", 1)).ok()) << "truncated";
  EXPECT_FALSE(DecodeIdList(std::string("\x05\x00", 2)).ok()) << "a repeated id";
  EXPECT_FALSE(DecodeIdList(std::string(11, '\xff')).ok()) << "overlong";
  EXPECT_TRUE(DecodeIdList("").ok());
}

}  // namespace
}  // namespace pond
