// The OpenAPI 3 document of the API (docs/openapi.json, compiled in), served
// at /api/v1/openapi.json. Immutable; safe from any thread.
#pragma once

#include <string_view>

namespace pond {

std::string_view OpenApiDocument();

}  // namespace pond
