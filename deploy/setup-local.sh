#!/usr/bin/env bash
# Makes the secrets and certificates docker-compose.yml needs for a local stack, then stops:
#
#   .env                                    passwords, from deploy/compose.env.example
#   deploy/secrets/postgres_superuser_password
#   deploy/secrets/ledgerline_master_key    32 random bytes, base64: master key of the local key ring
#   deploy/secrets/eventstore_ca.key        private key of the CA below (never mounted anywhere)
#   deploy/eventstoredb/certs/ca/ca.crt     a CA just for this stack
#   deploy/secrets/eventstore_node.key      EventStoreDB's TLS key (mounted as a compose secret)
#   deploy/eventstoredb/certs/node/node.crt its certificate, for the names eventstore and localhost
#
# Idempotent: what exists and is still valid is kept, so running it again never changes a password
# or key the stack's volumes were initialised with. The node certificate is re-issued when it is
# missing, expires within 30 days, or no longer matches the CA. Every generated file is gitignored.
# Values are never printed. Needs bash and openssl (1.1.1 or later). Usage:
#
#   bash deploy/setup-local.sh && docker compose up -d --build
set -euo pipefail
umask 077

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
env_file="$root/.env"
env_example="$here/compose.env.example"
secrets="$here/secrets"
certs="$here/eventstoredb/certs"

ca_crt="$certs/ca/ca.crt"
ca_key="$secrets/eventstore_ca.key"
node_crt="$certs/node/node.crt"
node_key="$secrets/eventstore_node.key"

renew_days=30
ca_days=1825
node_days=365
node_cn="eventstoredb-node" # = CertificateReservedNodeCommonName in deploy/eventstoredb/eventstore.conf
node_san="DNS:eventstore,DNS:localhost,IP:127.0.0.1"

say() { echo "setup-local: $*"; }
die() {
  echo "setup-local: ERROR: $*" >&2
  exit 1
}
rel() { echo "${1#"$root"/}"; }

command -v openssl >/dev/null 2>&1 || die "openssl is required (Debian/Ubuntu: apt-get install openssl)"
[[ -f "$env_example" ]] || die "$(rel "$env_example") is missing"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# Docker creates a missing bind-mount source as a root-owned directory, so a stack started before
# this script leaves directories where files belong.
check_target() {
  local path="$1"
  if [[ -d "$path" ]]; then
    die "$(rel "$path") is a directory (Docker makes one when the stack starts before this script): remove it and run again"
  fi
  local dir
  dir="$(dirname "$path")"
  [[ -w "$dir" ]] || die "$(rel "$dir") is not writable by $(id -un): was it created by Docker as root? Remove it and run again"
}

# install_file SRC DEST MODE: moves a finished file into place with its mode.
install_file() {
  chmod "$3" "$1"
  mv -f "$1" "$2"
}

mkdir -p "$secrets" "$certs/ca" "$certs/node"
# The secrets directory is private to its owner on the host. Files inside that a container reads
# are 0644: each service runs as its own uid (postgres 999, eventstore 1000, ledgerline 10001) and
# a bind-mounted file is opened without passing through this directory. deploy/README.md says how
# to tighten that on a shared host.
chmod 0700 "$secrets"
chmod 0755 "$certs" "$certs/ca" "$certs/node"

# --- .env ---------------------------------------------------------------------------------------
required_vars=(LEDGERLINE_DB_PASSWORD LEDGERLINE_ESDB_ADMIN_PASSWORD LEDGERLINE_ESDB_OPS_PASSWORD)
if [[ -e "$env_file" ]]; then
  say "kept .env"
  for var in "${required_vars[@]}"; do
    grep -Eq "^${var}=.+" "$env_file" || say "WARNING: .env sets no value for ${var}; docker compose will refuse to start"
  done
else
  check_target "$env_file"
  {
    echo "# Written by deploy/setup-local.sh from deploy/compose.env.example. Gitignored: never commit."
    # The example's opening comment (up to the first blank line) is about copying it: drop it.
    awk -v db="$(openssl rand -hex 24)" -v admin="$(openssl rand -hex 24)" -v ops="$(openssl rand -hex 24)" '
      !started { if ($0 == "") started = 1; next }
      /^LEDGERLINE_DB_PASSWORD=$/ { print $0 db; next }
      /^LEDGERLINE_ESDB_ADMIN_PASSWORD=$/ { print $0 admin; next }
      /^LEDGERLINE_ESDB_OPS_PASSWORD=$/ { print $0 ops; next }
      { print }
    ' "$env_example"
  } >"$tmp/env"
  for var in "${required_vars[@]}"; do
    grep -Eq "^${var}=[0-9a-f]{48}$" "$tmp/env" || die "could not fill ${var} from $(rel "$env_example")"
  done
  install_file "$tmp/env" "$env_file" 0600
  say "created .env (random passwords)"
fi

