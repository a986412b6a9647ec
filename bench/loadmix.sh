#!/usr/bin/env bash
# bench/loadmix.sh — issue 9, "Load": a realistic mix (home page, navigation,
# search, a matter's guide, my cases, submissions, ratings) from CONNS
# concurrent citizens for DURATION against the server over loopback HTTP,
# on SQLite and then on MariaDB. Prints requests, errors and p50/p95/p99
# per kind; fails on any error. Rate limits are off in the test server
# (one address sends everything).
#
#   bench/loadmix.sh
#
# Environment: DURATION (60s)  CONNS (64)
#   TEST_MYSQL_DSN (govmobile:govmobile-ci@tcp(127.0.0.1:3306)/govmobile_test):
#     dropped and created by the run; set it empty to skip MariaDB.
# Only 127.0.0.1 is contacted.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export DURATION=${DURATION:-60s} CONNS=${CONNS:-64} GOVMOBILE_LOAD=1
DSN=${TEST_MYSQL_DSN-govmobile:govmobile-ci@tcp(127.0.0.1:3306)/govmobile_test}
cd "$ROOT"
echo "== SQLite, $CONNS clients, $DURATION"
TEST_MYSQL_DSN= go test -count=1 -timeout 30m -v -run '^TestLoadMix$' ./app/ | grep -E 'loadmix_test|^(ok|FAIL|---)'
if [ -n "$DSN" ]; then
  echo "== MariaDB, $CONNS clients, $DURATION"
  TEST_MYSQL_DSN=$DSN go test -count=1 -timeout 30m -v -run '^TestLoadMix$' ./app/ | grep -E 'loadmix_test|^(ok|FAIL|---)'
fi
