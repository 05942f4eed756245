// parse_service_config (<achan/service_config.hpp>): gRPC's service config JSON
// (doc/service_config.md, gRFCs A2, A6, A17, A21) read with protobuf's JSON mapping for
// durations and numbers, validated while it is read. The first error ends the walk; its
// message starts with the JSON path of the offending value.
#include <achan/service_config.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <limits>
#include <system_error>

#include <nlohmann/json.hpp>

namespace achan {
namespace {

using json = nlohmann::json;

// Deeper nesting is refused while parsing: dump() (messages, lb_config::config) recurses,
// and a service config can come from a peer (a DNS TXT record, an xDS server).
constexpr int max_nesting_depth = 64;
// google.protobuf.Duration's range.
constexpr std::uint64_t max_duration_seconds = 315'576'000'000;
constexpr int last_status_code = static_cast<int>(status_code::unauthenticated);

// The first validation error. Thrown only in this file and caught by parse_service_config,
// so the schema walk need not carry a result<> up through every level; it never escapes.
struct invalid {
  std::string message;
};

// A value as a message shows it: its JSON text, cut to about 40 bytes at a UTF-8 boundary.
std::string shown(const json& v) {
  auto s = v.dump(-1, ' ', false, json::error_handler_t::replace);
  if (s.size() <= 40)
    return s;
  std::size_t n = 37;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80)
    --n;
  s.resize(n);
  return s + "...";
}

// A value and the JSON path that led to it ("methodConfig[0].timeout"), for messages.
struct node {
  const json* v;
  std::string path;

  [[noreturn]] void fail(const std::string& what) const { throw invalid{path + ": " + what}; }
  // "must be X" failures show what was there instead.
  [[noreturn]] void must_be(const std::string& what) const {
    fail("must be " + what + ", not " + shown(*v));
  }

  // Member `key`, or none when absent or null (protobuf's JSON mapping reads null as the
  // field's default, and gRPC treats it as absent). Only on objects.
  std::optional<node> get(std::string_view key) const {
    auto i = v->find(key);
    if (i == v->end() || i->is_null())
      return std::nullopt;
    return node{&*i, field(key)};
  }
  node need(std::string_view key) const {
    if (auto n = get(key))
      return *n;
    throw invalid{field(key) + ": is required"};
  }
  node at(std::size_t i) const { return {&(*v)[i], path + "[" + std::to_string(i) + "]"}; }
  std::string field(std::string_view key) const {
    return path.empty() ? std::string(key) : path + "." + std::string(key);
  }

  const node& object() const {
    if (!v->is_object())
      must_be("an object");
    return *this;
  }
  const node& array() const {
    if (!v->is_array())
      must_be("an array");
    return *this;
  }
  bool boolean() const {
    if (!v->is_boolean())
      must_be("a boolean");
    return v->get<bool>();
  }
  const std::string& text() const {
    if (!v->is_string())
      must_be("a string");
    return v->get_ref<const std::string&>();
  }
};

// An integer as protobuf's JSON mapping gives one: a number without a fraction, or a
// string of decimal digits. The magnitude saturates at UINT64_MAX; callers cap lower.
struct integer {
  bool negative = false;
  std::uint64_t magnitude = 0;
};

std::optional<integer> as_integer(const json& v) {
  constexpr auto max = std::numeric_limits<std::uint64_t>::max();
  if (v.is_number_unsigned())
    return integer{false, v.get<std::uint64_t>()};
  if (v.is_number_integer()) {
    auto i = v.get<std::int64_t>();
    auto m = static_cast<std::uint64_t>(i);
    return integer{i < 0, i < 0 ? 0 - m : m};
  }
  if (v.is_number_float()) {
    auto d = v.get<double>();
    if (!std::isfinite(d) || std::trunc(d) != d)
      return std::nullopt;
    auto m = std::fabs(d);
    return integer{d < 0, m >= 18446744073709551616.0 ? max : static_cast<std::uint64_t>(m)};
  }
  if (!v.is_string())
    return std::nullopt;
  std::string_view s = v.get_ref<const std::string&>();
  integer r;
  if (!s.empty() && s.front() == '-') {
    r.negative = true;
    s.remove_prefix(1);
  }
  if (s.empty())
    return std::nullopt;
  for (char c : s) {
    if (c < '0' || c > '9')
      return std::nullopt;
    auto d = static_cast<unsigned>(c - '0');
    r.magnitude = r.magnitude > (max - d) / 10 ? max : r.magnitude * 10 + d;
  }
  r.negative = r.negative && r.magnitude != 0;
  return r;
}

// maxAttempts: 2 or more, clamped to `cap` (a cap below 2 turns retries and hedging off).
int max_attempts(const node& n, int cap) {
  auto i = as_integer(*n.v);
  if (!i || i->negative || i->magnitude < 2)
    n.must_be("an integer >= 2");
  return static_cast<int>(std::min<std::uint64_t>(i->magnitude, std::max(cap, 1)));
}

std::size_t byte_count(const node& n) {
  auto i = as_integer(*n.v);
  if (!i || i->negative)
    n.must_be("a non-negative integer");
  return static_cast<std::size_t>(
      std::min<std::uint64_t>(i->magnitude, std::numeric_limits<std::size_t>::max()));
}

// A finite number: a JSON number, or a string holding one (protobuf's JSON mapping), that
// satisfies `ok`; `rule` describes it for the message.
template <class Pred>
double number(const node& n, Pred ok, const char* rule) {
  std::optional<double> d;
  if (n.v->is_number()) {
    d = n.v->get<double>();
  } else if (n.v->is_string()) {
    const auto& s = n.v->get_ref<const std::string&>();
    double x = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), x);
    if (ec == std::errc{} && end == s.data() + s.size())
      d = x;
  }
  if (!d || !std::isfinite(*d) || !ok(*d))
    n.must_be(rule);
  return *d;
}

