#!/usr/bin/env bash
# Makes sure every server the tests need is up on 127.0.0.1, starting what is missing, and prints the
# environment variables that point the tests at them.  The project machine normally pre-starts
# PostgreSQL and Redis; this restarts them if they are down (never kills anything by name).
set -euo pipefail
log() { echo "[servers] $*" >&2; }

# The model server (python -m runners.inference: Triton on CPU, ~30 s to load and ~1.4 GB): started once
# and left running like the databases, so a session's tests share it.  Its PID file is its process
# group's leader; stop it with `kill -TERM "$(cat "$TRITON_DIR/triton.pid")"` (a clean Triton.stop()).
TRITON_HTTP_PORT=${TRITON_HTTP_PORT:-18000}
TRITON_GRPC_PORT=${TRITON_GRPC_PORT:-18001}
TRITON_METRICS_PORT=${TRITON_METRICS_PORT:-18002}
TRITON_DIR=${TRITON_DIR:-/tmp/confero-triton}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TRITON_PYTHON=${TRITON_PYTHON:-$ROOT/.venv/bin/python}
triton_models_up() {
  for m in asr_whisper_tiny_en text_sentiment_vader text_emotion_minilm vocal_arousal_prosody denoise video_enhance_opencv; do
    curl -sf -o /dev/null "http://127.0.0.1:$TRITON_HTTP_PORT/v2/models/$m/ready" || return 1
  done
}
triton_alive() { [ -f "$TRITON_DIR/triton.pid" ] && kill -0 "$(cat "$TRITON_DIR/triton.pid")" 2>/dev/null; }
start_triton() {
  log "starting the model server on 127.0.0.1:$TRITON_GRPC_PORT (log: $TRITON_DIR/triton.log)"
  # setsid: its own process group, so nothing signalled to this script's group reaches it; the PID
  # written is the server's own (setsid execs in place when not a group leader).
  (cd "$ROOT"
   APP_HOST=127.0.0.1 APP_INFERENCE_HTTP_PORT=$TRITON_HTTP_PORT APP_INFERENCE_GRPC_PORT=$TRITON_GRPC_PORT \
     APP_INFERENCE_METRICS_PORT=$TRITON_METRICS_PORT PYTHONPATH="$ROOT" \
     setsid "$TRITON_PYTHON" -m runners.inference >"$TRITON_DIR/triton.log" 2>&1 </dev/null &
   echo $! >"$TRITON_DIR/triton.pid")
}
# Started first and in the background: its load (~30 s, the longest here) overlaps starting the other
# servers below; it is waited for at the end.
if ! triton_models_up && ! triton_alive; then
  mkdir -p "$TRITON_DIR"
  start_triton
  triton_started=1
fi

PG_PORT=${PG_PORT:-5432}
REDIS_PORT=${REDIS_PORT:-6379}

pg_up() { pg_isready -q -h 127.0.0.1 -p "$PG_PORT" 2>/dev/null; }
redis_up() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; }

if ! pg_up; then
  log "PostgreSQL is down on $PG_PORT: starting the machine's cluster"
  if ! command -v pg_ctlcluster >/dev/null; then
    apt-get -o DPkg::Lock::Timeout=600 update -qq && apt-get -o DPkg::Lock::Timeout=600 install -y -qq postgresql >&2
  fi
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start >&2 || true
  for _ in $(seq 1 60); do pg_up && break; sleep 0.5; done
fi
pg_up || { log "PostgreSQL did not come up on 127.0.0.1:$PG_PORT"; exit 1; }

if ! redis_up; then
  log "Redis is down on $REDIS_PORT: starting it"
  command -v redis-server >/dev/null || apt-get -o DPkg::Lock::Timeout=600 install -y -qq redis-server >&2
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log >&2
  for _ in $(seq 1 40); do redis_up && break; sleep 0.25; done
fi
redis_up || { log "Redis did not come up on 127.0.0.1:$REDIS_PORT"; exit 1; }

# S3 for the blob store's tests: moto_server (PyPI moto[s3] + flask + flask-cors, the test extra).
S3_PORT=${S3_PORT:-9000}
RUN_DIR=${SERVERS_RUN_DIR:-/tmp/confero-servers}
s3_up() { curl -s -o /dev/null -m 2 "http://127.0.0.1:$S3_PORT/" 2>/dev/null; }
if ! s3_up; then
  # The project's own moto first (the pinned version; one elsewhere on PATH may be older).
  VENV_MOTO="$(cd "$(dirname "$0")/.." && pwd)/.venv/bin/moto_server"
  MOTO=${MOTO_SERVER:-$( [ -x "$VENV_MOTO" ] && echo "$VENV_MOTO" || command -v moto_server || echo "$VENV_MOTO")}
  [ -x "$MOTO" ] || { log "moto_server not found (install the test extra: pip install -e '.[test]')"; exit 1; }
  mkdir -p "$RUN_DIR"
  log "S3 (moto_server) is down on $S3_PORT: starting it"
  nohup "$MOTO" -H 127.0.0.1 -p "$S3_PORT" >"$RUN_DIR/moto-$S3_PORT.log" 2>&1 &
  echo $! >"$RUN_DIR/moto-$S3_PORT.pid"
  for _ in $(seq 1 60); do s3_up && break; sleep 0.25; done
fi
s3_up || { log "moto_server did not come up on 127.0.0.1:$S3_PORT"; exit 1; }

