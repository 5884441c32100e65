#!/usr/bin/env bash
# test_stack_job: scripts/lib/stack.sh's stack_job, behind `scripts/dev job
# NAME [ARGS]` — a job of cron/ run with the stack's settings: --once when
# no ARGS are given, the ARGS otherwise; the database URL, the API's
# settings and (only while each runs) the SMTP sink and the notification
# sink passed on; a name that is not a job of cron/ refused with exit 2 and
# the list of jobs. A stand-in program in place of the built job prints
# what it was given, so no stack is needed. Then the notification sink
# itself (scripts/lib/notify_sink.py): a POST /notify is 202 and one JSON
# file in its directory; anything else is refused and writes nothing. Last,
# the port check, scripts/dev's usage, and stack_status's on-demand parts.
# Exit: 0 pass, 1 fail (make check's convention).
set -uo pipefail

# shellcheck source=t/shell/stack_test.sh
. "$(dirname "${BASH_SOURCE[0]}")/stack_test.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/support-job.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/bin" "$tmp/stack/run"
# The stand-in: its arguments, then the settings the test looks for.
# shellcheck disable=SC2016  # expanded by the stand-in, not here
printf '%s\n' '#!/bin/sh' 'echo "args=$*"' 'echo "db=$SUPPORT_DATABASE_URL"' \
    'echo "jwt=$SUPPORT_JWT_KEYS"' 'echo "smtp=${SUPPORT_SMTP_URL:-none}"' \
    'echo "notify=${SUPPORT_NOTIFY_URL:-none}"' \
    'echo "chat=${SUPPORT_CHAT_PUBLISH_URL:-none} ${SUPPORT_CHAT_PUBLISH_SOCKET:-none}"' \
    >"$tmp/bin/ticket-sla-monitor"
chmod 755 "$tmp/bin/ticket-sla-monitor"

STACK_DIR=$tmp/stack STACK_SRC_DIR=$top_srcdir STACK_BIN_DIR=$tmp/bin
STACK_PORT=1 STACK_METRICS_PORT=2
STACK_API_ENV=(SUPPORT_JWT_KEYS=dev:k1)
STACK_DATABASE_URL="host=$tmp/stack/run dbname=support"
_stack_derive

out=$(stack_job ticket-sla-monitor)
expect "no ARGS: one pass, --once" "$(sed -n 's/^args=//p' <<<"$out")" "--once"
expect "the stack's database" "$(sed -n 's/^db=//p' <<<"$out")" "$STACK_DATABASE_URL"
expect "the API's settings" "$(sed -n 's/^jwt=//p' <<<"$out")" "dev:k1"
expect "no sink running: no SMTP URL" "$(sed -n 's/^smtp=//p' <<<"$out")" "none"
expect "no sink running: no notification URL" "$(sed -n 's/^notify=//p' <<<"$out")" "none"
# chat-session-archive tells live clients their chat closed (QA: it did not).
expect "nginx's chat publisher" "$(sed -n 's/^chat=//p' <<<"$out")" \
    "$STACK_CHAT_PUBLISH_URL $STACK_CHAT_PUBLISH_SOCKET"
[[ $STACK_CHAT_PUBLISH_URL == http* && -n $STACK_CHAT_PUBLISH_SOCKET ]] && ok=yes || ok=no
expect "the publisher is derived" "$ok" yes

echo 2525 >"$STACK_SMTP_PORTFILE"
out=$(stack_job ticket-sla-monitor --dry-run --once)
expect "ARGS are passed as given" "$(sed -n 's/^args=//p' <<<"$out")" "--dry-run --once"
expect "the sink's port" "$(sed -n 's/^smtp=//p' <<<"$out")" "smtp://127.0.0.1:2525"
expect "only the SMTP sink runs: no notification URL" "$(sed -n 's/^notify=//p' <<<"$out")" none

out=$(stack_job ticket-sla-monitor --dry-run)
expect "ARGS without --once or --loop: one pass still" "$(sed -n 's/^args=//p' <<<"$out")" \
    "--once --dry-run"
out=$(stack_job ticket-sla-monitor --loop --interval 5)
expect "--loop as asked" "$(sed -n 's/^args=//p' <<<"$out")" "--loop --interval 5"

echo 8089 >"$STACK_NOTIFY_PORTFILE"
out=$(stack_job ticket-sla-monitor)
expect "the notification sink's URL" "$(sed -n 's/^notify=//p' <<<"$out")" \
    "http://127.0.0.1:8089/notify"

