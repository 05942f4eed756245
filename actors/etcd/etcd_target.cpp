#include <achan/etcd.hpp>

namespace achan {

result<etcd_target> parse_etcd_target(const target& t) {
  etcd_target out;
  std::string_view rest = t.authority.empty() ? std::string_view{"127.0.0.1:2379"} : t.authority;
  while (true) {
    auto comma = rest.find(',');
    auto member = rest.substr(0, comma);
    auto hp = split_host_port(member, 2379);
    if (member.empty() || !hp)
      return status{status_code::invalid_argument,
                    "invalid etcd member '" + std::string(member) + "' in target '" + t.original +
                        "': expected HOST:PORT[,HOST:PORT...]" +
                        (hp ? std::string{} : " (" + hp.error().message + ")")};
    out.members.push_back(join_host_port(hp->host, hp->port));
    if (comma == std::string_view::npos)
      break;
    rest.remove_prefix(comma + 1);
  }
  if (t.endpoint.empty() || t.endpoint == "/")
    return status{status_code::invalid_argument,
                  "etcd target '" + t.original +
                      "' has no key prefix: expected etcd://HOST:PORT[,HOST:PORT...]/PREFIX"};
  out.prefix = t.endpoint.back() == '/' ? t.endpoint : t.endpoint + "/";
  return out;
}

result<void> validate(const etcd_options& o) {
  auto bad = [](std::string m) {
    return status{status_code::invalid_argument, "etcd_options: " + m};
  };
  if (o.call_timeout <= std::chrono::milliseconds::zero())
    return bad("call_timeout must be positive");
  if (auto ok = validate(o.retry); !ok)
    return bad("retry: " + ok.error().message);
  if (o.keepalive_time < std::chrono::milliseconds::zero() ||
      o.keepalive_timeout <= std::chrono::milliseconds::zero())
    return bad("keepalive_time must not be negative and keepalive_timeout must be positive");
  if (o.max_keys == 0)
    return bad("max_keys must be positive");
  if (o.page_size <= 0)
    return bad("page_size must be positive");
  return {};
}

}  // namespace achan
