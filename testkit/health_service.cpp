#include "testkit/health_service.hpp"

#include <algorithm>

#include "proto/health.achan.pb.h"

namespace achan::testkit {
namespace {

namespace hpb = grpc::health::v1;

hpb::HealthCheckResponse response(serving_status s) {
  hpb::HealthCheckResponse r;
  r.set_status(static_cast<hpb::HealthCheckResponse::ServingStatus>(s));
  return r;
}

std::string encode(serving_status s) {
  return response(s).SerializeAsString();
}

const status gone{status_code::unavailable, "health service stopped"};

/// The generated Health service over a health_service that may be gone (UNAVAILABLE).
class health_impl final : public hpb::Health::Service {
 public:
  explicit health_impl(std::weak_ptr<health_service> h) : h_(std::move(h)) {}

  void Check(transport::server_call_info, hpb::HealthCheckRequest req,
             typed_responder<hpb::HealthCheckResponse> respond) override {
    auto h = h_.lock();
    if (!h)
      return respond.fail(gone);
    auto s = h->status(req.service());
    if (!s)
      return respond.fail({status_code::not_found, "unknown service '" + req.service() + "'"});
    respond.reply(response(*s));
  }

  void Watch(transport::server_call_info, hpb::HealthCheckRequest req,
             response_writer<hpb::HealthCheckResponse> out) override {
    if (auto h = h_.lock())
      h->watch(req.service(), out.raw());
    else
      out.finish(gone);
  }

 private:
  const std::weak_ptr<health_service> h_;
};

}  // namespace

health_service::health_service(const std::vector<std::string>& services) {
  statuses_[""] = serving_status::serving;
  for (const auto& s : services)
    statuses_[s] = serving_status::serving;
}

std::shared_ptr<health_service> health_service::add(transport::h2_server& server,
                                                    const std::vector<std::string>& services) {
  auto self = std::make_shared<health_service>(services);
  hpb::Health::Service::add_to(server, std::make_shared<health_impl>(self));
  return self;
}

void health_service::watch(const std::string& service, const transport::server_writer& out) {
  std::lock_guard lk{mx_};
  if (shut_down_)
    return out.finish({status_code::unavailable, "server shutting down"});
  prune();
  auto it = statuses_.find(service);
  out.write(encode(it == statuses_.end() ? serving_status::service_unknown : it->second));
  watchers_.push_back({service, out});
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

void health_service::set_all(serving_status s) {
  std::lock_guard lk{mx_};
  if (shut_down_)
    return;
  prune();
  for (auto& [name, current] : statuses_) {
    if (current == s)
      continue;
    current = s;
    for (const auto& w : watchers_)
      if (w.service == name)
        w.out.write(encode(s));
  }
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

}  // namespace achan::testkit
