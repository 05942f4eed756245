#include "actors/subchannel/health_watch.hpp"

#include "core/subchannel/health_check.hpp"

namespace achan {

health_watch::health_watch(std::optional<std::string> service, backoff_params p, std::uint64_t seed)
    : service_(std::move(service)), backoff_(p, seed) {}

bool health_watch::set_service(std::optional<std::string> service) {
  if (service == service_)
    return false;
  service_ = std::move(service);
  return true;
}

void health_watch::open(const transport::connection_ptr& conn, std::uint64_t attempt,
                        const sink& out, bool fresh) {
  cancel();
  if (fresh)
    backoff_.reset();
  attempt_ = attempt;
  auto gen = ++generation_;
  // The HTTP/2 connection keys its streams by call id: the top bit keeps these apart from
  // the channel's ids, which count up from 1.
  auto id = (std::uint64_t{1} << 63) | ++next_id_;
  auto c = std::make_shared<call>(
      id, std::string{health_watch_method}, encode_health_request(*service_), metadata{},
      time_point::max(), false, [out, attempt, gen](call_result&& r) {
        out(health_event{attempt, gen, std::nullopt, std::move(r.status)});
      });
  c->on_message = [out, attempt, gen](std::string&& m) {
    out(health_event{attempt, gen, std::move(m), {}});
  };
  call_ = c;
  conn_ = conn;
  conn->start_call(c);
}

void health_watch::cancel() {
  ++generation_;  // first: the completion below reports a stale end
  auto c = std::move(call_);
  auto conn = std::move(conn_);
  if (!c)
    return;
  if (c->fail(status_code::cancelled, "health check stopped"))
    conn->cancel_call(c);
}

void health_watch::on_end() {
  call_.reset();
  conn_.reset();
}

clock_duration health_watch::next_retry_delay() {
  return std::chrono::duration_cast<clock_duration>(backoff_.next_delay());
}

}  // namespace achan
