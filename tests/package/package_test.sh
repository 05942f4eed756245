#!/usr/bin/env bash
# The installed package, used the way a user's project uses it:
#   1. cmake --install the build into a fresh prefix;
#   2. configure and build examples/external with find_package(achan 0.2 CONFIG REQUIRED)
#      against that prefix only (its include/ holds nothing but the public headers), and
#      compile it once more with pkg-config's flags;
#   3. start `achan serve` (from the prefix) on a free loopback port and make one call
#      with each client, and run the fault proxy test (external_fault_test) against it.
# Usage: package_test.sh SOURCE_DIR BUILD_DIR WORK_DIR "EXTRA_CXX_FLAGS"
set -euo pipefail
src=$1 build=$2 work=$3 flags=${4:-}
rm -rf "$work" && mkdir -p "$work"
prefix=$work/prefix
cmake --install "$build" --prefix "$prefix" >"$work/install.log"
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S "$src/examples/external" -B "$work/ext" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$flags" \
  "${launcher[@]}" >"$work/configure.log"
cmake --build "$work/ext" >"$work/build.log"
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
# pkg-config: a plain unary call (no generated code), compiled and linked by hand.
cat >"$work/pc_client.cpp" <<'CPP'
#include <achan/achan.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <cstdio>
int main(int, char** argv) {
  caf::actor_system_config cfg;
  achan::configure_actor_system(cfg);
  caf::actor_system sys{cfg};
  achan::dial_options o;
  o.block_until_ready = std::chrono::seconds(10);
  auto ch = achan::dial(sys, std::string{"ipv4:"} + argv[1], o);
  if (!ch) return 1;
  achan::call_options c;
  c.timeout = std::chrono::seconds(5);
  auto r = ch->call("/achan.test.Echo/Unary", std::string{}, c).get();
  std::printf("status %s\n", r.status.to_string().c_str());
  ch->close();
  return r.status.ok() ? 0 : 1;
}
CPP
# shellcheck disable=SC2046,SC2086
${launcher[0]:+ccache} c++ $flags "$work/pc_client.cpp" -o "$work/pc_client" \
  $(pkg-config --cflags --libs achan)

"$prefix/bin/achan" serve --port 0 >"$work/serve.out" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; wait 2>/dev/null || true' EXIT
port=
for _ in $(seq 100); do
  port=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$work/serve.out")
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { echo "achan serve did not start"; cat "$work/serve.out"; exit 1; }
"$work/ext/external_client" "127.0.0.1:$port" | tee "$work/client.out"
grep -q '^status OK server achan payload hello$' "$work/client.out"
# (a shared-library build: pkg-config adds no rpath, so point the loader at the prefix)
LD_LIBRARY_PATH=$prefix/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} \
  "$work/pc_client" "127.0.0.1:$port" | grep -q '^status OK'
# A call the server does not know: the client reports it and exits 1.
if "$work/ext/external_client" "127.0.0.1:$port" /nope.Svc/Nope >"$work/bad.out"; then
  echo "an unknown method succeeded"; exit 1
fi
grep -q 'UNIMPLEMENTED' "$work/bad.out"
# The fault proxy embedded in a user's test (achan::fault_proxy).
"$work/ext/external_fault_test" "127.0.0.1:$port" | grep -q '^fault test OK$'
echo "package test OK"
