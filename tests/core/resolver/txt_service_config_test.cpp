// choose_txt_service_config (gRFC A2) as a pure function: which TXT record counts, which
// choice matches (language, host name, percentage against a given roll), and the
// precise errors for bad records.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "core/resolver/txt_service_config.hpp"

using namespace achan;

namespace {

const std::string rr = R"({"loadBalancingPolicy":"round_robin"})";
const std::string pf = R"({"loadBalancingPolicy":"pick_first"})";

/// One grpc_config record holding `choices` (a JSON array text).
std::vector<std::string> record(const std::string& choices) {
  return {"grpc_config=" + choices};
}

txt_config choose(const std::string& choices, std::string host = "client-1", unsigned roll = 0) {
  return choose_txt_service_config(record(choices), host, roll);
}

/// The chosen text; fails the test on an error or on no config.
std::string chosen(const txt_config& c) {
  REQUIRE_MESSAGE(c.ok(), c.error().message);
  REQUIRE(c->has_value());
  return **c;
}

bool none(const txt_config& c) {
  return c.ok() && !c->has_value();
}

std::string error_of(const txt_config& c) {
  REQUIRE_FALSE(c.ok());
  CHECK(c.error().code == status_code::invalid_argument);
  return c.error().message;
}

}  // namespace

TEST_CASE("txt service config: a single unconditional choice gives its serviceConfig") {
  CHECK(chosen(choose(R"([{"serviceConfig":)" + rr + "}]")) == rr);
}

TEST_CASE("txt service config: the serviceConfig comes out compact with its key order") {
  auto c = choose(R"([ { "serviceConfig" : { "z" : 1 , "a" : [ true , null ] } } ])");
  CHECK(chosen(c) == R"({"z":1,"a":[true,null]})");
}

TEST_CASE("txt service config: no records or no grpc_config record means no config") {
  CHECK(none(choose_txt_service_config({}, "h", 0)));
  CHECK(none(choose_txt_service_config({"v=spf1 -all", "grpc_config", "GRPC_CONFIG=[]"}, "h", 0)));
}

TEST_CASE("txt service config: other TXT records around the grpc_config one are ignored") {
  std::vector<std::string> txt{"v=spf1 -all", "grpc_config=[{\"serviceConfig\":" + rr + "}]",
                               "x=[not json"};
  CHECK(chosen(choose_txt_service_config(txt, "h", 0)) == rr);
}

TEST_CASE("txt service config: of several grpc_config records the first is used") {
  std::vector<std::string> txt{"grpc_config=[{\"serviceConfig\":" + pf + "}]",
                               "grpc_config=[{\"serviceConfig\":" + rr + "}]"};
  CHECK(chosen(choose_txt_service_config(txt, "h", 0)) == pf);
  // A bad second record is never read.
  txt[1] = "grpc_config=[oops";
  CHECK(chosen(choose_txt_service_config(txt, "h", 0)) == pf);
}

TEST_CASE("txt service config: the first matching choice wins") {
  auto list = R"([{"clientLanguage":["go"],"serviceConfig":{"a":1}},)"
              R"({"serviceConfig":{"b":2}},{"serviceConfig":{"c":3}}])";
  CHECK(chosen(choose(list)) == R"({"b":2})");
}

TEST_CASE("txt service config: clientLanguage matches c++ case-insensitively") {
  struct row {
    const char* languages;
    bool selected;
  };
  for (auto [languages, selected] :
       {row{R"(["c++"])", true}, row{R"(["java","C++"])", true}, row{"[]", true},
        row{R"(["go","java"])", false}, row{R"(["cpp"])", false}, row{R"(["c"])", false}}) {
    CAPTURE(languages);
    auto c = choose(std::string(R"([{"clientLanguage":)") + languages + R"(,"serviceConfig":{}}])");
    CHECK(none(c) == !selected);
  }
}

TEST_CASE("txt service config: clientHostname needs an exact case-sensitive match") {
  auto list = R"([{"clientHostname":["client-1","client-2"],"serviceConfig":{"a":1}},)"
              R"({"serviceConfig":{"b":2}}])";
  CHECK(chosen(choose(list, "client-2")) == R"({"a":1})");
  CHECK(chosen(choose(list, "Client-2")) == R"({"b":2})");
  CHECK(chosen(choose(list, "client")) == R"({"b":2})");
  CHECK(chosen(choose(list, "")) == R"({"b":2})");  // unknown host name: no list matches
  CHECK(chosen(choose(R"([{"clientHostname":[],"serviceConfig":{"a":1}}])", "")) == R"({"a":1})");
  CHECK(none(choose(R"([{"clientHostname":[""],"serviceConfig":{"a":1}}])", "")));
}

TEST_CASE("txt service config: percentage p selects the rolls below p") {
  struct row {
    int percentage;
    unsigned roll;
    bool selected;
  };
  for (auto [p, roll, selected] :
       {row{0, 0, false}, row{1, 0, true}, row{1, 1, false}, row{50, 49, true}, row{50, 50, false},
        row{99, 98, true}, row{99, 99, false}, row{100, 99, true}, row{100, 0, true}}) {
    CAPTURE(p);
    CAPTURE(roll);
    auto list = R"([{"percentage":)" + std::to_string(p) + R"(,"serviceConfig":{"canary":true}},)" +
                R"({"serviceConfig":{"canary":false}}])";
    CHECK(chosen(choose(list, "h", roll)) ==
          (selected ? R"({"canary":true})" : R"({"canary":false})"));
  }
}

