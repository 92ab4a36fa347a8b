#!/usr/bin/env bash
# A throw-away PostgreSQL for tests, benchmarks and drills: a cluster in a temporary directory,
# listening on 127.0.0.1 only (unix socket inside that directory), trust authentication, one
# database. Never point it at real data.
#
#   scripts/pg-test-server.sh start [DIR]   initdb (into DIR or a new temp dir), start on a free
#                                           port, create the database; prints two lines:
#                                             RON_AUDIT_PG_URL=postgres://postgres@127.0.0.1:<port>/ron_audit_test
#                                             RON_AUDIT_PG_DIR=<dir>
#   scripts/pg-test-server.sh pause DIR     stop the server (pg_ctl stop -m fast), keep the data
#   scripts/pg-test-server.sh resume DIR    start it again on the same port
#   scripts/pg-test-server.sh stop DIR      stop it and delete DIR
#
# As root the cluster is owned by and run as the `postgres` user (initdb refuses root).
set -euo pipefail

find_bin() {
  local dir
  if [[ -n "${PG_BIN:-}" && -x "$PG_BIN/initdb" ]]; then echo "$PG_BIN"; return; fi
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [[ -x "$dir/initdb" ]]; then echo "$dir"; return; fi
  done
  if command -v initdb >/dev/null 2>&1; then dirname "$(command -v initdb)"; return; fi
  echo "pg-test-server: no PostgreSQL found (looked for /usr/lib/postgresql/*/bin/initdb and initdb on PATH); install it: apt-get install -y postgresql" >&2
  exit 2
}

BIN="$(find_bin)"

as_owner() {
  if [[ "$(id -u)" == "0" ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

start_server() {
  local dir="$1"
  as_owner "$BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 start >/dev/null
}

cmd="${1:-}"
case "$cmd" in
  start)
    dir="${2:-}"
    if [[ -z "$dir" ]]; then dir="$(mktemp -d "${TMPDIR:-/tmp}/ron-audit-pg.XXXXXX")"; fi
    mkdir -p "$dir"
    if [[ "$(id -u)" == "0" ]]; then chown postgres: "$dir"; chmod 0700 "$dir"; fi
    port="$(free_port)"
    echo "$port" >"$dir/port"
    as_owner "$BIN/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 -N >"$dir/initdb.log" 2>&1 ||
      as_owner "$BIN/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --locale=C -N >"$dir/initdb.log" 2>&1 || {
        cat "$dir/initdb.log" >&2
        exit 2
      }
    cat >>"$dir/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 200
fsync = on
synchronous_commit = on
log_min_messages = warning
EOF
    start_server "$dir"
    as_owner "$BIN/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -qAt -c "CREATE DATABASE ron_audit_test" >/dev/null
    echo "RON_AUDIT_PG_URL=postgres://postgres@127.0.0.1:$port/ron_audit_test"
    echo "RON_AUDIT_PG_DIR=$dir"
    ;;
  pause)
    [[ -n "${2:-}" ]] || { echo "usage: $0 pause DIR" >&2; exit 2; }
    as_owner "$BIN/pg_ctl" -D "$2/data" -m fast -w stop >/dev/null
    ;;
  resume)
    [[ -n "${2:-}" ]] || { echo "usage: $0 resume DIR" >&2; exit 2; }
    start_server "$2"
    ;;
  stop)
    [[ -n "${2:-}" ]] || { echo "usage: $0 stop DIR" >&2; exit 2; }
    if [[ -f "$2/data/postmaster.pid" ]]; then as_owner "$BIN/pg_ctl" -D "$2/data" -m immediate -w stop >/dev/null 2>&1 || true; fi
    rm -rf "$2"
    ;;
  *)
    echo "usage: $0 start [DIR] | pause DIR | resume DIR | stop DIR" >&2
    exit 2
    ;;
esac
