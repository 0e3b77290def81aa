// Feeds arbitrary bytes to the coupon template parser (the body of POST
// .../coupon-templates) and checks what any input must give: no crash or
// sanitizer report; a rejection is InvalidArgument naming at least one
// field, each field once; an accepted template passes CheckTemplate and
// survives the stored form's round trip unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

#include "coupons/template_json.hpp"

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto t = pond::coupons::ParseTemplate(text);
  if (!t.ok()) {
    Check(t.status().code() == pond::StatusCode::kInvalidArgument);
    Check(!t.status().field_errors().empty());
    std::set<std::string> fields;
    for (const pond::FieldError& e : t.status().field_errors()) Check(fields.insert(e.field).second);
    return 0;
  }
  Check(pond::coupons::CheckTemplate(*t).ok());
  const std::string stored = pond::coupons::TemplatesJson({*t});
  auto back = pond::coupons::ParseTemplates(stored);
  Check(back.ok() && back->size() == 1 && pond::coupons::TemplatesJson(*back) == stored);
  return 0;
}
