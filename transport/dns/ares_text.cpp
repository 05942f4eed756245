#include "transport/dns/ares_text.hpp"

#include <arpa/inet.h>

namespace achan::dns {

std::pair<lookup_error, std::string> classify(int ares_status) {
  switch (ares_status) {
    case ARES_ENOTFOUND:
      return {lookup_error::not_found, "name not found (NXDOMAIN)"};
    case ARES_ENODATA:
      return {lookup_error::no_data, "no A or AAAA records (NODATA)"};
    case ARES_ETIMEOUT:
      return {lookup_error::timeout, "timed out"};
    case ARES_ECONNREFUSED:
      // c-ares also reports a server that answered REFUSED this way ("could not contact
      // DNS servers"): every server was skipped.
      return {lookup_error::unreachable,
              "could not contact the DNS server (nothing listens there, or it refused the "
              "query)"};
    case ARES_ESERVFAIL:
      return {lookup_error::server_failure, "server failure (SERVFAIL)"};
    case ARES_EREFUSED:
      return {lookup_error::server_failure, "query refused by the server (REFUSED)"};
    case ARES_EFORMERR:
    case ARES_EBADRESP:
    case ARES_ENOTIMP:
      return {lookup_error::server_failure,
              std::string("bad answer from the server: ") + ares_strerror(ares_status)};
    case ARES_EBADNAME:
      return {lookup_error::bad_name, "malformed host name"};
    case ARES_ECANCELLED:
    case ARES_EDESTRUCTION:
      return {lookup_error::cancelled, "cancelled: the DNS service is shutting down"};
    default:
      return {lookup_error::other, ares_strerror(ares_status)};
  }
}

std::string failure_message(const std::string& host, const std::string& what,
                            const std::string& servers) {
  return "DNS lookup of '" + host + "' failed: " + what + " [" + servers + "]";
}

std::string txt_failure_message(const std::string& name, const std::string& what,
                                const std::string& servers) {
  return "DNS TXT lookup of '" + name + "' failed: " + what + " [" + servers + "]";
}

int parse_txt_answer(const unsigned char* buf, int len, std::vector<std::string>& records) {
  ares_txt_ext* reply = nullptr;
  if (int rc = ares_parse_txt_reply_ext(buf, len, &reply); rc != ARES_SUCCESS)
    return rc;
  for (auto* t = reply; t != nullptr; t = t->next) {
    if (t->record_start || records.empty())
      records.emplace_back();
    records.back().append(reinterpret_cast<const char*>(t->txt), t->length);
  }
  ares_free_data(reply);
  return ARES_SUCCESS;
}

std::string system_servers_text(ares_channel ch) {
  ares_addr_port_node* list = nullptr;
  std::string out;
  if (ares_get_servers_ports(ch, &list) == ARES_SUCCESS) {
    for (auto* n = list; n != nullptr; n = n->next) {
      char text[INET6_ADDRSTRLEN] = {};
      if (n->family == AF_INET)
        inet_ntop(AF_INET, &n->addr.addr4, text, sizeof text);
      else if (n->family == AF_INET6)
        inet_ntop(AF_INET6, &n->addr.addr6, text, sizeof text);
      else
        continue;
      int port = n->udp_port != 0 ? n->udp_port : 53;
      out += (out.empty() ? "" : ", ") + format_address(text, static_cast<std::uint16_t>(port));
    }
    ares_free_data(list);
  }
  return out.empty() ? "system DNS servers" : "servers " + out;
}

}  // namespace achan::dns
