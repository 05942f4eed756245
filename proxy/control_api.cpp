// The proxy's HTTP control API on cpp-httplib: routes, counters, and fault rules that
// change at run time (docs/proxy.md).
#include <httplib.h>

#include <atomic>
#include <stdexcept>
#include <thread>

#include <achan/grpc_proxy.hpp>

#include "proxy/config_json.hpp"

namespace achan::proxy {
namespace {

using njson = nlohmann::json;

void send(httplib::Response& res, int code, const njson& body) {
  res.status = code;
  res.set_content(body.dump() + "\n", "application/json");
}

void fail(httplib::Response& res, const status& st) {
  int code = st.code == status_code::not_found ? 404 : 400;
  send(res, code, {{"error", st.message}, {"status", code}});
}

njson faults_json(grpc_proxy& p, const std::string& name) {
  for (auto& r : p.routes())
    if (r.name == name) {
      njson rules = njson::array();
      for (auto& f : r.faults)
        rules.push_back(json::to_json(f));
      return {{"route", name}, {"fault_headers", r.fault_headers}, {"rules", rules}};
    }
  return nullptr;
}

}  // namespace

struct control_api::impl {
  explicit impl(grpc_proxy& p) : proxy(p) {}
  grpc_proxy& proxy;
  httplib::Server server;
  std::thread thread;
  std::atomic<bool> listen_returned{false};
  std::uint16_t port = 0;

  void routes() {
    server.Get("/routes", [this](const httplib::Request&, httplib::Response& res) {
      njson out = njson::array();
      for (auto& r : proxy.routes())
        out.push_back(json::to_json(r));
      send(res, 200, out);
    });
    server.Get("/stats", [this](const httplib::Request&, httplib::Response& res) {
      njson out = njson::array();
      for (auto& s : proxy.stats())
        out.push_back(json::to_json(s));
      send(res, 200, out);
    });
    const char* faults = R"(/routes/([^/]+)/faults)";
    server.Get(faults, [this](const httplib::Request& req, httplib::Response& res) {
      auto j = faults_json(proxy, req.matches[1]);
      j.is_null() ? fail(res, {status_code::not_found,
                               "no route named '" + std::string{req.matches[1]} + "'"})
                  : send(res, 200, j);
    });
    auto put = [this](const httplib::Request& req, httplib::Response& res) {
      auto j = njson::parse(req.body, nullptr, false);
      if (j.is_discarded() || !j.is_object())
        return fail(res, {status_code::invalid_argument,
                          "expected a JSON object {\"rules\": [...], \"fault_headers\": bool}"});
      for (auto& [k, v] : j.items())
        if (k != "rules" && k != "fault_headers")
          return fail(res, {status_code::invalid_argument, "unknown field '" + k + "'"});
      std::vector<fault_rule> rules;
      if (j.contains("rules")) {
        if (!j["rules"].is_array())
          return fail(res, {status_code::invalid_argument, "'rules' must be an array"});
        for (std::size_t i = 0; i < j["rules"].size(); ++i) {
          auto f = json::fault_from_json(j["rules"][i]);
          if (!f.ok())
            return fail(res, {status_code::invalid_argument,
                              "rules[" + std::to_string(i) + "]: " + f.error().message});
          rules.push_back(std::move(*f));
        }
      }
      std::optional<bool> headers;
      if (j.contains("fault_headers")) {
        if (!j["fault_headers"].is_boolean())
          return fail(res,
                      {status_code::invalid_argument, "'fault_headers' must be true or false"});
        headers = j["fault_headers"].get<bool>();
      }
      std::string name = req.matches[1];
      if (auto st = proxy.set_faults(name, std::move(rules), headers); !st.ok())
        return fail(res, st);
      send(res, 200, faults_json(proxy, name));
    };
    server.Put(faults, put);
    server.Post(faults, put);
    server.Delete(faults, [this](const httplib::Request& req, httplib::Response& res) {
      std::string name = req.matches[1];
      if (auto st = proxy.set_faults(name, {}); !st.ok())
        return fail(res, st);
      res.status = 204;
    });
  }
};

control_api::control_api(grpc_proxy& p, const std::string& host, std::uint16_t port)
    : impl_(std::make_unique<impl>(p)) {
  impl_->routes();
  int bound = port == 0 ? impl_->server.bind_to_any_port(host.c_str())
                        : (impl_->server.bind_to_port(host.c_str(), port) ? port : -1);
  if (bound <= 0)
    throw std::runtime_error("cannot listen on " + host + ":" + std::to_string(port) +
                             " for the control API");
  impl_->port = static_cast<std::uint16_t>(bound);
  impl_->thread = std::thread([i = impl_.get()] {
    i->server.listen_after_bind();
    i->listen_returned = true;
  });
}

control_api::~control_api() {
  // As the fault proxy's API: httplib ignores a stop() that comes before its listen
  // thread started listening, so repeat it until that thread has returned.
  while (!impl_->listen_returned) {
    impl_->server.stop();
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
  }
  impl_->thread.join();
}

std::uint16_t control_api::port() const noexcept {
  return impl_->port;
}

}  // namespace achan::proxy
