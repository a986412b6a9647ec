#!/usr/bin/env bash
# bench/scaling.sh — issue 10, "Numbers": the read throughput of the load
# mix with one replica, then two, on one MariaDB, with the load client on a
# CPU budget of its own.
#
#   sudo bench/scaling.sh      (needs root: it makes cpu cgroups, v1 or v2)
#
# The machine has 2 cores for everything: MariaDB, the replicas and the
# client. So that adding a replica adds CPU the way adding a machine would,
# each replica runs in a cpu cgroup limited to REPLICA_CPU cores (CFS
# quota), and the client (bench/readmix, a process of its own) in one
# limited to CLIENT_CPU. What is left (2 − 2×REPLICA_CPU − CLIENT_CPU with
# two replicas) is MariaDB's and the kernel's, and the client is measured
# idle enough to drive two replicas (its own CPU use is printed).
#
# Environment: DURATION (30s)  WARMUP (5s)  CONNS (64)
#   REPLICA_CPU (0.4)  CLIENT_CPU (0.8)
#   MYSQL_ROOT (root@tcp(127.0.0.1:3306)): an account that may create and
#     drop the database govmobile_scaling (dropped and created by the run)
#   PORT0 (18090)  PORT1 (18091)
# Only 127.0.0.1 is contacted.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DURATION=${DURATION:-30s} WARMUP=${WARMUP:-5s} CONNS=${CONNS:-64}
REPLICA_CPU=${REPLICA_CPU:-0.4} CLIENT_CPU=${CLIENT_CPU:-0.8}
MYSQL_ROOT=${MYSQL_ROOT:-root@tcp(127.0.0.1:3306)}
PORT0=${PORT0:-18090} PORT1=${PORT1:-18091}
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then # cgroup v2
  CG=/sys/fs/cgroup/govmobile-scaling V2=1
else # cgroup v1, its cpu controller
  CG=/sys/fs/cgroup/cpu/govmobile-scaling V2=0
fi
WORK=$(mktemp -d)

cleanup() {
  local rc=$?
  if [ "$rc" != 0 ]; then
    for r in "$WORK"/r*/log; do [ -f "$r" ] && { echo "-- $r" >&2; tail -20 "$r" >&2; }; done
  fi
  # Every process of the run is in one of its groups: all of them go.
  for g in r0 r1 client; do
    [ -f "$CG/$g/cgroup.procs" ] && xargs -r kill -9 < "$CG/$g/cgroup.procs" 2>/dev/null || true
  done
  sleep 0.5
  for g in r0 r1 client; do rmdir "$CG/$g" 2>/dev/null || true; done
  rmdir "$CG" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

quota() { awk -v c="$1" 'BEGIN { printf "%d", c * 100000 }'; }
# limit GROUP CPUS: at most CPUS cores' time in every 100 ms.
limit() {
  mkdir -p "$CG/$1"
  if [ "$V2" = 1 ]; then
    echo "$(quota "$2") 100000" > "$CG/$1/cpu.max"
  else
    echo 100000 > "$CG/$1/cpu.cfs_period_us"
    echo "$(quota "$2")" > "$CG/$1/cpu.cfs_quota_us"
  fi
}
mkdir -p "$CG"
if [ "$V2" = 1 ]; then
  echo +cpu > /sys/fs/cgroup/cgroup.subtree_control
  echo +cpu > "$CG/cgroup.subtree_control"
fi
limit r0 "$REPLICA_CPU"
limit r1 "$REPLICA_CPU"
limit client "$CLIENT_CPU"

if ss -ltn | grep -qE "127.0.0.1:($PORT0|$PORT1) "; then
  echo "port $PORT0 or $PORT1 is taken (a server of an earlier run?)" >&2; exit 1
fi

cd "$ROOT"
go build -o "$WORK/govmobile" .
go build -o "$WORK/readmix" ./bench/readmix
mysql -uroot -h127.0.0.1 -e 'DROP DATABASE IF EXISTS govmobile_scaling; CREATE DATABASE govmobile_scaling CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci'
DB="mysql://${MYSQL_ROOT}/govmobile_scaling"

# cg_run GROUP CMD…: runs CMD in the cgroup (the subshell joins it, then execs).
cg_run() { local g=$1; shift; ( echo $BASHPID > "$CG/$g/cgroup.procs"; exec "$@" ); }

replica() {
  local i=$1 port=$2
  mkdir -p "$WORK/r$i"
  cg_run "r$i" "$WORK/govmobile" --addr "127.0.0.1:$port" --db "$DB" --data-dir "$WORK/r$i/data" \
    --master-key-file "$WORK/master.key" --files-dir "$WORK/files" --admin-password 'Admin-Bench-123' \
    --dev=false --rate-ip 0 --rate-ticket 0 --log-level warn > "$WORK/r$i/log" 2>&1 &
  for _ in $(seq 1 300); do
    curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "replica $i did not become ready:" >&2; tail -20 "$WORK/r$i/log" >&2; exit 1
}

measure() {
  local label=$1 urls=$2
  echo "== $label"
  cg_run client "$WORK/readmix" -urls "$urls" -conns "$CONNS" -warmup "$WARMUP" -duration "$DURATION" | tee "$WORK/$label.txt"
}

echo "machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)); replicas ${REPLICA_CPU} CPU each, client ${CLIENT_CPU} CPU"
replica 0 "$PORT0"
measure one "http://127.0.0.1:$PORT0"
replica 1 "$PORT1"
measure two "http://127.0.0.1:$PORT0,http://127.0.0.1:$PORT1"

one=$(awk '{ for (i = 1; i <= NF; i++) if ($i ~ /\/s$/) { sub("/s", "", $i); print $i } }' "$WORK/one.txt")
two=$(awk '{ for (i = 1; i <= NF; i++) if ($i ~ /\/s$/) { sub("/s", "", $i); print $i } }' "$WORK/two.txt")
awk -v a="$one" -v b="$two" 'BEGIN { printf "scaling from one replica to two: %.0f/s → %.0f/s = %.2f×\n", a, b, b / a }'
for g in r0 r1 client; do
  s=$(awk '/nr_throttled/ { t = $2 } /nr_periods/ { p = $2 } END { if (p) printf "throttled in %d of %d periods", t, p }' "$CG/$g/cpu.stat")
  echo "cgroup $g: $s"
done
