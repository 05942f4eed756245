#pragma once
// Typed reads from yaml-cpp nodes for the scenario parser: every failure throws a
// parse_error carrying the node's line and column, which parse_text turns into an
// INVALID_ARGUMENT "ORIGIN:LINE:COL: message". Nothing here escapes the parser.
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include <achan/scenario_model.hpp>

namespace achan::scenario::detail {

struct parse_error {
  int line = 0, column = 0;  // 1-based; 0 when unknown
  std::string message;
};

/// Throws parse_error at `n`'s position.
[[noreturn]] void fail(const YAML::Node& n, std::string message);
/// `n` must be a map whose keys are all in `allowed` ("unknown key 'x' in WHAT (allowed: ...)").
void expect_keys(const YAML::Node& n, std::initializer_list<std::string_view> allowed,
                 std::string_view what);
std::string text(const YAML::Node& n, std::string_view what);
double number(const YAML::Node& n, std::string_view what, double lo, double hi);
std::int64_t integer(const YAML::Node& n, std::string_view what, std::int64_t lo, std::int64_t hi);
bool boolean(const YAML::Node& n, std::string_view what);
duration span(const YAML::Node& n, std::string_view what);
status_code code(const YAML::Node& n, std::string_view what);
connectivity_state state(const YAML::Node& n, std::string_view what);
/// `5ms`, or {fixed: 5ms} / {uniform: [1ms, 9ms]} / {normal: {mean, stddev}} /
/// {lognormal: {median, sigma}} / {exponential: {mean}}.
latency_dist latency(const YAML::Node& n);
/// A JSON object given as JSON text or as a YAML map (scalars that read as numbers or
/// booleans become those); returns JSON text.
std::string json_object(const YAML::Node& n, std::string_view what);
/// A name or a list of names.
std::vector<std::string> names(const YAML::Node& n, std::string_view what);
/// The node in flow style ("failed_calls: {max: 0}"), for messages and summaries.
std::string flow(const YAML::Node& n);
int line_of(const YAML::Node& n);

/// Reads one entry of `expect` into sc.expect (parse_expect.cpp); backends must be read.
void read_expectation(const YAML::Node& n, scenario& sc);

}  // namespace achan::scenario::detail
