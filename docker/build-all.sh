#!/usr/bin/env bash
# Builds the image variants (default: all) as pytorch-infer-<variant>, with cached layers.
#   docker/build-all.sh [variant...]
# `haproxy` is the proxy of docker/stack.yaml (docker/haproxy/), the others docker/Dockerfile's targets.
# With no registry (or LOCAL_BASES=1) the bases are local stand-ins from docker/bases.sh.
# The build context gets a torch CPU wheel (.cache/wheels, found as `npm install` finds one) and
# this machine's extra CA certificates (docker/ca, for npm behind a TLS-intercepting proxy).
set -euo pipefail
cd "$(dirname "$0")/.."
variants=("$@")
[ ${#variants[@]} -gt 0 ] || variants=(multistage distroless onnx onnx-distroless slim fat haproxy)
export DOCKER_BUILDKIT=0 # the engine here has no buildx; the Dockerfile needs no BuildKit feature

mkdir -p .cache/wheels docker/ca
wheel=$(node --input-type=module -e "import { findLocalWheel } from './scripts/libtorch.mjs'; console.log(findLocalWheel() ?? '')")
if [ -n "$wheel" ] && [ ! -e ".cache/wheels/$(basename "$wheel")" ]; then
  ln -f "$wheel" .cache/wheels/ 2>/dev/null || cp "$wheel" .cache/wheels/
fi
cp "${EXTRA_CA_DIR:-/usr/local/share/ca-certificates}"/*.crt docker/ca/ 2>/dev/null || true

args=()
if [ "${LOCAL_BASES:-}" = 1 ] || ! docker image inspect node:24-bookworm >/dev/null 2>&1; then
  bash docker/bases.sh >&2
  args=(--build-arg BUILD_BASE=local/node:24-bookworm --build-arg RUNTIME_BASE=local/node:24-bookworm-slim
        --build-arg DISTROLESS_BASE=local/distroless-nodejs24)
  args+=(--build-arg DEBIAN_BASE=local/debian:bookworm-slim)
fi

times=.cache/build-times.txt
touch "$times"
for v in "${variants[@]}"; do
  start=$(date +%s)
  before=$(docker image inspect --format '{{.Id}}' "pytorch-infer-$v" 2>/dev/null || true)
  echo "build: pytorch-infer-$v" >&2
  source=(-f docker/Dockerfile --target "$v" .)
  [ "$v" != haproxy ] || source=(docker/haproxy)
  docker build -q -t "pytorch-infer-$v" "${args[@]}" "${source[@]}" >/dev/null
  seconds=$(( $(date +%s) - start ))
  echo "build: pytorch-infer-$v done in ${seconds}s" >&2
  # The size table reports the time of the last real build, not of a fully cached one.
  [ "$(docker image inspect --format '{{.Id}}' "pytorch-infer-$v")" != "$before" ] || continue
  { grep -v "^pytorch-infer-$v " "$times" || true; echo "pytorch-infer-$v $seconds"; } > "$times.new" && mv "$times.new" "$times"
done
