#include "masterdata/master_data.hpp"

#include <gtest/gtest.h>

namespace pond {
namespace {

TEST(MasterDataTest, UpsertsReportWhetherAnythingChanged) {
  MasterData m;
  StoreInfo s{"S001", "深圳万象城店", "深圳", 22.5405, 113.9526};
  EXPECT_TRUE(m.Upsert(s));
  EXPECT_FALSE(m.Upsert(s));  // the same record again is a duplicate
  s.name = "深圳万象城二店";
  EXPECT_TRUE(m.Upsert(s));
  EXPECT_EQ(m.stores().at("S001").name, "深圳万象城二店");
  EXPECT_TRUE(m.Upsert(ProductInfo{"SKU-2", "b", "food", Money::Fen(990)}));
  EXPECT_TRUE(m.Upsert(ProductInfo{"SKU-1", "a", "food", Money::Fen(1990)}));
  EXPECT_FALSE(m.Upsert(ProductInfo{"SKU-1", "a", "food", Money::Fen(1990)}));
  EXPECT_TRUE(m.Upsert(ProductInfo{"SKU-1", "a", "food", Money::Fen(1890)}));  // a price change counts
  ASSERT_EQ(m.products().size(), 2u);
  EXPECT_EQ(m.products().begin()->first, "SKU-1");  // listed in id order
  EXPECT_TRUE(m.Upsert(StaffInfo{"E1", "李", "S001"}));
  EXPECT_TRUE(m.Upsert(CategoryInfo{"snacks", "零食", "food"}));
  EXPECT_FALSE(m.Upsert(CategoryInfo{"snacks", "零食", "food"}));
}

TEST(MasterDataTest, CategoryCyclesAreRefused) {
  MasterData m;
  ASSERT_TRUE(m.CheckCategory(CategoryInfo{"a", "A", "b"}).ok());
  m.Upsert(CategoryInfo{"a", "A", "b"});
  m.Upsert(CategoryInfo{"b", "B", "c"});
  const Status cycle = m.CheckCategory(CategoryInfo{"c", "C", "a"});  // c→a→b→c
  ASSERT_FALSE(cycle.ok());
  EXPECT_EQ(cycle.field_errors()[0].field, "parent");
  EXPECT_FALSE(m.CheckCategory(CategoryInfo{"d", "D", "d"}).ok());
  EXPECT_FALSE(m.CheckCategory(CategoryInfo{"b", "B", "a"}).ok());  // moving b under a: a→b→a
  EXPECT_TRUE(m.CheckCategory(CategoryInfo{"c", "C", "root"}).ok());
}

}  // namespace
}  // namespace pond
