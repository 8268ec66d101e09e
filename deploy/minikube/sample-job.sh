#!/usr/bin/env bash
# Runs a sample job on CloudFlow in the minikube profile of deploy/minikube/up.sh, through the
# Ingress: creates a pipeline (uppercase), submits a job on the chart's sample /fake/data.csv (or
# on the CSV file given, copied into the data volume first), waits for it and prints its results.
#
#   deploy/minikube/sample-job.sh [people.csv]
#
# The Ingress is reached at `minikube ip`; with `minikube tunnel` running, set
# CLOUDFLOW_INGRESS_ADDRESS=127.0.0.1. Needs minikube, kubectl, curl, and jq or python3.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../cluster/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../cluster/lib.sh"

need minikube "https://minikube.sigs.k8s.io/docs/start/"
need kubectl "https://kubernetes.io/docs/tasks/tools/"
need curl "your package manager"
run_sample_job cloudflow "${CLOUDFLOW_INGRESS_ADDRESS:-$(minikube -p cloudflow ip)}" "${1:-}"