TEST_CASE("txt service config: every criterion of a choice must match") {
  auto list = R"([{"clientLanguage":["c++"],"clientHostname":["h"],"percentage":10,)"
              R"("serviceConfig":{"a":1}}])";
  CHECK(chosen(choose(list, "h", 9)) == R"({"a":1})");
  CHECK(none(choose(list, "h", 10)));
  CHECK(none(choose(list, "other", 0)));
}

TEST_CASE("txt service config: no matching choice and an empty list mean no config") {
  CHECK(none(choose(R"([{"clientLanguage":["go"],"serviceConfig":{}}])")));
  CHECK(none(choose("[]")));
}

TEST_CASE("txt service config: malformed JSON is an error with the parser's position") {
  auto m = error_of(choose(R"([{"serviceConfig":{}})"));
  CHECK(m.find("grpc_config: invalid JSON: ") == 0);
  CHECK(m.find("json.exception") == std::string::npos);
  CHECK(m.find("column") != std::string::npos);
  CHECK(error_of(choose("")).find("invalid JSON") != std::string::npos);
  CHECK(error_of(choose("[] []")).find("invalid JSON") != std::string::npos);
  CHECK(error_of(choose_txt_service_config({"grpc_config=[\"\xff\"]"}, "h", 0))
            .find("invalid JSON") != std::string::npos);
}

TEST_CASE("txt service config: wrong shapes and types are precise errors") {
  struct row {
    const char* choices;
    const char* message;
  };
  for (auto [choices, message] : {
           row{R"({"serviceConfig":{}})",
               "grpc_config: the value must be a JSON array of service config choices, got an "
               "object"},
           row{R"([{"serviceConfig":{}},"x"])",
               "grpc_config: choices[1] must be an object, got a string"},
           row{"[{}]", "grpc_config: choices[0].serviceConfig is missing"},
           row{R"([{"serviceConfig":[]}])",
               "grpc_config: choices[0].serviceConfig must be an object, got an array"},
           row{R"([{"serviceConfig":"{}"}])",
               "grpc_config: choices[0].serviceConfig must be an object, got a string"},
           row{R"([{"clientLanguage":"c++","serviceConfig":{}}])",
               "grpc_config: choices[0].clientLanguage must be an array of strings, got a string"},
           row{R"([{"clientHostname":["h",7],"serviceConfig":{}}])",
               "grpc_config: choices[0].clientHostname[1] must be a string, got a number"},
           row{R"([{"percentage":101,"serviceConfig":{}}])",
               "grpc_config: choices[0].percentage must be an integer from 0 to 100, got 101"},
           row{R"([{"percentage":-1,"serviceConfig":{}}])",
               "grpc_config: choices[0].percentage must be an integer from 0 to 100, got -1"},
           row{R"([{"percentage":50.0,"serviceConfig":{}}])",
               "grpc_config: choices[0].percentage must be an integer from 0 to 100, got 50.0"},
           row{R"([{"percentage":"50","serviceConfig":{}}])",
               "grpc_config: choices[0].percentage must be an integer from 0 to 100, got \"50\""},
       }) {
    CAPTURE(choices);
    CHECK(error_of(choose(choices)) == message);
  }
}

TEST_CASE("txt service config: an unknown field invalidates the whole config as A2 says") {
  auto m = error_of(choose(R"([{"percent":10,"serviceConfig":{}}])"));
  CHECK(m ==
        "grpc_config: choices[0]: unknown field 'percent' (a choice has only clientLanguage, "
        "percentage, clientHostname and serviceConfig)");
  // Unknown fields inside serviceConfig are the channel's business, not the resolver's.
  CHECK(chosen(choose(R"([{"serviceConfig":{"future":1}}])")) == R"({"future":1})");
}

TEST_CASE("txt service config: record text quoted in errors is clipped") {
  auto key = std::string(1000, 'k');
  auto m = error_of(choose(R"([{")" + key + R"(":1,"serviceConfig":{}}])"));
  CHECK(m.find("unknown field '" + std::string(64, 'k') + "...'") != std::string::npos);
  CHECK(m.size() < 250);
  // Not cut inside a UTF-8 sequence: 63 ASCII bytes, then a two-byte letter.
  auto utf8 = std::string(63, 'k') + "\xc3\xa9" + std::string(100, 'k');
  auto u = error_of(choose(R"([{")" + utf8 + R"(":1,"serviceConfig":{}}])"));
  CHECK(u.find("'" + std::string(63, 'k') + "...'") != std::string::npos);
  auto long_string = error_of(choose(R"([{"serviceConfig":{"a":")" + std::string(5000, 's')));
  CHECK(long_string.size() < 300);
}

TEST_CASE("txt service config: a bad choice after the matching one still fails the config") {
  // Validated as a whole, so the outcome does not depend on the roll or the host.
  auto m = error_of(choose(R"([{"serviceConfig":{}},{"percentage":200,"serviceConfig":{}}])"));
  CHECK(m.find("choices[1].percentage") != std::string::npos);
}

TEST_CASE("txt service config: nesting deeper than the bound is an error not a deep recursion") {
  auto nest = [](int levels) {  // the list, the choice, serviceConfig, then {"a": ...}
    std::string s = R"([{"serviceConfig":)";
    for (int i = 3; i < levels; ++i)
      s += R"({"a":)";
    s += "{}";
    for (int i = 3; i < levels; ++i)
      s += "}";
    return s + "}]";
  };
  CHECK(choose(nest(max_grpc_config_depth)).ok());
  CHECK(error_of(choose(nest(max_grpc_config_depth + 1))) ==
        "grpc_config: JSON nested deeper than 64 levels");
  // What one 64 KiB DNS answer could carry.
  CHECK(error_of(choose(nest(10000))).find("nested deeper") != std::string::npos);
}
