#!/usr/bin/env bash
# Runs the distributed CloudFlow stack on this machine: installs dependencies,
# starts Kafka and FerretDB (deploy/local/infra), builds and starts the six
# services as separate processes, waits until each is ready, then runs the
# published API's example through the gateway (create the pipeline, submit a
# job on the bundled /fake/data.csv, wait for it, print its status and the
# result rows) and keeps running until Ctrl-C (then stops what it started).
#
#   npm run stack                   # foreground; Ctrl-C stops everything
#   STACK_DETACH=true npm run stack # leave the services running, print how to stop them
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export NX_NO_CLOUD=true NX_DAEMON=false NX_TUI=false

export CLOUDFLOW_BOOTSTRAP_API_KEY="${CLOUDFLOW_BOOTSTRAP_API_KEY:-FAKE-API-KEY-123456}"
export CLOUDFLOW_DATA_DIR="${CLOUDFLOW_DATA_DIR:-$ROOT/tmp/data}"
# Seals secrets at rest (the OAuth signing key). Generated once and kept for
# as long as the database it seals secrets in (replacing it is a rotation:
# docs/operations/secret-key-rotation.md): next to the local infrastructure's
# data (outside the checkout, shared by every clone), or in tmp/ with servers
# of your own.
if [[ -z "${CLOUDFLOW_SECRET_KEY:-}" ]]; then
  KEY_FILE="$ROOT/tmp/secret.key"
  if [[ -z "${KAFKA_BROKERS:-}" || -z "${MONGO_URL:-}" ]]; then
    KEY_FILE="${CLOUDFLOW_INFRA_DIR:-${CLOUDFLOW_CACHE_DIR:-$HOME/.cache/cloudflow}/run}/stack-secret.key"
  fi
  mkdir -p "$(dirname "$KEY_FILE")"
  [[ -s "$KEY_FILE" ]] || (umask 077 && head -c 32 /dev/urandom | base64 >"$KEY_FILE")
  CLOUDFLOW_SECRET_KEY="$(cat "$KEY_FILE")"
fi
export CLOUDFLOW_SECRET_KEY
# On a laptop, data sources usually live on this machine or its network.
export DATASOURCE_ALLOW_LOOPBACK="${DATASOURCE_ALLOW_LOOPBACK:-true}"
export DATASOURCE_ALLOW_PRIVATE="${DATASOURCE_ALLOW_PRIVATE:-true}"
GATEWAY_PORT="${PORT:-8080}"
LOG_DIR="$ROOT/tmp/stack-logs"
PID_FILE="$ROOT/tmp/stack.pids"
mkdir -p "$LOG_DIR"

say() { printf '[stack] %s\n' "$*"; }

[[ -d node_modules ]] || { say "installing dependencies (npm ci)"; npm ci --no-audit --no-fund; }
say "building services"
mkdir -p "$CLOUDFLOW_DATA_DIR"
cp -R "$ROOT/samples/data/." "$CLOUDFLOW_DATA_DIR/"
rm -f "$CLOUDFLOW_DATA_DIR/README.md"
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
  # shellcheck disable=SC2046 # the V8 flags of tools/node-options.json, one word each
  PORT="${PORTS[$name]}" node --enable-source-maps $(node -p "(require('./tools/node-options.json')['$name'] || []).join(' ')") \
    "dist/services/$name/src/main.js" >"$LOG_DIR/$name.log" 2>&1 &
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
AUTH="Authorization: ApiKey $CLOUDFLOW_BOOTSTRAP_API_KEY"
json_field() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const v=JSON.parse(s)[process.argv[1]];console.log(typeof v==="object"?JSON.stringify(v):v)})' "$1"; }

say "creating the published example pipeline (source /fake/data.csv -> uppercase -> db://fake-database)"
pipeline=$(curl -sS -X POST "$API/pipelines" -H "$AUTH" -H 'Content-Type: application/json' \
  -d '{"name":"MyFakePipeline","steps":[{"type":"source","config":{"path":"/fake/data.csv"}},{"type":"transform","config":{"operation":"uppercase"}},{"type":"sink","config":{"target":"db://fake-database"}}]}')
pipeline_id=$(printf '%s' "$pipeline" | json_field id)
say "pipeline $pipeline_id; submitting a job"
job=$(curl -sS -X POST "$API/jobs" -H "$AUTH" -H 'Content-Type: application/json' -d "{\"pipelineId\":\"$pipeline_id\"}")
job_id=$(printf '%s' "$job" | json_field jobId)
status=QUEUED
for _ in $(seq 1 120); do
  status=$(curl -sS "$API/jobs/$job_id/status" -H "$AUTH" | json_field status)
  [[ "$status" == SUCCEEDED || "$status" == FAILED || "$status" == CANCELLED ]] && break
  sleep 0.5
done
say "job $job_id: $status"
curl -sS "$API/jobs/$job_id/status" -H "$AUTH"; echo
if [[ "$status" == SUCCEEDED ]]; then
  say "result rows:"
  curl -sS "$API/jobs/$job_id/results" -H "$AUTH" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{for(const r of JSON.parse(s).rows)console.log(JSON.stringify(r))})'
fi
say "CloudFlow is running: $API  (Authorization: ApiKey $CLOUDFLOW_BOOTSTRAP_API_KEY)"
say "data root: $CLOUDFLOW_DATA_DIR; logs in $LOG_DIR"

if [[ "${STACK_DETACH:-}" == "true" ]]; then
  say "detached; stop with: xargs kill < $PID_FILE && deploy/local/infra down"
  exit 0
fi
say "press Ctrl-C to stop"
wait
