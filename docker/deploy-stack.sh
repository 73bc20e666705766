#!/usr/bin/env bash
# Deploys docker/stack.yaml as stack NAME, once the images it names are on this engine:
#   PORT=8080 [PYTORCH_INFER_IMAGE=…] docker/deploy-stack.sh NAME
# Without the check a missing image shows only as tasks that never start. On a swarm of several
# nodes every node needs the images (or a registry that has them).
set -euo pipefail
name=${1:?usage: docker/deploy-stack.sh NAME}
stack=$(cd "$(dirname "$0")" && pwd)/stack.yaml

# The stack's image names, with their ${VAR:-default} resolved as docker stack deploy does.
missing=()
while read -r image; do
  if [[ $image =~ ^\$\{([A-Za-z_][A-Za-z0-9_]*):-([^}]*)\}$ ]]; then
    var=${BASH_REMATCH[1]} default=${BASH_REMATCH[2]}
    image=${!var:-$default}
  fi
  docker image inspect "$image" >/dev/null 2>&1 || missing+=("$image")
done < <(sed -n 's/^ *image: *//p' "$stack")

if [ ${#missing[@]} -gt 0 ]; then
  for image in "${missing[@]}"; do
    case $image in
      pytorch-infer-*) echo "deploy-stack: image $image is missing: build it with docker/build-all.sh ${image#pytorch-infer-}" >&2 ;;
      *) echo "deploy-stack: image $image is missing: build or pull it" >&2 ;;
    esac
  done
  exit 1
fi
# Local images: no registry to ask for digests.
exec docker stack deploy --resolve-image never -c "$stack" "$name"
