// toxiproxy's v2 API over HTTP (httplib's client): each route's status code and JSON shape,
// and the errors: bad JSON, unknown type, bad attributes, duplicates, unknown names.
#include <doctest/doctest.h>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <achan/fault_proxy.hpp>

#include "tests/fault_proxy/tcp_peers.hpp"

using namespace achan::fault;
using namespace achan::fault::test;
using nlohmann::json;

namespace {

struct api_fixture {
  tcp_server echo;
  proxy_set set;
  http_api api{set, "127.0.0.1", 0};
  httplib::Client http{"127.0.0.1", api.port()};

  json post(const std::string& path, const std::string& body, int want) {
    auto r = http.Post(path.c_str(), body, "application/json");
    REQUIRE(r);
    CHECK_MESSAGE(r->status == want, path << ": " << r->body);
    return r->body.empty() ? json{} : json::parse(r->body);
  }
  json get(const std::string& path, int want) {
    auto r = http.Get(path.c_str());
    REQUIRE(r);
    CHECK_MESSAGE(r->status == want, path << ": " << r->body);
    return json::parse(r->body);
  }
  std::string proxy_body(const std::string& name) {
    return R"({"name":")" + name + R"(","listen":"127.0.0.1:0","upstream":")" + echo.address() +
           R"("})";
  }
};

}  // namespace

TEST_CASE("fault proxy api: version and proxy routes answer toxiproxy's codes and shapes") {
  api_fixture f;
  CHECK(f.get("/version", 200).at("version") == "2.12.0");
  auto p = f.post("/proxies", f.proxy_body("db"), 201);
  CHECK(p.at("name") == "db");
  CHECK(p.at("enabled") == true);
  CHECK(p.at("toxics") == json::array());
  CHECK(p.at("listen").get<std::string>().rfind("127.0.0.1:", 0) == 0);
  CHECK(p.at("listen") != "127.0.0.1:0");  // the bound port
  CHECK(f.post("/proxies", f.proxy_body("db"), 409).at("error") == "proxy already exists");
  CHECK(f.post("/proxies", "{not json", 400).at("status") == 400);
  CHECK(f.post("/proxies", R"({"name":"x"})", 400).at("error") ==
        "missing required field: upstream");
  CHECK(f.get("/proxies", 200).at("db").at("name") == "db");
  CHECK(f.get("/proxies/db", 200).at("upstream") == f.echo.address());
  CHECK(f.get("/proxies/nope", 404).at("error") == "proxy not found");
  CHECK(f.post("/proxies/db", R"({"enabled":false})", 200).at("enabled") == false);
  auto port = static_cast<std::uint16_t>(std::stoi(p.at("listen").get<std::string>().substr(10)));
  CHECK_FALSE(client::try_connect(port).has_value());
  CHECK(f.post("/proxies/db", R"({"enabled":true})", 200).at("listen") == p.at("listen"));
  CHECK(f.get("/proxies/db/stats", 200).contains("accepted"));
  auto del = f.http.Delete("/proxies/db");
  REQUIRE(del);
  CHECK(del->status == 204);
  CHECK(f.get("/proxies/db", 404).at("status") == 404);
  CHECK(f.get("/no/such/route", 404).contains("error"));
  // A route with a method it does not take: 405 with Allow, as toxiproxy (gorilla/mux).
  auto wrong = f.http.Delete("/version");
  REQUIRE(wrong);
  CHECK(wrong->status == 405);
  CHECK(wrong->get_header_value("Allow") == "GET");
  CHECK(json::parse(wrong->body).at("status") == 405);
  CHECK(f.post("/proxies/db/stats", "{}", 405).contains("error"));
}

