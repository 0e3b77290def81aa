#include "ingest/csv.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>
#include <string>

namespace pond {

inline void PrintTo(const FieldError& e, std::ostream* os) { *os << "{\"" << e.field << "\", \"" << e.reason << "\"}"; }

namespace {

using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

FieldError E(std::string field, std::string reason) { return {std::move(field), std::move(reason)}; }

// Reads every row of `csv`; the header must be good.
std::vector<ParsedLine> ReadAll(const std::string& csv, std::string default_type = "") {
  std::istringstream in(csv);
  CsvEventReader reader(in, std::move(default_type));
  const Status header = reader.ReadHeader();
  EXPECT_TRUE(header.ok()) << header.ToString();
  std::vector<ParsedLine> rows;
  if (!header.ok()) return rows;
  ParsedLine row{0, Event{}};
  while (reader.Next(&row)) rows.push_back(row);
  return rows;
}

std::vector<FieldError> HeaderErrors(const std::string& csv, std::string default_type = "order") {
  std::istringstream in(csv);
  CsvEventReader reader(in, std::move(default_type));
  const Status header = reader.ReadHeader();
  EXPECT_EQ(header.code(), StatusCode::kInvalidArgument);
  return header.field_errors();
}

std::vector<FieldError> Errors(const ParsedLine& row) {
  EXPECT_FALSE(row.event.ok());
  return row.event.ok() ? std::vector<FieldError>{} : row.event.status().field_errors();
}

template <typename T>
T Get(const ParsedLine& row) {
  EXPECT_TRUE(row.event.ok()) << row.event.status().ToString();
  if (!row.event.ok() || !std::holds_alternative<T>(*row.event)) {
    ADD_FAILURE() << "not the expected event type";
    return T{};
  }
  return std::get<T>(*row.event);
}

TEST(CsvEventReader, OrdersWithItemColumns) {
  const auto rows = ReadAll(
      "type,order_id,member.phone,member.pos_id,channel,paid_at,paid_fen,items[0].sku,items[0].qty,items[0].paid_fen,"
      "items[1].sku,items[1].qty,items[1].paid_fen\n"
      "order,O-1,13800000001,P9,store,2026-03-04T19:20:00+08:00,6800,SKU-1,2,3400,SKU-2,1,3400\n"
      "order,O-2,,P9,,2026-03-04T19:20:00+08:00,500,SKU-1,1,500,,,\n"
      "order,O-3,13800000001,,,2026-03-04T19:20:00+08:00,500,,,,,,\n");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].line, 2);
  const OrderEvent o1 = Get<OrderEvent>(rows[0]);
  EXPECT_EQ(o1.order_id, "O-1");
  EXPECT_THAT(o1.member.identities,
              ElementsAre(Identity{IdentityKind::kPhone, "13800000001"}, Identity{IdentityKind::kPosId, "P9"}));
  EXPECT_EQ(o1.channel, Channel::kStore);
  EXPECT_EQ(o1.paid, Money::Fen(6800));
  EXPECT_EQ(o1.paid_at, Timestamp::FromSeconds(1772623200));
  EXPECT_THAT(o1.items,
              ElementsAre(OrderItem{"SKU-1", "", 2, Money::Fen(3400)}, OrderItem{"SKU-2", "", 1, Money::Fen(3400)}));
  // Unused trailing item columns are no items; empty cells are absent fields.
  const OrderEvent o2 = Get<OrderEvent>(rows[1]);
  EXPECT_THAT(o2.member.identities, ElementsAre(Identity{IdentityKind::kPosId, "P9"}));
  EXPECT_EQ(o2.channel, Channel::kOther);
  EXPECT_EQ(o2.items.size(), 1u);
  EXPECT_TRUE(Get<OrderEvent>(rows[2]).items.empty());
}

TEST(CsvEventReader, SameValidationAsJsonWithCsvFieldNames) {
  const auto rows = ReadAll(
      "order_id,member.phone,paid_at,paid_fen,items[0].sku,items[0].qty,items[0].paid_fen,items[1].sku,items[1].qty,"
      "items[1].paid_fen\n"
      "O-1,1380000,2026-03-04,68.00,,0,100,A,1,\n"
      ",13800000001,2026-03-04T19:20:00+08:00,6800,,,,A,1,6800\n"
      "O-3,13800000001,2026-03-04T19:20:00+08:00,6800,A,1,100,B,1,200\n",
      "order");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_THAT(Errors(rows[0]),
              UnorderedElementsAre(
                  E("member.phone", "must be an 11-digit mainland mobile number or E.164 (+ and 6 to 15 digits)"),
                  E("paid_at", "must be an RFC 3339 time: expected THH:MM:SS after the date"),
                  E("paid_fen", "must be an integer number of fen"), E("items[0].sku", "is required"),
                  E("items[0].qty", "must be > 0"), E("items[1].paid_fen", "is required")));
  // An empty item group before a filled one keeps its index, so the error
  // names the columns the user sees.
  EXPECT_THAT(Errors(rows[1]),
              UnorderedElementsAre(E("order_id", "is required"), E("items[0].sku", "is required"),
                                   E("items[0].qty", "is required"), E("items[0].paid_fen", "is required")));
  EXPECT_THAT(Errors(rows[2]), ElementsAre(E("items", "sum of items[].paid_fen (300) must equal paid_fen (6800)")));
}

