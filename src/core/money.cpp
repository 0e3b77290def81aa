#include "core/money.hpp"

#include <cstdio>

namespace pond {

std::string Money::ToYuanString() const {
  int64_t abs = fen_ < 0 ? -fen_ : fen_;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%s%lld.%02lld", fen_ < 0 ? "-" : "", static_cast<long long>(abs / 100),
                static_cast<long long>(abs % 100));
  return buf;
}

}  // namespace pond
