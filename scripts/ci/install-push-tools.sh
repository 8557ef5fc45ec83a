#!/usr/bin/env bash
# Installs Debian's openssl for the push tests: the local APNs and FCM stand-ins serve TLS with a
# throwaway CA and certificate made by the openssl CLI (libs/push/src/stand-ins/stand-in-tls.ts).
# Idempotent: does nothing when openssl is already there.
set -euo pipefail

if command -v openssl >/dev/null 2>&1; then
  echo "install-push-tools: openssl already installed ($(openssl version))"
  exit 0
fi
if [[ "$(id -u)" -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
  echo "install-push-tools: not root on Debian; install openssl yourself (the push tests need it)" >&2
  exit 1
fi
log="$(mktemp)"
if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openssl; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "install-push-tools: apt-get could not install openssl" >&2
  exit 1
fi
rm -f "$log"
echo "install-push-tools: installed $(openssl version)"
