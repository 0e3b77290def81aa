#include "masterdata/master_data.hpp"

namespace pond {

Status MasterData::CheckCategory(const CategoryInfo& category) const {
  // Up from the new parent: reaching the category itself closes a loop. The
  // stored tree has none, so the walk ends within its size.
  std::string at = category.parent;
  for (size_t steps = 0; !at.empty() && steps <= categories_.size(); ++steps) {
    if (at == category.id) {
      return FieldInvalid("parent", "'" + category.parent + "' is '" + category.id +
                                        "' or below it: the category tree would be a cycle");
    }
    auto it = categories_.find(at);
    at = it == categories_.end() ? std::string() : it->second.parent;
  }
  return Status::Ok();
}

}  // namespace pond
