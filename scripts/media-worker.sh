#!/usr/bin/env bash
# Builds mediasoup's C++ worker (the SFU media process libs/sfu drives) from the npm tarball in
# node_modules/mediasoup and Debian's libraries only: no GitHub, wrapdb or pip downloads (meson
# runs with --wrap-mode=nodownload; scripts/mediasoup/mediasoup-<version>-*.patch points the
# meson files at pkg-config system libraries and adapts the SRTP calls to Debian's libsrtp 2.x).
# See docs/adr/0025-sfu-engines.md.
#
# The binary is cached outside the work tree, per mediasoup version:
#   ${LEDGERLINE_CACHE:-~/.cache/ledgerline}/mediasoup-worker-<version>/mediasoup-worker
# A second run with the same version reuses it (prints its path and exits). The app and the
# tests look there by default; MEDIASOUP_WORKER_BIN overrides the path.
#
# Usage: scripts/media-worker.sh            (npm run media:worker)
# Env:   JOBS=N (ninja parallelism, default nproc); MEDIA_WORKER_FORCE=1 (rebuild)
# Debian build packages: scripts/ci/install-media-build-deps.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

pkg="$root/node_modules/mediasoup"
if [[ ! -f "$pkg/package.json" ]]; then
  echo "media-worker: node_modules/mediasoup is missing; run npm ci first" >&2
  exit 1
fi
version="$(node -p "require('$pkg/package.json').version")"
patch_file="$(ls "$root"/scripts/mediasoup/mediasoup-"$version"-*.patch 2>/dev/null | head -1 || true)"
if [[ -z "$patch_file" ]]; then
  echo "media-worker: no patch for mediasoup $version in scripts/mediasoup/ (the recipe is per version)" >&2
  exit 1
fi

cache="${LEDGERLINE_CACHE:-$HOME/.cache/ledgerline}/mediasoup-worker-$version"
bin="$cache/mediasoup-worker"
# The binary is reused only when it was built with this very patch (its hash is kept beside it):
# a changed recipe rebuilds, whatever the cache holds.
recipe="$(sha256sum "$patch_file" | cut -c1-16)"
if [[ -x "$bin" && "$(cat "$bin.recipe" 2>/dev/null)" == "$recipe" && "${MEDIA_WORKER_FORCE:-0}" != 1 ]]; then
  echo "media-worker: cached mediasoup $version worker: $bin"
  exit 0
fi
rm -f "$bin" "$bin.recipe" "$bin.dtls-ok"

for tool in meson ninja flatc pkg-config c++ patch; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "media-worker: $tool not found; run scripts/ci/install-media-build-deps.sh (as root)" >&2
    exit 1
  fi
done

# Scratch space next to the cache (same filesystem, so the final move is atomic); removed on exit.
mkdir -p "$cache"
scratch="$(mktemp -d "$cache/build.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT
src="$scratch/worker"
build="$scratch/build"
cp -a "$pkg/worker" "$src"
rm -rf "$src/out" "$src/subprojects/packagecache"
patch -d "$src" -p1 --forward --silent < "$patch_file"

# liburing is disabled: Debian 12 ships 2.3, the worker calls 2.5+ functions.
echo "media-worker: configuring mediasoup $version ($(basename "$patch_file"))"
meson setup "$build" "$src" --wrap-mode=nodownload --buildtype release -Db_ndebug=true \
  -Dms_disable_liburing=true >"$scratch/meson.log" 2>&1 || { cat "$scratch/meson.log" >&2; exit 1; }
# The FlatBuffers C++ headers first (as upstream's tasks.py does), from Debian's flatc.
ninja -C "$build" fbs/FBS >/dev/null

jobs="${JOBS:-$(nproc)}"
echo "media-worker: building (ninja -j$jobs; about 15 minutes on 2 busy cores)"
start=$(date +%s)
ninja -C "$build" -j "$jobs" mediasoup-worker >"$scratch/ninja.log" 2>&1 || { tail -50 "$scratch/ninja.log" >&2; exit 1; }
strip -o "$scratch/mediasoup-worker" "$build/mediasoup-worker"

# Prove the binary speaks to this mediasoup version before caching it.
MEDIASOUP_WORKER_BIN="$scratch/mediasoup-worker" node -e "
  const ms = require('$pkg');
  ms.createWorker({ logLevel: 'warn' })
    .then(async (w) => { await w.createRouter({ mediaCodecs: [] }); w.close(); })
    .catch((e) => { console.error('media-worker: smoke test failed:', e.message); process.exit(1); });
"
mv -f "$scratch/mediasoup-worker" "$bin"
echo "$recipe" >"$bin.recipe"
echo "media-worker: built mediasoup $version worker in $(( $(date +%s) - start ))s: $bin"

# A real DTLS handshake (werift as the client). Before the patch's DtlsTransport.cpp hunk, this
# build crashed in SSL_read on it (docs/adr/0025-sfu-engines.md); the SFU contract suite probes
# again and skips its media tests, saying why, if a worker ever fails it.
# Its verdict is kept beside the binary: with LEDGERLINE_SFU_ENGINE=auto a server uses only a
# worker that passed it (libs/sfu/src/adapters/mediasoup/mediasoup-worker-binary.ts).
if MEDIASOUP_WORKER_BIN="$bin" node "$root/scripts/mediasoup/dtls-probe.mjs"; then
  echo "media-worker: DTLS probe connected"
  touch "$bin.dtls-ok"
else
  echo "media-worker: WARNING: the worker did not complete a DTLS handshake (exit $?); WebRTC media will not flow through it" >&2
  rm -f "$bin.dtls-ok"
fi
