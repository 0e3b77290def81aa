#include "engine/modules/modules.hpp"

#include <memory>

#include "engine/modules/activities_module.hpp"
#include "engine/modules/coupons_module.hpp"

namespace pond {

void AddModules(TenantState& tenant) {
  // In the order they hear domain events: activities issue coupons, so
  // coupons come first.
  tenant.AddModule(std::make_unique<CouponsModule>(tenant));
  tenant.AddModule(std::make_unique<ActivitiesModule>(tenant));
}

}  // namespace pond
