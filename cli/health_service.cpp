#include "cli/health_service.hpp"

#include <algorithm>

#include "proto/health.pb.h"

namespace achan::cli {
namespace {

namespace hpb = grpc::health::v1;

const char* const check_method = "/grpc.health.v1.Health/Check";
const char* const watch_method = "/grpc.health.v1.Health/Watch";

std::string encode(serving_status s) {
  hpb::HealthCheckResponse r;
  r.set_status(static_cast<hpb::HealthCheckResponse::ServingStatus>(s));
  return r.SerializeAsString();
}

const status gone{status_code::unavailable, "health service stopped"};
const status bad_request{status_code::invalid_argument,
                         "cannot parse grpc.health.v1.HealthCheckRequest"};

}  // namespace

health_service::health_service(const std::vector<std::string>& services) {
  statuses_[""] = serving_status::serving;
  for (const auto& s : services)
    statuses_[s] = serving_status::serving;
}

std::shared_ptr<health_service> health_service::add(transport::h2_server& server,
                                                    const std::vector<std::string>& services) {
  auto self = std::make_shared<health_service>(services);
  std::weak_ptr<health_service> weak = self;
  server.add_unary(check_method, [weak](transport::server_call_info, std::string request,
                                        transport::responder respond) {
    if (auto h = weak.lock())
      h->check(request, respond);
    else
      respond.fail(gone);
  });
  server.add_server_stream(watch_method, [weak](transport::server_call_info, std::string request,
                                                transport::server_writer out) {
    if (auto h = weak.lock())
      h->watch(request, out);
    else
      out.finish(gone);
  });
  return self;
}

void health_service::check(const std::string& request, const transport::responder& respond) const {
  hpb::HealthCheckRequest req;
  if (!req.ParseFromString(request))
    return respond.fail(bad_request);
  std::unique_lock lk{mx_};
  auto it = statuses_.find(req.service());
  if (it == statuses_.end()) {
    lk.unlock();
    return respond.fail({status_code::not_found, "unknown service '" + req.service() + "'"});
  }
  auto s = it->second;
  lk.unlock();
  respond.reply(encode(s));
}

void health_service::watch(const std::string& request, const transport::server_writer& out) {
  hpb::HealthCheckRequest req;
  if (!req.ParseFromString(request))
    return out.finish(bad_request);
  std::lock_guard lk{mx_};
  if (shut_down_)
    return out.finish({status_code::unavailable, "server shutting down"});
  prune();
  auto it = statuses_.find(req.service());
  out.write(encode(it == statuses_.end() ? serving_status::service_unknown : it->second));
  watchers_.push_back({req.service(), out});
}

void health_service::set_status(const std::string& service, serving_status s) {
  std::lock_guard lk{mx_};
  if (shut_down_)
    return;
  auto [it, added] = statuses_.try_emplace(service, s);
  if (!added && it->second == s)
    return;
  it->second = s;
  prune();
  for (const auto& w : watchers_)
    if (w.service == service)
      w.out.write(encode(s));
}

std::optional<serving_status> health_service::status(const std::string& service) const {
  std::lock_guard lk{mx_};
  auto it = statuses_.find(service);
  if (it == statuses_.end())
    return std::nullopt;
  return it->second;
}

void health_service::shutdown() {
  std::vector<watcher> ending;
  {
    std::lock_guard lk{mx_};
    if (shut_down_)
      return;
    for (auto& [name, s] : statuses_) {
      if (s == serving_status::not_serving)
        continue;
      s = serving_status::not_serving;
      for (const auto& w : watchers_)
        if (w.service == name)
          w.out.write(encode(s));
    }
    shut_down_ = true;
    ending.swap(watchers_);
  }
  for (const auto& w : ending)
    w.out.finish({status_code::unavailable, "server shutting down"});
}

std::size_t health_service::watchers() const {
  std::lock_guard lk{mx_};
  prune();
  return watchers_.size();
}

void health_service::prune() const {
  std::erase_if(watchers_, [](const watcher& w) { return w.out.done(); });
}

}  // namespace achan::cli
