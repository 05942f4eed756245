// achan watch TARGET: one line (or JSON object) per connectivity change of the channel
// and of each subchannel, and per resolver answer, until --duration or SIGINT/SIGTERM.
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/dial_flags.hpp"
#include "cli/event_log.hpp"
#include "testkit/program_args.hpp"

namespace achan::cli {

command_spec watch_spec() {
  command_spec s{"watch",
                 "achan watch TARGET [flags]",
                 "Connects to TARGET and prints one line per event until --duration passes or\n"
                 "SIGINT/SIGTERM: the channel's connectivity changes, each subchannel's\n"
                 "(address, old -> new state, reason) and the resolver's address lists and\n"
                 "errors. An IDLE channel is asked to connect again, so reconnection shows.",
                 {"TARGET"},
                 {{"--duration", "", "DURATION", "stop after this long (default: until Ctrl-C)"},
                  {"--json", "", "", "print one JSON object per event"}}};
  add_dial_flags(s.flags, dial_flags_basic);
  return s;
}

namespace {

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (auto& s : v)
    out += (out.empty() ? "" : ", ") + s;
  return out;
}

/// Formats events as text lines or JSON objects.
struct formatter {
  bool json = false;

  std::string channel(const state_change& c) const {
    auto from = std::string{to_string(c.from)}, to = std::string{to_string(c.to)};
    if (json) {
      nlohmann::ordered_json j{{"time", utc_timestamp()}, {"event", "channel"}};
      j["from"] = from;
      j["to"] = to;
      return j.dump();
    }
    return utc_timestamp() + "  channel     " + (c.from == c.to ? to : from + " -> " + to);
  }

  std::string observed(const channel_event& e) const {
    using k = channel_event::kind;
    nlohmann::ordered_json j{{"time", utc_timestamp()}};
    std::string text = utc_timestamp() + "  ";
    switch (e.what) {
      case k::resolver_update:
        j["event"] = "resolver";
        j["addresses"] = e.addresses;
        text += "resolver    " + std::to_string(e.addresses.size()) + " address" +
                (e.addresses.size() == 1 ? "" : "es") + ": " + join(e.addresses);
        if (!e.reason.empty()) {
          j["notes"] = e.reason;
          text += "  (" + e.reason + ")";
        }
        break;
      case k::resolver_error:
        j["event"] = "resolver_error";
        j["reason"] = e.reason;
        text += "resolver    error: " + e.reason;
        break;
      case k::service_config:
        j["event"] = "service_config";
        j["config"] = e.reason;
        text += "config      " + (e.reason.empty() ? std::string{"none"} : e.reason);
        break;
      case k::subchannel_state:
        j["event"] = "subchannel";
        j["subchannel"] = e.subchannel;
        j["address"] = e.address;
        j["from"] = to_string(e.from);
        j["to"] = to_string(e.to);
        j["reason"] = e.reason;
        text += "subchannel  " + e.address + " #" + std::to_string(e.subchannel) + "  " +
                std::string{to_string(e.from)} + " -> " + std::string{to_string(e.to)};
        if (!e.reason.empty())
          text += "  (" + e.reason + ")";
        break;
    }
    return json ? j.dump() : text;
  }
};

}  // namespace

int run_watch(const parsed_args& args) {
  auto opts = dial_options_from(args);
  auto duration = args.duration("--duration");
  formatter fmt{args.has("--json")};
  auto stop = testkit::block_stop_signals();

  auto log = std::make_shared<event_log>();
  auto idle = std::make_shared<std::atomic<bool>>(false);
  opts.idle_timeout = clock_duration::zero();  // a watched channel never idles on its own
  opts.observer = [log, fmt](const channel_event& e) { log->push(fmt.observed(e)); };
  client_system sys;
  auto ch = dial_or_throw(sys.get(), args.positionals[0], std::move(opts));
  ch.subscribe([log, fmt, idle](const state_change& c) {
    log->push(fmt.channel(c));
    if (c.to == connectivity_state::idle && c.from != c.to)
      idle->store(true);
  });
  ch.connect();

  auto until = duration ? std::chrono::steady_clock::now() + *duration
                        : std::chrono::steady_clock::time_point::max();
  for (;;) {
    for (auto& line : log->pop_all(std::chrono::milliseconds(50))) {
      std::fputs(line.c_str(), stdout);
      std::fputc('\n', stdout);
    }
    std::fflush(stdout);
    if (idle->exchange(false))
      ch.connect();
    timespec zero{0, 0};
    if (sigtimedwait(&stop, nullptr, &zero) > 0 || std::chrono::steady_clock::now() >= until)
      break;
  }
  ch.close();
  return 0;
}

}  // namespace achan::cli
