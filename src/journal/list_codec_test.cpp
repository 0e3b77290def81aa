#include "journal/list_codec.hpp"

#include <gtest/gtest.h>

#include <climits>
#include <string>
#include <vector>

namespace pond::journal {
namespace {

TEST(ListCodecTest, RoundTripsAndRejectsEveryTruncation) {
  std::vector<OrderItem> items = {{"SKU-1", "茶", 3, Money::Fen(4500)},
                                  {"", "", -1, Money::Fen(-99)},
                                  {std::string(300, 'x'), "c", INT32_MAX, Money::Fen(INT64_MIN)},
                                  {"s", "c", INT32_MIN, Money::Fen(INT64_MAX)}};
  std::string encoded;
  EncodeItems(items, encoded);
  std::vector<OrderItem> decoded;
  ASSERT_TRUE(DecodeItems(encoded, decoded));
  EXPECT_EQ(decoded, items);

  for (size_t n = 0; n < encoded.size(); ++n) {
    EXPECT_FALSE(DecodeItems(std::string_view(encoded).substr(0, n), decoded)) << n;
  }
  EXPECT_FALSE(DecodeItems(encoded + '\0', decoded)) << "trailing bytes";
  EXPECT_FALSE(DecodeItems("\x02\x00", decoded)) << "unknown format";
  EXPECT_FALSE(DecodeItems("\x01\xff\xff\xff\xff\x0f", decoded)) << "count beyond the bytes";

  EncodeItems({}, encoded);
  EXPECT_EQ(encoded, std::string("\x01\x00", 2));
  EXPECT_TRUE(DecodeItems(encoded, decoded));
  EXPECT_TRUE(decoded.empty());
}

TEST(ListCodecTest, IdentitiesAndDigestsRoundTripAndRejectTruncation) {
  std::vector<Identity> ids = {{IdentityKind::kPhone, "13800000001"},
                               {IdentityKind::kUnionid, std::string(200, 'u')},
                               {IdentityKind::kPosId, ""}};
  std::string encoded;
  EncodeIdentities(ids, encoded);
  std::vector<Identity> decoded;
  ASSERT_TRUE(DecodeIdentities(encoded, decoded));
  EXPECT_EQ(decoded, ids);
  for (size_t n = 0; n < encoded.size(); ++n) {
    EXPECT_FALSE(DecodeIdentities(std::string_view(encoded).substr(0, n), decoded)) << n;
  }
  EXPECT_FALSE(DecodeIdentities(std::string("\x01\x01\x09\x00", 4), decoded)) << "unknown kind";

  const std::vector<uint64_t> digests = {0, 1, 0xfedc'ba98'7654'3210ULL};
  EncodeDigests(digests, encoded);
  std::vector<uint64_t> back;
  ASSERT_TRUE(DecodeDigests(encoded, back));
  EXPECT_EQ(back, digests);
  EXPECT_FALSE(DecodeDigests(std::string_view(encoded).substr(0, 7), back));
}

}  // namespace
}  // namespace pond::journal
