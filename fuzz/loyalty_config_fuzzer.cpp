// Feeds arbitrary bytes to the loyalty configuration parser (the body of
// PUT .../loyalty/config) and checks what any input must give: no crash or
// sanitizer report; a rejection is InvalidArgument naming at least one
// field; an accepted document validates and survives a JSON round trip
// unchanged (what the server stores is what it serves back).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "loyalty/loyalty_config.hpp"

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto config = pond::ParseLoyaltyConfig(text);
  if (!config.ok()) {
    Check(config.status().code() == pond::StatusCode::kInvalidArgument);
    Check(!config.status().field_errors().empty());
    return 0;
  }
  Check(pond::ValidateLoyaltyConfig(*config).ok());
  auto again = pond::ParseLoyaltyConfig(pond::LoyaltyConfigJson(*config));
  Check(again.ok() && *again == *config);
  return 0;
}
