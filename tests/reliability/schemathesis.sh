#!/usr/bin/env bash
# API fuzzing from the OpenAPI document: schemathesis (PyPI) against a real `sopflow serve` on a
# fresh SQLite database, with an admin token. Fails on any 5xx and on any response that does not
# match the document (status, content type, schema, headers).
#
#   tests/reliability/schemathesis.sh [MAX_EXAMPLES]   (CI: 25; the long form: 500)
#
# Every check runs, positive_data_acceptance included; schemathesis.toml beside this script
# names the operations where a schema-valid request may rightly be refused, and why.
set -euo pipefail
cd "$(dirname "$0")/../.."
MAX_EXAMPLES="${1:-25}"
BIN="${SOPFLOW_BIN:-target/debug/sopflow}"
[[ -x "$BIN" ]] || cargo build -p sopflow --bin sopflow
WORK="$(mktemp -d)"
trap 'kill "${SERVER:-0}" 2>/dev/null || true; rm -rf "$WORK"' EXIT
VENV="${SCHEMATHESIS_VENV:-$WORK/venv}"
if [[ ! -x "$VENV/bin/st" ]]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q "schemathesis==4.32.5"
fi
cp -r sop-definitions "$WORK/definitions"
# Schemathesis also sends wrong tokens on purpose: lift the rate limit for this run.
printf 'auth_failure_burst = 1000000\nauth_failures_per_minute = 1000000\n' > "$WORK/sopflow.toml"
TOKEN=$("$BIN" user add admin --role admin --database "sqlite://$WORK/st.db" | tail -1)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BIN" serve --database "sqlite://$WORK/st.db" --definitions "$WORK/definitions" \
    --listen "127.0.0.1:$PORT" --config "$WORK/sopflow.toml" > "$WORK/serve.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break
    sleep 0.1
done
CONFIG="$PWD/tests/reliability/schemathesis.toml"
(cd "$WORK" && "$VENV/bin/st" --config-file "$CONFIG" run "http://127.0.0.1:$PORT/openapi.json" \
    -H "Authorization: Bearer $TOKEN" \
    --checks all \
    --max-examples "$MAX_EXAMPLES" --seed 20261125 --no-color) > "$WORK/st.out" 2>&1 || {
    cat "$WORK/st.out"
    echo "schemathesis failed; the server's log:" >&2
    tail -50 "$WORK/serve.log" >&2
    exit 1
}
tail -25 "$WORK/st.out"