TEST(CsvEventReader, QuotesNewlinesCrlfAndBom) {
  const auto rows = ReadAll(
      "\xEF\xBB\xBFtype,member.unionid,name,city\r\n"
      "member,o6_a,\"王, \"\"小明\"\"\",深圳\r\n"
      "member,o6_b,\"two\r\nlines\",\"\"\r\n"
      "\r\n"
      "member,o6_c,\"\",广州");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].line, 2);
  const MemberEvent m1 = Get<MemberEvent>(rows[0]);
  EXPECT_EQ(m1.profile.name, "王, \"小明\"");
  EXPECT_EQ(m1.profile.city, "深圳");
  EXPECT_EQ(rows[1].line, 3);
  // A newline inside a name is a control character: rejected like in JSON.
  EXPECT_THAT(Errors(rows[1]), ElementsAre(E("name", "must not contain control characters")));
  EXPECT_EQ(rows[2].line, 6);  // the quoted newline and the blank line count
  const MemberEvent m3 = Get<MemberEvent>(rows[2]);
  EXPECT_EQ(m3.member.identities.at(0).value, "o6_c");
  EXPECT_EQ(m3.profile.name, std::nullopt);
  EXPECT_EQ(m3.profile.city, "广州");
}

TEST(CsvEventReader, ItemsColumnHoldsJson) {
  const auto rows = ReadAll(
      "order_id,member.member_id,paid_at,paid_fen,items\n"
      "O-1,42,2026-03-04T19:20:00+08:00,6800,\"[{\"\"sku\"\":\"\"A\"\",\"\"qty\"\":2,\"\"paid_fen\"\":6800}]\"\n"
      "O-2,42,2026-03-04T19:20:00+08:00,6800,[{\n"
      "O-3,42,2026-03-04T19:20:00+08:00,6800,\"[{\"\"sku\"\":\"\"A\"\",\"\"qty\"\":0,\"\"paid_fen\"\":6800}]\"\n"
      "O-4,42,2026-03-04T19:20:00+08:00,6800,\"{\"\"sku\"\":\"\"A\"\"}\"\n"
      "O-5,42,2026-03-04T19:20:00+08:00,6800,\n",
      "order");
  ASSERT_EQ(rows.size(), 5u);
  const OrderEvent o1 = Get<OrderEvent>(rows[0]);
  EXPECT_EQ(o1.member.member_id, 42);
  EXPECT_THAT(o1.items, ElementsAre(OrderItem{"A", "", 2, Money::Fen(6800)}));
  EXPECT_THAT(Errors(rows[1]), ElementsAre(E("items", "malformed JSON at byte 2: incomplete JSON")));
  EXPECT_THAT(Errors(rows[2]), ElementsAre(E("items[0].qty", "must be > 0")));
  EXPECT_THAT(Errors(rows[3]), ElementsAre(E("items", "must be an array")));
  EXPECT_TRUE(Get<OrderEvent>(rows[4]).items.empty());
}

TEST(CsvEventReader, DefaultType) {
  // No type column: every row is the default type.
  auto rows = ReadAll("sku,name,price_fen\nSKU-1,薯片,990\n", "product");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(Get<ProductInfo>(rows[0]), (ProductInfo{"SKU-1", "薯片", "", Money::Fen(990)}));
  // A type column wins; an empty type cell falls back to the default.
  rows = ReadAll("type,id,sku\nstore,S1,\n,,SKU-2\n", "product");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(Get<StoreInfo>(rows[0]).id, "S1");
  EXPECT_EQ(Get<ProductInfo>(rows[1]).sku, "SKU-2");
  // Without a default an empty type cell is a missing type.
  rows = ReadAll("type,id\nstore,S1\n,S2\n");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_THAT(Errors(rows[1]), ElementsAre(E("type", "is required")));
}

TEST(CsvEventReader, MasterDataWithNumbersAsText) {
  const auto rows = ReadAll("id,name,city,lat,lng\nS001,深圳湾店,深圳,22.5,113.9\nS002,,,91,\n", "store");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(Get<StoreInfo>(rows[0]), (StoreInfo{"S001", "深圳湾店", "深圳", 22.5, 113.9}));
  EXPECT_THAT(Errors(rows[1]),
              UnorderedElementsAre(E("lat", "must be between -90 and 90"), E("lng", "is required when lat is given")));
}

