#!/usr/bin/env bash
# Runs a sample job on CloudFlow in the kind cluster of deploy/kind/up.sh, through the Ingress:
# creates a pipeline (uppercase), submits a job on the chart's sample /fake/data.csv (or on the
# CSV file given, copied into the data volume first), waits for it and prints its results.
#
#   deploy/kind/sample-job.sh [people.csv]
#
# Needs kubectl, curl, and jq or python3.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../cluster/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../cluster/lib.sh"

need kubectl "https://kubernetes.io/docs/tasks/tools/"
need curl "your package manager"
run_sample_job kind-cloudflow 127.0.0.1 "${1:-}"
