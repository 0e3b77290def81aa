// MasterData: a tenant's stores (with coordinates), staff, products and
// categories, keyed by their ids and kept in id order for listing.
// An upsert of the same record is a duplicate; a changed one replaces it.
// Pure in-memory logic. Not thread-safe: written by the tenant's writer,
// read under its read lock.
#pragma once

#include <map>
#include <string>

#include "core/status.hpp"
#include "events/event.hpp"

namespace pond {

class MasterData {
 public:
  // Each returns true when the record is new or differs from what was there.
  bool Upsert(const StoreInfo& store) { return Put(stores_, store.id, store); }
  bool Upsert(const StaffInfo& staff) { return Put(staff_, staff.id, staff); }
  bool Upsert(const ProductInfo& product) { return Put(products_, product.sku, product); }
  bool Upsert(const CategoryInfo& category) { return Put(categories_, category.id, category); }
  // InvalidArgument naming `parent` when upserting `category` would make the
  // tree a cycle (a→b→a, or a category its own parent): scopes and segments
  // walk up the tree.
  Status CheckCategory(const CategoryInfo& category) const;

  const std::map<std::string, StoreInfo>& stores() const { return stores_; }
  const std::map<std::string, StaffInfo>& staff() const { return staff_; }
  const std::map<std::string, ProductInfo>& products() const { return products_; }
  const std::map<std::string, CategoryInfo>& categories() const { return categories_; }

  // The category of product `sku` ("" when the product or its category is unknown).
  std::string CategoryOfProduct(const std::string& sku) const {
    auto it = products_.find(sku);
    return it == products_.end() ? std::string() : it->second.category;
  }
  // Calls f(id) for `category` and every category above it, nearest first.
  // The stored tree has no cycles (CheckCategory); the walk stops at its
  // size all the same.
  template <typename F>
  void ForEachCategoryUp(std::string category, F&& f) const {
    for (size_t steps = 0; !category.empty() && steps <= categories_.size(); ++steps) {
      f(category);
      auto it = categories_.find(category);
      category = it == categories_.end() ? std::string() : it->second.parent;
    }
  }

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
