#!/usr/bin/env bash
# The one command that runs every test CloudFlow has, from a fresh clone:
# installs dependencies, provisions and starts real Kafka and FerretDB
# (deploy/local/infra, cached outside the repository), then runs lint,
# format check, type-check, unit, integration and end-to-end tiers (the
# distributed stack, then the API suites again against standalone mode).
# Ends with the line "N passed, N failed" summed over all of them.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export NX_NO_CLOUD=true NX_DAEMON=false NX_TUI=false NX_SKIP_NX_CACHE=true
RESULTS="$ROOT/tmp/test-results"
rm -rf "$RESULTS" && mkdir -p "$RESULTS"

passed=0
failed=0
summary=()
started=$(date +%s)

step() { printf '\n\033[1m== %s\033[0m\n' "$1"; }

# A static check counts as one test: it passes or it fails.
check() {
  local name="$1"; shift
  step "$name"
  if "$@"; then passed=$((passed + 1)); summary+=("$name: passed")
  else failed=$((failed + 1)); summary+=("$name: FAILED"); fi
}

# A jest tier adds its own counts; a tier that cannot run at all counts as one failure.
tier() {
  local name="$1" config="$2"
  step "$name tests"
  local out="$RESULTS/$name.json"
  npx jest -c "$config" --ci --json --outputFile="$out"
  if [[ -s "$out" ]]; then
    local counts
    counts=$(node -e 'const r=require(process.argv[1]); console.log(r.numPassedTests, r.numFailedTests + r.numRuntimeErrorTestSuites, r.numTotalTests)' "$out")
    read -r p f t <<<"$counts"
    if [[ "$t" == "0" ]]; then f=$((f + 1)); fi
    passed=$((passed + p)); failed=$((failed + f))
    summary+=("$name: $p passed, $f failed")
  else
    failed=$((failed + 1)); summary+=("$name: did not run")
  fi
}

step "install"
if [[ "${CI:-}" == "true" || ! -d node_modules ]]; then
  npm ci --no-audit --no-fund || { echo "npm ci failed"; echo "0 passed, 1 failed"; exit 1; }
fi

step "infrastructure"
started_infra=false
if [[ -z "${KAFKA_BROKERS:-}" || -z "${MONGO_URL:-}" ]]; then
  if ! bash deploy/local/infra status >/dev/null 2>&1; then started_infra=true; fi
  if ! bash deploy/local/infra up; then echo "infrastructure did not start"; echo "0 passed, 1 failed"; exit 1; fi
  eval "$(bash deploy/local/infra env)"
  export KAFKA_BROKERS MONGO_URL
fi
echo "KAFKA_BROKERS=$KAFKA_BROKERS MONGO_URL=$MONGO_URL"

# PostgreSQL, MariaDB, S3 (moto) and FerretDB checking passwords for the connector tests.
started_databases=false
if [[ -z "${CLOUDFLOW_TEST_POSTGRES_URL:-}" ]]; then
  if ! bash deploy/local/databases status >/dev/null 2>&1; then started_databases=true; fi
  if ! bash deploy/local/databases up; then echo "test databases did not start"; echo "0 passed, 1 failed"; exit 1; fi
  eval "$(bash deploy/local/databases env)"
fi

check "lint" bash -c 'npx nx show projects >/dev/null && npx eslint --max-warnings=0 .'
check "format" npx prettier --check --log-level warn .
check "typecheck" npx tsc -p tsconfig.json --noEmit
tier unit jest.unit.config.js
tier deploy jest.deploy.config.js
tier integration jest.integration.config.js
tier store-contract jest.integration-embedded.config.js
tier e2e jest.e2e.config.js
tier e2e-standalone jest.e2e-standalone.config.js

if [[ "$started_databases" == "true" && "${CLOUDFLOW_KEEP_INFRA:-}" != "true" ]]; then
  bash deploy/local/databases down
fi
if [[ "$started_infra" == "true" && "${CLOUDFLOW_KEEP_INFRA:-}" != "true" ]]; then
  step "stopping the infrastructure this run started"
  bash deploy/local/infra down
fi

step "summary ($(( $(date +%s) - started )) s)"
printf '  %s\n' "${summary[@]}"
echo "$passed passed, $failed failed"
[[ "$failed" == "0" ]]
