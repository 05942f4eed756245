#pragma once
/// Building echo.proto requests and reading replies in real-socket tests.
#include <doctest/doctest.h>

#include <string>

#include <achan/call.hpp>
#include "proto/echo.pb.h"

namespace achan::test {

/// A serialized EchoRequest (see proto/echo.proto for what each knob does).
inline std::string echo_request(std::string payload, std::uint32_t delay_ms = 0, int fail_code = 0,
                                std::string fail_message = {}, std::uint32_t reply_size = 0) {
  achan::test::EchoRequest r;
  r.set_payload(std::move(payload));
  r.set_delay_ms(delay_ms);
  r.set_fail_code(fail_code);
  r.set_fail_message(std::move(fail_message));
  r.set_reply_size(reply_size);
  return r.SerializeAsString();
}

/// The EchoReply in a successful result (fails the test if it does not parse).
inline achan::test::EchoReply echo_reply(const call_result& r) {
  achan::test::EchoReply out;
  REQUIRE(out.ParseFromString(r.payload));
  return out;
}

}  // namespace achan::test