# --- plain secrets ------------------------------------------------------------------------------
# new_secret PATH COMMAND...: writes COMMAND's output (without a trailing newline) unless PATH has
# content already.
new_secret() {
  local path="$1"
  shift
  check_target "$path"
  if [[ -s "$path" ]]; then
    say "kept $(rel "$path")"
    return
  fi
  "$@" | tr -d '\n' >"$tmp/secret"
  [[ -s "$tmp/secret" ]] || die "could not generate $(rel "$path")"
  install_file "$tmp/secret" "$path" 0644
  say "created $(rel "$path")"
}

new_secret "$secrets/postgres_superuser_password" openssl rand -hex 24
new_secret "$secrets/ledgerline_master_key" openssl rand -base64 32

# --- EventStoreDB CA and node certificate --------------------------------------------------------
# Explicit config files, so the result depends neither on the system's openssl.cnf nor on -addext.
cat >"$tmp/ca.cnf" <<CNF
[req]
prompt = no
distinguished_name = dn
x509_extensions = v3_ca
[dn]
CN = Ledgerline local EventStoreDB CA $(date -u +%Y-%m-%d)
[v3_ca]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
CNF

cat >"$tmp/node.cnf" <<CNF
[req]
prompt = no
distinguished_name = dn
[dn]
CN = ${node_cn}
[v3_node]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = ${node_san}
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
CNF

pubkey_of_cert() { openssl x509 -in "$1" -noout -pubkey 2>/dev/null; }
pubkey_of_key() { openssl pkey -in "$1" -pubout 2>/dev/null; }
# key_matches CERT KEY: the private key belongs to the certificate.
key_matches() {
  local a b
  a="$(pubkey_of_cert "$1")" || return 1
  b="$(pubkey_of_key "$2")" || return 1
  [[ -n "$a" && "$a" == "$b" ]]
}
valid_for_a_while() { openssl x509 -in "$1" -noout -checkend $((renew_days * 86400)) >/dev/null 2>&1; }

check_target "$ca_crt"
check_target "$ca_key"
check_target "$node_crt"
check_target "$node_key"

renew_node=false
if [[ -s "$ca_crt" && -s "$ca_key" ]] && key_matches "$ca_crt" "$ca_key" && valid_for_a_while "$ca_crt"; then
  say "kept $(rel "$ca_crt")"
else
  openssl req -x509 -new -newkey rsa:3072 -nodes -sha256 -days "$ca_days" \
    -config "$tmp/ca.cnf" -keyout "$tmp/ca.key" -out "$tmp/ca.crt" 2>"$tmp/openssl.log" ||
    { cat "$tmp/openssl.log" >&2; die "could not create the CA"; }
  install_file "$tmp/ca.key" "$ca_key" 0600
  install_file "$tmp/ca.crt" "$ca_crt" 0644
  renew_node=true
  say "created $(rel "$ca_crt") (valid ${ca_days} days; its key: $(rel "$ca_key"))"
fi

if [[ "$renew_node" == false && -s "$node_crt" && -s "$node_key" ]] &&
  key_matches "$node_crt" "$node_key" && valid_for_a_while "$node_crt" &&
  openssl verify -CAfile "$ca_crt" "$node_crt" >/dev/null 2>&1 &&
  openssl x509 -in "$node_crt" -noout -text | grep -q "DNS:eventstore"; then
  say "kept $(rel "$node_crt")"
else
  openssl req -new -newkey rsa:2048 -nodes -sha256 -config "$tmp/node.cnf" \
    -keyout "$tmp/node.key" -out "$tmp/node.csr" 2>"$tmp/openssl.log" ||
    { cat "$tmp/openssl.log" >&2; die "could not create the node key"; }
  openssl x509 -req -in "$tmp/node.csr" -CA "$ca_crt" -CAkey "$ca_key" \
    -set_serial "0x$(openssl rand -hex 16)" -days "$node_days" -sha256 \
    -extfile "$tmp/node.cnf" -extensions v3_node -out "$tmp/node.crt" 2>"$tmp/openssl.log" ||
    { cat "$tmp/openssl.log" >&2; die "could not sign the node certificate"; }
  openssl verify -CAfile "$ca_crt" "$tmp/node.crt" >/dev/null || die "the new node certificate does not verify"
  install_file "$tmp/node.key" "$node_key" 0644
  install_file "$tmp/node.crt" "$node_crt" 0644
  say "created $(rel "$node_crt") for ${node_san} (valid ${node_days} days; its key: $(rel "$node_key"))"
fi

# --- never committed ----------------------------------------------------------------------------
if command -v git >/dev/null 2>&1 && git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  for f in "$env_file" "$secrets/postgres_superuser_password" "$secrets/ledgerline_master_key" \
    "$ca_key" "$ca_crt" "$node_key" "$node_crt"; do
    git -C "$root" check-ignore -q "$f" || say "WARNING: $(rel "$f") is not gitignored: do not commit it"
  done
fi

say "done. Next: docker compose up -d --build   (deploy/README.md)"
