#pragma once
// Helpers of the service config parser tests (service_config_*_test.cpp).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include <achan/service_config.hpp>

namespace achan::test {

inline service_config_ptr parse_ok(const std::string& text,
                                   const service_config_parse_options& o = {}) {
  auto r = parse_service_config(text, o);
  INFO(text);
  INFO(r.error().message);
  REQUIRE(r.ok());
  return *r;
}

// A config with one methodConfig entry for service "s" holding `fields`.
inline std::string one_method(const std::string& fields) {
  return R"({"methodConfig": [{"name": [{"service": "s"}], )" + fields + "}]}";
}

inline std::string retry_with(const std::string& fields) {
  return one_method(R"("retryPolicy": {)" + fields + "}");
}

inline const std::string good_retry_fields =
    R"("initialBackoff": "0.1s", "maxBackoff": "1s", "backoffMultiplier": 2,)"
    R"( "retryableStatusCodes": ["UNAVAILABLE"])";

inline const method_config& only_method(const service_config& sc) {
  REQUIRE(sc.methods.size() == 1);
  return sc.methods[0];
}

struct error_case {
  std::string text;
  std::string message;  // the whole expected message
};

inline void check_errors(const std::vector<error_case>& cases) {
  for (const auto& c : cases) {
    auto r = parse_service_config(c.text);
    INFO(c.text);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == status_code::invalid_argument);
    CHECK(r.error().message == c.message);
  }
}

}  // namespace achan::test
