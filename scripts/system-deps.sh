#!/usr/bin/env bash
# The Debian packages Clubhouse needs, in one list for `make run`, `make test` and `.ci/run`.
#
#   scripts/system-deps.sh run    what the portal needs (WeasyPrint's Pango and HarfBuzz, fonts; ripgrep
#                                 for the erasure's raw-file scan, which falls back to Python without it)
#   scripts/system-deps.sh test   the above plus Chromium for the browser tests, the PostgreSQL
#                                 client and Redis for the tests that start their own server
#   scripts/system-deps.sh bench  the run packages plus wrk, the load tool of `make bench`
#
# As root with apt-get it installs what is missing. Otherwise it names what is missing and the
# command that installs it, and exits 0: the suite then skips the browser tests with that reason
# (CI refuses skipped browser tests, so there a missing package still fails the run).
set -euo pipefail

profile="${1:-test}"
run_packages=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core ripgrep)
test_packages=(chromium postgresql-client redis-server)
bench_packages=(wrk)

packages=("${run_packages[@]}")
[ "$profile" = "test" ] && packages+=("${test_packages[@]}")
[ "$profile" = "bench" ] && packages+=("${bench_packages[@]}")

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for pkg in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
else
  echo "system-deps: no dpkg on this machine; install these packages (or your system's equivalents) yourself: ${packages[*]}" >&2
  exit 0
fi

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "system-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  exit 0
fi

echo "system-deps: missing Debian packages: ${missing[*]}" >&2
echo "system-deps: install them with: sudo apt-get install ${missing[*]}" >&2
exit 0
