// cli/flags: the `achan` subcommands' flag parsing, help text and durations.
#include <doctest/doctest.h>

#include "cli/flags.hpp"

using namespace achan::cli;
using namespace std::chrono_literals;

namespace {

command_spec spec() {
  return {"call",
          "achan call TARGET METHOD",
          "Calls.",
          {"TARGET", "METHOD"},
          {{"--data", "-d", "JSON", "request"},
           {"--header", "-H", "KV", "metadata", true},
           {"--verbose", "-v", "", "more"},
           {"--deadline", "", "DURATION", "deadline"},
           {"--count", "", "N", "count"}}};
}

std::string error_of(const std::vector<std::string>& args) {
  try {
    parse(spec(), args);
  } catch (const usage_error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("flags: long and short forms values switches repeatables and positionals") {
  auto a = parse(
      spec(), {"t", "-d", "{}", "--header=a: b", "-H", "c: d", "m", "-v", "--deadline", "250ms"});
  CHECK(a.positionals == std::vector<std::string>{"t", "m"});
  CHECK(a.get("--data") == "{}");
  CHECK(a.all("--header") == std::vector<std::string>{"a: b", "c: d"});
  CHECK(a.has("--verbose"));
  CHECK_FALSE(a.has("--count"));
  CHECK(a.duration("--deadline") == std::chrono::nanoseconds{250ms});
  CHECK(a.integer("--count", 7, 1, 10) == 7);
  auto dashes = parse(spec(), {"t", "--", "-m"});
  CHECK(dashes.positionals.back() == "-m");
}

TEST_CASE("flags: every usage problem is a one-line usage_error naming it") {
  CHECK(error_of({"t", "m", "--nope"}).find("unknown flag '--nope'") != std::string::npos);
  CHECK(error_of({"t", "m", "-d"}).find("--data needs a value") != std::string::npos);
  CHECK(error_of({"t", "m", "-d", "1", "-d", "2"}).find("given twice") != std::string::npos);
  CHECK(error_of({"t", "m", "--verbose=1"}).find("takes no value") != std::string::npos);
  CHECK(error_of({"t"}).find("missing METHOD") != std::string::npos);
  CHECK(error_of({"t", "m", "x"}).find("unexpected argument 'x'") != std::string::npos);
  auto a = parse(spec(), {"t", "m", "--count", "11", "--deadline", "5"});
  CHECK_THROWS_WITH_AS(a.integer("--count", 1, 1, 10), doctest::Contains("out of range"),
                       usage_error);
  CHECK_THROWS_WITH_AS(a.duration("--deadline"), doctest::Contains("missing unit"), usage_error);
  CHECK(parse(spec(), {"--help"}).help);  // no positional check with --help
}

TEST_CASE("flags: numbers in a closed range take both bounds and refuse the rest") {
  auto at = [](const char* v) { return parse(spec(), {"t", "m", "--count", v}); };
  CHECK(at("0").number_in("--count", 0.5, 0, 1) == 0);
  CHECK(at("1").number_in("--count", 0.5, 0, 1) == 1);
  CHECK(at("0.25").number_in("--count", 0.5, 0, 1) == 0.25);
  CHECK(parse(spec(), {"t", "m"}).number_in("--count", 0.5, 0, 1) == 0.5);
  for (auto bad : {"2", "-0.1", "nan", "x", "0.5x"})
    CHECK_THROWS_WITH_AS(at(bad).number_in("--count", 0, 0, 1),
                         doctest::Contains("is not a number in [0, 1]"), usage_error);
}

TEST_CASE("flags: durations in every unit and malformed ones") {
  CHECK(parse_duration("0", "x") == 0ns);
  CHECK(parse_duration("250us", "x") == 250us);
  CHECK(parse_duration("500ms", "x") == 500ms);
  CHECK(parse_duration("1.5s", "x") == 1500ms);
  CHECK(parse_duration("2m", "x") == 120s);
  CHECK(parse_duration("1h", "x") == 3600s);
  for (auto bad : {"", "ms", "10", "10x", "1.2.3s", "-1s"})
    CHECK_THROWS_AS(parse_duration(bad, "--deadline"), usage_error);
}

TEST_CASE("flags: help text lists every flag with its value and help") {
  auto h = help_text(spec());
  for (auto s : {"usage: achan call TARGET METHOD", "-d, --data JSON", "-H, --header KV",
                 "(repeatable)", "--verbose", "-h, --help"})
    CHECK(h.find(s) != std::string::npos);
}
