#!/usr/bin/env bash
# CloudFlow on minikube: starts the profile "cloudflow" with the ingress addon unless it runs,
# builds the image and loads it into minikube, installs the chart with values-local.yaml
# (Kafka and MongoDB in the cluster) and prints the API's URL and key. Run it again after
# changing the code: it rebuilds and rolls the pods.
#
#   deploy/minikube/up.sh        then: deploy/minikube/sample-job.sh
#   minikube delete -p cloudflow         removes everything
#
# Needs docker (running), minikube, kubectl and helm. MINIKUBE_CPUS (default 4) and
# MINIKUBE_MEMORY (default 6g) size a new profile; MINIKUBE_DRIVER picks its driver.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../cluster/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../cluster/lib.sh"

PROFILE=cloudflow

need minikube "https://minikube.sigs.k8s.io/docs/start/"
need kubectl "https://kubernetes.io/docs/tasks/tools/"
need helm "https://helm.sh/docs/intro/install/"
need curl "your package manager"
need_docker_engine

if minikube -p "$PROFILE" status >/dev/null 2>&1; then
  say "using the running minikube profile $PROFILE"
else
  say "starting the minikube profile $PROFILE ..."
  minikube start -p "$PROFILE" --cpus "${MINIKUBE_CPUS:-4}" --memory "${MINIKUBE_MEMORY:-6g}" \
    ${MINIKUBE_DRIVER:+--driver "$MINIKUBE_DRIVER"}
fi
say "enabling the ingress addon (ingress-nginx) ..."
minikube -p "$PROFILE" addons enable ingress
wait_ingress_controller "$PROFILE"

build_image
say "loading $IMAGE into minikube ..."
minikube -p "$PROFILE" image load "$IMAGE"

install_chart "$PROFILE"
print_access "$PROFILE" "${CLOUDFLOW_INGRESS_ADDRESS:-$(minikube -p "$PROFILE" ip)}"
cat <<'NOTE'
  On macOS (and with the docker driver in general outside Linux) minikube's address is not
  reachable: run `minikube -p cloudflow tunnel` in another terminal and use 127.0.0.1
  (CLOUDFLOW_INGRESS_ADDRESS=127.0.0.1 deploy/minikube/sample-job.sh).
NOTE
