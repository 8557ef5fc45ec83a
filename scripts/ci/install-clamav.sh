#!/usr/bin/env bash
# Installs Debian's clamav-daemon for the files virus-scanning tests (libs/files): clamd, which the
# tests start themselves on a unix socket of their own with a one-signature database that detects
# the EICAR test file (ClamAV cannot download its real databases here). The package's own service
# and freshclam are never started. Idempotent: does nothing when clamd is already there.
set -euo pipefail

if command -v clamd >/dev/null 2>&1; then
  echo "install-clamav: clamd already installed ($(command -v clamd))"
  exit 0
fi
if [[ "$(id -u)" -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
  echo "install-clamav: not root on Debian; install clamav-daemon yourself (the scanning suites skip without it)" >&2
  exit 0
fi
log="$(mktemp)"
if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends clamav-daemon; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "install-clamav: apt-get could not install clamav-daemon" >&2
  exit 1
fi
rm -f "$log"
echo "install-clamav: installed $(clamd --version 2>/dev/null | head -1)"