err=$(stack_job no-such-job 2>&1 >/dev/null)
expect "an unknown job: exit 2" "$?" 2
[[ $err == *"ticket-sla-monitor"* && $err == *"support-dispatch"* ]] && ok=yes || ok="no ($err)"
expect "an unknown job: the jobs are listed" "$ok" yes

# A program that is built but is not a job of cron/ is not run.
cp "$tmp/bin/ticket-sla-monitor" "$tmp/bin/support-migrate"
stack_job support-migrate >/dev/null 2>&1
expect "not a job of cron/: exit 2" "$?" 2

# stack_kbsync_start: knowledge-embedding-sync as the daemon production runs,
# with the jobs' settings, until stack_stop_all.
mkdir -p "$tmp/stack/log"
# shellcheck disable=SC2016  # expanded by the stand-in, not here
printf '%s\n' '#!/bin/sh' 'echo "args=$*"' 'echo "db=$SUPPORT_DATABASE_URL"' 'exec sleep 60' \
    >"$tmp/bin/knowledge-embedding-sync"
chmod 755 "$tmp/bin/knowledge-embedding-sync"
stack_kbsync_start
stack_kbsync_running && ok=yes || ok=no
expect "kb sync: the daemon runs" "$ok" yes
for _ in $(seq 1 50); do
    grep -q '^db=' "$STACK_LOG_DIR/knowledge-embedding-sync.log" 2>/dev/null && break
    sleep 0.1
done
expect "kb sync: --loop, a full pass every 10 minutes" \
    "$(sed -n 's/^args=//p' "$STACK_LOG_DIR/knowledge-embedding-sync.log")" "--loop --interval 600"
expect "kb sync: the stack's database" \
    "$(sed -n 's/^db=//p' "$STACK_LOG_DIR/knowledge-embedding-sync.log")" "$STACK_DATABASE_URL"
STACK_STOP_TIMEOUT=5 stack_stop_all >/dev/null 2>&1
stack_kbsync_running && ok=running || ok=stopped
expect "kb sync: stopped with the stack" "$ok" stopped

# stack_mail_in: support-mail-in with the same settings, the mail on its
# standard input.
# shellcheck disable=SC2016  # expanded by the stand-in, not here
printf '%s\n' '#!/bin/sh' 'echo "args=$*"' 'echo "jwt=$SUPPORT_JWT_KEYS"' 'echo "mail=$(cat)"' \
    >"$tmp/bin/support-mail-in"
chmod 755 "$tmp/bin/support-mail-in"
out=$(printf 'From: a@b\n' | stack_mail_in --sender a@b)
expect "mail-in: ARGS passed" "$(sed -n 's/^args=//p' <<<"$out")" "--sender a@b"
expect "mail-in: the API's settings" "$(sed -n 's/^jwt=//p' <<<"$out")" "dev:k1"
expect "mail-in: the mail on standard input" "$(sed -n 's/^mail=//p' <<<"$out")" "From: a@b"

# The notification sink, as stack_notify_start runs it.
python3 "$top_srcdir/scripts/lib/notify_sink.py" "$tmp/notify" --ready-file "$tmp/notify.port" \
    >"$tmp/notify.log" 2>&1 &
sink=$!
trap 'kill "$sink" 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 1 50); do
    [ -s "$tmp/notify.port" ] && break
    sleep 0.1
done
port=$(cat "$tmp/notify.port" 2>/dev/null)
# POST PATH BODY: prints the status.
post() {
    python3 - "http://127.0.0.1:$port$1" "$2" <<'PY'
import sys, urllib.error, urllib.request
req = urllib.request.Request(sys.argv[1], data=sys.argv[2].encode(), method="POST",
                             headers={"Content-Type": "application/json",
                                      "Idempotency-Key": "outbox-7"})
try:
    print(urllib.request.urlopen(req, timeout=5).status)
except urllib.error.HTTPError as e:
    print(e.code)
PY
}
body='{"id":"outbox-7","channel":"sms","event_type":"chat.escalated","to":{"phone":"+1 555"},'
body+='"ticket":{"public_id":"T1","subject":"s"},"title":"t","text":"Your chat continues"}'
expect "the sink answers a notification 202" "$(post /notify "$body")" 202
expect "not JSON: 400" "$(post /notify 'sms please')" 400
expect "another path: 404" "$(post /other "$body")" 404
files=("$tmp/notify"/*.json)
expect "one file per accepted request" "${#files[@]}" 1
expect "the file holds the body and its key" "$(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
print(r["idempotency_key"], r["body"]["to"]["phone"], r["body"]["text"])' "${files[0]}")" \
    "outbox-7 +1 555 Your chat continues"
[[ ${files[0]##*/} == *-outbox-7.json ]] && ok=yes || ok="no (${files[0]##*/})"
expect "the file is named after the body's id" "$ok" yes

