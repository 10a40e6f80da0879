#!/usr/bin/env bash
# Installs the Debian packages the test suite drives as real processes, when they are missing:
# Chromium for the dashboard test (playwright-core drives it; it cannot download a browser);
# RabbitMQ, Redis and Python Celery 5.2 for the RabbitMQ + Redis suites and the Celery interop tests
# (test/helpers/rabbitmq.ts, redis.ts, celery.ts start them on loopback; the packages' own system
# services are not used). python3-msgpack and python3-redis are what Celery needs for the msgpack
# serializer and the redis:// result backend; Debian's Celery does not pull them in.
# Runs before `npm test` (the `pretest` script) and from .ci/run. Needs root for apt-get; without
# it, a missing package is named and the run stops (exit 1) instead of failing later, test by test.
set -euo pipefail

# package -> a file that proves it is installed
declare -A PROOF=(
  [chromium]=/usr/bin/chromium
  [rabbitmq-server]=/usr/lib/rabbitmq/bin/rabbitmq-server
  [redis-server]=/usr/bin/redis-server
  [python3-celery]=/usr/lib/python3/dist-packages/celery/__init__.py
  [python3-msgpack]=/usr/lib/python3/dist-packages/msgpack/__init__.py
  [python3-redis]=/usr/lib/python3/dist-packages/redis/__init__.py
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
# rabbitmq-server and redis-server start their system services on install (port 5672 and epmd on
# 4369, port 6379) unless policy-rc.d says no; the tests start their own on free ports, and a
# service left running would only hold ports and memory. Docker images usually ship this file
# already; when absent, one is put in place for the install and removed afterwards.
if [[ ! -e /usr/sbin/policy-rc.d ]]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get update -qq
apt-get install -y -qq "${missing[@]}" >/dev/null