TEST(CsvEventReader, BlankRowsAreSkipped) {
  const auto rows = ReadAll("type,id\n\ncategory,c1\n,\n\n,\ncategory,c2\n");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].line, 3);
  EXPECT_EQ(rows[1].line, 7);
}

TEST(CsvEventReader, MalformedRows) {
  const auto rows = ReadAll(
      "type,id,name\n"
      "category,c1\n"
      "category,c2,x,y\n"
      "category,\"c3\"x,n\n"
      "category,c4,\"caf\xC3\"\n"
      "category,c5,\"never closed\n"
      "category,c6,n\n");
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_THAT(Errors(rows[0]), ElementsAre(E("", "row has 2 cells but the header has 3 columns")));
  EXPECT_THAT(Errors(rows[1]), ElementsAre(E("", "row has 4 cells but the header has 3 columns")));
  EXPECT_THAT(Errors(rows[2]), ElementsAre(E("id", "has text after its closing quote")));
  EXPECT_THAT(Errors(rows[3]), ElementsAre(E("name", "invalid UTF-8 at byte 3")));
  // An open quote swallows the rest of the file into one cell.
  EXPECT_EQ(rows[4].line, 6);
  EXPECT_THAT(Errors(rows[4]), ElementsAre(E("name", "has an unterminated quote")));
}

TEST(CsvEventReader, RowWithFarTooManyCellsIsCountedNotKept) {
  const auto rows = ReadAll("type,id\n" + std::string(100000, ',') + "\ncategory,c1\n");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_THAT(Errors(rows[0]), ElementsAre(E("", "row has 100001 cells but the header has 2 columns")));
  EXPECT_EQ(Get<CategoryInfo>(rows[1]).id, "c1");
}

TEST(CsvEventReader, OverlongRowIsAnErrorForThatRowOnly) {
  const auto rows =
      ReadAll("type,id,name\ncategory,c1,\"" + std::string(CsvEventReader::kMaxRowBytes, 'n') + "\"\ncategory,c2,n\n");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_THAT(Errors(rows[0]), ElementsAre(E("", "row is longer than 1048576 bytes")));
  EXPECT_EQ(rows[1].line, 3);
  EXPECT_EQ(Get<CategoryInfo>(rows[1]).id, "c2");
}

TEST(CsvEventReader, BadHeaders) {
  EXPECT_THAT(HeaderErrors(""), ElementsAre(E("", "is missing: the file is empty")));
  EXPECT_THAT(HeaderErrors("order_id,,paid_fen, order_id \n"),
              UnorderedElementsAre(E("", "column 2 has no name"), E("order_id", "is a duplicate column")));
  const std::string not_a_path = "is not a field path (like order_id, member.phone or items[0].sku)";
  EXPECT_THAT(HeaderErrors("items[x].sku,member..phone,items[0,paid fen,items[01].qty,.a,2x,items[1000].sku\n"),
              ElementsAre(E("items[x].sku", not_a_path), E("member..phone", not_a_path), E("items[0", not_a_path),
                          E("paid fen", not_a_path), E("items[01].qty", not_a_path), E(".a", not_a_path),
                          E("2x", not_a_path), E("items[1000].sku", "has an index above 999")));
  EXPECT_THAT(HeaderErrors("member,member.phone,items[0].sku,items,items[0],items[2].qty\n"),
              UnorderedElementsAre(E("member.phone", "conflicts with column 'member'"),
                                   E("items", "conflicts with column 'items[0].sku'"),
                                   E("items[0]", "conflicts with column 'items[0].sku'"),
                                   E("items", "has columns for [2] but none for [1]")));
  EXPECT_THAT(HeaderErrors("order_id,paid_fen\n", ""),
              ElementsAre(E("type", "has no column and no default event type was given")));
  EXPECT_THAT(HeaderErrors("order_id,paid_fen\n", "orders"),
              ElementsAre(E("type",
                            "default event type 'orders' is not one of member, order, refund, store, staff, "
                            "product, category")));
  EXPECT_THAT(HeaderErrors("a.b.c.d.e,a.b.c.d\n"), ElementsAre(E("a.b.c.d.e", "is nested deeper than 4 levels")));
  std::string wide;
  for (int i = 0; i <= 8192; ++i) wide += "c" + std::to_string(i) + ",";
  EXPECT_THAT(HeaderErrors(wide + "\n"), ElementsAre(E("", "header has more than 8192 columns")));
  EXPECT_THAT(HeaderErrors("\"type,id\n"), ElementsAre(E("", "header row has an unterminated quote")));
  EXPECT_THAT(HeaderErrors("type,\xFFid\n"), ElementsAre(E("", "column 2 has invalid UTF-8 at byte 0")));
  // A bad header is reported in the status message too.
  std::istringstream in("a,a\n");
  CsvEventReader reader(in, "order");
  EXPECT_EQ(reader.ReadHeader().message(), "bad CSV header: a is a duplicate column");
}

}  // namespace
}  // namespace pond
