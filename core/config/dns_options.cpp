#include <achan/dns_options.hpp>

namespace achan {

std::string validate(const dns_options& o) {
  auto zero = clock_duration::zero();
  if (o.min_resolve_interval < zero)
    return "dns.min_resolve_interval must not be negative";
  if (o.refresh_interval < zero)
    return "dns.refresh_interval must not be negative";
  if (o.ttl_floor <= zero)
    return "dns.ttl_floor must be > 0";
  if (o.query_timeout <= zero)
    return "dns.query_timeout must be > 0";
  if (auto err = validate(o.retry_backoff); !err.empty())
    return "dns.retry_" + err;
  return "";
}

}  // namespace achan
