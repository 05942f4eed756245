// control_plane_bench: the control-plane figures of issue 4, one JSON line per measure
// (bench/suite.sh runs it and puts the figures in its summary).
//
//   control_plane_bench [--addresses N] [--reps R] [--calls N] [--connections "1 100"]
//                       [--delay-ms D] [--deadline-ms T] [--achan PATH | --target HOST:PORT]
//                       [--only resolver,idle,inflight]
//
// resolver  N-address resolver update (default 10 000) over the simulated transport, with
//           round_robin on CAF's real scheduler: dial through a manual resolver, push a
//           list of N addresses and wait until all are READY, then push N different ones.
//           Times from the update() call until round_robin publishes (a) its first picker
//           with a new address and (b) the picker covering all N new addresses, for the
//           initial list and for the replacement; medians of --reps runs (default 3).
//           round_robin runs unmodified inside a wrapper policy (added through
//           dial_options::policies) that only timestamps the helper's update_state.
// idle      heap per idle subchannel: a policy (dial_options::policies) that creates a
//           subchannel for every address and never connects them. Heap growth
//           (mallinfo2: uordblks + hblkhd) between two N-address lists of equal string
//           lengths, the first with no subchannels, the second with one per address, / N.
// inflight  heap per in-flight unary call: `achan serve` in its own process (--achan,
//           default: achan next to this program; or --target for a running server),
//           --calls (default 100 000) calls of achan.test.Echo/Unary with a 64-byte payload
//           and delay_ms = --delay-ms (default 60 000) started from one thread on one
//           channel with K connections per address, for each K of --connections (default
//           "1 100"; the server allows 1000 streams per connection, so with 1 most calls
//           wait in the client's HTTP/2 session and with 100 every stream is open). Waits
//           until the transport has taken every call (counted by a wrapper around the h2
//           transport) and the heap is still, then reports client heap growth / calls;
//           then closes the channel and checks that every call ended exactly once.
//           --deadline-ms gives each call a deadline (default 0: none). One more line does
//           the same over the simulated transport with a peer that never answers (the
//           channel-side cost of a call, without the HTTP/2 session's).
//
// Every wait is bounded. Prints {"measure":...} lines, then {"measure":"checks",...};
// exits 1 if any check failed (a wait timed out, a call ended twice or never, a call
// ended before the measurement), 2 on usage errors.
#include <sstream>
#include <string>

#include "bench/control_plane/common.hpp"
#include "testkit/program_args.hpp"

using namespace achan::cp_bench;

namespace {

const achan::testkit::program_args args{
    "control_plane_bench",
    "control_plane_bench [--addresses N] [--reps R] [--calls N] [--connections \"1 100\"] "
    "[--delay-ms D] [--deadline-ms T] [--achan PATH | --target HOST:PORT] "
    "[--only resolver,idle,inflight]"};

options parse(int argc, char** argv) {
  options o;
  std::string self = argv[0];
  auto slash = self.rfind('/');
  o.achan = (slash == std::string::npos ? std::string{"."} : self.substr(0, slash)) + "/achan";
  args.each_flag(argc, argv, [&](const std::string& flag, const std::string& v) {
    if (flag == "--addresses")
      o.addresses = static_cast<std::size_t>(args.number(flag, v));
    else if (flag == "--reps")
      o.reps = static_cast<int>(args.number(flag, v));
    else if (flag == "--calls")
      o.calls = static_cast<std::size_t>(args.number(flag, v));
    else if (flag == "--delay-ms")
      o.delay_ms = static_cast<unsigned>(args.number(flag, v));
    else if (flag == "--deadline-ms")
      o.deadline_ms = static_cast<unsigned>(args.number(flag, v));
    else if (flag == "--achan")
      o.achan = v;
    else if (flag == "--target")
      o.target = v;
    else if (flag == "--connections") {
      o.connections.clear();
      std::istringstream in{v};
      for (std::string w; in >> w;)
        o.connections.push_back(static_cast<unsigned>(args.number(flag, w)));
    } else if (flag == "--only") {
      o.resolver = v.find("resolver") != std::string::npos;
      o.idle = v.find("idle") != std::string::npos;
      o.inflight = v.find("inflight") != std::string::npos;
      if (!o.resolver && !o.idle && !o.inflight)
        args.fail("--only takes resolver, idle and/or inflight");
    } else {
      return false;
    }
    return true;
  });
  if (o.addresses < 1 || o.addresses > 65536 || o.reps < 1 || o.calls < 1)
    args.fail("--addresses must be 1..65536, --reps and --calls at least 1");
  for (auto k : o.connections)
    if (k < 1 || k > 1000)
      args.fail("--connections: each K must be 1..1000");
  if (o.connections.empty())
    args.fail("--connections needs at least one K");
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  auto o = parse(argc, argv);
  if (o.resolver)
    measure_resolver(o);
  if (o.idle)
    measure_idle(o);
  if (o.inflight)
    for (auto k : o.connections)
      measure_inflight(o, k);
  if (o.inflight)
    measure_inflight(o, 1, true);
  std::printf("{\"measure\":\"checks\",\"failed\":%d}\n", failed_checks());
  return failed_checks() == 0 ? 0 : 1;
}
