#include "core/subchannel/health_check.hpp"

#include <optional>

namespace achan {
namespace {

/// Reads a base-128 varint at `pos`; nullopt if it is truncated or longer than 10 bytes.
std::optional<std::uint64_t> read_varint(std::string_view in, std::size_t& pos) {
  std::uint64_t v = 0;
  for (int shift = 0; shift < 70 && pos < in.size(); shift += 7) {
    auto b = static_cast<std::uint8_t>(in[pos++]);
    v |= static_cast<std::uint64_t>(b & 0x7F) << shift;
    if ((b & 0x80) == 0)
      return v;
  }
  return std::nullopt;
}

status malformed(std::string what) {
  return {status_code::internal, "malformed HealthCheckResponse (" + std::move(what) + ")"};
}

std::string prefix(std::string_view service, std::string_view address) {
  return "health check of service '" + std::string{service} + "' on " + std::string{address} + ": ";
}

}  // namespace

std::string encode_health_request(std::string_view service) {
  std::string out;
  if (service.empty())
    return out;
  out.push_back('\x0A');  // field 1, wire type 2 (length-delimited)
  for (auto n = static_cast<std::uint64_t>(service.size());; n >>= 7) {
    if (n < 0x80) {
      out.push_back(static_cast<char>(n));
      break;
    }
    out.push_back(static_cast<char>((n & 0x7F) | 0x80));
  }
  out.append(service);
  return out;
}

result<std::int32_t> decode_health_status(std::string_view message) {
  std::int32_t status = 0;
  std::size_t pos = 0;
  while (pos < message.size()) {
    auto key = read_varint(message, pos);
    if (!key)
      return malformed("truncated field key");
    auto field = *key >> 3;
    auto wire = *key & 7;
    if (field == 0)
      return malformed("field number 0");
    if (field == 1 && wire != 0)
      return malformed("field 1 is not a varint");
    switch (wire) {
      case 0: {
        auto v = read_varint(message, pos);
        if (!v)
          return malformed("truncated varint");
        if (field == 1)  // an enum is an int32: protobuf keeps the low 32 bits
          status = static_cast<std::int32_t>(static_cast<std::uint32_t>(*v));
        break;
      }
      case 1:
      case 5: {
        std::size_t n = wire == 1 ? 8 : 4;
        if (message.size() - pos < n)
          return malformed("truncated fixed-size field");
        pos += n;
        break;
      }
      case 2: {
        auto n = read_varint(message, pos);
        if (!n || *n > message.size() - pos)
          return malformed("truncated length-delimited field");
        pos += static_cast<std::size_t>(*n);
        break;
      }
      default:
        return malformed("wire type " + std::to_string(wire));
    }
  }
  return status;
}

std::string serving_status_name(std::int32_t status) {
  switch (status) {
    case 0:
      return "UNKNOWN";
    case 1:
      return "SERVING";
    case 2:
      return "NOT_SERVING";
    case 3:
      return "SERVICE_UNKNOWN";
    default:
      return "status " + std::to_string(status);
  }
}

health_verdict judge_health_message(std::string_view message, std::string_view service,
                                    std::string_view address) {
  using action = health_verdict::action;
  auto s = decode_health_status(message);
  if (s && *s == health_serving)
    return {action::report, connectivity_state::ready, {}};
  return {action::report,
          connectivity_state::transient_failure,
          {status_code::unavailable,
           prefix(service, address) + (s ? serving_status_name(*s) : s.error().message)}};
}

health_verdict judge_health_end(const status& end, std::string_view service,
                                std::string_view address) {
  using action = health_verdict::action;
  if (end.code == status_code::unimplemented)
    return {action::disable,
            connectivity_state::ready,
            {status_code::unimplemented,
             "health checking disabled: " + std::string{address} +
                 " does not implement grpc.health.v1.Health (UNIMPLEMENTED)"}};
  return {
      end.code == status_code::unavailable ? action::retry_quietly : action::retry,
      connectivity_state::transient_failure,
      {status_code::unavailable, prefix(service, address) + "Watch ended with " + end.to_string()}};
}

}  // namespace achan
