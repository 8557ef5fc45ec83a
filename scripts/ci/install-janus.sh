#!/usr/bin/env bash
# Installs Debian's Janus WebRTC server (janus 1.1.x, with its VideoRoom plugin and WebSocket
# transport) for the SFU contract suite's Janus run. Idempotent: does nothing when `janus` is
# already installed. The tests start Janus themselves on loopback with a generated configuration;
# the package's own service is never started (it is stopped and disabled if the package started it).
set -euo pipefail

if command -v janus >/dev/null 2>&1; then
  echo "install-janus: janus already installed ($(command -v janus))"
  exit 0
fi
if [[ "$(id -u)" -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
  echo "install-janus: not root on Debian; install janus yourself (the Janus suites skip without it)" >&2
  exit 0
fi
log="$(mktemp)"
if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends janus; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "install-janus: apt-get could not install janus" >&2
  exit 1
fi
rm -f "$log"
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet janus 2>/dev/null; then
  systemctl disable --now janus >/dev/null 2>&1 || true
fi
echo "install-janus: installed $(dpkg-query -W -f='janus ${Version}' janus)"
