#pragma once
/// The ejection decisions of one outlier_detection sweep (gRFC A50 steps 3 and 4), as a
/// plain function of the last interval's counts, so they can be tested on tables.
#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

#include "core/balancer/outlier_detection_config.hpp"

namespace achan {

/// One address as a sweep sees it.
struct od_address_stats {
  std::uint64_t successes = 0;  ///< in the interval that just ended
  std::uint64_t failures = 0;
  bool ejected = false;  ///< ejected before this sweep
};

/// The indices of `hosts` to eject now, in the order chosen. As gRPC core does it:
/// - success rate (when configured): the candidates are the addresses with at least
///   one call and at least requestVolume calls; with fewer than minimumHosts candidates
///   nothing happens. A candidate whose success rate (percent) is below
///   mean − stdev × stdevFactor / 1000 (population stdev over the candidates) is an outlier;
/// - failure percentage (when configured): candidates as above with its own
///   requestVolume and minimumHosts; an outlier's failure percentage is above threshold;
/// - an outlier is ejected with probability enforcementPercentage / 100 (a draw from `rng`
///   in [0, 100), made only for percentages strictly between 0 and 100), and only while
///   no address is ejected yet or fewer than maxEjectionPercent of `hosts` are (so one
///   address can always be ejected, whatever the percentage);
/// - an address already ejected, or ejected earlier in this sweep, is not chosen again
///   (it still counts in the success-rate statistics).
std::vector<std::size_t> select_ejections(const std::vector<od_address_stats>& hosts,
                                          const outlier_detection_config& cfg,
                                          std::mt19937_64& rng);

}  // namespace achan
