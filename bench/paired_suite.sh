#!/usr/bin/env bash
# Two revisions' tests run at the same time, one process each, on PostgreSQL databases of their own.
#
#   bench/paired_suite.sh BASE NEW [pytest arguments...]
#   bench/paired_suite.sh HEAD~1 HEAD tests/test_bad_input.py
#
# This machine's speed swings by half within an hour, so two runs one after the other compare
# the hours as much as the code. Started together on the two cores, both runs meet the same
# swings and their wall times compare. Each revision is checked out into a temporary worktree
# that uses this checkout's virtualenv; worktrees and databases are removed afterwards.
# PAIR_SERVER: the PostgreSQL server (default postgresql://postgres@127.0.0.1:5432).
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { sed -n 2,4p "$0" >&2; exit 2; }
base=$1 new=$2
shift 2
server=${PAIR_SERVER:-postgresql://postgres@127.0.0.1:5432}
root=$(mktemp -d)
databases=()

cleanup() {
  for name in "${databases[@]}"; do
    psql "$server/postgres" -q -c "DROP DATABASE IF EXISTS \"$name\" WITH (FORCE)" >/dev/null 2>&1 || true
  done
  for label in base new; do
    [ -d "$root/$label" ] && git worktree remove --force "$root/$label" >/dev/null 2>&1 || true
  done
  rm -rf "$root"
}
trap cleanup EXIT

run() {
  local label=$1 dir=$root/$1 name=paired_$1_$$
  local start end
  start=$(date +%s.%N)
  (cd "$dir" && PYTHONPYCACHEPREFIX=$dir/.pycache DATABASE_URL=$server/$name \
    .venv/bin/python -m pytest -p no:xdist -q "${@:2}" >"$root/$label.log" 2>&1) || true
  end=$(date +%s.%N)
  printf '%-5s %-12s %7.1f s  %s\n' "$label" "$(git -C "$dir" rev-parse --short HEAD)" \
    "$(echo "$end - $start" | bc)" "$(tail -n 1 "$root/$label.log")"
}

for label in base new; do
  revision=$base
  [ "$label" = new ] && revision=$new
  git worktree add --quiet --detach "$root/$label" "$revision"
  ln -s "$PWD/.venv" "$root/$label/.venv"
  (cd "$root/$label" && .venv/bin/python -m app.catalogs compile >/dev/null)
  databases+=("paired_${label}_$$")
  psql "$server/postgres" -q -c "CREATE DATABASE \"paired_${label}_$$\"" >/dev/null
done

run base "$@" &
run new "$@" &
wait
