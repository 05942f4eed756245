#include <achan/errors.hpp>

#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/message.hpp>

namespace achan {

namespace {
constexpr auto category = caf::atom("achan");
}

const char* to_string(errc e) noexcept {
  switch (e) {
    case errc::invalid_target:
      return "invalid_target";
    case errc::unknown_policy:
      return "unknown_policy";
    case errc::invalid_option:
      return "invalid_option";
    case errc::dial_timeout:
      return "dial_timeout";
    case errc::channel_closed:
      return "channel_closed";
    case errc::would_deadlock:
      return "would_deadlock";
  }
  return "unknown_error";
}

caf::error make_error(errc e, std::string message) {
  return caf::error{static_cast<std::uint8_t>(e), category, caf::make_message(std::move(message))};
}

std::string to_string_with_message(const caf::error& err) {
  if (err.category() != category)
    return caf::to_string(err);
  std::string out = to_string(static_cast<errc>(err.code()));
  auto& ctx = err.context();
  if (ctx.size() == 1 && ctx.match_element<std::string>(0)) {
    out += ": ";
    out += ctx.get_as<std::string>(0);
  }
  return out;
}

void add_error_category(caf::actor_system_config& cfg) {
  cfg.add_error_category(category, [](std::uint8_t code, caf::atom_value, const caf::message& ctx) {
    return to_string_with_message(caf::error{code, category, ctx});
  });
}

}  // namespace achan
