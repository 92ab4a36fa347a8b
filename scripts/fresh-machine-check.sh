#!/usr/bin/env bash
# Runs the README's two commands the way a newcomer would, so that they cannot silently start to
# depend on something this machine happens to have:
#   - each in a fresh clone of REPO (default: this checkout's committed HEAD),
#   - with empty npm, pnpm and XDG caches (everything is fetched from the registries again),
#   - with promtool and the machine's PostgreSQL hidden: inside a private mount namespace an empty
#     directory is mounted over /usr/lib/postgresql (so /usr/local/bin/initdb and the like dangle)
#     and every promtool on PATH is covered by an empty, non-executable file.
# It prints how long each command took, checks that the demo ends "OK", that the test command's
# summary is "N passed, 0 failed" and that the PostgreSQL tests ran (passed, not skipped).
#
#   sudo bash scripts/fresh-machine-check.sh [REPO] [BRANCH]
#
# Needs root (mount namespaces; the PostgreSQL of the test run then runs as nobody), git, Node 20
# and npm, and network access to the npm registry and Debian's packages (promtool is fetched).
set -euo pipefail

if [[ "${RON_AUDIT_FRESH_INNER:-}" != 1 ]]; then
  [[ "$(id -u)" == 0 ]] || { echo "fresh-machine-check: needs root (a private mount namespace hides PostgreSQL and promtool)" >&2; exit 2; }
  exec env RON_AUDIT_FRESH_INNER=1 unshare --mount --propagation private bash "$0" "$@"
fi

REPO="${1:-$(cd "$(dirname "$0")/.." && pwd)}"
BRANCH="${2:-}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/ron-audit-fresh.XXXXXX")"
chmod 0755 "$WORK"
echo "fresh-machine-check: in $WORK"

# --- hide what a fresh machine does not have -------------------------------------------------
mkdir -p "$WORK/empty"
if [[ -d /usr/lib/postgresql ]]; then mount --bind "$WORK/empty" /usr/lib/postgresql; fi
: >"$WORK/not-promtool"
chmod 0644 "$WORK/not-promtool"
IFS=: read -r -a path_dirs <<<"$PATH"
for d in "${path_dirs[@]}"; do
  if [[ -e "$d/promtool" ]]; then mount --bind "$WORK/not-promtool" "$d/promtool"; fi
done
if command -v promtool >/dev/null 2>&1; then echo "fresh-machine-check: promtool still reachable: $(command -v promtool)" >&2; exit 2; fi
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { command -v initdb >/dev/null 2>&1 && [[ -x "$(command -v initdb)" ]]; }; then
  echo "fresh-machine-check: a PostgreSQL is still reachable" >&2; exit 2
fi
unset RON_AUDIT_PG_URL PG_BIN RON_AUDIT_PG_OPTIONAL
for v in $(env | sed -n 's/^\(AUDIT_[A-Z_]*\)=.*/\1/p'); do unset "$v"; done
echo "fresh-machine-check: promtool and /usr/lib/postgresql hidden"

# --- one README command in a fresh clone with empty caches -----------------------------------
fresh() {
  local name="$1"
  local dir="$WORK/$name"
  git clone --quiet ${BRANCH:+--branch "$BRANCH"} "$REPO" "$dir/repo"
  mkdir -p "$dir/home" "$dir/npm-cache" "$dir/xdg-cache" "$dir/xdg-data" "$dir/xdg-state" "$dir/xdg-config"
  echo "$dir"
}
in_fresh_env() {
  local dir="$1"
  shift
  (cd "$dir/repo" && env HOME="$dir/home" npm_config_cache="$dir/npm-cache" XDG_CACHE_HOME="$dir/xdg-cache" XDG_DATA_HOME="$dir/xdg-data" \
    XDG_STATE_HOME="$dir/xdg-state" XDG_CONFIG_HOME="$dir/xdg-config" npm_config_store_dir="$dir/xdg-data/pnpm/store" "$@")
}

status=0
demo="$(fresh demo)"
t0=$(date +%s.%N)
set +e
in_fresh_env "$demo" bash -c 'npx -y pnpm@10.34.8 install && npx -y pnpm@10.34.8 demo' >"$WORK/demo.log" 2>&1
demo_rc=$?
set -e
t1=$(date +%s.%N)
demo_s=$(awk "BEGIN { printf \"%.0f\", $t1 - $t0 }")
tail -3 "$WORK/demo.log"
if [[ $demo_rc -ne 0 ]] || ! grep -q '^OK' "$WORK/demo.log"; then echo "FAIL: the demo command (exit $demo_rc; log $WORK/demo.log)"; status=1; fi

tests="$(fresh test)"
t0=$(date +%s.%N)
set +e
in_fresh_env "$tests" env CI=true bash -c 'npx -y pnpm@10.34.8 install && npx -y pnpm@10.34.8 test' >"$WORK/test.log" 2>&1
test_rc=$?
set -e
t1=$(date +%s.%N)
test_s=$(awk "BEGIN { printf \"%.0f\", $t1 - $t0 }")
summary="$(node "$tests/repo/.ci/summary.mjs" "$tests/repo/.ci/vitest-report.json")"
echo "$summary"
if [[ $test_rc -ne 0 ]] || ! [[ "$summary" =~ ^[0-9]+\ passed,\ 0\ failed ]]; then echo "FAIL: the test command (exit $test_rc; log $WORK/test.log)"; status=1; fi
# The PostgreSQL tests must have run: every test of the shipper file passed, none skipped.
pg="$(node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const f = r.testResults.filter((s) => /sinks\/pg\/shipper\.test\.ts$/.test(s.name));
const a = f.flatMap((s) => s.assertionResults);
console.log(`${a.filter((t) => t.status === "passed").length} ${a.length}`);
' "$tests/repo/.ci/vitest-report.json")"
read -r pg_passed pg_total <<<"$pg"
echo "PostgreSQL shipper tests: $pg_passed of $pg_total passed"
if [[ "$pg_total" == 0 || "$pg_passed" != "$pg_total" ]]; then echo "FAIL: the PostgreSQL tests did not all run"; status=1; fi

echo "cold timings: demo command ${demo_s}s (exit $demo_rc), test command ${test_s}s (exit $test_rc)"
if [[ $status -eq 0 ]]; then rm -rf "$WORK"; echo "fresh-machine-check: OK"; else echo "fresh-machine-check: FAILED (kept $WORK)"; fi
exit $status
