#!/usr/bin/env bash
# The long form of the crash test: ROUNDS (default 20) kill -9s of a loaded `sopflow serve`,
# on SQLite and, when SOPFLOW_TEST_DATABASE_URL is set, PostgreSQL. Prints each run's seed and
# summary; RELIABILITY.md records the results.
#
#   SOPFLOW_TEST_DATABASE_URL=postgres://... tests/reliability/crash-long.sh [ROUNDS] [REPEATS]
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS="${1:-20}"
REPEATS="${2:-1}"
for i in $(seq 1 "$REPEATS"); do
    echo "== run $i/$REPEATS: $ROUNDS kills per backend"
    SOPFLOW_CRASH_ROUNDS="$ROUNDS" cargo test -p sopflow --test crash_load -- \
        --nocapture --test-threads=1 2>&1 | grep -E "crash test|kill [0-9]+/|test result|panicked|FAILED"
done
