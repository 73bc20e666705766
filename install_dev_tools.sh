#!/usr/bin/env bash
# Installs the tool chain pytorch-infer needs on Debian/Ubuntu, skipping what is present:
# Docker engine and compose, Node.js 24 (the LTS line the images run; an older node is upgraded)
# with npm >= 11.19, cmake, g++, Python 3 with pip (model export), debootstrap (local Docker
# bases) and LibTorch (scripts/libtorch.mjs). Safe to run again: a second run installs nothing.
# Every tool's version goes to install.log. NODE_PREFIX (default /usr/local) is where Node goes.
set -euo pipefail
cd "$(dirname "$0")"
export DEBIAN_FRONTEND=noninteractive
LOG=install.log
NODE_MAJOR=24
NPM_MIN=11.19.0 # knows allowScripts denials: how package.json skips onnxruntime-node's CUDA download
NODE_PREFIX=${NODE_PREFIX:-/usr/local}
: >"$LOG"

die() { echo "install_dev_tools.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || SUDO=sudo
command -v apt-get >/dev/null || die "needs apt-get (Debian/Ubuntu); install Node >= $NODE_MAJOR, cmake, g++, python3, docker by hand"

updated=
apt_install() { # package...
  echo "installing $*"
  [ -n "$updated" ] || { ${SUDO:-} apt-get update -qq || die "apt-get update failed"; updated=1; }
  ${SUDO:-} apt-get install -y -qq --no-install-recommends "$@" >/dev/null || die "apt-get install $* failed"
}
need() { # command package...
  local cmd=$1; shift
  command -v "$cmd" >/dev/null || apt_install "$@"
}

need cmake cmake
need g++ g++
need make make
need python3 python3
# libjpeg's headers: the addon that decodes JPEG with libjpeg-turbo directly (decoder sharp).
[ -f /usr/include/jpeglib.h ] || apt_install libjpeg-dev
python3 -m pip --version >/dev/null 2>&1 || apt_install python3-pip
need debootstrap debootstrap
need dockerd docker.io
command -v docker-compose >/dev/null || docker compose version >/dev/null 2>&1 || apt_install docker-compose

node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
# Debian's nodejs is too old; the npm registry carries the official Node builds as node-linux-<arch>.
install_node() {
  local arch tmp tgz
  case "$(uname -m)" in x86_64) arch=x64 ;; aarch64) arch=arm64 ;; *) die "no Node $NODE_MAJOR build for $(uname -m); install it by hand" ;; esac
  command -v npm >/dev/null || apt_install nodejs npm # only to fetch Node from the registry
  echo "installing node $NODE_MAJOR (node-linux-$arch@$NODE_MAJOR from the npm registry) into $NODE_PREFIX"
  tmp=$(mktemp -d)
  tgz=$(cd "$tmp" && npm pack --silent "node-linux-$arch@$NODE_MAJOR") || die "npm pack node-linux-$arch@$NODE_MAJOR failed"
  tar -xzf "$tmp/$tgz" -C "$tmp"
  ${SUDO:-} mkdir -p "$NODE_PREFIX/bin" "$NODE_PREFIX/include"
  ${SUDO:-} install -m 755 "$tmp/package/bin/node" "$NODE_PREFIX/bin/node"
  # The headers too: node-gyp builds then need no download.
  ${SUDO:-} rm -rf "$NODE_PREFIX/include/node" && ${SUDO:-} cp -r "$tmp/package/include/node" "$NODE_PREFIX/include/node"
  rm -rf "$tmp"
  hash -r
  [ "$(node_major)" -ge "$NODE_MAJOR" ] || die "Node $NODE_MAJOR is in $NODE_PREFIX/bin, but \`node\` is $(command -v node): put $NODE_PREFIX/bin first on PATH"
}
[ "$(node_major)" -ge "$NODE_MAJOR" ] || install_node
command -v npm >/dev/null || apt_install npm
if [ "$(printf '%s\n' "$NPM_MIN" "$(npm --version)" | sort -V | head -1)" != "$NPM_MIN" ]; then
  echo "installing npm@11 (npm $(npm --version) is older than $NPM_MIN)"
  ${SUDO:-} npm install -g --no-audit --no-fund npm@11 >/dev/null || die "npm install -g npm@11 failed"
  hash -r
fi

# LibTorch: LIBTORCH, a local torch CPU wheel, or the official download (unpacked once into the cache).
libtorch=$(node scripts/libtorch.mjs 2>>"$LOG") || die "LibTorch not found (see $LOG)"

{
  echo "node $(node --version) ($(command -v node))"
  echo "npm $(npm --version 2>/dev/null)"
  cmake --version | head -1
  g++ --version | head -1
  python3 --version
  python3 -m pip --version
  dockerd --version
  docker-compose --version 2>/dev/null || docker compose version
  echo "debootstrap $(dpkg-query -W -f '${Version}' debootstrap)"
  echo "libtorch $libtorch"
} >>"$LOG" 2>&1
cat "$LOG"
