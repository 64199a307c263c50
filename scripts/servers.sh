#!/usr/bin/env bash
# Makes sure every server the tests need is up on 127.0.0.1, starting what is missing, and prints the
# environment variables that point the tests at them.  The project machine normally pre-starts
# PostgreSQL and Redis; this restarts them if they are down (never kills anything by name).
set -euo pipefail
log() { echo "[servers] $*" >&2; }

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
  MOTO=${MOTO_SERVER:-$(command -v moto_server || echo "$(cd "$(dirname "$0")/.." && pwd)/.venv/bin/moto_server")}
  [ -x "$MOTO" ] || { log "moto_server not found (install the test extra: pip install -e '.[test]')"; exit 1; }
  mkdir -p "$RUN_DIR"
  log "S3 (moto_server) is down on $S3_PORT: starting it"
  nohup "$MOTO" -H 127.0.0.1 -p "$S3_PORT" >"$RUN_DIR/moto-$S3_PORT.log" 2>&1 &
  echo $! >"$RUN_DIR/moto-$S3_PORT.pid"
  for _ in $(seq 1 60); do s3_up && break; sleep 0.25; done
fi
s3_up || { log "moto_server did not come up on 127.0.0.1:$S3_PORT"; exit 1; }

echo "export TEST_POSTGRES_DSN=postgresql://postgres@127.0.0.1:$PG_PORT/postgres"
echo "export TEST_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0"
echo "export TEST_S3_ENDPOINT=http://127.0.0.1:$S3_PORT"
