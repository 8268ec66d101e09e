#!/bin/sh
# Entrypoint of the CloudFlow image: the first argument names what to run.
#
#   entrypoint.sh gateway|auth|pipeline-registry|job-scheduler|worker|datasource-broker
#   entrypoint.sh standalone [--example]   all six in one process (apps/standalone)
#   entrypoint.sh seed-samples             copy the sample input (/fake/data.csv) into the data
#                                          root unless it is there, then exit
#   entrypoint.sh secrets-reseal           re-seal stored secrets after a key rotation
#                                          (docs/operations/secret-key-rotation.md)
#
# A service replaces this shell (exec), so node is PID 1 in the container and receives SIGTERM
# itself: runService drains and exits 0. The V8 flags of tools/node-options.json are applied
# per service (the worker's heap cap). Unknown names exit 2. Paths are relative to this file
# (<app>/deploy/image/), so the script runs the same from a checkout with a built dist/.
set -eu

app_dir=$(CDPATH='' cd -- "$(dirname -- "$0")/../.." && pwd)

usage() {
  cat >&2 <<EOF
usage: <image> SERVICE [args...]
  SERVICE: gateway, auth, pipeline-registry, job-scheduler, worker, datasource-broker,
           standalone (all six in one process), seed-samples (copy the sample input
           into \$CLOUDFLOW_DATA_DIR and exit) or secrets-reseal (after a key rotation)
EOF
}

# Files of samples/data (but its README) that the data root does not have yet; never overwrites.
seed_samples() {
  data_dir=${CLOUDFLOW_DATA_DIR:-./data}
  mkdir -p "$data_dir"
  (cd "$app_dir/samples/data" && find . -type f ! -name README.md) | while IFS= read -r file; do
    if [ -e "$data_dir/$file" ]; then
      echo "cloudflow: $data_dir/${file#./} is already there"
    else
      mkdir -p "$(dirname -- "$data_dir/$file")"
      cp "$app_dir/samples/data/$file" "$data_dir/$file"
      echo "cloudflow: copied the sample ${file#.} into $data_dir"
    fi
  done
}

name=${1:-}
case "$name" in
  gateway | auth | pipeline-registry | job-scheduler | worker | datasource-broker)
    main="dist/services/$name/src/main.js"
    ;;
  standalone)
    main="dist/apps/standalone/src/main.js"
    # Standalone mode keeps its store and generated keys in CLOUDFLOW_HOME: by default the data
    # volume, with the data root one level down so that no job can read the keys.
    export CLOUDFLOW_HOME="${CLOUDFLOW_HOME:-/data}"
    if [ "${CLOUDFLOW_DATA_DIR:-}" = "$CLOUDFLOW_HOME" ]; then
      export CLOUDFLOW_DATA_DIR="$CLOUDFLOW_HOME/data"
    fi
    ;;
  secrets-reseal)
    main="dist/tools/secrets-reseal.js"
    ;;
  seed-samples)
    seed_samples
    exit 0
    ;;
  -h | --help | help)
    usage
    exit 0
    ;;
  '')
    echo "cloudflow: name the service to run" >&2
    usage
    exit 2
    ;;
  *)
    echo "cloudflow: unknown service '$name'" >&2
    usage
    exit 2
    ;;
esac
shift

# One word per flag, as in tools/node-options.json (no flag there contains a space).
flags=$(node -p 'const o = require(process.argv[1]); (o[process.argv[2]] || []).join(" ")' \
  "$app_dir/tools/node-options.json" "$name")
# shellcheck disable=SC2086 # $flags is a list of words on purpose
exec node --enable-source-maps $flags "$app_dir/$main" "$@"
