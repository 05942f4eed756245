// protoc-gen-achan itself: run by protoc with good and bad input, its output checked.
// Processes run through std::system with output captured to files (bounded: protoc and
// the plugin read their input and exit).
#include <doctest/doctest.h>

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace fs = std::filesystem;

namespace {

struct run_result {
  int exit_code = -1;  ///< the exit status, or 128 + signal
  std::string output;  ///< stdout and stderr
};

std::string read_file(const fs::path& p) {
  std::ifstream in{p};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A fresh scratch directory per test.
fs::path scratch(const std::string& name) {
  auto dir = fs::path{ACHAN_TEST_SCRATCH} / name;
  fs::remove_all(dir);
  fs::create_directories(dir / "out");
  return dir;
}

run_result run(const std::string& command, const fs::path& dir) {
  auto log = dir / "output.txt";
  int st = std::system((command + " >" + log.string() + " 2>&1").c_str());
  run_result r;
  r.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  r.output = read_file(log);
  return r;
}

// protoc with the plugin on `proto` (relative to `import_dir`) and `parameter`.
run_result protoc(const fs::path& dir, const std::string& import_dir, const std::string& proto,
                  const std::string& parameter = "") {
  auto out = (dir / "out").string();
  std::string cmd = std::string(ACHAN_TEST_PROTOC) + " -I " + import_dir +
                    " --plugin=protoc-gen-achan=" + ACHAN_TEST_PLUGIN +
                    " --achan_out=" + (parameter.empty() ? "" : parameter + ":") + out + " " +
                    import_dir + "/" + proto;
  return run(cmd, dir);
}

}  // namespace

TEST_CASE("codegen plugin: an unknown parameter is a protoc error naming it") {
  auto dir = scratch("unknown_param");
  auto r = protoc(dir, ACHAN_TEST_PROTOS, "cgtest/types.proto", "bogus=1");
  CHECK(r.exit_code == 1);
  CHECK_MESSAGE(r.output.find("unknown parameter 'bogus' (known parameters: actor=true|false)") !=
                    std::string::npos,
                r.output);
  CHECK_FALSE(fs::exists(dir / "out" / "cgtest" / "types.achan.pb.h"));
}

TEST_CASE("codegen plugin: a bad value or a repeated parameter is a protoc error") {
  auto dir = scratch("bad_value");
  auto r = protoc(dir, ACHAN_TEST_PROTOS, "cgtest/types.proto", "actor=maybe");
  CHECK(r.exit_code == 1);
  CHECK_MESSAGE(r.output.find("parameter 'actor' needs the value true or false, not 'maybe'") !=
                    std::string::npos,
                r.output);
  auto bare = protoc(dir, ACHAN_TEST_PROTOS, "cgtest/types.proto", "actor");
  CHECK(bare.exit_code == 1);
  CHECK_MESSAGE(bare.output.find("not ''") != std::string::npos, bare.output);
  auto twice = protoc(dir, ACHAN_TEST_PROTOS, "cgtest/types.proto", "actor=true,actor=false");
  CHECK(twice.exit_code == 1);
  CHECK_MESSAGE(twice.output.find("parameter 'actor' given twice") != std::string::npos,
                twice.output);
}

TEST_CASE("codegen plugin: a method named like a C++ keyword is refused with a message") {
  auto dir = scratch("keyword");
  auto r = protoc(dir, ACHAN_TEST_BAD_PROTOS, "keyword.proto");
  CHECK(r.exit_code == 1);
  CHECK_MESSAGE(
      r.output.find("method cgtest.bad.S.delete is named like a C++ keyword") != std::string::npos,
      r.output);
}

TEST_CASE("codegen plugin: a method named like a generated member is refused with a message") {
  auto dir = scratch("reserved");
  auto r = protoc(dir, ACHAN_TEST_BAD_PROTOS, "reserved.proto");
  CHECK(r.exit_code == 1);
  CHECK_MESSAGE(r.output.find("method cgtest.bad.S.add_to is named like a member of the "
                              "generated classes") != std::string::npos,
                r.output);
}

TEST_CASE("codegen plugin: malformed input on stdin fails without a crash") {
  auto dir = scratch("garbage");
  {
    std::ofstream junk{dir / "junk.bin", std::ios::binary};
    junk << "\x0a\xff\xff\xff\xff\x0f not a CodeGeneratorRequest";
  }
  auto r = run(std::string(ACHAN_TEST_PLUGIN) + " <" + (dir / "junk.bin").string(), dir);
  CHECK(r.exit_code == 1);  // PluginMain's "could not parse input", not a signal
  CHECK_MESSAGE(r.output.find("protoc-gen-achan") != std::string::npos, r.output);
}

TEST_CASE(
    "codegen plugin: actor=false leaves out the stub actor and every file gets both outputs") {
  auto dir = scratch("noactor");
  auto r = protoc(dir, ACHAN_TEST_PROTOS, "cgtest/echo.proto", "actor=false");
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  auto header = read_file(dir / "out" / "cgtest" / "echo.achan.pb.h");
  CHECK(header.find("class Client") != std::string::npos);
  CHECK(header.find("using StubActor") == std::string::npos);
  CHECK(header.find("CAF_ALLOW_UNSAFE_MESSAGE_TYPE") == std::string::npos);
  CHECK(fs::exists(dir / "out" / "cgtest" / "echo.achan.pb.cc"));

  auto types = protoc(dir, ACHAN_TEST_PROTOS, "cgtest/types.proto");
  REQUIRE_MESSAGE(types.exit_code == 0, types.output);
  auto empty = read_file(dir / "out" / "cgtest" / "types.achan.pb.h");
  CHECK(empty.find("has no services") != std::string::npos);
  CHECK(empty.find("#include \"cgtest/types.pb.h\"") != std::string::npos);
  CHECK(fs::exists(dir / "out" / "cgtest" / "types.achan.pb.cc"));
}

TEST_CASE("codegen plugin: the default output has the stub actor only for unary services") {
  auto dir = scratch("default");
  auto r = protoc(dir, ACHAN_TEST_PROTOS, "cgtest/echo.proto");
  REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  auto header = read_file(dir / "out" / "cgtest" / "echo.achan.pb.h");
  CHECK(header.find("namespace cgtest::echo::Echo {") != std::string::npos);
  CHECK(header.find("namespace cgtest::echo::Chat {") != std::string::npos);
  // one StubActor: Echo's (Chat only streams, Nothing has no methods)
  auto first = header.find("using StubActor");
  REQUIRE(first != std::string::npos);
  CHECK(header.find("using StubActor", first + 1) == std::string::npos);
  CHECK(header.find("CAF_ALLOW_UNSAFE_MESSAGE_TYPE(::cgtest::echo::Echo::UnaryCall)") !=
        std::string::npos);
}
