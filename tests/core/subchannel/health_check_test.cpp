// grpc.health.v1 messages by hand and the verdicts on Watch events, as plain functions.
#include "core/subchannel/health_check.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace achan;
using action = health_verdict::action;
using cs = connectivity_state;

TEST_CASE("health_check: the request is field 1 length-delimited and empty for the server") {
  CHECK(encode_health_request("") == "");
  CHECK(encode_health_request("svc") == std::string{"\x0A\x03svc"});
  std::string long_name(300, 'x');  // a two-byte varint length: 300 = 0xAC 0x02
  auto enc = encode_health_request(long_name);
  CHECK(enc.substr(0, 3) == std::string{"\x0A\xAC\x02"});
  CHECK(enc.substr(3) == long_name);
}

TEST_CASE("health_check: decodes the status field and skips others") {
  CHECK(*decode_health_status("") == 0);
  CHECK(*decode_health_status(std::string{"\x08\x01"}) == 1);
  CHECK(*decode_health_status(std::string{"\x08\x02"}) == 2);
  CHECK(*decode_health_status(std::string{"\x08\x01\x08\x03"}) == 3);  // the last one wins
  // Unknown fields of every wire type before it: varint, fixed64, bytes, fixed32.
  std::string other{
      "\x10\x96\x01"
      "\x19"
      "12345678"
      "\x22\x02xy"
      "\x2D"
      "abcd"
      "\x08\x01"};
  CHECK(*decode_health_status(other) == 1);
  // An enum is an int32: a negative value is ten bytes on the wire.
  CHECK(*decode_health_status(std::string{"\x08\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\x01"}) == -1);
}

TEST_CASE("health_check: malformed responses are INTERNAL errors saying why") {
  auto bad = [](std::string in) {
    auto r = decode_health_status(in);
    REQUIRE(!r.ok());
    CHECK(r.error().code == status_code::internal);
    return r.error().message;
  };
  CHECK(bad("\x08") == "malformed HealthCheckResponse (truncated varint)");
  CHECK(bad("\x0A\x01x").find("field 1 is not a varint") != std::string::npos);
  CHECK(bad("\x12\x05x").find("truncated length-delimited") != std::string::npos);
  CHECK(bad("\x19xx").find("truncated fixed-size") != std::string::npos);
  CHECK(bad("\x13").find("wire type 3") != std::string::npos);
  CHECK(bad(std::string{"\x00\x01", 2}).find("field number 0") != std::string::npos);
  CHECK(bad("\x80").find("truncated field key") != std::string::npos);
  CHECK(bad(std::string(11, '\xFF')).find("truncated") != std::string::npos);  // > 10 bytes
}

TEST_CASE("health_check: status names") {
  CHECK(serving_status_name(0) == "UNKNOWN");
  CHECK(serving_status_name(1) == "SERVING");
  CHECK(serving_status_name(2) == "NOT_SERVING");
  CHECK(serving_status_name(3) == "SERVICE_UNKNOWN");
  CHECK(serving_status_name(7) == "status 7");
}

TEST_CASE("health_check: SERVING is READY and anything else TRANSIENT_FAILURE") {
  auto ok = judge_health_message(std::string{"\x08\x01"}, "svc", "10.0.0.1:50051");
  CHECK(ok.what == action::report);
  CHECK(ok.state == cs::ready);
  CHECK(ok.why.ok());
  auto no = judge_health_message(std::string{"\x08\x02"}, "svc", "10.0.0.1:50051");
  CHECK(no.what == action::report);
  CHECK(no.state == cs::transient_failure);
  CHECK(no.why.code == status_code::unavailable);
  CHECK(no.why.message == "health check of service 'svc' on 10.0.0.1:50051: NOT_SERVING");
  auto junk = judge_health_message("\x08", "", "h:1");
  CHECK(junk.state == cs::transient_failure);
  CHECK(junk.why.message ==
        "health check of service '' on h:1: malformed HealthCheckResponse (truncated varint)");
}

TEST_CASE("health_check: how a Watch ended decides between disable and the two retries") {
  auto unimpl = judge_health_end({status_code::unimplemented, "x"}, "svc", "10.0.0.1:50051");
  CHECK(unimpl.what == action::disable);
  CHECK(unimpl.state == cs::ready);
  CHECK(unimpl.why.code == status_code::unimplemented);
  CHECK(unimpl.why.message ==
        "health checking disabled: 10.0.0.1:50051 does not implement grpc.health.v1.Health "
        "(UNIMPLEMENTED)");
  auto gone = judge_health_end({status_code::unavailable, "reset"}, "svc", "h:1");
  CHECK(gone.what == action::retry_quietly);
  CHECK(gone.state == cs::transient_failure);
  CHECK(gone.why.message ==
        "health check of service 'svc' on h:1: Watch ended with UNAVAILABLE: reset");
  auto err = judge_health_end({status_code::internal, "boom"}, "svc", "h:1");
  CHECK(err.what == action::retry);
  CHECK(err.why.code == status_code::unavailable);
  auto ended = judge_health_end({}, "svc", "h:1");  // a Watch must not end, even with OK
  CHECK(ended.what == action::retry);
  CHECK(ended.why.message.ends_with("Watch ended with OK"));
}
