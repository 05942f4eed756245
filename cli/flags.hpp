#pragma once
/// Command-line parsing for the `achan` subcommands: a declared list of flags per
/// subcommand, `--flag VALUE`, `--flag=VALUE`, short aliases (`-d VALUE`), repeatable
/// flags, switches, positional arguments, generated `--help` text, and typed getters
/// (durations such as `500ms`, `10s`, `2m`). Every problem is a usage_error whose
/// message is one line naming it; main() prints it and exits 2.
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace achan::cli {

/// A usage problem (unknown flag, missing or malformed value, bad positional count...).
/// what() is one line without a trailing newline.
class usage_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// One flag a subcommand accepts.
struct flag_spec {
  std::string name;        ///< long form, "--deadline"
  std::string alias;       ///< short form ("-d") or ""
  std::string value_name;  ///< placeholder shown in help ("DURATION"); "" = a switch
  std::string help;        ///< one line
  bool repeatable = false;
};

/// What a subcommand accepts, and its help text.
struct command_spec {
  std::string name;                      ///< "call"
  std::string usage;                     ///< "achan call TARGET METHOD [flags]"
  std::string summary;                   ///< a paragraph shown under the usage line
  std::vector<std::string> positionals;  ///< required, in order ("TARGET", "METHOD")
  std::vector<flag_spec> flags;
};

/// The parsed command line of one subcommand.
class parsed_args {
 public:
  /// Positional arguments, in order (exactly as many as the spec names).
  std::vector<std::string> positionals;
  /// True if `--help` or `-h` was given (nothing else was checked).
  bool help = false;

  /// True if flag `name` (long form) was given.
  bool has(std::string_view name) const;
  /// The last value of `name`, or `fallback`.
  std::string get(std::string_view name, std::string fallback = {}) const;
  /// Every value of a repeatable flag, in order.
  std::vector<std::string> all(std::string_view name) const;
  /// The value as a duration ("500ms"), or `fallback` if absent. Throws usage_error.
  std::optional<std::chrono::nanoseconds> duration(std::string_view name) const;
  /// The value as an integer in [lo, hi], or `fallback`. Throws usage_error.
  std::int64_t integer(std::string_view name, std::int64_t fallback, std::int64_t lo,
                       std::int64_t hi) const;
  /// The value as a positive finite number, or `fallback`. Throws usage_error.
  double number(std::string_view name, double fallback) const;
  /// The value as a number in [lo, hi] (bounds included), or `fallback`. Throws
  /// usage_error naming the range.
  double number_in(std::string_view name, double fallback, double lo, double hi) const;

  /// Filled by parse(): long name → values.
  std::map<std::string, std::vector<std::string>, std::less<>> values;
};

/// Parses `args` (the words after the subcommand name) against `spec`. Throws
/// usage_error for an unknown flag, a missing value, a repeated non-repeatable flag or
/// the wrong number of positionals (unless --help was given).
parsed_args parse(const command_spec& spec, const std::vector<std::string>& args);

/// The `--help` text of `spec`: usage, summary, and one line per flag.
std::string help_text(const command_spec& spec);

/// Parses "250us", "500ms", "1.5s", "10s", "2m", "1h" (a non-negative decimal number and
/// a unit; "0" alone is zero). Throws usage_error naming `what` and the text.
std::chrono::nanoseconds parse_duration(std::string_view text, std::string_view what);

/// Splits a flag's "HOST:PORT" ("[::1]:PORT" for IPv6; port 0..65535) into host (brackets
/// removed) and port. Throws usage_error "FLAG: 'VALUE' is not HOST:PORT".
std::pair<std::string, std::uint16_t> parse_host_port(std::string_view flag,
                                                      const std::string& value);

}  // namespace achan::cli
