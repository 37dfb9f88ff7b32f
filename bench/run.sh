#!/usr/bin/env bash
# The whole benchmark suite in one command, on a fresh machine:
#
#   bench/run.sh [FILTER]          # REPS=3 by default; REPS=1 for a quick run
#
# It installs the peers (PyPI, npm) and the load tools (Debian) into a throwaway directory
# outside the repository, builds sopflow in release, starts PostgreSQL 15, runs every
# configuration REPS times (each under /usr/bin/time -v) and writes
#   $OUT/runs.jsonl    one JSON line per run (the runner's figures + label, group, rep, peak_rss_mib)
#   $OUT/machine.json  CPU model, cores, RAM, disk, kernel, date, tool versions
#   $OUT/summary.md    median-of-REPS tables, ratios and targets (bench/summarize.py)
#
# FILTER (argument or env): only configurations whose group and label ("peer spiff live
# n=20000") contain it, e.g. `service`, `peer`, `spiff`, `engine`, `raw`, `n=2000`.
# Environment: REPS (3), WORK (/tmp/sopflow-bench: venv, node_modules, databases), OUT
# ($WORK/results-DATE), CLIENTS (32 operators), LOAD_CASES (cases per service run, 3000),
# RAW_SECONDS (10), WEB_BACKLOG (10000 open cases in the web officers' inbox) and WEB_CLIENTS
# (2 officers reloading it, beside the board's event stream) and WEB_PAUSE_MS (20 between one
# officer's pages; a desk refreshes every 5000) for the web run, SPIFF_N (20000) and BPMN_N (2000) open cases for the slow peers, PG_ADMIN_URL (postgres://sopflow:sopflow@127.0.0.1:5432).
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
BENCH="$REPO/bench"
WORK="${WORK:-/tmp/sopflow-bench}"
OUT="${OUT:-$WORK/results-$(date -u +%Y%m%dT%H%M%SZ)}"
REPS="${REPS:-3}"
FILTER="${1:-${FILTER:-}}"
CLIENTS="${CLIENTS:-32}"
LOAD_CASES="${LOAD_CASES:-3000}"
RAW_SECONDS="${RAW_SECONDS:-10}"
WEB_BACKLOG="${WEB_BACKLOG:-10000}"
WEB_CLIENTS="${WEB_CLIENTS:-2}"
WEB_PAUSE_MS="${WEB_PAUSE_MS:-20}"
# Open cases for the slow peers (the issue's sizes by default; smaller for a quick look).
SPIFF_N="${SPIFF_N:-20000}"
BPMN_N="${BPMN_N:-2000}"
PG_BASE="${PG_ADMIN_URL:-postgres://sopflow:sopflow@127.0.0.1:5432}"
PG_DB=sopflow_bench
case "$WORK" in "$REPO"|"$REPO"/*) echo "WORK must be outside the repository" >&2; exit 2 ;; esac
mkdir -p "$WORK" "$OUT"
log() { printf '\n== %s\n' "$*" >&2; }
wanted() { [[ -z "$FILTER" || "$1" == *"$FILTER"* ]]; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# ---------------------------------------------------------------- tools
log "load tools (Debian): sqlite3, pgbench, PostgreSQL 15, GNU time"
need=()
command -v sqlite3 >/dev/null || need+=(sqlite3)
[ -x /usr/bin/time ] || need+=(time)
command -v pg_ctlcluster >/dev/null || need+=(postgresql-15)
command -v pgbench >/dev/null || [ -x /usr/lib/postgresql/15/bin/pgbench ] || need+=(postgresql-contrib)
if [ ${#need[@]} -gt 0 ]; then
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
PGBENCH="$(command -v pgbench || echo /usr/lib/postgresql/15/bin/pgbench)"

# ---------------------------------------------------------------- peers
PY="$WORK/venv/bin/python"
NODE_MODULES="$WORK/node/node_modules"
PEERS_STAMP="SpiffWorkflow==3.2.0 transitions==0.9.3 bpmn-engine@25.0.1 xstate@5.33.3 bpmn-moddle@9.0.4 bpmn-elements@17.3.0 moddle-context-serializer@4.4.1"
if [ "$(cat "$WORK/peers.stamp" 2>/dev/null)" != "$PEERS_STAMP" ]; then
    log "peers from the registries into $WORK (PyPI: SpiffWorkflow, transitions; npm: bpmn-engine, xstate)"
    rm -rf "$WORK/venv" "$WORK/node"
    python3 -m venv "$WORK/venv"
    "$WORK/venv/bin/pip" install -q SpiffWorkflow==3.2.0 transitions==0.9.3
    mkdir -p "$WORK/node"
    (cd "$WORK/node" && npm init -y >/dev/null &&
        npm install --no-audit --no-fund --loglevel=error bpmn-engine@25.0.1 xstate@5.33.3 \
            bpmn-moddle@9.0.4 bpmn-elements@17.3.0 moddle-context-serializer@4.4.1)
    echo "$PEERS_STAMP" >"$WORK/peers.stamp"
fi

# ---------------------------------------------------------------- sopflow
HAVE_ENGINE=0
[ -f "$BENCH/engine/Cargo.toml" ] && HAVE_ENGINE=1
log "building sopflow, the load driver and (if present) the engine runner, in release"
# One package at a time: each keeps its own feature set, so a rebuild of one does not
# rebuild the others' dependencies.
pkgs=(sopflow sopflow-bench-load)
[ "$HAVE_ENGINE" = 1 ] && pkgs+=(sopflow-bench-engine)
for p in "${pkgs[@]}"; do (cd "$REPO" && cargo build --release --quiet -p "$p"); done
TARGET="$(cd "$REPO" && cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
SOPFLOW="$TARGET/release/sopflow"
LOAD="$TARGET/release/sopflow-load"
ENGINE="$TARGET/release/engine-runner"
VERIFY="$TARGET/release/engine-verify"
if [ "$HAVE_ENGINE" = 0 ]; then
    echo "NOTE: bench/engine (package sopflow-bench-engine) is absent: the engine rows are SKIPPED" >&2
fi

# ---------------------------------------------------------------- PostgreSQL 15
pg_up() {
    if ! pg_lsclusters 2>/dev/null | grep -q "^15 *main .*online"; then
        as_root pg_ctlcluster 15 main start
    fi
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
    # The same role as .ci/run; the bench has its own database, recreated for each service run.
    as_root su postgres -c "psql -v ON_ERROR_STOP=1 -q" <<'SQL'
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'sopflow') THEN
    CREATE ROLE sopflow LOGIN PASSWORD 'sopflow' CREATEDB;
  END IF;
END $$;
SQL
}
pg_fresh_db() {
    pg_up
    psql -q "$PG_BASE/postgres" -c "DROP DATABASE IF EXISTS $PG_DB" -c "CREATE DATABASE $PG_DB" >/dev/null
}

# ---------------------------------------------------------------- machine
log "machine info -> $OUT/machine.json"
python3 - "$OUT/machine.json" "$WORK" "$SOPFLOW" "$PY" "$REPO" <<'PY'
import json, os, platform, subprocess, sys, datetime
out, work, sopflow, py, repo = sys.argv[1:6]
def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=20).stdout.strip()
    except Exception as e:
        return f"? ({e})"
lscpu = dict(l.split(":", 1) for l in sh("LC_ALL=C lscpu").splitlines() if ":" in l)
mem_kb = int(next(l.split()[1] for l in open("/proc/meminfo") if l.startswith("MemTotal")))
dev = sh(f"df -P {work} | tail -1 | cut -d' ' -f1")
print(json.dumps({
    "date_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    "cpu_model": lscpu.get("Model name", "?").strip(),
    "cpus": os.cpu_count(),
    "threads_per_core": lscpu.get("Thread(s) per core", "?").strip(),
    "ram_gib": round(mem_kb / 1024 / 1024, 1),
    "kernel": platform.release(),
    "os": sh(". /etc/os-release && echo $PRETTY_NAME"),
    "disk": sh(f"df -hP {work} | tail -1"),
    "disk_device": sh(f"lsblk -ndo NAME,SIZE,ROTA,TYPE,MODEL $(readlink -f {dev}) 2>/dev/null") or dev,
    "load_avg_at_start": sh("cut -d' ' -f1-3 /proc/loadavg"),
    "rustc": sh("rustc --version"), "sopflow": sh(f"{sopflow} --version"),
    "sopflow_commit": sh(f"git -C {repo} rev-parse --short HEAD"),
    "python": sh(f"{py} --version"), "node": sh("node --version"),
    "sqlite3_cli": sh("sqlite3 --version | cut -d' ' -f1"),
    "postgresql": sh("psql --version"),
    "peers": sh(f"{py} -m pip list 2>/dev/null | grep -Ei 'spiffworkflow|transitions|lxml'").split("\n"),
}, indent=1), file=open(out, "w"))
PY

# ---------------------------------------------------------------- runs
# One line per configuration: group|label|command. The command prints one JSON line.
CONFIGS=()
if [ "$HAVE_ENGINE" = 1 ]; then
    CONFIGS+=(
        "engine|engine live n=20000|$ENGINE --n 20000 --mode live --what cases"
        "engine|engine live n=20000 persist|$ENGINE --n 20000 --mode live --persist --what cases"
        "engine|engine seq n=20000|$ENGINE --n 20000 --mode seq --what cases"
        "engine|engine verify n=20000|$VERIFY --n 20000"
        "engine|engine rhai-baseline n=20000|$ENGINE --n 20000 --mode live --what rhai-baseline"
    )
fi
P="$BENCH/peers"
CONFIGS+=(
    "peer|spiff live n=$SPIFF_N|$PY $P/spiff_bench.py --n $SPIFF_N"
    "peer|spiff live n=$SPIFF_N persist|$PY $P/spiff_bench.py --n $SPIFF_N --persist"
    "peer|spiff seq n=2000|$PY $P/spiff_bench.py --n 2000 --mode seq"
    "peer|bpmn-engine live n=$BPMN_N|node $P/bpmn_engine_bench.cjs --n $BPMN_N"
    "peer|bpmn-engine live n=$BPMN_N persist|node $P/bpmn_engine_bench.cjs --n $BPMN_N --persist"
    "peer|bpmn-engine seq n=$BPMN_N|node $P/bpmn_engine_bench.cjs --n $BPMN_N --mode seq"
    "peer|xstate live n=20000|node $P/xstate_bench.cjs --n 20000"
    "peer|xstate live n=20000 persist|node $P/xstate_bench.cjs --n 20000 --persist"
    "peer|xstate seq n=20000|node $P/xstate_bench.cjs --n 20000 --mode seq"
    "peer|transitions live n=20000|$PY $P/transitions_bench.py --n 20000"
    "peer|transitions live n=20000 persist|$PY $P/transitions_bench.py --n 20000 --persist"
    "peer|transitions seq n=20000|$PY $P/transitions_bench.py --n 20000 --mode seq"
    "raw|raw sqlite commit|raw_sqlite"
    "service|service sqlite c=$CLIENTS|service_sqlite"
    "service|service sqlite web c=$CLIENTS backlog=$WEB_BACKLOG|service_sqlite_web"
    "raw|raw pgbench insert c=1|raw_pg"
    "service|service postgres c=$CLIENTS|service_pg"
)
# Scale with work: the SQLite service's load on a store already holding N finished cases,
# filled in process through the service's own pipeline (`sopflow-load --stored N`: each case
# one `Runtime::run_sequence`, many cases per transaction), beside the same load on an empty
# store. Opt-in, e.g. SCALE="10000 100000 1000000": a million cases take about ten minutes to
# fill and several GB of disk.
for n in ${SCALE:-}; do
    CONFIGS+=("scale|scale sqlite stored=$n c=$CLIENTS|service_sqlite --stored $n")
done

SQLITE_DIR="$WORK/sqlite"   # the server's database and the raw SQLite reference share it
DEFS="$WORK/sop-definitions"  # a copy: the server watches its folder
rm -rf "$DEFS" && mkdir -p "$DEFS" && cp "$REPO"/sop-definitions/*.yaml "$DEFS"/

raw_sqlite() {
    mkdir -p "$SQLITE_DIR"
    python3 "$BENCH/raw/sqlite_commit.py" --dir "$SQLITE_DIR" --seconds "$RAW_SECONDS"
}
raw_pg() {
    pg_fresh_db
    psql -q "$PG_BASE/$PG_DB" -c "CREATE TABLE raw_commit (id bigserial PRIMARY KEY, payload text NOT NULL)"
    local txt
    txt=$("$PGBENCH" -n -c 1 -j 1 -T "$RAW_SECONDS" -f "$BENCH/raw/pg_insert.sql" "$PG_BASE/$PG_DB" 2>&1)
    python3 - "$txt" <<'PY'
import json, re, sys
t = sys.argv[1]
tps = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", t)
n = re.search(r"number of transactions actually processed: (\d+)", t)
lat = re.search(r"latency average = ([0-9.]+) ms", t)
print(json.dumps({"engine": "pgbench", "clients": 1, "script": "one single-row INSERT per transaction",
    "commits": int(n.group(1)) if n else None, "commits_per_s": float(tps.group(1)) if tps else None,
    "latency_avg_ms": float(lat.group(1)) if lat else None}))
PY
}
# Adds the history size as stored (events rows per KTP-el case) to the driver's JSON line:
# events, payload bytes, row bytes (the stored columns' lengths), and the bytes the events
# table and its indexes take on disk (SQLite's dbstat; PostgreSQL's total relation size).
with_history() {
    local line="$1"
    echo "$line" | python3 -c '
import json, sys
d = json.loads(sys.stdin.readline())
ev, pay, db, table = (float(x) if x not in ("", "None") else None for x in sys.argv[1:5])
d["history_db_events_per_case"] = round(ev, 2) if ev is not None else None
d["history_db_payload_bytes_per_case"] = round(pay) if pay is not None else None
d["history_db_row_bytes_per_case"] = round(db) if db is not None else None
d["history_db_table_bytes_per_case"] = round(table) if table is not None else None
print(json.dumps(d))' "${2:-}" "${3:-}" "${4:-}" "${5:-}"
}
service_sqlite() {
    rm -rf "$SQLITE_DIR" && mkdir -p "$SQLITE_DIR"
    local db="$SQLITE_DIR/sopflow.db" line rc=0
    line=$("$LOAD" --sopflow "$SOPFLOW" --database "sqlite://$db" --definitions "$DEFS" \
        --clients "$CLIENTS" --cases "$LOAD_CASES" --server-log "$OUT/serve-sqlite.log" "$@") || rc=$?
    # Sum of the stored columns of each event row, per case (migration 0013's layout: payload
    # and hash as bytes, prev_hash only where it does not chain; seq 8 bytes, codec 1).
    local q="SELECT count(*)*1.0/count(DISTINCT case_id), sum(length(payload))*1.0/count(DISTINCT case_id),
             sum(length(payload)+coalesce(length(prev_hash),0)+length(hash)+length(kind)+length(user_name)+length(role)+length(recorded_at)+length(case_id)+8+1)*1.0/count(DISTINCT case_id) FROM events"
    # What the events table and its indexes take on disk: their pages (dbstat), per case.
    local pages="SELECT sum(pgsize)*1.0/(SELECT count(DISTINCT case_id) FROM events) FROM dbstat
                 WHERE name IN (SELECT name FROM sqlite_schema WHERE tbl_name = 'events')"
    local r
    r="$(sqlite3 -separator ' ' "$db" "$q") $(sqlite3 "$db" "$pages")"
    # shellcheck disable=SC2086
    with_history "$line" $r
    return "$rc"
}
# The same load with the web pages beside it: officers reload an inbox of $WEB_BACKLOG open
# cases, a display board follows the calls (the driver's "web" figures).
service_sqlite_web() {
    service_sqlite --web-clients "$WEB_CLIENTS" --web-backlog "$WEB_BACKLOG" --web-pause-ms "$WEB_PAUSE_MS"
}
service_pg() {
    pg_fresh_db
    local line rc=0
    line=$("$LOAD" --sopflow "$SOPFLOW" --database "$PG_BASE/$PG_DB" --definitions "$DEFS" \
        --clients "$CLIENTS" --cases "$LOAD_CASES" --server-log "$OUT/serve-postgres.log") || rc=$?
    local r
    r=$(psql -tA -F ' ' "$PG_BASE/$PG_DB" -c "SELECT count(*)*1.0/count(DISTINCT case_id),
        sum(octet_length(payload))*1.0/count(DISTINCT case_id),
        pg_total_relation_size('events')*1.0/count(DISTINCT case_id),
        pg_total_relation_size('events')*1.0/count(DISTINCT case_id) FROM events")
    # shellcheck disable=SC2086
    with_history "$line" $r
    return "$rc"
}

log "running ${#CONFIGS[@]} configurations x $REPS${FILTER:+ (filter: $FILTER)} -> $OUT/runs.jsonl"
for rep in $(seq 1 "$REPS"); do
    for cfg in "${CONFIGS[@]}"; do
        group="${cfg%%|*}"; rest="${cfg#*|}"; label="${rest%%|*}"; cmd="${rest#*|}"
        wanted "$group $label" || continue
        echo "-- [$rep/$REPS] $label" >&2
        tv="$OUT/time.$$.txt"
        if [ "$group" = service ] || [ "$group" = raw ] || [ "$group" = scale ]; then
            # The driver reports the server's own peak RSS; time -v would measure the driver.
            rss_kb=""
            # A run the driver calls unclean (errors, missing cases) is still recorded, marked.
            if ! line=$($cmd); then
                echo "FAILED: $label" >&2
                [[ "$(echo "$line" | tail -1)" == "{"* ]] || continue
                line=$(echo "$line" | tail -1 | python3 -c 'import json,sys; d=json.load(sys.stdin); d["failed"]=True; print(json.dumps(d))')
            fi
        else
            # shellcheck disable=SC2086
            if ! line=$(NODE_PATH="$NODE_MODULES" /usr/bin/time -v -o "$tv" $cmd); then
                echo "FAILED: $label" >&2; continue
            fi
            rss_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$tv")
            rm -f "$tv"
        fi
        echo "$line" | tail -1 | python3 -c '
import json, sys
d = json.loads(sys.stdin.read())
d["group"], d["label"], d["rep"] = sys.argv[1], sys.argv[2], int(sys.argv[3])
if sys.argv[4]:
    d["peak_rss_mib"] = round(int(sys.argv[4]) / 1024, 1)
print(json.dumps(d))' "$group" "$label" "$rep" "$rss_kb" | tee -a "$OUT/runs.jsonl"
    done
done

log "summary -> $OUT/summary.md"
python3 "$BENCH/summarize.py" "$OUT/runs.jsonl" --machine "$OUT/machine.json" --reps "$REPS" | tee "$OUT/summary.md"
