#include "core/clock.hpp"

#include <chrono>

namespace pond {

Timestamp SystemClock::Now() const {
  using namespace std::chrono;
  return Timestamp::FromMicros(duration_cast<microseconds>(system_clock::now().time_since_epoch()).count());
}

}  // namespace pond
