#!/usr/bin/env bash
# Runs the distributed CloudFlow stack on this machine: installs dependencies,
# starts Kafka and FerretDB (deploy/local/infra), builds and starts the six
# services as separate processes, waits until each is ready, creates the
# published API's example pipeline through the gateway, and keeps running
# until Ctrl-C (then stops what it started).
#
#   npm run stack                   # foreground; Ctrl-C stops everything
#   STACK_DETACH=true npm run stack # leave the services running, print how to stop them
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export NX_NO_CLOUD=true NX_DAEMON=false NX_TUI=false

export CLOUDFLOW_BOOTSTRAP_API_KEY="${CLOUDFLOW_BOOTSTRAP_API_KEY:-FAKE-API-KEY-123456}"
GATEWAY_PORT="${PORT:-8080}"
LOG_DIR="$ROOT/tmp/stack-logs"
PID_FILE="$ROOT/tmp/stack.pids"
mkdir -p "$LOG_DIR"

say() { printf '[stack] %s\n' "$*"; }

[[ -d node_modules ]] || { say "installing dependencies (npm ci)"; npm ci --no-audit --no-fund; }
say "building services"
node tools/build.mjs

if [[ -z "${KAFKA_BROKERS:-}" || -z "${MONGO_URL:-}" ]]; then
  bash deploy/local/infra up
  eval "$(bash deploy/local/infra env)"
fi
export KAFKA_BROKERS MONGO_URL

declare -A PORTS=([auth]=8081 [pipeline-registry]=8082 [job-scheduler]=8083 [worker]=8084 [datasource-broker]=8085 [gateway]="$GATEWAY_PORT")
: >"$PID_FILE"
stop_all() {
  say "stopping services"
  while read -r pid; do kill -TERM "$pid" 2>/dev/null || true; done <"$PID_FILE"
  wait 2>/dev/null || true
  rm -f "$PID_FILE"
}
if [[ "${STACK_DETACH:-}" != "true" ]]; then trap 'stop_all; exit 0' INT TERM; fi

for name in auth pipeline-registry job-scheduler worker datasource-broker gateway; do
  PORT="${PORTS[$name]}" node --enable-source-maps "dist/services/$name/src/main.js" >"$LOG_DIR/$name.log" 2>&1 &
  echo $! >>"$PID_FILE"
done

for name in auth pipeline-registry job-scheduler worker datasource-broker gateway; do
  port="${PORTS[$name]}"
  for _ in $(seq 1 120); do
    if curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then break; fi
    sleep 0.5
  done
  curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null || { say "$name did not become ready; see $LOG_DIR/$name.log"; tail -n 20 "$LOG_DIR/$name.log"; stop_all; exit 1; }
  say "$name ready on http://127.0.0.1:$port"
done

API="http://127.0.0.1:$GATEWAY_PORT/api/v1"
say "creating the published example pipeline:"
curl -sS -X POST "$API/pipelines" \
  -H "Authorization: ApiKey $CLOUDFLOW_BOOTSTRAP_API_KEY" -H 'Content-Type: application/json' \
  -d '{"name":"MyFakePipeline","steps":[{"type":"source","config":{"path":"/fake/data.csv"}},{"type":"transform","config":{"operation":"uppercase"}},{"type":"sink","config":{"target":"db://fake-database"}}]}'
echo
say "CloudFlow is running: $API  (Authorization: ApiKey $CLOUDFLOW_BOOTSTRAP_API_KEY); logs in $LOG_DIR"

if [[ "${STACK_DETACH:-}" == "true" ]]; then
  say "detached; stop with: xargs kill < $PID_FILE && deploy/local/infra down"
  exit 0
fi
say "press Ctrl-C to stop"
wait
