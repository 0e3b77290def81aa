// The modules of this build (engine/module.hpp).
#pragma once

namespace pond {

class TenantState;

// Adds every module to a tenant's state as it is made. Adding a module
// to Pond is its folder and one line here.
void AddModules(TenantState& tenant);

}  // namespace pond
