#include "core/balancer/outlier_detection_sweep.hpp"

#include <cmath>
#include <utility>

namespace achan {

std::vector<std::size_t> select_ejections(const std::vector<od_address_stats>& hosts,
                                          const outlier_detection_config& cfg,
                                          std::mt19937_64& rng) {
  std::vector<std::size_t> out;
  if (hosts.empty())
    return out;
  std::vector<bool> ejected(hosts.size());
  std::size_t ejected_count = 0;
  for (std::size_t i = 0; i < hosts.size(); ++i)
    if ((ejected[i] = hosts[i].ejected))
      ++ejected_count;

  auto may_eject = [&](std::uint32_t enforcement) {
    bool below_cap = ejected_count == 0 || 100.0 * static_cast<double>(ejected_count) /
                                                   static_cast<double>(hosts.size()) <
                                               cfg.max_ejection_percent;
    if (!below_cap || enforcement == 0)
      return false;
    return enforcement >= 100 || rng() % 100 < enforcement;
  };
  auto eject = [&](std::size_t i) {
    ejected[i] = true;
    ++ejected_count;
    out.push_back(i);
  };
  // (index, success rate in percent) of the addresses with enough calls.
  auto candidates = [&](std::uint32_t request_volume) {
    std::vector<std::pair<std::size_t, double>> c;
    for (std::size_t i = 0; i < hosts.size(); ++i) {
      auto volume = hosts[i].successes + hosts[i].failures;
      if (volume > 0 && volume >= request_volume)
        c.emplace_back(
            i, 100.0 * static_cast<double>(hosts[i].successes) / static_cast<double>(volume));
    }
    return c;
  };

  if (const auto& sr = cfg.success_rate_ejection) {
    auto c = candidates(sr->request_volume);
    if (!c.empty() && c.size() >= sr->minimum_hosts) {
      double sum = 0;
      for (const auto& [i, rate] : c)
        sum += rate;
      double mean = sum / static_cast<double>(c.size());
      double variance = 0;
      for (const auto& [i, rate] : c)
        variance += (rate - mean) * (rate - mean);
      variance /= static_cast<double>(c.size());
      double threshold = mean - std::sqrt(variance) * (sr->stdev_factor / 1000.0);
      for (const auto& [i, rate] : c)
        if (!ejected[i] && rate < threshold && may_eject(sr->enforcement_percentage))
          eject(i);
    }
  }
  if (const auto& fp = cfg.failure_percentage_ejection) {
    auto c = candidates(fp->request_volume);
    if (!c.empty() && c.size() >= fp->minimum_hosts)
      for (const auto& [i, rate] : c)
        if (!ejected[i] && 100.0 - rate > fp->threshold && may_eject(fp->enforcement_percentage))
          eject(i);
  }
  return out;
}

}  // namespace achan
