#!/usr/bin/env bash
# Installs the Debian packages the test suite drives as real processes, when they are missing:
# Chromium for the dashboard test (playwright-core drives it; it cannot download a browser).
# Runs before `npm test` (the `pretest` script) and from .ci/run. Needs root for apt-get; without
# it, a missing package is named and the run stops (exit 1) instead of failing later, test by test.
set -euo pipefail

# package -> a file that proves it is installed
declare -A PROOF=(
  [chromium]=/usr/bin/chromium
)

missing=()
for pkg in "${!PROOF[@]}"; do
  [[ -e "${PROOF[$pkg]}" ]] || missing+=("$pkg")
done
(( ${#missing[@]} == 0 )) && exit 0

if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
  echo "test-deps: the tests need these Debian packages: ${missing[*]}; install them (apt-get install -y ${missing[*]}) and run again" >&2
  exit 1
fi
echo "test-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${missing[@]}" >/dev/null
