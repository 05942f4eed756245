#!/usr/bin/env bash
# Installs the Debian 12 packages achan needs to build, test and benchmark, if any is
# missing. Idempotent and quiet when everything is present. Needs root (or sudo) only
# when something must be installed.
set -euo pipefail

packages=(
  g++ cmake ninja-build ccache pkg-config
  libcaf-dev doctest-dev libbenchmark-dev
  libasio-dev libnghttp2-dev libssl-dev openssl
  libprotobuf-dev libprotoc-dev protobuf-compiler libgrpc++-dev protobuf-compiler-grpc
  libc-ares-dev nlohmann-json3-dev dnsmasq-base etcd-server etcd-client
  libxxhash-dev libcpp-httplib-dev libyaml-cpp-dev curl
  clang libclang-rt-dev
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "achan: installing ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "achan: need root to install: ${missing[*]}" >&2; exit 1; }
  sudo=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
