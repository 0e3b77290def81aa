// MasterData: a tenant's stores (with coordinates), staff, products and
// categories, keyed by their ids and kept in id order for listing.
// An upsert of the same record is a duplicate; a changed one replaces it.
// Pure in-memory logic. Not thread-safe: written by the tenant's writer,
// read under its read lock.
#pragma once

#include <map>
#include <string>

#include "events/event.hpp"

namespace pond {

class MasterData {
 public:
  // Each returns true when the record is new or differs from what was there.
  bool Upsert(const StoreInfo& store) { return Put(stores_, store.id, store); }
  bool Upsert(const StaffInfo& staff) { return Put(staff_, staff.id, staff); }
  bool Upsert(const ProductInfo& product) { return Put(products_, product.sku, product); }
  bool Upsert(const CategoryInfo& category) { return Put(categories_, category.id, category); }

  const std::map<std::string, StoreInfo>& stores() const { return stores_; }
  const std::map<std::string, StaffInfo>& staff() const { return staff_; }
  const std::map<std::string, ProductInfo>& products() const { return products_; }
  const std::map<std::string, CategoryInfo>& categories() const { return categories_; }

 private:
  template <typename T>
  static bool Put(std::map<std::string, T>& into, const std::string& id, const T& value) {
    auto [it, inserted] = into.try_emplace(id, value);
    if (inserted) return true;
    if (it->second == value) return false;
    it->second = value;
    return true;
  }

  std::map<std::string, StoreInfo> stores_;
  std::map<std::string, StaffInfo> staff_;
  std::map<std::string, ProductInfo> products_;
  std::map<std::string, CategoryInfo> categories_;
};

}  // namespace pond
