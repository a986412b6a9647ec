#!/usr/bin/env bash
# bench/home.sh — issue 2, "Numbers": the catalogue home query (navigation plus
# the first page of matters) under 64 concurrent clients, side by side with a
# plain net/http handler returning the same bytes; and govmobile's RSS under
# that load.
#
#   bench/home.sh                 # demo catalogue and 100k synthetic matters
#   MODE=demo bench/home.sh       # demo catalogue only
#   MODE=100k bench/home.sh       # 100,000 synthetic matters only
#
# Each catalogue is measured twice: with the response cache on (the default,
# 32 MB) and with --response-cache-mb 0. Environment:
#   DURATION (15s)  CONNS (64)  THREADS (2)  WARMUP (3s)
#   REGION_DEMO (330100)  REGION_100K (330100)
#   SYNTH_DIR (${GOVMOBILE_BENCH_DIR:-$TMPDIR/govmobile-bench-100k}): reused
#     between runs; seeded with `govmobile seed --synthetic-matters 100000`
#     when it holds no database yet (about 40 s).
#   GOV_PORT (18080)  RAW_PORT (18081)  MAX_SECONDS (900): hard bound on the run.
# Needs wrk (apt-get install wrk), curl and Go. Only 127.0.0.1 is contacted.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MODE=${MODE:-all}
DURATION=${DURATION:-15s}
CONNS=${CONNS:-64}
THREADS=${THREADS:-2}
WARMUP=${WARMUP:-3s}
REGION_DEMO=${REGION_DEMO:-330100}
REGION_100K=${REGION_100K:-330100}
SYNTH_N=100000
SYNTH_DIR=${SYNTH_DIR:-${GOVMOBILE_BENCH_DIR:-${TMPDIR:-/tmp}/govmobile-bench-100k}}
GOV_PORT=${GOV_PORT:-18080}
RAW_PORT=${RAW_PORT:-18081}
MAX_SECONDS=${MAX_SECONDS:-900}
HOST=127.0.0.1

