#!/usr/bin/env bash
# Installs the Debian packages that scripts/media-worker.sh needs to build mediasoup's C++ worker
# from the npm tarball against system libraries (meson, ninja, flatc and the -dev packages of
# OpenSSL, libuv, libsrtp2, usrsctp, abseil, FlatBuffers). Idempotent: does nothing when they are
# all present. Not root or not Debian: says so and leaves it to the user (the mediasoup suites then
# skip with the reason in their names).
set -euo pipefail

pkgs=(build-essential meson ninja-build pkg-config python3 libssl-dev libuv1-dev libsrtp2-dev
  libusrsctp-dev libabsl-dev flatbuffers-compiler libflatbuffers-dev)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-media-build-deps: all present"
  exit 0
fi
if [[ "$(id -u)" -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
  echo "install-media-build-deps: not root on Debian; install ${missing[*]} yourself" >&2
  exit 0
fi
log="$(mktemp)"
if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "install-media-build-deps: apt-get could not install ${missing[*]}" >&2
  exit 1
fi
rm -f "$log"
echo "install-media-build-deps: installed ${missing[*]}"
