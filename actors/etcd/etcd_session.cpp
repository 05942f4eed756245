#include "actors/etcd/etcd_session.hpp"

#include <achan/errors.hpp>
#include <achan/h2_transport.hpp>

#include "actors/resolver/static_resolver.hpp"
#include "core/etcd/etcd_wire.hpp"

namespace achan::etcd {

result<session> session::open(caf::actor_system& sys, const std::vector<std::string>& members,
                              const etcd_options& o, std::uint64_t seed) {
  session s;
  s.opts_ = o;
  for (const auto& m : members)
    s.members_ += (s.members_.empty() ? "" : ",") + m;
  transport::h2_options h;
  h.keepalive_time = o.keepalive_time;
  h.keepalive_timeout = o.keepalive_timeout;
  h.tls = o.tls;
  h.user_agent = "achan-etcd/0.1";
  if (auto ok = transport::validate(h); !ok.ok())
    return status{status_code::invalid_argument, "etcd options: " + ok.message};
  dial_options d;
  d.lb_policy = "round_robin";
  d.transport = transport::make_h2_transport(std::move(h));
  d.seed = seed;
  d.idle_timeout = clock_duration::zero();
  d.backoff.initial = std::chrono::milliseconds(200);
  d.backoff.max = std::chrono::seconds(5);
  d.backoff.min_connect_timeout = std::chrono::seconds(5);
  auto list = members;
  d.resolvers.push_back(make_static_builder(
      "achan-etcd-members", [list](const target&) -> address_list_result { return list; }));
  auto ch = dial(sys, "achan-etcd-members:///" + s.members_, std::move(d));
  if (!ch)
    return status{status_code::invalid_argument, to_string_with_message(ch.error())};
  s.ch_.emplace(std::move(*ch));
  return s;
}

void session::authenticate(std::function<void(call_result&&)> done) {
  auto o = unary();
  o.md.clear();  // no stale token on Authenticate itself
  ch_->call(authenticate_method, encode(authenticate_request{opts_.user, opts_.password}),
            std::move(o), [done = std::move(done)](call_result&& r) {
              if (!r.status.ok())
                return done(std::move(r));
              call_result out;
              auto t = decode_authenticate_token(r.payload);
              if (!t)
                out.status = t.error();
              else if (t->empty())
                out.status = {status_code::unauthenticated, "etcd returned an empty token"};
              else
                out.payload = std::move(*t);
              done(std::move(out));
            });
}

bool session::is_token_error(const status& s) {
  return s.code == status_code::unauthenticated ||
         s.message.find("invalid auth token") != std::string::npos ||
         s.message.find("user name is empty") != std::string::npos;
}

call_options session::unary() const {
  call_options o;
  o.timeout = opts_.call_timeout;
  o.wait_for_ready = false;
  if (token_)
    o.md.emplace_back("token", *token_);
  return o;
}

call_options session::stream() const {
  call_options o;
  o.wait_for_ready = false;
  o.md.emplace_back("hasleader", "true");
  if (token_)
    o.md.emplace_back("token", *token_);
  return o;
}

std::string describe(const session& s, const char* what, const status& st) {
  return std::string("etcd ") + what + " at " + s.members() +
         " failed: " + std::string(to_string(st.code)) +
         (st.message.empty() ? "" : ": " + st.message);
}

}  // namespace achan::etcd
