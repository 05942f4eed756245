#include <achan/dns_options.hpp>

namespace achan {

namespace {
status invalid(std::string m) {
  return {status_code::invalid_argument, std::move(m)};
}
}  // namespace

result<void> validate(const dns_options& o) {
  auto zero = clock_duration::zero();
  if (o.min_resolve_interval < zero)
    return invalid("dns.min_resolve_interval must not be negative");
  if (o.refresh_interval < zero)
    return invalid("dns.refresh_interval must not be negative");
  if (o.ttl_floor <= zero)
    return invalid("dns.ttl_floor must be > 0");
  if (o.query_timeout <= zero)
    return invalid("dns.query_timeout must be > 0");
  if (o.client_hostname.size() > 255)
    return invalid("dns.client_hostname must be at most 255 characters");
  if (auto r = validate(o.retry_backoff); !r)
    return status{status_code::invalid_argument, "dns.retry_" + r.error().message};
  return {};
}

}  // namespace achan
