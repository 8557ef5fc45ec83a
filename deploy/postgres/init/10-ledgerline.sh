#!/usr/bin/env bash
# Runs once, from the postgres image's /docker-entrypoint-initdb.d, when the data volume is first
# initialised (never again on later starts: change the password with ALTER ROLE after that).
#
# Creates the role Ledgerline connects as and the database it owns. Ledgerline applies its own
# migrations at start-up, so the role needs to create tables in that database, nothing more: it is
# not a superuser and cannot create roles or other databases.
set -euo pipefail

: "${LEDGERLINE_DB_PASSWORD:?LEDGERLINE_DB_PASSWORD must be set (deploy/README.md)}"

# The password goes in as a psql variable, quoted by psql itself (:'name'), never spliced into SQL.
psql --no-psqlrc -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  --set=app_password="$LEDGERLINE_DB_PASSWORD" <<'SQL'
create role ledgerline_app login password :'app_password'
  nosuperuser nocreatedb nocreaterole noreplication;
create database ledgerline owner ledgerline_app;
revoke all on database ledgerline from public;
SQL
