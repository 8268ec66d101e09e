# Shared by deploy/kind/*.sh and deploy/minikube/*.sh (sourced, not run): build the image,
# install the chart with values-local.yaml, print how to reach the API, run a sample job.
# The names match charts/cloudflow: release "cloudflow" (so objects are cloudflow-<service>),
# the Secret cloudflow-secrets (key CLOUDFLOW_BOOTSTRAP_API_KEY), the Ingress cloudflow.
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
RELEASE=cloudflow
NAMESPACE="${CLOUDFLOW_NAMESPACE:-cloudflow}"
IMAGE=ghcr.io/cloudflow/cloudflow:dev
CHART="$ROOT/charts/cloudflow"

say() { printf '[cloudflow] %s\n' "$*" >&2; }
die() { printf '[cloudflow] ERROR: %s\n' "$*" >&2; exit 1; }

# need COMMAND WHERE-TO-GET-IT
need() {
  command -v "$1" >/dev/null 2>&1 || die "$1 not found: install it first ($2)"
}

need_docker_engine() {
  need docker "https://docs.docker.com/get-docker/"
  docker info >/dev/null 2>&1 || die "docker cannot reach a Docker engine: start Docker (or Docker Desktop) first"
}

build_image() {
  say "building $IMAGE from deploy/Dockerfile ..."
  docker build -f "$ROOT/deploy/Dockerfile" -t "$IMAGE" "$ROOT"
}

# wait_ingress_controller CONTEXT: the admission webhook must answer before an Ingress is created.
wait_ingress_controller() {
  say "waiting for the ingress-nginx controller ..."
  kubectl --context "$1" -n ingress-nginx rollout status deployment/ingress-nginx-controller --timeout=300s
}

# install_chart CONTEXT: helm upgrade --install, waiting until every pod is ready. The image id
# as a pod annotation rolls the pods whenever a rebuilt image was loaded under the same tag.
install_chart() {
  local context="$1" image_id
  image_id="$(docker image inspect -f '{{.Id}}' "$IMAGE" | cut -d: -f2 | cut -c1-20)"
  say "installing the chart (release $RELEASE, namespace $NAMESPACE; a few minutes the first time) ..."
  if ! helm upgrade --install "$RELEASE" "$CHART" \
    --kube-context "$context" --namespace "$NAMESPACE" --create-namespace \
    -f "$CHART/values-local.yaml" \
    --set-string "podAnnotations.cloudflow/image-id=$image_id" \
    --wait --timeout 10m; then
    kubectl --context "$context" -n "$NAMESPACE" get pods -o wide >&2 || true
    die "the release did not become ready; see: kubectl --context $context -n $NAMESPACE describe pods"
  fi
}

api_key() {
  kubectl --context "$1" -n "$NAMESPACE" get secret "$RELEASE-secrets" \
    -o jsonpath='{.data.CLOUDFLOW_BOOTSTRAP_API_KEY}' | base64 --decode
}

ingress_host() {
  kubectl --context "$1" -n "$NAMESPACE" get ingress "$RELEASE" -o jsonpath='{.spec.rules[0].host}'
}

# print_access CONTEXT ADDRESS: the API's URL, how to reach it, and the admin API key.
print_access() {
  local host key
  host="$(ingress_host "$1")"
  key="$(api_key "$1")"
  cat <<EOF

CloudFlow is running (kubectl context $1, namespace $NAMESPACE).

  API:        http://$host/api/v1      (reference: http://$host/docs)
  API key:    $key
  Reach it:   $host resolves to 127.0.0.1; the Ingress listens on $2:80. If they differ,
              add "$2 $host" to /etc/hosts, or: curl --resolve $host:80:$2 ...

  curl -H 'Authorization: ApiKey $key' http://$host/api/v1/pipelines
EOF
}

# json FIELD: a top-level string field of the JSON document on stdin; json_lines FIELD: each
# element of a top-level array field, one JSON document a line (jq, else python3).
json() {
  if command -v jq >/dev/null 2>&1; then
    jq -r --arg f "$1" '.[$f]'
  elif command -v python3 >/dev/null 2>&1; then
    python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
  else
    die "jq or python3 is needed to read the API's answers"
  fi
}
json_lines() {
  if command -v jq >/dev/null 2>&1; then
    jq -c --arg f "$1" '.[$f][]'
  else
    python3 -c 'import json, sys; [print(json.dumps(r)) for r in json.load(sys.stdin)[sys.argv[1]]]' "$1"
  fi
}

# run_sample_job CONTEXT ADDRESS [CSV]: a pipeline (uppercase), a job on the chart's sample
# /fake/data.csv or on CSV (copied into the data volume through a worker pod), its status until
# it ends, and the first rows of its results, all through the Ingress.
run_sample_job() {
  local context="$1" address="$2" csv="${3:-}" host key input pod pipeline job status=QUEUED
  host="$(ingress_host "$context")"
  key="$(api_key "$context")"
  [[ -n "$host" && -n "$key" ]] || die "no CloudFlow release in namespace $NAMESPACE: run up.sh first"
  # The Ingress at ADDRESS, whatever the host name resolves to; an error answer is shown.
  api() {
    local body
    body="$(curl -sS --fail-with-body --resolve "$host:80:$address" \
      -H "Authorization: ApiKey $key" -H 'Content-Type: application/json' "$@")" ||
      die "${*: -1} answered: ${body:-nothing}"
    printf '%s\n' "$body"
  }

  input=/fake/data.csv
  if [[ -n "$csv" ]]; then
    [[ -f "$csv" ]] || die "no such file: $csv"
    pod="$(kubectl --context "$context" -n "$NAMESPACE" get pods \
      -l "app.kubernetes.io/instance=$RELEASE,app.kubernetes.io/component=worker" \
      --field-selector=status.phase=Running -o jsonpath='{.items[0].metadata.name}')"
    [[ -n "$pod" ]] || die "no running worker pod to copy $csv through"
    input="/samples/$(basename "$csv")"
    say "copying $csv into the data volume as $input (through $pod) ..."
    kubectl --context "$context" -n "$NAMESPACE" exec "$pod" -- mkdir -p /data/samples
    kubectl --context "$context" -n "$NAMESPACE" cp "$csv" "$pod:/data$input"
  fi

  say "creating a pipeline (uppercase every field) ..."
  pipeline="$(api -X POST "http://$host/api/v1/pipelines" \
    -d "{\"name\":\"sample-upper-$(date +%s)\",\"steps\":[{\"type\":\"transform\",\"config\":{\"operation\":\"uppercase\"}}]}" |
    json id)"
  say "submitting a job on $input ..."
  job="$(api -X POST "http://$host/api/v1/jobs" \
    -d "{\"pipelineId\":\"$pipeline\",\"input\":\"$input\"}" | json jobId)"
  for _ in $(seq 1 150); do
    status="$(api "http://$host/api/v1/jobs/$job/status" | json status)"
    say "job $job: $status"
    case "$status" in SUCCEEDED | FAILED | CANCELLED) break ;; esac
    sleep 2
  done
  api "http://$host/api/v1/jobs/$job/status"
  echo
  [[ "$status" == SUCCEEDED ]] || die "job $job ended $status (logs: GET /api/v1/jobs/$job/logs)"
  say "results (first 20 rows):"
  api "http://$host/api/v1/jobs/$job/results?limit=20" | json_lines rows
}
