// Feeds arbitrary bytes to the coupon template parser (the body of POST
// .../coupon-templates); setting_parser_checks.hpp says what any input must
// give.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "coupons/template_json.hpp"
#include "setting_parser_checks.hpp"

using namespace pond::coupons;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pond::fuzzing::CheckParsed(
      ParseTemplate(std::string_view(reinterpret_cast<const char*>(data), size)),
      [](const CouponTemplate& t) {
        using pond::fuzzing::InBounds;
        pond::fuzzing::Check(InBounds(t.threshold) && InBounds(t.off) && InBounds(t.exchange_price) &&
                             InBounds(t.face_value) && InBounds(t.cost) && InBounds(t.valid_from) &&
                             InBounds(t.valid_to));
        return CheckTemplate(t);
      },
      [](const CouponTemplate& t) { return TemplatesJson({t}); },
      [](const std::string& text) -> pond::Result<CouponTemplate> {
        auto all = ParseTemplates(text);
        if (!all.ok()) return all.status();
        if (all->size() != 1) return pond::Internal("one template stored, another number read back");
        return all->front();
      });
  return 0;
}
