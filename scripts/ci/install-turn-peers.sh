#!/usr/bin/env bash
# Installs Debian's coturn package for the TURN tests: turnserver (the production relay the suite
# also runs against), turnutils_uclient (the real client) and turnutils_peer (the echo peer).
# Idempotent: does nothing when turnutils_uclient is already there. Tests start and stop coturn
# themselves on loopback; the package's own service is never started.
set -euo pipefail

if command -v turnutils_uclient >/dev/null 2>&1; then
  echo "install-turn-peers: coturn already installed ($(command -v turnutils_uclient))"
  exit 0
fi
if [[ "$(id -u)" -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
  echo "install-turn-peers: not root on Debian; install coturn yourself (the TURN suites skip without it)" >&2
  exit 0
fi
log="$(mktemp)"
if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends coturn; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "install-turn-peers: apt-get could not install coturn" >&2
  exit 1
fi
rm -f "$log"
echo "install-turn-peers: installed coturn $(turnserver --version 2>/dev/null | head -1)"
