#include "core/support/duration_text.hpp"

#include <cstdio>

namespace achan {

std::string format_duration(clock_duration d) {
  using namespace std::chrono;
  auto ns = duration_cast<nanoseconds>(d).count();
  char buf[48];
  if (ns >= 1'000'000'000)
    std::snprintf(buf, sizeof buf, "%gs", static_cast<double>(ns) / 1e9);
  else if (ns >= 1'000'000)
    std::snprintf(buf, sizeof buf, "%gms", static_cast<double>(ns) / 1e6);
  else if (ns >= 1'000)
    std::snprintf(buf, sizeof buf, "%gus", static_cast<double>(ns) / 1e3);
  else
    std::snprintf(buf, sizeof buf, "%lldns", static_cast<long long>(ns));
  return buf;
}

}  // namespace achan