command -v wrk >/dev/null || { echo "wrk not found: apt-get install -y wrk" >&2; exit 2; }
command -v curl >/dev/null || { echo "curl not found" >&2; exit 2; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/govmobile-home.XXXXXX")
PIDS=()

cleanup() {
	local pid
	# The watchdog's sleep is its child: end it by the watchdog's PID.
	[[ -n ${WATCHDOG:-} ]] && pkill -P "$WATCHDOG" 2>/dev/null || true
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	PIDS=()
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'echo "home.sh: interrupted" >&2; exit 130' INT TERM

# Watchdog: bound the whole run.
( sleep "$MAX_SECONDS"; echo "home.sh: over ${MAX_SECONDS}s, stopping" >&2; kill -TERM $$ ) &
WATCHDOG=$!
PIDS+=("$WATCHDOG")

# stop PID: end one process this script started.
stop() {
	local pid=$1 keep=() p
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	for p in "${PIDS[@]}"; do [[ $p == "$pid" ]] || keep+=("$p"); done
	PIDS=("${keep[@]}")
}

port_free() { ! (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

wait_http() { # URL: wait up to 60 s for a 200
	local i
	for i in $(seq 1 600); do
		if curl -fs -o /dev/null --max-time 1 "$1"; then return 0; fi
		sleep 0.1
	done
	echo "home.sh: $1 did not come up" >&2
	return 1
}

echo "== building (go build) in $ROOT"
(cd "$ROOT" && go build -o "$WORK/govmobile" . && go build -o "$WORK/rawserver" ./bench/rawserver)

for p in "$GOV_PORT" "$RAW_PORT"; do
	port_free "$p" || { echo "home.sh: port $p on $HOST is in use" >&2; exit 2; }
done

GOV_PID=
start_gov() { # DATA_DIR CACHE_MB
	"$WORK/govmobile" --addr "$HOST:$GOV_PORT" --data-dir "$1" --response-cache-mb "$2" \
		--dev=false --admin-password Bench-Admin-123 --log-level warn >>"$WORK/govmobile.log" 2>&1 &
	GOV_PID=$!
	PIDS+=("$GOV_PID")
	wait_http "http://$HOST:$GOV_PORT/healthz"
}

home_body() { # REGION -> JSON request of the home screen
	cat <<EOF
{"operationName":"Home","query":"query Home(\$region: String) { navigation(dimension: THEME, regionCode: \$region) { key name count } matters(first: 20, filter: {regionCode: \$region}) { totalCount edges { cursor node { id name agency { name } region { name } themes { name } } } pageInfo { hasNextPage endCursor } } }","variables":{"region":"$1"}}
EOF
}

gql() { # BODY_FILE OUT_FILE [HEADERS_FILE]
	curl -fsS --max-time 30 -X POST -H 'Content-Type: application/json' -H 'Accept: application/json' \
		--data-binary "@$1" -o "$2" ${3:+-D "$3"} "http://$HOST:$GOV_PORT/graphql"
}

rss_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }

run_wrk() { # URL OUT
	HOME_BODY_FILE="$BODY" timeout 120 wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency \
		-s "$ROOT/bench/home.lua" "$1" >"$2"
}

reqs() { awk '/^Requests\/sec:/ { print $2 }' "$1"; }
p50() { awk '$1 == "50%" { print $2 }' "$1"; }
errs() { awk '/Non-2xx|Socket errors/ { printf "%s ", $0 }' "$1"; }

RESULTS="$WORK/results.tsv"
printf 'catalogue\tcache\tgovmobile req/s\tp50\traw req/s\tp50\tratio\tVmRSS peak MB\tVmHWM MB\ttotalCount\tbytes\n' >"$RESULTS"

# measure LABEL DATA_DIR CACHE_MB REGION
measure() {
	local label=$1 dir=$2 cache=$3 region=$4
	echo "== $label, response cache ${cache} MB, region $region"
	BODY="$WORK/body.json"
	home_body "$region" >"$BODY"
	start_gov "$dir" "$cache"
	# The exact response bytes for this request (the first answer, from the
	# resolvers, whatever the cache setting).
	gql "$BODY" "$WORK/resp.json" "$WORK/resp.headers"
	if grep -q '"errors"' "$WORK/resp.json"; then
		echo "home.sh: the home query failed:" >&2; head -c 600 "$WORK/resp.json" >&2; echo >&2
		return 1
	fi
	local ctype total size
	ctype=$(awk -F': ' 'tolower($1) == "content-type" { sub(/\r$/, "", $2); print $2 }' "$WORK/resp.headers")
	total=$(grep -o '"totalCount":[0-9]*' "$WORK/resp.json" | cut -d: -f2)
	size=$(wc -c <"$WORK/resp.json")
	"$WORK/rawserver" -addr "$HOST:$RAW_PORT" -body "$WORK/resp.json" -content-type "$ctype" >>"$WORK/raw.log" 2>&1 &
	local raw=$!
	PIDS+=("$raw")
	wait_http "http://$HOST:$RAW_PORT/"
	curl -fsS --max-time 5 -X POST --data-binary "@$BODY" -o "$WORK/raw.json" "http://$HOST:$RAW_PORT/graphql"
	cmp -s "$WORK/resp.json" "$WORK/raw.json" || { echo "home.sh: raw server bytes differ" >&2; return 1; }

	# Warm both up, then the raw handler and govmobile back to back.
	HOME_BODY_FILE="$BODY" timeout 60 wrk -t"$THREADS" -c"$CONNS" -d"$WARMUP" -s "$ROOT/bench/home.lua" "http://$HOST:$RAW_PORT/graphql" >/dev/null
	HOME_BODY_FILE="$BODY" timeout 60 wrk -t"$THREADS" -c"$CONNS" -d"$WARMUP" -s "$ROOT/bench/home.lua" "http://$HOST:$GOV_PORT/graphql" >/dev/null
	run_wrk "http://$HOST:$RAW_PORT/graphql" "$WORK/wrk-raw.txt"

	# Sample govmobile's RSS every 200 ms while it is under load.
	local peak=0
	(
		m=0
		while kill -0 "$GOV_PID" 2>/dev/null; do
			r=$(rss_kb "$GOV_PID" VmRSS); r=${r:-0}
			((r > m)) && m=$r && echo "$m" >"$WORK/rss.peak"
			sleep 0.2
		done
	) &
	local sampler=$!
	PIDS+=("$sampler")
	run_wrk "http://$HOST:$GOV_PORT/graphql" "$WORK/wrk-gov.txt"
	stop "$sampler"
	peak=$(cat "$WORK/rss.peak" 2>/dev/null || echo 0)
	local hwm rss_now
	hwm=$(rss_kb "$GOV_PID" VmHWM)
	rss_now=$(rss_kb "$GOV_PID" VmRSS)

	# A response from govmobile after the load must still be the same bytes.
	gql "$BODY" "$WORK/resp2.json"
	cmp -s "$WORK/resp.json" "$WORK/resp2.json" || echo "home.sh: warning: response changed during the run" >&2

	local g r ratio
	g=$(reqs "$WORK/wrk-gov.txt")
	r=$(reqs "$WORK/wrk-raw.txt")
	ratio=$(awk -v g="$g" -v r="$r" 'BEGIN { printf "%.3f", g / r }')
	echo "   raw net/http : $r req/s, p50 $(p50 "$WORK/wrk-raw.txt") $(errs "$WORK/wrk-raw.txt")"
	echo "   govmobile    : $g req/s, p50 $(p50 "$WORK/wrk-gov.txt") $(errs "$WORK/wrk-gov.txt")"
	echo "   ratio $ratio (bar: >= 0.5); govmobile RSS peak under load $((peak / 1024)) MB, VmHWM $((hwm / 1024)) MB, after $((rss_now / 1024)) MB; totalCount $total; $size bytes"
	printf '%s\t%s MB\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$cache" "$g" "$(p50 "$WORK/wrk-gov.txt")" \
		"$r" "$(p50 "$WORK/wrk-raw.txt")" "$ratio" "$((peak / 1024))" "$((hwm / 1024))" "$total" "$size" >>"$RESULTS"
	stop "$raw"
	stop "$GOV_PID"
	rm -f "$WORK/rss.peak"
}

if [[ $MODE == all || $MODE == demo ]]; then
	DEMO_DIR="$WORK/demo"
	measure demo "$DEMO_DIR" 32 "$REGION_DEMO"
	rm -rf "$DEMO_DIR"
	measure demo "$DEMO_DIR" 0 "$REGION_DEMO"
fi

if [[ $MODE == all || $MODE == 100k ]]; then
	marker="$SYNTH_DIR/.synthetic-matters"
	if [[ ! -s $marker ]]; then
		if [[ -e $SYNTH_DIR/govmobile.db ]]; then
			# A database without the marker: trust it only if it already holds
			# 100,000 matters or more.
			start_gov "$SYNTH_DIR" 0
			echo '{"query":"{ matters(first: 1) { totalCount } }"}' >"$WORK/count.json"
			gql "$WORK/count.json" "$WORK/count.out"
			stop "$GOV_PID"
			n=$(grep -o '"totalCount":[0-9]*' "$WORK/count.out" | cut -d: -f2)
			if ((n < SYNTH_N)); then
				echo "home.sh: $SYNTH_DIR holds $n matters, fewer than $SYNTH_N; remove it or set SYNTH_DIR" >&2
				exit 1
			fi
		else
			echo "== seeding $SYNTH_N synthetic matters into $SYNTH_DIR"
			mkdir -p "$SYNTH_DIR"
			start=$(date +%s.%N)
			"$WORK/govmobile" seed --synthetic-matters "$SYNTH_N" --data-dir "$SYNTH_DIR" \
				--admin-password Bench-Admin-123 --log-level warn | awk 'NR % 20 == 0'
			echo "   seeded in $(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }') s"
		fi
		echo "$SYNTH_N" >"$marker"
	fi
	measure 100k "$SYNTH_DIR" 32 "$REGION_100K"
	measure 100k "$SYNTH_DIR" 0 "$REGION_100K"
fi

echo
echo "== summary ($(nproc) CPUs, wrk -t$THREADS -c$CONNS -d$DURATION; ratio = govmobile / raw net/http)"
column -t -s $'\t' "$RESULTS" 2>/dev/null || cat "$RESULTS"
