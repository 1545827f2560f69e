#!/usr/bin/env bash
# Sets up everything halfopen needs on Debian, and does nothing that is already done:
# the Debian packages the lab spawns (iproute2, iptables, conntrack, procps, nats-server,
# mosquitto; socat, the relay bench:proxy compares with), the npm dependencies (npm ci when package-lock.json changed), and the build.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/sbin:/sbin"

# `--test`: also what only the tests use: Debian's chromium, to open the HTML report headless, and
# python3 with paho-mqtt, Go with nats.go and google.golang.org/grpc, for the clients not written
# in TypeScript that --client-cmd measures (tune --emit nats.go's and grpc-go's code is compiled
# against Debian's sources, offline; the emitted paho-python code runs in /usr/bin/python3).
# A pair is command:package, or, for a library with no command, /its/path:package.
tools="ip:iproute2 ss:iproute2 iptables-restore:iptables conntrack:conntrack sysctl:procps nats-server:nats-server mosquitto:mosquitto socat:socat"
[ "${1:-}" = "--test" ] && tools="$tools chromium:chromium python3:python3 go:golang-go /usr/share/gocode/src/github.com/nats-io/nats.go:golang-github-nats-io-go-nats-dev /usr/share/gocode/src/google.golang.org/grpc/keepalive:golang-google-grpc-dev /usr/lib/python3/dist-packages/paho/mqtt:python3-paho-mqtt"

missing=()
for pair in $tools; do
  have="${pair%%:*}"
  if [ "${have#/}" != "$have" ]; then [ -e "$have" ]; else command -v "$have" >/dev/null 2>&1; fi || missing+=("${pair#*:}")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" -ne 0 ]; then
    echo "halfopen setup: missing Debian packages: ${missing[*]} (run as root, or: sudo apt-get install -y ${missing[*]})" >&2
    exit 1
  fi
  echo "halfopen setup: installing ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# A node_modules that is a link belongs to another checkout (a git worktree): never reinstall it.
if [ ! -L node_modules ] && { [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; }; then
  echo "halfopen setup: installing npm dependencies" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi

npx tsc -p .
chmod +x dist/src/cli/main.js