# stack_ports_free: `scripts/dev up` asks it before starting anything, so
# a port another program holds is said at once, not after PostgreSQL and
# the workers have started (QA). A port held by a listener here is named.
python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
open(sys.argv[1], "w").write(str(s.getsockname()[1])); time.sleep(30)' "$tmp/held.port" &
holder=$!
for _ in $(seq 50); do [ -s "$tmp/held.port" ] && break; sleep 0.1; done
STACK_PORT=$(cat "$tmp/held.port") STACK_METRICS_PORT=1
err=$(stack_ports_free 2>&1)
expect "a port in use: refused" "$?" 1
[[ $err == *"127.0.0.1:$STACK_PORT is already in use"* ]] && ok=yes || ok="no ($err)"
expect "a port in use: named" "$ok" yes
STACK_METRICS_PORT=$STACK_PORT STACK_PORT=1
err=$(stack_ports_free 2>&1)
[[ $err == *"metrics port $STACK_METRICS_PORT is already in use"* ]] && ok=yes || ok="no ($err)"
expect "the metrics port in use: named" "$ok" yes
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null
STACK_PORT=1 STACK_METRICS_PORT=2
stack_ports_free 2>/dev/null
expect "free ports: 0" "$?" 0

# scripts/dev's own usage: help is an answer (stdout, exit 0), an unknown
# command a mistake it names (exit 2), `job` without a name exit 2 as an
# unknown name is (QA: help exited 2, a mistake was not named).
out=$("$top_srcdir/scripts/dev" help 2>/dev/null)
expect "dev help: exit 0" "$?" 0
[[ $out == *"scripts/dev up"* ]] && ok=yes || ok="no ($out)"
expect "dev help: the commands on stdout" "$ok" yes
err=$("$top_srcdir/scripts/dev" frobnicate 2>&1 >/dev/null)
expect "dev: an unknown command exits 2" "$?" 2
[[ $err == *"unknown command 'frobnicate'"* ]] && ok=yes || ok="no ($err)"
expect "dev: the unknown command is named" "$ok" yes
"$top_srcdir/scripts/dev" job >/dev/null 2>&1
expect "dev job without a name: exit 2" "$?" 2
# stack_status: a part started on demand that stopped by itself (its pid
# file outlived it: stopping removes the file) is named stopped, with how
# it ended — the signal that killed it, or its exit status — and fails the
# status; a running one is listed with its pid; one never started is not
# listed (QA: a dead dispatcher vanished from the status; a SIGKILLed one
# "exited on its own").
_stack_spawn "$STACK_KBSYNC_PIDFILE" "$tmp/spawn.log" sleep 30
alive=$(_stack_read_pid "$STACK_KBSYNC_PIDFILE")
_stack_spawn "$STACK_DISPATCH_PIDFILE" "$tmp/spawn.log" sleep 30
killed=$(_stack_read_pid "$STACK_DISPATCH_PIDFILE")
_stack_spawn "$STACK_NOTIFY_PIDFILE" "$tmp/spawn.log" sh -c 'exit 3'
exited=$(_stack_read_pid "$STACK_NOTIFY_PIDFILE")
kill -KILL "$killed"
for _ in $(seq 50); do
    [ -s "$STACK_DISPATCH_PIDFILE.exit" ] && [ -s "$STACK_NOTIFY_PIDFILE.exit" ] && break
    sleep 0.1
done
out=$(stack_status 2>&1)
expect "a part that stopped: status fails" "$?" 1
[[ $out == *"support-dispatch stopped  (pid $killed was killed by SIGKILL"* ]] && ok=yes ||
    ok="no ($out)"
expect "a part SIGKILLed: named stopped, with the signal" "$ok" yes
[[ $out == *"notify-sink  stopped  (pid $exited exited with status 3"* ]] && ok=yes ||
    ok="no ($out)"
