#!/bin/sh
# The address other containers reach this one at, for the etcd registry (APP_ADVERTISE_HOST): the
# container's own, so every replica of a scaled service (`--scale signaling=3`) registers itself and not
# the service's shared name.  An explicit APP_ADVERTISE_HOST wins.
set -eu
if [ -z "${APP_ADVERTISE_HOST:-}" ]; then
    APP_ADVERTISE_HOST="$(python -c 'import socket; print(socket.gethostbyname(socket.gethostname()))')"
    export APP_ADVERTISE_HOST
fi
exec "$@"
