#pragma once
/// Human-readable durations for status messages ("20s", "1.5s", "250ms", "40us").
#include <string>

#include <achan/call.hpp>

namespace achan {

/// Formats `d` with the largest unit that keeps it readable; never empty.
std::string format_duration(clock_duration d);

}  // namespace achan
