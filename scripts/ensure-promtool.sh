#!/usr/bin/env bash
# Prints the path of a promtool for the ops alert tests (ops/test/alerts.test.ts), fetching one
# only when none is found: promtool on PATH, else .ci/bin/promtool (gitignored), else the binary
# is unpacked from Debian's prometheus package into .ci/bin (apt-get download + dpkg-deb -x: no
# package is installed and no Prometheus server is started). Exit 2, with the reason on stderr,
# when none can be had (no apt-get, no network to Debian's packages).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOCAL="$ROOT/.ci/bin/promtool"

if command -v promtool >/dev/null 2>&1; then command -v promtool; exit 0; fi
if [[ -x "$LOCAL" ]]; then echo "$LOCAL"; exit 0; fi
if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg-deb >/dev/null 2>&1; then
  echo "ensure-promtool: promtool is not on PATH and this is not a Debian-like system (no apt-get/dpkg-deb): install Prometheus' promtool and put it on PATH" >&2
  exit 2
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
SUDO=""
if [[ "$(id -u)" != "0" ]]; then SUDO="sudo -n"; fi
echo "ensure-promtool: fetching promtool from Debian's prometheus package into .ci/bin …" >&2
# apt-get download needs current package lists; updating them needs root (or password-less sudo).
# Without that, try with the lists as they are.
$SUDO apt-get update -qq >"$tmp/update.log" 2>&1 || echo "ensure-promtool: apt-get update failed (continuing with the package lists as they are): $(tail -1 "$tmp/update.log")" >&2
if ! (cd "$tmp" && apt-get download -qq prometheus >"$tmp/download.log" 2>&1); then
  echo "ensure-promtool: apt-get download prometheus failed: $(tail -2 "$tmp/download.log")" >&2
  exit 2
fi
dpkg-deb -x "$tmp"/prometheus_*.deb "$tmp/unpacked"
if [[ ! -x "$tmp/unpacked/usr/bin/promtool" ]]; then
  echo "ensure-promtool: Debian's prometheus package holds no usr/bin/promtool" >&2
  exit 2
fi
mkdir -p "$ROOT/.ci/bin"
cp "$tmp/unpacked/usr/bin/promtool" "$LOCAL.tmp.$$" && mv "$LOCAL.tmp.$$" "$LOCAL"
echo "$LOCAL"
