#!/usr/bin/env bash
# test_cron: every job line of cron/crontab run as cron runs it (sh -c in
# an almost empty environment, MAILTO="" so nothing but the log file
# keeps a trace), its paths moved to a temp dir and this build's
# programs: the log file holds JSON lines only, and says why when the
# settings file is missing or refused (QA: sh's `. support.env` stopped
# every job at a missing file or an unquoted space, its error going to
# cron's discarded mail); a file systemd's EnvironmentFile= takes (a
# value with spaces, unquoted) is taken; a usage error is a JSON line too.
# No database: the jobs' passes fail on one that is not there, which is
# what shows the file's SUPPORT_DATABASE_URL (spaces and all) was used.
# Exit: 0 pass, 1 fail (make check's convention), 99 a tool is missing.
set -uo pipefail

# shellcheck source=t/shell/stack_test.sh
. "$(dirname "${BASH_SOURCE[0]}")/stack_test.sh"
top_builddir=$(cd "${top_builddir:-$PWD}" && pwd)
command -v python3 >/dev/null 2>&1 || {
    echo "test_cron: python3 is missing (scripts/dev deps)"
    exit 99
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/support-cron.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/etc" "$tmp/log"

# The job lines (past the five time fields), with this tree's paths.
lines=()
while IFS= read -r line; do
    lines+=("$line")
done < <(grep -E '^[0-9*]' "$top_srcdir/cron/crontab" | sed -E 's/^([^ ]+ +){5}//' |
    sed -e "s#/usr/local/bin/#$top_builddir/#g" -e "s#/etc/support/#$tmp/etc/#g" \
        -e "s#/var/log/support/#$tmp/log/#g")
[ ${#lines[@]} -ge 8 ] || { echo "FAIL: job lines of cron/crontab: ${#lines[@]}"; exit 1; }

# cron_run LINE [EXTRA]: the line's command (EXTRA appended to the job's
# arguments) as cron runs it; its exit code.
cron_run() {
    local cmd=$1
    [ -n "${2:-}" ] && cmd=${cmd/ --once / --once $2 }
    env -i SHELL=/bin/sh PATH=/usr/local/bin:/usr/bin:/bin HOME="$tmp" LOGNAME=support \
        /bin/sh -c "$cmd"
}

# json_lines FILE EVENT [NEEDLE]: every line of FILE a JSON object with
# ts, level, event and program, one of them of EVENT (holding NEEDLE).
json_lines() {
    python3 - "$@" <<'PY'
import json, sys
path, event = sys.argv[1], sys.argv[2]
needle = sys.argv[3] if len(sys.argv) > 3 else ""
lines = open(path).read().splitlines()
found = False
for n, line in enumerate(lines, 1):
    try:
        o = json.loads(line)
    except ValueError:
        sys.exit(f"{path}:{n}: not JSON: {line}")
    if not all(k in o for k in ("ts", "level", "event", "program")):
        sys.exit(f"{path}:{n}: without ts, level, event or program: {line}")
    found |= o["event"] == event and needle in line
if not found:
    sys.exit(f"{path}: no {event} line holding {needle!r} in {lines}")
PY
}

# check_every DESCRIPTION WANT_RC EVENT NEEDLE [EXTRA]: each job line run
# afresh exits WANT_RC and logs JSON lines only, one of them EVENT.
check_every() {
    local what=$1 want=$2 event=$3 needle=$4 extra=${5:-} line job rc out res
    for line in "${lines[@]}"; do
        job=$(sed -E 's#.*/log/([a-z-]+)\.log.*#\1#' <<<"$line")
        rm -f "$tmp/log/$job.log"
        rc=0
        out=$(cron_run "$line" "$extra" 2>&1) || rc=$?
        if [ -n "$out" ]; then
            res="wrote outside its log: $out"
        elif [ "$rc" -ne "$want" ]; then
            res="exit $rc, not $want: $(cat "$tmp/log/$job.log" 2>&1)"
        else
            res=$(json_lines "$tmp/log/$job.log" "$event" "$needle" 2>&1 && echo ok)
        fi
        expect "$job, $what" "$res" ok
    done
}

# No settings file: each job says so in its log and exits 1.
check_every "support.env missing" 1 bad_config \
    "--env-file $tmp/etc/support.env: cannot be read: No such file or directory"

# A file systemd's EnvironmentFile= takes: comments, unquoted spaces, a
# value quoted, $ and ` kept. The pass fails on the database the file
# names (with its spaces): "/nonexistent" is in its connect error.
cat >"$tmp/etc/support.env" <<EOF
# Settings (NAME=value, as systemd reads them)
SUPPORT_DATABASE_URL=host=/nonexistent dbname=support connect_timeout=2
SUPPORT_MAIL_FROM_NAME=Acme Support
SUPPORT_MAIL_FROM='support@example.com'
SUPPORT_STAFF_MAIL=staff@example.com
SUPPORT_TEMPLATES_DIR=$top_srcdir/templates
SUPPORT_DB_STATEMENT_TIMEOUT_MS=1000
   ; a comment too
SUPPORT_LOG_LEVEL=info
SUPPORT_NOT_A_SETTING=\$HOME \`id\`
EOF
check_every "support.env with an unquoted space" 1 db_connect_failed '/nonexistent'

# A line it refuses: named by its number in the log, never its text.
printf 'SUPPORT_LOG_LEVEL=info\nMY SECRET=hunter2\n' >"$tmp/etc/support.env"
check_every "support.env with a refused line" 1 bad_config "support.env: line 2: not NAME=value"
expect "a refused line's text is not logged" "$(grep -l hunter2 "$tmp"/log/*.log)" ""

# A usage error in cron mode: a JSON line, not text.
check_every "a usage error" 2 usage_error 'unknown option \"--bogus\"' --bogus

exit $failed
