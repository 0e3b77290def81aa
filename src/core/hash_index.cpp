#include "core/hash_index.hpp"

#include <functional>

namespace pond {

uint64_t HashKey(std::string_view key) { return std::hash<std::string_view>{}(key); }

}  // namespace pond
