#!/usr/bin/env bash
# Installs the tool chain pytorch-infer needs on Debian/Ubuntu, skipping what is present:
# Docker engine and compose, Node.js >= 20 with npm, cmake, g++, Python 3 with pip (model export),
# debootstrap (local Docker bases) and LibTorch (scripts/libtorch.mjs). Safe to run again: a
# second run installs nothing. Every tool's version goes to install.log.
set -euo pipefail
cd "$(dirname "$0")"
export DEBIAN_FRONTEND=noninteractive
LOG=install.log
NODE_MAJOR=20
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
python3 -m pip --version >/dev/null 2>&1 || apt_install python3-pip
need debootstrap debootstrap
need dockerd docker.io
command -v docker-compose >/dev/null || docker compose version >/dev/null 2>&1 || apt_install docker-compose

node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ "$(node_major)" -lt "$NODE_MAJOR" ]; then
  apt_install nodejs npm
  [ "$(node_major)" -ge "$NODE_MAJOR" ] ||
    die "Debian's nodejs is $(node --version 2>/dev/null || echo missing); install Node.js >= $NODE_MAJOR (https://nodejs.org or NodeSource) and run again"
fi
command -v npm >/dev/null || apt_install npm

# LibTorch: LIBTORCH, a local torch CPU wheel, or the official download (unpacked once into the cache).
libtorch=$(node scripts/libtorch.mjs 2>>"$LOG") || die "LibTorch not found (see $LOG)"

{
  echo "node $(node --version)"
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
