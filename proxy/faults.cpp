// The proxy's fault filter: rule matching, seeded draws and the fault headers.
#include "proxy/faults.hpp"

#include <charconv>

namespace achan::proxy {

namespace {

std::uint64_t splitmix(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

/// The integer in `v` if it is all digits and within [lo, hi].
std::optional<std::int64_t> bounded_int(const std::string& v, std::int64_t lo, std::int64_t hi) {
  std::int64_t x = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
  if (ec != std::errc{} || end != v.data() + v.size() || x < lo || x > hi)
    return std::nullopt;
  return x;
}

}  // namespace

double uniform(std::uint64_t seed, std::uint64_t n, std::uint64_t salt) noexcept {
  auto x = splitmix(splitmix(seed ^ (salt * 0x632be59bd9b4e019ULL)) + n);
  return static_cast<double>(x >> 11) * 0x1.0p-53;
}

status validate(const fault_rule& r) {
  auto pct = [](double p) { return p >= 0 && p <= 100; };  // (false for NaN)
  std::string where = "fault rule" + (r.method.empty() ? std::string{} : " '" + r.method + "'");
  if (!r.method.empty() && r.method[0] != '/')
    return {status_code::invalid_argument,
            where + ": method must start with '/' (\"/pkg.Svc/\" or \"/pkg.Svc/Method\")"};
  if (!pct(r.delay_percent) || !pct(r.abort_percent))
    return {status_code::invalid_argument, where + ": percentages must be within 0..100"};
  constexpr std::chrono::milliseconds hour{3'600'000};
  if (r.delay.count() < 0 || r.delay > hour || r.delay_jitter.count() < 0 || r.delay_jitter > hour)
    return {status_code::invalid_argument, where + ": delays must be within 0..3600000 ms"};
  auto code = static_cast<int>(r.abort_code);
  if (code < 1 || code > 16)
    return {status_code::invalid_argument,
            where + ": abort code must be a gRPC status code 1..16 (not OK)"};
  return {};
}

fault_decision decide(const std::vector<fault_rule>& rules, bool headers, const std::string& method,
                      metadata& md, std::uint64_t seed, std::uint64_t n) {
  fault_decision d;
  if (headers) {
    std::optional<std::string> delay_ms, abort_code;
    for (auto it = md.begin(); it != md.end();) {
      if (it->first == delay_header)
        delay_ms = std::move(it->second);
      else if (it->first == abort_header)
        abort_code = std::move(it->second);
      else {
        ++it;
        continue;
      }
      it = md.erase(it);
    }
    if (abort_code) {
      auto c = bounded_int(*abort_code, 1, 16);
      if (!c) {
        d.error =
            status{status_code::invalid_argument, std::string{abort_header} + " '" + *abort_code +
                                                      "' is not a gRPC status code 1..16"};
        return d;
      }
      d.abort = status{static_cast<status_code>(*c),
                       "fault injected by achan proxy (" + std::string{abort_header} + ")"};
      return d;
    }
    if (delay_ms) {
      auto ms = bounded_int(*delay_ms, 0, 60'000);
      if (!ms) {
        d.error = status{status_code::invalid_argument,
                         std::string{delay_header} + " '" + *delay_ms + "' is not 0..60000"};
        return d;
      }
      d.delay = std::chrono::milliseconds{*ms};
      return d;
    }
  }
  for (auto& r : rules) {
    if (method.compare(0, r.method.size(), r.method) != 0)
      continue;
    if (r.abort_percent > 0 && uniform(seed, n, 1) * 100 < r.abort_percent) {
      d.abort = status{r.abort_code,
                       r.abort_message.empty() ? "fault injected by achan proxy" : r.abort_message};
      return d;
    }
    if (r.delay_percent > 0 && uniform(seed, n, 2) * 100 < r.delay_percent) {
      auto jitter = static_cast<std::int64_t>(uniform(seed, n, 3) *
                                              static_cast<double>(r.delay_jitter.count() + 1));
      d.delay = r.delay + std::chrono::milliseconds{jitter};
    }
    return d;  // the first matching rule decides
  }
  return d;
}

}  // namespace achan::proxy
