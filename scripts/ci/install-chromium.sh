#!/usr/bin/env bash
# Installs Debian's Chromium for the calls browser e2e test (apps/server/src/calls-browser.e2e.spec.ts),
# which drives it with playwright-core (--use-fake-device-for-media-stream, fake UI): playwright's
# own browser download cannot be used here, Debian's package can. Idempotent: does nothing when
# /usr/bin/chromium is already there. Without it the suite is skipped with the reason in its name.
set -euo pipefail

if [[ -x /usr/bin/chromium ]]; then
  echo "install-chromium: already installed ($(/usr/bin/chromium --version 2>/dev/null | head -1))"
  exit 0
fi
if [[ "$(id -u)" -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
  echo "install-chromium: not root on Debian; install chromium yourself (the browser e2e skips without it)" >&2
  exit 0
fi
log="$(mktemp)"
if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "install-chromium: apt-get could not install chromium" >&2
  exit 1
fi
rm -f "$log"
echo "install-chromium: installed $(/usr/bin/chromium --version 2>/dev/null | head -1)"