expect "a part that exited: named stopped, with its status" "$ok" yes
[[ $out == *"kb-sync      running  pid $alive"* ]] && ok=yes || ok="no ($out)"
expect "a running part: its pid" "$ok" yes
[[ $out != *"support-scan"* ]] && ok=yes || ok="no ($out)"
expect "a part never started: not listed" "$ok" yes
# A process group of its own, as stopping expects (kill -- -PID).
[ "$(ps -o pgid= -p "$alive" | tr -d ' ')" = "$alive" ] && ok=yes || ok=no
expect "a spawned part leads its process group" "$ok" yes
_stack_kill kb-sync "$STACK_KBSYNC_PIDFILE"
_stack_pid_alive "$alive" && ok=no || ok=yes
expect "a spawned part is stopped by _stack_kill" "$ok" yes
rm -f "$STACK_DISPATCH_PIDFILE" "$STACK_NOTIFY_PIDFILE"

# cluster_status (scripts/dev cluster status, clusterctl status): each
# node's support-api, support-chat and nginx with their state, and exit 1
# when one is down (QA: node b's support-api was down, and the status
# printed the addresses alone and exited 0). A cluster directory laid out
# as cluster_up leaves it, its processes stand-ins (sleep), its servers'
# check (stack_pg_running) a file's presence: no root, no PostgreSQL.
# shellcheck source=scripts/lib/cluster.sh
. "$top_srcdir/scripts/lib/cluster.sh"
cdir=$tmp/cluster
for d in node-a node-b primary replica; do
    mkdir -p "$cdir/$d/run" "$cdir/$d/nginx"
    echo "STACK_PORT=8080" >"$cdir/$d/stack.env"
    touch "$cdir/$d/up"
done
mkdir -p "$cdir/redis"
# shellcheck disable=SC2016  # written for cluster_load to read
printf 'declare -g %s\n' CLUSTER_NET=loopback CLUSTER_NS_A= CLUSTER_NS_B= \
    CLUSTER_HOST_ADDR=127.0.0.1 CLUSTER_ADDR_A=127.0.0.2 CLUSTER_ADDR_B=127.0.0.3 \
    CLUSTER_PORT=8080 CLUSTER_PG_PORT=5433 CLUSTER_REPLICA_PORT=5434 CLUSTER_REDIS_PORT=6380 \
    >"$cdir/cluster.env"
# shellcheck disable=SC2317  # called by cluster_status
stack_pg_running() { [ -e "$STACK_DIR/up" ]; }
cluster_load "$cdir"
for x in a b; do
    for f in run/support-api.pid run/support-chat.pid nginx/nginx.pid; do
        _stack_spawn "$cdir/node-$x/$f" "$tmp/spawn.log" sleep 60
    done
done
_stack_spawn "$CLUSTER_REDIS_PIDFILE" "$tmp/spawn.log" sleep 60
out=$(cluster_status 2>&1)
expect "cluster status, all up: exit 0" "$?" 0
[ "$(grep -c '^  [a-z-]* *running  pid ' <<<"$out")" = 6 ] && ok=yes || ok="no ($out)"
expect "cluster status: each node's three processes, running" "$ok" yes
api_b=$(_stack_read_pid "$cdir/node-b/run/support-api.pid")
kill -KILL "$api_b"
for _ in $(seq 50); do [ -s "$cdir/node-b/run/support-api.pid.exit" ] && break; sleep 0.1; done
out=$(cluster_status 2>&1)
expect "cluster status, node b's support-api down: exit 1" "$?" 1
node_b=$(sed -n '/^node-b/,/^primary/p' <<<"$out")
[[ $node_b == *"support-api  stopped  (pid $api_b was killed by SIGKILL"* ]] && ok=yes ||
    ok="no ($out)"
expect "cluster status: node b's support-api stopped, killed by SIGKILL" "$ok" yes
rm "$cdir/replica/up"
out=$(cluster_status 2>&1)
[[ $out == *"replica      stopped"* ]] && ok=yes || ok="no ($out)"
expect "cluster status: a stopped replica" "$ok" yes
for x in a b; do
    for f in run/support-api.pid run/support-chat.pid nginx/nginx.pid; do
        _stack_kill "$f" "$cdir/node-$x/$f"
    done
done
_stack_kill redis "$CLUSTER_REDIS_PIDFILE"
exit $failed
