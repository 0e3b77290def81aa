// SetLoyaltyConfig(state, config, now): a loyalty rules change run to its
// end, slice after slice, for tests that need the new rules in place.
#pragma once

#include "engine/tenant_state.hpp"

namespace pond::testing {

inline void SetLoyaltyConfig(TenantState& s, LoyaltyConfig config, Timestamp now) {
  TenantState::LoyaltyChange change{std::move(config)};
  while (s.ChangeLoyaltyConfig(change, now) == Slice::kLater) {
  }
}

}  // namespace pond::testing