# etcd for service discovery (issue 14): Debian's etcd-server, data kept under $CI_DIR/etcd so registrations
# outlive a restart of it.  Something already answering on the port (another session's etcd) is used as is.
CI_DIR=${CONFERO_CI_DIR:-/var/tmp/confero-ci}
ETCD_PORT=${ETCD_PORT:-2379}
ETCD_PEER_PORT=${ETCD_PEER_PORT:-2380}
ETCD_DIR="$CI_DIR/etcd"
etcd_up() { curl -s -m 2 "http://127.0.0.1:$ETCD_PORT/health" 2>/dev/null | grep -q '"health":"true"'; }
etcd_listens() { (exec 3<>"/dev/tcp/127.0.0.1/$ETCD_PORT") 2>/dev/null; }
if ! etcd_up; then
  if etcd_listens; then
    log "something listens on $ETCD_PORT but is not a healthy etcd yet: waiting for it"
  else
    if ! command -v etcd >/dev/null; then
      # The package would start its own daemon on 2379 at install: policy-rc.d (exit 101) prevents that.
      made=0; [ -e /usr/sbin/policy-rc.d ] || { printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d; made=1; }
      apt-get -o DPkg::Lock::Timeout=600 update -qq >&2
      apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends etcd-server >&2 || true
      [ "$made" = 1 ] && rm -f /usr/sbin/policy-rc.d
      command -v etcd >/dev/null || { log "etcd-server could not be installed"; exit 1; }
    fi
    mkdir -p "$ETCD_DIR"
    log "etcd is down on $ETCD_PORT: starting it (data: $ETCD_DIR/data, log: $ETCD_DIR/etcd.log)"
    setsid nohup etcd --name confero-ci --data-dir "$ETCD_DIR/data" \
      --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
      --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
      --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
      --initial-cluster "confero-ci=http://127.0.0.1:$ETCD_PEER_PORT" --initial-cluster-state new \
      >"$ETCD_DIR/etcd.log" 2>&1 </dev/null &
    echo $! >"$ETCD_DIR/etcd.pid"
  fi
  for _ in $(seq 1 80); do etcd_up && break; sleep 0.25; done
fi
etcd_up || { log "etcd did not come up on 127.0.0.1:$ETCD_PORT; see $ETCD_DIR/etcd.log"; exit 1; }
echo "export TEST_ETCD_URL=http://127.0.0.1:$ETCD_PORT"

echo "export TEST_POSTGRES_DSN=postgresql://postgres@127.0.0.1:$PG_PORT/postgres"
echo "export TEST_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0"
echo "export TEST_S3_ENDPOINT=http://127.0.0.1:$S3_PORT"

# MongoDB wire protocol (the analysis store): no mongod can be had here, so CI runs mongoeco's wire
# server, which needs Python 3.13 and therefore its own virtualenv (made here once, from pyenv's 3.13).
MONGO_PORT=${MONGO_PORT:-27027}
mongo_up() { (exec 3<>"/dev/tcp/127.0.0.1/$MONGO_PORT") 2>/dev/null; }
if ! mongo_up; then
  mkdir -p "$CI_DIR"
  MONGO_VENV="$CI_DIR/mongoeco-venv"
  if [ ! -x "$MONGO_VENV/bin/python" ] || ! "$MONGO_VENV/bin/python" -c "import mongoeco, bson" 2>/dev/null; then
    # pyenv's shim for python3.13 exists but fails unless 3.13 is selected: take the interpreter itself.
    PY313=$(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.13*/bin/python3.13 2>/dev/null | tail -1)
    [ -n "$PY313" ] || PY313=$(command -v python3.13 || true)
    [ -n "$PY313" ] || { log "mongoeco needs Python 3.13 (pyenv install 3.13)"; exit 1; }
    log "creating $MONGO_VENV for mongoeco"
    "$PY313" -m venv "$MONGO_VENV" >&2
    # pymongo gives mongoeco the bson codec its wire server needs (without it every command fails to encode).
    "$MONGO_VENV/bin/pip" install -q "mongoeco==4.11.0" "pymongo==4.20.1" >&2
  fi
  log "starting the MongoDB-wire server (mongoeco) on $MONGO_PORT"
  setsid nohup "$MONGO_VENV/bin/python" "$(dirname "$0")/mongo_wire_server.py" "$MONGO_PORT" \
    >"$CI_DIR/mongoeco.log" 2>&1 < /dev/null &
  echo $! > "$CI_DIR/mongoeco.pid"
  for _ in $(seq 1 80); do mongo_up && break; sleep 0.25; done
fi
mongo_up || { log "the MongoDB-wire server did not come up on 127.0.0.1:$MONGO_PORT"; exit 1; }
echo "export TEST_MONGO_URL=mongodb://127.0.0.1:$MONGO_PORT/?directConnection=true"

if ! triton_models_up; then
  mkdir -p "$TRITON_DIR"
  started=${triton_started:-0}
  [ "$started" = 1 ] || ! triton_alive || log "the model server (pid $(cat "$TRITON_DIR/triton.pid")) is loading or stopping: waiting"
  for _ in $(seq 1 360); do
    triton_models_up && break
    # Start one when none runs, also when the one found was on its way out.
    if ! triton_alive; then
      [ "$started" = 1 ] && break
      start_triton; started=1
    fi
    sleep 0.5
  done
fi
triton_models_up || { log "the model server did not come up; see $TRITON_DIR/triton.log"; exit 1; }

echo "export TEST_TRITON_URLS=grpc://127.0.0.1:$TRITON_GRPC_PORT,http://127.0.0.1:$TRITON_HTTP_PORT"
echo "export TEST_TRITON_METRICS_URL=http://127.0.0.1:$TRITON_METRICS_PORT/metrics"
