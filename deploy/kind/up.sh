#!/usr/bin/env bash
# CloudFlow on kind: creates the cluster "cloudflow" (deploy/kind/cluster.yaml) unless it
# exists, installs ingress-nginx, builds the image and loads it into the node, installs the
# chart with values-local.yaml (Kafka and MongoDB in the cluster) and prints the API's URL and
# key. Run it again after changing the code: it rebuilds and rolls the pods.
#
#   deploy/kind/up.sh            then: deploy/kind/sample-job.sh
#   kind delete cluster --name cloudflow     removes everything
#
# Needs docker (running), kind, kubectl and helm, and the host's ports 80 and 443 free.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=../cluster/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../cluster/lib.sh"

CLUSTER=cloudflow
CONTEXT="kind-$CLUSTER"
# The kind flavour of ingress-nginx: hostPorts 80/443 on the node labelled ingress-ready.
INGRESS_NGINX_VERSION="${INGRESS_NGINX_VERSION:-controller-v1.12.1}"

need kind "https://kind.sigs.k8s.io/docs/user/quick-start/#installation"
need kubectl "https://kubernetes.io/docs/tasks/tools/"
need helm "https://helm.sh/docs/intro/install/"
need curl "your package manager"
need_docker_engine

if kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
  say "using the existing kind cluster $CLUSTER"
else
  say "creating the kind cluster $CLUSTER ..."
  kind create cluster --name "$CLUSTER" --config "$ROOT/deploy/kind/cluster.yaml" --wait 120s
fi

say "installing ingress-nginx $INGRESS_NGINX_VERSION ..."
kubectl --context "$CONTEXT" apply -f \
  "https://raw.githubusercontent.com/kubernetes/ingress-nginx/$INGRESS_NGINX_VERSION/deploy/static/provider/kind/deploy.yaml"
wait_ingress_controller "$CONTEXT"

build_image
say "loading $IMAGE into the kind node ..."
kind load docker-image "$IMAGE" --name "$CLUSTER"

install_chart "$CONTEXT"
print_access "$CONTEXT" 127.0.0.1
