#!/usr/bin/env bash
# bench/submit.sh — issue 4, "Numbers", on MariaDB: application submissions
# per second from 32 concurrent clients over HTTP (with the check that no
# case is lost or duplicated), and how fast a case's status change reaches
# the applicant's websocket subscription.
#
#   bench/submit.sh
#
# Environment:
#   TEST_MYSQL_DSN (govmobile:govmobile-ci@tcp(127.0.0.1:3306)/govmobile_test):
#     the database is dropped and created by the benchmark; .ci/run creates
#     the user. Set TEST_MYSQL_DSN= (empty) to measure SQLite instead.
#   SUBMISSIONS (6000)  DELIVERIES (300)
# Only 127.0.0.1 is contacted.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export TEST_MYSQL_DSN=${TEST_MYSQL_DSN-govmobile:govmobile-ci@tcp(127.0.0.1:3306)/govmobile_test}
SUBMISSIONS=${SUBMISSIONS:-6000}
DELIVERIES=${DELIVERIES:-300}

cd "$ROOT"
echo "database: ${TEST_MYSQL_DSN:-SQLite}"
go test -run '^$' -bench 'SubmitApplications$' -benchtime "${SUBMISSIONS}x" ./app/
go test -run '^$' -bench 'CaseStatusDelivery$' -benchtime "${DELIVERIES}x" ./app/
