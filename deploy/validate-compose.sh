#!/usr/bin/env bash
# Validates docker-compose.yml without a Docker engine: schema, interpolation, anchors, profiles.
# CI runs it; so can anyone: `bash deploy/validate-compose.sh` from anywhere in the repository.
#
# Uses `docker-compose` (Compose v1). When it is missing and we are root on Debian, installs
# Debian's package (bookworm: 1.29.2), which is also the oldest Compose the file must satisfy.
# Exit status: 0 valid, 1 invalid, 2 could not run. Prints one result line.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
compose_file="$root/docker-compose.yml"

fail() {
  echo "validate-compose: ERROR: $*" >&2
  exit 2
}

[[ -f "$compose_file" ]] || fail "no docker-compose.yml at $root"

if ! command -v docker-compose >/dev/null 2>&1; then
  if [[ "$(id -u)" -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "validate-compose: docker-compose not found; installing Debian's docker-compose package" >&2
    log="$(mktemp)"
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose; } >"$log" 2>&1; then
      cat "$log" >&2
      fail "apt-get could not install docker-compose"
    fi
    rm -f "$log"
    command -v docker-compose >/dev/null 2>&1 || fail "apt-get installed docker-compose but it is not on PATH"
  else
    fail "docker-compose is not installed. Install it (Debian/Ubuntu: sudo apt-get install docker-compose; or pip install docker-compose) or run this script as root on Debian, where it installs the package itself."
  fi
fi

# Dummy values for every variable the file interpolates with ${VAR:?...}. They are written to a
# private env file and the command runs in an emptied environment, so neither a developer's shell
# nor a real .env at the repository root can change (or leak into) the result.
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
cat >"$scratch/validate.env" <<'ENV'
COMPOSE_PROJECT_NAME=ledgerline-validate
LEDGERLINE_DB_PASSWORD=validate-dummy-db-password
LEDGERLINE_ESDB_ADMIN_PASSWORD=validate-dummy-admin-password
LEDGERLINE_ESDB_OPS_PASSWORD=validate-dummy-ops-password
ENV

compose() {
  env -i PATH="$PATH" HOME="${HOME:-/root}" LANG=C.UTF-8 \
    docker-compose --project-directory "$root" --env-file "$scratch/validate.env" -f "$compose_file" "$@"
}

version="$(compose version --short 2>/dev/null || echo unknown)"

# Every profile at once, so services that only start under a profile are checked too.
profiles="$(compose config --profiles 2>/dev/null | xargs || true)"
profile_args=()
for p in $profiles; do profile_args+=(--profile "$p"); done

# Compose v1 reports some problems (an unset variable, a deprecated key) only as a warning on
# stderr and still exits 0; a warning is a failure here.
if ! compose "${profile_args[@]}" config -q >"$scratch/out" 2>&1 || grep -qiE 'warning|error' "$scratch/out"; then
  sed 's/^/  /' "$scratch/out" >&2
  echo "validate-compose: FAIL docker-compose.yml (docker-compose $version)"
  exit 1
fi

services="$(compose "${profile_args[@]}" config --services | xargs)"
echo "validate-compose: OK docker-compose.yml (docker-compose $version; services: $services; profiles: ${profiles:-none})"
