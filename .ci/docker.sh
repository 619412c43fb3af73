#!/usr/bin/env bash
# A Docker engine and the registry tools for the image tests: installs Debian's docker.io, docker-registry,
# busybox-static and apache2-utils (once), starts dockerd on its own socket and data root (once), waits until it
# answers, and exports DOCKER_HOST. Idempotent. `source .ci/docker.sh` (so DOCKER_HOST reaches the caller) or run it
# (it then prints `export DOCKER_HOST=...` for `eval`). Needs root (or sudo).
#
# Settings (environment): BATCHCTL_DOCKER_SOCK (default /run/batchctl-docker.sock),
# BATCHCTL_DOCKER_DIR (default ${TMPDIR:-/tmp}/batchctl-docker: data root, exec root, pid file, log).

_batchctl_docker_main() {
    local sock="${BATCHCTL_DOCKER_SOCK:-/run/batchctl-docker.sock}"
    local dir="${BATCHCTL_DOCKER_DIR:-${TMPDIR:-/tmp}/batchctl-docker}"
    local host="unix://${sock}"
    local sudo=""
    local packages="docker.io docker-registry busybox-static apache2-utils"
    local missing="" pkg

    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then
            sudo="sudo"
        else
            echo "docker.sh: needs root (or sudo) to install packages and start dockerd" >&2
            return 1
        fi
    fi

    for pkg in $packages; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
            missing="$missing $pkg"
        fi
    done
    if [ -n "$missing" ]; then
        echo "docker.sh: installing$missing" >&2
        $sudo apt-get update -qq >&2 || return 1
        # shellcheck disable=SC2086  # word splitting of the package list is intended
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >&2 \
            || return 1
    fi

    # Debian's client, matching the daemon; another `docker` earlier in PATH may be a different version.
    local docker=/usr/bin/docker
    [ -x "$docker" ] || docker="$(command -v docker)"

    if ! "$docker" -H "$host" info >/dev/null 2>&1; then
        $sudo mkdir -p "$dir/data" "$dir/exec"
        if [ -f "$dir/dockerd.pid" ] && $sudo kill -0 "$($sudo cat "$dir/dockerd.pid")" 2>/dev/null; then
            echo "docker.sh: dockerd (pid $($sudo cat "$dir/dockerd.pid")) is starting; waiting" >&2
        else
            $sudo rm -f "$dir/dockerd.pid" "$sock"
            echo "docker.sh: starting dockerd on $host (data root $dir/data, log $dir/dockerd.log)" >&2
            # setsid: the daemon outlives this shell and is not killed with the caller's process group.
            $sudo setsid dockerd --host "$host" --data-root "$dir/data" --exec-root "$dir/exec" \
                --pidfile "$dir/dockerd.pid" >"$dir/dockerd.log" 2>&1 </dev/null &
        fi
        local waited=0
        until "$docker" -H "$host" info >/dev/null 2>&1; do
            if [ "$waited" -ge 60 ]; then
                echo "docker.sh: dockerd did not answer on $host within 60 s; its log:" >&2
                tail -n 30 "$dir/dockerd.log" >&2 || true
                return 1
            fi
            sleep 1
            waited=$((waited + 1))
        done
    fi
    # The tests (and moto's Batch) run the engine as the current user: let them use the socket.
    [ -z "$sudo" ] || $sudo chmod 666 "$sock"

    export DOCKER_HOST="$host"
    echo "docker.sh: Docker $("$docker" -H "$host" version --format '{{.Server.Version}}' 2>/dev/null) answers on $host" >&2
    echo "export DOCKER_HOST=$host"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -euo pipefail
    _batchctl_docker_main
else
    _batchctl_docker_main >/dev/null || return 1
    unset -f _batchctl_docker_main
fi
