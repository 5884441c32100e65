#!/usr/bin/env bash
# test_log_shipping: examples/rsyslog-support.conf (docs/operations.md,
# "Shipping logs to a collector") in a real rsyslogd, as Debian's
# /etc/rsyslog.conf includes it, its paths moved to a temp dir and its
# collector to a second rsyslogd on a free port that writes what it gets.
# A program's JSON line from the journal's socket (logger -t support-api),
# a cron-mode job's file and nginx's access log each arrive as one JSON
# object with the node, the source, the request id and the line as
# written; a line that is not JSON arrives as "raw"; another program's
# line is not shipped. Runs both daemons in the foreground, ends them by
# their pids.
# Exit: 0 pass, 1 fail (make check's convention), 99 rsyslogd missing.
set -uo pipefail

top_srcdir=$(cd "${top_srcdir:-$(dirname "${BASH_SOURCE[0]}")/../..}" && pwd)
for tool in rsyslogd logger python3; do
    command -v "$tool" >/dev/null 2>&1 || {
        echo "test_log_shipping: $tool is missing (scripts/dev deps)"
        exit 99
    }
done

failed=0
ok() { echo "ok: $*"; }
fail() {
    echo "FAIL: $*"
    failed=1
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/support-logship.XXXXXX") || exit 1
pids=()
# shellcheck disable=SC2317  # run by the trap
cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p "$tmp/work" "$tmp/central-work" "$tmp/support" "$tmp/nginx"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0));
print(s.getsockname()[1])')

cat >"$tmp/collector.conf" <<EOF
global(workDirectory="$tmp/central-work")
module(load="imtcp")
input(type="imtcp" port="$port" address="127.0.0.1" ruleset="in")
template(name="raw" type="string" string="%rawmsg%\n")
ruleset(name="in") { action(type="omfile" file="$tmp/central.json" template="raw") }
EOF
sed -e "s|/var/log/support/|$tmp/support/|; s|/var/log/nginx/|$tmp/nginx/|" \
    -e "s|Target=\"logs.example.internal\" Port=\"5170\"|Target=\"127.0.0.1\" Port=\"$port\"|" \
    "$top_srcdir/examples/rsyslog-support.conf" >"$tmp/50-support.conf"
grep -q "Port=\"$port\"" "$tmp/50-support.conf" || fail "the example's collector address moved"
# What Debian's /etc/rsyslog.conf sets before its include, the journal's
# socket moved; whatever is not shipped lands in other.log.
cat >"$tmp/node.conf" <<EOF
global(workDirectory="$tmp/work")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="$tmp/log.sock")
include(file="$tmp/50-support.conf")
*.* $tmp/other.log
EOF

if rsyslogd -N1 -f "$tmp/node.conf" >"$tmp/check.out" 2>&1; then
    ok "rsyslogd -N1 accepts the example"
else
    fail "rsyslogd -N1: $(cat "$tmp/check.out")"
    exit 1
fi
rsyslogd -n -f "$tmp/collector.conf" -i "$tmp/collector.pid" >"$tmp/collector.out" 2>&1 &
pids+=($!)
rsyslogd -n -f "$tmp/node.conf" -i "$tmp/node.pid" >"$tmp/node.out" 2>&1 &
pids+=($!)
for _ in $(seq 50); do [ -S "$tmp/log.sock" ] && break; sleep 0.1; done

access='{"ts":"2026-12-06T09:00:01.000Z","level":"info","event":"access",'
access+='"program":"support-api","pid":7,"request_id":"req-api-1","status":200}'
logger -u "$tmp/log.sock" -t support-api "$access"
logger -u "$tmp/log.sock" -t support-api 'plain "text"'
logger -u "$tmp/log.sock" -t sshd 'not ours'
echo '{"ts":"2026-12-06T09:00:00.000Z","level":"info","event":"sla_monitor_pass",'\
'"program":"ticket-sla-monitor","pid":12,"warned":0}' >>"$tmp/support/ticket-sla-monitor.log"
echo '{"ts":"2026-12-06T09:00:00+00:00","request_id":"req-nginx-1","method":"GET",'\
'"uri":"/support/tickets","status":200}' >>"$tmp/nginx/support-access.log"

for _ in $(seq 100); do
    [ "$(wc -l <"$tmp/central.json" 2>/dev/null || echo 0)" -ge 4 ] && break
    sleep 0.1
done

# The collector's lines, checked as JSON.
python3 - "$tmp/central.json" <<'EOF' || failed=1
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
by = {}
for o in lines:
    by.setdefault(o["source"], []).append(o)
def check(what, cond):
    print(("ok: " if cond else "FAIL: ") + what)
    return cond
good = True
api = by.get("support-api", [])
parsed = [o for o in api if "raw" not in o["event"]]
raw = [o for o in api if "raw" in o["event"]]
good &= check("a program's line from the journal, its request id kept",
              len(parsed) == 1 and parsed[0]["request_id"] == "req-api-1"
              and parsed[0]["event"]["event"] == "access"
              and parsed[0]["event"]["status"] == 200 and parsed[0]["host"] != "")
good &= check("a line that is not JSON goes as raw",
              len(raw) == 1 and raw[0]["event"]["raw"].strip() == 'plain "text"')
cron = by.get("support-cron", [])
good &= check("a cron-mode job's file",
              len(cron) == 1 and cron[0]["event"]["event"] == "sla_monitor_pass"
              and cron[0]["event"]["warned"] == 0)
ngx = by.get("nginx-support", [])
good &= check("nginx's access log, its request id kept",
              len(ngx) == 1 and ngx[0]["request_id"] == "req-nginx-1"
              and ngx[0]["event"]["uri"] == "/support/tickets")
good &= check("nothing else shipped", len(lines) == 4)
sys.exit(0 if good else 1)
EOF
if grep -q 'not ours' "$tmp/other.log" 2>/dev/null && ! grep -q 'req-api-1' "$tmp/other.log"; then
    ok "another program's line stays local, ours do not"
else
    fail "local log: $(cat "$tmp/other.log" 2>/dev/null)"
fi
[ $failed -eq 0 ] || { echo "node:"; cat "$tmp/node.out"; echo "central:"; cat "$tmp/central.json"; }
exit $failed
