#!/usr/bin/env bash
# Start the local services the test suite talks to, when they are not running (CI and fresh machines):
# PostgreSQL (store tests), Redis, RabbitMQ and NATS with JetStream (forwarder sink tests).
set -u
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_for() { for _ in $(seq 1 "${2:-30}"); do listening "$1" && return 0; sleep 1; done; echo "port $1 still closed" >&2; }

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
if command -v pg_isready >/dev/null 2>&1 && ! pg_up; then
  echo "starting PostgreSQL" >&2
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  for _ in $(seq 1 30); do pg_up && break; sleep 1; done
fi
if ! listening 6379 && command -v redis-server >/dev/null 2>&1; then
  echo "starting Redis" >&2
  redis-server --bind 127.0.0.1 --port 6379 --daemonize yes --save "" --appendonly no >/dev/null || true
  wait_for 6379 10
fi
if ! listening 5672 && [ -x /etc/init.d/rabbitmq-server ]; then
  echo "starting RabbitMQ" >&2
  /etc/init.d/rabbitmq-server start >/dev/null 2>&1 || true
  wait_for 5672 60
fi
if ! listening 4222 && command -v nats-server >/dev/null 2>&1; then
  echo "starting NATS (JetStream)" >&2
  nohup nats-server -a 127.0.0.1 -p 4222 -js -sd "${TMPDIR:-/tmp}/signwatch-nats" >/dev/null 2>&1 &
  wait_for 4222 10
fi
exit 0