// A google.protobuf.Duration in JSON: "<seconds>[.<up to 9 digits>]s" ("1s", "0.25s",
// "1.000340012s"). As in grpc-go either side of the point may be empty, not both.
// Negative durations are refused (no field here takes one); values beyond what
// clock_duration holds (about 292 years) saturate at clock_duration::max().
clock_duration duration(const node& n) {
  auto malformed = [&] { n.must_be("a duration like \"1.5s\""); };
  if (!n.v->is_string())
    malformed();
  std::string_view s = n.v->get_ref<const std::string&>();
  if (s.empty() || s.back() != 's')
    malformed();
  s.remove_suffix(1);
  bool negative = !s.empty() && s.front() == '-';
  if (negative)
    s.remove_prefix(1);
  auto dot = s.find('.');
  auto whole = s.substr(0, dot);
  auto frac = dot == std::string_view::npos ? std::string_view{} : s.substr(dot + 1);
  auto digits = [](std::string_view d) {
    return std::all_of(d.begin(), d.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if ((whole.empty() && frac.empty()) || !digits(whole) || !digits(frac))
    malformed();
  if (frac.size() > 9)
    n.must_be("a duration with at most 9 fractional digits");
  std::uint64_t secs = 0, nanos = 0;
  for (char c : whole) {
    secs = secs * 10 + static_cast<unsigned>(c - '0');
    if (secs > max_duration_seconds)
      n.fail("is out of range (at most " + std::to_string(max_duration_seconds) + "s), not " +
             shown(*n.v));
  }
  for (std::size_t i = 0; i < 9; ++i)
    nanos = nanos * 10 + (i < frac.size() ? static_cast<unsigned>(frac[i] - '0') : 0);
  if (negative && (secs != 0 || nanos != 0))
    n.must_be("a duration >= 0");
  using namespace std::chrono;
  auto whole_secs = seconds(static_cast<seconds::rep>(secs));
  if (whole_secs >= duration_cast<seconds>(clock_duration::max()))
    return clock_duration::max();
  return duration_cast<clock_duration>(whole_secs) +
         duration_cast<clock_duration>(nanoseconds(static_cast<nanoseconds::rep>(nanos)));
}

clock_duration positive_duration(const node& n) {
  auto d = duration(n);
  if (d <= clock_duration::zero())
    n.must_be("a duration > 0");
  return d;
}

// A list of status codes, each its name as gRPC spells it in any case ("UNAVAILABLE",
// "unavailable") or its number 0..16. Repeats are dropped.
std::vector<status_code> status_codes(const node& list) {
  list.array();
  std::vector<status_code> out;
  for (std::size_t i = 0; i < list.v->size(); ++i) {
    auto n = list.at(i);
    std::optional<status_code> code;
    if (n.v->is_string()) {
      const auto& s = n.v->get_ref<const std::string&>();
      auto same = [](char a, char b) { return std::toupper(static_cast<unsigned char>(a)) == b; };
      for (int c = 0; c <= last_status_code && !code; ++c) {
        auto name = to_string(static_cast<status_code>(c));
        if (std::equal(s.begin(), s.end(), name.begin(), name.end(), same))
          code = static_cast<status_code>(c);
      }
    } else if (auto k = n.v->is_number() ? as_integer(*n.v) : std::nullopt;
               k && !k->negative && k->magnitude <= last_status_code) {
      code = static_cast<status_code>(k->magnitude);
    }
    if (!code)
      n.must_be("a status code name like \"UNAVAILABLE\" or a number 0..16");
    if (std::find(out.begin(), out.end(), *code) == out.end())
      out.push_back(*code);
  }
  return out;
}

retry_policy retry(const node& n, int cap) {
  n.object();
  retry_policy p;
  p.max_attempts = max_attempts(n.need("maxAttempts"), cap);
  p.initial_backoff = positive_duration(n.need("initialBackoff"));
  p.max_backoff = positive_duration(n.need("maxBackoff"));
  p.backoff_multiplier = number(
      n.need("backoffMultiplier"), [](double d) { return d > 0; }, "a number > 0");
  auto codes = n.need("retryableStatusCodes");
  p.retryable_status_codes = status_codes(codes);
  if (p.retryable_status_codes.empty())
    codes.fail("must not be empty");
  return p;
}

hedging_policy hedging(const node& n, int cap) {
  n.object();
  hedging_policy p;
  p.max_attempts = max_attempts(n.need("maxAttempts"), cap);
  if (auto d = n.get("hedgingDelay"))
    p.hedging_delay = duration(*d);
  if (auto codes = n.get("nonFatalStatusCodes"))
    p.non_fatal_status_codes = status_codes(*codes);
  return p;
}

method_config method_settings(const node& e, int cap) {
  method_config mc;
  if (auto n = e.get("waitForReady"))
    mc.wait_for_ready = n->boolean();
  if (auto n = e.get("timeout"))
    mc.timeout = duration(*n);
  if (auto n = e.get("maxRequestMessageBytes"))
    mc.max_request_message_bytes = byte_count(*n);
  if (auto n = e.get("maxResponseMessageBytes"))
    mc.max_response_message_bytes = byte_count(*n);
  auto r = e.get("retryPolicy");
  auto h = e.get("hedgingPolicy");
  if (r && h)
    e.fail("has both retryPolicy and hedgingPolicy; at most one is allowed");
  if (r)
    mc.retry = retry(*r, cap);
  if (h)
    mc.hedging = hedging(*h, cap);
  return mc;
}

// One methodConfig name, resolved to the map it goes into.
struct method_name {
  enum { exact, service, fallback } kind;
  std::string key;  // "service/method", "service", or "" (the default)
};

void method_configs(const node& list, service_config& sc, int cap) {
  list.array();
  string_map<std::string> first_seen;  // kind + key → path of its first appearance
  for (std::size_t i = 0; i < list.v->size(); ++i) {
    auto e = list.at(i);
    e.object();
    std::vector<method_name> names;
    if (auto ns = e.get("name")) {
      ns->array();
      for (std::size_t j = 0; j < ns->v->size(); ++j) {
        auto n = ns->at(j);
        n.object();
        std::string service, method;
        if (auto s = n.get("service"))
          service = s->text();
        if (auto m = n.get("method"))
          method = m->text();
        if (service.empty() && !method.empty())
          n.fail("method '" + method + "' given without a service");
        auto name = !method.empty()    ? method_name{method_name::exact, service + "/" + method}
                    : !service.empty() ? method_name{method_name::service, service}
                                       : method_name{method_name::fallback, ""};
        auto label = std::to_string(static_cast<int>(name.kind)) + name.key;
        if (auto [at, fresh] = first_seen.emplace(label, n.path); !fresh)
          n.fail((name.kind == method_name::fallback ? "duplicate default name (no service)"
                                                     : "duplicate name '" + name.key + "'") +
                 ", first given at " + at->second);
        names.push_back(std::move(name));
      }
    }
    auto mc = method_settings(e, cap);
    if (names.empty())
      continue;  // applies to nothing
    auto index = sc.methods.size();
    sc.methods.push_back(std::move(mc));
    for (auto& name : names) {
      if (name.kind == method_name::exact)
        sc.by_method.emplace(std::move(name.key), index);
      else if (name.kind == method_name::service)
        sc.by_service.emplace(std::move(name.key), index);
      else
        sc.default_method = index;
    }
  }
}

using known_fn = std::function<bool(std::string_view)>;

// loadBalancingConfig: the first entry whose policy is known wins. As in gRPC core,
// entries after it are not inspected.
lb_config lb_from_list(const node& list, const known_fn& known) {
  list.array();
  std::string unknown;
  for (std::size_t i = 0; i < list.v->size(); ++i) {
    auto e = list.at(i);
    if (!e.v->is_object())
      e.must_be("an object naming one policy");
    if (e.v->size() != 1)
      e.fail("must name exactly one policy, not " + std::to_string(e.v->size()) + " in " +
             shown(*e.v));
    auto entry = e.v->begin();
    node cfg{&entry.value(), e.field(entry.key())};
    cfg.object();
    if (!known(entry.key())) {
      unknown += (unknown.empty() ? "'" : ", '") + entry.key() + "'";
      continue;
    }
    lb_config lb{.name = entry.key(), .config = cfg.v->dump()};
    if (lb.name == "pick_first")
      if (auto s = cfg.get("shuffleAddressList"))
        lb.shuffle_address_list = s->boolean();
    return lb;
  }
  if (unknown.empty())
    list.fail("names no policy");
  list.fail("names no known policy (saw " + unknown + ")");
}

std::shared_ptr<service_config> walk(const json& root, const service_config_parse_options& opts) {
  if (!root.is_object())
    throw invalid{"service config must be a JSON object, not " + shown(root)};
  known_fn known = opts.policy_known;
  if (!known)
    known = [](std::string_view p) { return p == "pick_first" || p == "round_robin"; };
  node top{&root, ""};
  auto sc = std::make_shared<service_config>();
  if (auto n = top.get("loadBalancingConfig"))
    sc->lb = lb_from_list(*n, known);
  // Deprecated; checked even when loadBalancingConfig overrides it, as gRPC core does.
  if (auto n = top.get("loadBalancingPolicy")) {
    auto name = n->text();
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (!known(name))
      n->fail("unknown policy '" + name + "'");
    if (!sc->lb)
      sc->lb = lb_config{.name = std::move(name)};
  }
  if (auto n = top.get("methodConfig"))
    method_configs(*n, *sc, opts.max_attempts_cap);
  if (auto n = top.get("retryThrottling")) {
    n->object();
    retry_throttling t;
    t.max_tokens = number(
        n->need("maxTokens"), [](double d) { return d > 0 && d <= 1000; }, "a number in (0, 1000]");
    t.token_ratio = number(
        n->need("tokenRatio"), [](double d) { return d > 0; }, "a number > 0");
    sc->throttling = t;
  }
  if (auto n = top.get("healthCheckConfig")) {
    n->object();
    auto name = n->get("serviceName");
    sc->health_check_service = name ? name->text() : std::string();
  }
  return sc;
}

}  // namespace

result<service_config_ptr> parse_service_config(std::string_view text,
                                                const service_config_parse_options& opts) {
  // nlohmann reports a container's start at the depth of the containers around it.
  auto depth_guard = [](int depth, json::parse_event_t event, json&) {
    bool opens =
        event == json::parse_event_t::object_start || event == json::parse_event_t::array_start;
    if (opens && depth >= max_nesting_depth)
      throw invalid{"service config nests deeper than " + std::to_string(max_nesting_depth) +
                    " levels"};
    return true;
  };
  try {
    auto sc = walk(json::parse(text.begin(), text.end(), depth_guard), opts);
    sc->json = std::string(text);
    return service_config_ptr(std::move(sc));
  } catch (const invalid& e) {
    return status{status_code::invalid_argument, e.message};
  } catch (const json::parse_error& e) {
    // Drop nlohmann's "[json.exception.parse_error.101] " prefix; keep what follows.
    std::string_view what = e.what();
    if (auto p = what.find("] "); what.front() == '[' && p != std::string_view::npos)
      what.remove_prefix(p + 2);
    return status{status_code::invalid_argument,
                  "service config is not valid JSON: " + std::string(what)};
  }
}

}  // namespace achan