TEST_CASE("fault proxy api: toxic routes add update and remove with default names") {
  api_fixture f;
  f.post("/proxies", f.proxy_body("db"), 201);
  auto t = f.post("/proxies/db/toxics", R"({"type":"latency","attributes":{"latency":150}})", 200);
  CHECK(t.at("name") == "latency_downstream");
  CHECK(t.at("stream") == "downstream");
  CHECK(t.at("toxicity") == 1.0);
  CHECK(t.at("attributes") == json{{"latency", 150}, {"jitter", 0}});
  f.post("/proxies/db/toxics", R"({"type":"latency","attributes":{"latency":5}})", 409);
  CHECK(f.post("/proxies/db/toxics", R"({"type":"earthquake"})", 400)
            .at("error")
            .get<std::string>()
            .find("earthquake") != std::string::npos);
  CHECK(f.post("/proxies/db/toxics", R"({"type":"latency","attributes":{"speed":1}})", 400)
            .at("error")
            .get<std::string>()
            .find("speed") != std::string::npos);
  f.post("/proxies/db/toxics", R"({"type":"latency","attributes":{"latency":-1}})", 400);
  f.post("/proxies/db/toxics", R"({"type":"latency","stream":"sideways"})", 400);
  f.post("/proxies/nope/toxics", R"({"type":"latency"})", 404);
  auto scoped =
      f.post("/proxies/db/toxics",
             R"({"type":"partition","name":"cut","scope":"new","stream":"UPSTREAM"})", 200);
  CHECK(scoped.at("scope") == "new");
  CHECK(scoped.at("stream") == "upstream");
  CHECK(f.get("/proxies/db/toxics", 200).size() == 2);
  CHECK(f.get("/proxies/db/toxics/cut", 200).at("type") == "partition");
  f.get("/proxies/db/toxics/nope", 404);
  auto up = f.post("/proxies/db/toxics/latency_downstream",
                   R"({"attributes":{"jitter":10},"toxicity":0.5})", 200);
  CHECK(up.at("attributes") == json{{"latency", 150}, {"jitter", 10}});
  CHECK(up.at("toxicity") == 0.5);
  auto patched = f.http.Patch("/proxies/db/toxics/latency_downstream", R"({"toxicity":1})",
                              "application/json");
  REQUIRE(patched);
  CHECK(patched->status == 200);
  auto del = f.http.Delete("/proxies/db/toxics/cut");
  REQUIRE(del);
  CHECK(del->status == 204);
  // The latency works on a connection through the proxy.
  auto listen = f.get("/proxies/db", 200).at("listen").get<std::string>();
  client c(static_cast<std::uint16_t>(std::stoi(listen.substr(10))));
  CHECK(c.round_trip("slow").count() >= 130);
  auto reset = f.post("/reset", "", 204);
  CHECK(f.get("/proxies/db/toxics", 200).empty());
}

TEST_CASE("fault proxy api: populate creates keeps replaces and reports a partial failure") {
  api_fixture f;
  auto body = "[" + f.proxy_body("a") + "," + f.proxy_body("b") + "]";
  auto made = f.post("/populate", body, 201);
  REQUIRE(made.at("proxies").size() == 2);
  f.post("/proxies/a/toxics", R"({"type":"timeout"})", 200);
  auto a_listen = made.at("proxies")[0].at("listen").get<std::string>();
  // The same listen and upstream: kept with its toxics.
  auto same =
      R"([{"name":"a","listen":")" + a_listen + R"(","upstream":")" + f.echo.address() + R"("}])";
  f.post("/populate", same, 201);
  CHECK(f.get("/proxies/a/toxics", 200).size() == 1);
  // A different upstream: replaced, toxics gone.
  f.post("/populate", R"([{"name":"a","upstream":"127.0.0.1:1"}])", 201);
  CHECK(f.get("/proxies/a", 200).at("upstream") == "127.0.0.1:1");
  CHECK(f.get("/proxies/a/toxics", 200).empty());
  auto partial =
      f.post("/populate",
             "[" + f.proxy_body("c") + R"(,{"name":"d","listen":"bad","upstream":"x:1"}])", 400);
  CHECK(partial.at("proxies").size() == 1);
  f.get("/proxies/c", 200);
  f.post("/populate", "{}", 400);
}

TEST_CASE("fault proxy api: browsers and oversized bodies are refused") {
  api_fixture f;
  httplib::Headers ua{{"User-Agent", "Mozilla/5.0"}};
  auto r = f.http.Get("/proxies", ua);
  REQUIRE(r);
  CHECK(r->status == 403);
  auto big = f.http.Post("/proxies", std::string(2 << 20, ' '), "application/json");
  REQUIRE(big);
  CHECK(big->status >= 400);
}
