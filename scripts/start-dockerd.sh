#!/usr/bin/env bash
# Starts the Docker engine in the background when none answers, and waits until it does.
set -euo pipefail
docker info >/dev/null 2>&1 && exit 0
command -v dockerd >/dev/null || { echo "start-dockerd: no dockerd (bash install_dev_tools.sh installs docker.io)" >&2; exit 1; }
nohup dockerd >/var/log/dockerd.log 2>&1 &
for _ in $(seq 60); do
  docker info >/dev/null 2>&1 && exit 0
  sleep 1
done
echo "start-dockerd: dockerd did not answer in 60 s; see /var/log/dockerd.log" >&2
tail -20 /var/log/dockerd.log >&2
exit 1
