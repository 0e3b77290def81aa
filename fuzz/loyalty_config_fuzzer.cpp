// Feeds arbitrary bytes to the loyalty configuration parser (the body of
// PUT .../loyalty/config); setting_parser_checks.hpp says what any input
// must give.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "loyalty/loyalty_config.hpp"
#include "setting_parser_checks.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pond::fuzzing::CheckParsed(pond::ParseLoyaltyConfig(std::string_view(reinterpret_cast<const char*>(data), size)),
                             pond::ValidateLoyaltyConfig, pond::LoyaltyConfigJson,
                             [](const std::string& text) { return pond::ParseLoyaltyConfig(text); });
  return 0;
}
