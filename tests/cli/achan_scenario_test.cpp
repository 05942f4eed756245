// `achan scenario`: check, run --sim over seeds (exit codes, replay line, determinism
// check, JSON-lines trace) and --real, driving the binary.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "tests/cli/command_support.hpp"
#include "tests/support/temp_dir.hpp"

using namespace achan::test;

namespace {

const char* good = R"(name: two-backends
duration: 2s
backends:
  - name: b
    count: 2
    latency: {uniform: [1ms, 9ms]}
channel: {policy: round_robin}
load: {concurrency: 2}
timeline:
  - at: 1s
    kill: b-1
expect:
  - share: {backend: b-0, min: 0.4, max: 0.6, to: 1s}
  - share: {backend: b-0, min: 1, from: 1100ms}
)";

// The same with a bound no run can meet.
const char* wrong = R"(duration: 1s
backends: [{name: b, count: 2}]
channel: {policy: round_robin}
load: {concurrency: 2}
expect:
  - share: {backend: b-0, max: 0.1}
)";

}  // namespace

TEST_CASE("achan scenario check: a good file is ok and a bad one is exit 2 with line and column") {
  temp_dir dir;
  auto r = run_achan({"scenario", "check", dir.write("good.yaml", good)});
  CHECK(r.exit_code == 0);
  CHECK(
      r.out.find("ok: two-backends: 1 backends (2 instances), 1 timeline events, 2 expectations") !=
      std::string::npos);
  auto bad = dir.write("bad.yaml", "duration: 2s\nbackends: [{name: b}]\nload: {concurency: 2}\n");
  r = run_achan({"scenario", "check", bad});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("bad.yaml:3:8: unknown key 'concurency' in load") != std::string::npos);
  r = run_achan({"scenario", "check", (dir.path() / "missing.yaml").string()});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("cannot read scenario file") != std::string::npos);
  r = run_achan({"scenario", "frobnicate", bad});
  CHECK(r.exit_code == 2);
}

TEST_CASE("achan scenario run --sim: seeds pass and the determinism check holds") {
  temp_dir dir;
  auto file = dir.write("good.yaml", good);
  auto r = run_achan({"scenario", "run", file, "--sim", "--seeds", "1..3", "--check-determinism"});
  INFO(r.out);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("PASS seed 1:") != std::string::npos);
  CHECK(r.out.find("PASS seed 3:") != std::string::npos);
  CHECK(r.out.find("3 seeds: 3 passed, 0 failed") != std::string::npos);
  r = run_achan({"scenario", "run", file, "--sim", "--seeds", "3..1"});
  CHECK(r.exit_code == 2);
  r = run_achan({"scenario", "run", file, "--real", "--seeds", "1..2"});
  CHECK(r.exit_code == 2);
}

TEST_CASE("achan scenario run --sim: a wrong bound is exit 1 with the replay command") {
  temp_dir dir;
  auto file = dir.write("wrong.yaml", wrong);
  auto r = run_achan({"scenario", "run", file, "--sim", "--seeds", "5..6"});
  INFO(r.out);
  CHECK(r.exit_code == 1);
  CHECK(r.out.find("FAIL share: {backend: b-0, max: 0.1}") != std::string::npos);
  CHECK(r.out.find("replay: achan scenario run " + file + " --sim --seed 5") != std::string::npos);
  CHECK(r.out.find("2 seeds: 0 passed, 2 failed") != std::string::npos);
}

TEST_CASE("achan scenario run --trace -: one JSON object per line and the same bytes per seed") {
  temp_dir dir;
  auto file = dir.write("good.yaml", good);
  auto a = run_achan({"scenario", "run", file, "--sim", "--seed", "9", "--trace", "-"});
  auto b = run_achan({"scenario", "run", file, "--sim", "--seed", "9", "--trace", "-"});
  auto c = run_achan({"scenario", "run", file, "--sim", "--seed", "10", "--trace", "-"});
  CHECK(a.exit_code == 0);
  CHECK(a.out == b.out);
  CHECK(a.out != c.out);
  CHECK(a.err.find("PASSED two-backends seed 9") != std::string::npos);  // summary on stderr
  auto lines = a.out_lines();
  REQUIRE(lines.size() > 100);
  std::size_t ends = 0, timeline = 0;
  for (const auto& l : lines) {
    auto j = nlohmann::json::parse(l);  // throws (fails the test) on a bad line
    ends += j["ev"] == "call_end";
    if (j["ev"] == "timeline") {
      ++timeline;
      CHECK(j["what"] == "kill b-1");
      CHECK(j["t_us"] == 1000000);
    }
  }
  CHECK(ends > 100);
  CHECK(timeline == 1);
}

TEST_CASE("achan scenario run --jobs: seeds run in parallel and print as with one job") {
  temp_dir dir;
  auto file = dir.write("good.yaml", good);
  auto one = run_achan({"scenario", "run", file, "--seeds", "1..6", "--jobs", "1", "--trace", "-"});
  auto three =
      run_achan({"scenario", "run", file, "--seeds", "1..6", "--jobs", "3", "--trace", "-"});
  CHECK(one.exit_code == 0);
  CHECK(three.exit_code == 0);
  CHECK(one.out == three.out);  // every seed's trace, in seed order
  CHECK(three.err.find("6 seeds: 6 passed, 0 failed") != std::string::npos);
  CHECK(three.err.find("3 jobs") != std::string::npos);
  auto w = run_achan(
      {"scenario", "run", dir.write("wrong.yaml", wrong), "--seeds", "1..4", "--jobs", "2"});
  CHECK(w.exit_code == 1);
  CHECK(w.out.find("replay: achan scenario run") != std::string::npos);
  CHECK(w.out.find("4 seeds: 0 passed, 4 failed") != std::string::npos);
  CHECK(run_achan({"scenario", "run", file, "--jobs", "0"}).exit_code == 2);
  CHECK(run_achan({"scenario", "run", file, "--real", "--jobs", "2"}).exit_code == 2);
}

TEST_CASE("achan scenario run --real: the same file on loopback servers") {
  temp_dir dir;
  auto r = run_achan({"scenario", "run", dir.write("good.yaml", good), "--real"});
  INFO(r.out);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("PASSED two-backends seed 1") != std::string::npos);
}

TEST_CASE("achan scenario run --real --latency-advisory: a missed latency bound is WARN not FAIL") {
  temp_dir dir;
  auto file = dir.write("fast.yaml", R"(duration: 1s
backends: [{name: b, count: 1, latency: {fixed: 5ms}}]
load: {concurrency: 1}
expect:
  - failed_calls: 0
  - latency: {p50: 1us}
)");
  auto strict = run_achan({"scenario", "run", file, "--real"});
  CHECK(strict.exit_code == 1);
  CHECK(strict.out.find("FAIL latency: {p50: 1us}") != std::string::npos);
  auto advisory = run_achan({"scenario", "run", file, "--real", "--latency-advisory"});
  INFO(advisory.out);
  CHECK(advisory.exit_code == 0);
  CHECK(advisory.out.find("WARN latency: {p50: 1us}") != std::string::npos);
  CHECK(advisory.out.find("PASS failed_calls") != std::string::npos);
  CHECK(run_achan({"scenario", "run", file, "--sim", "--latency-advisory"}).exit_code == 2);
}
