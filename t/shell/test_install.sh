#!/usr/bin/env bash
# test_install: `make install DESTDIR=…` of this build tree, then the
# installed tree: every program (and nothing built only for development),
# every migration and template, the nginx site and its snippets (rendered,
# and accepted by `nginx -t` with nchan loaded), the systemd units (every
# daemon sandboxed and reloadable by SIGHUP, every job program with a timer,
# every program they name installed, and `systemd-analyze verify` silent),
# the crontab example, the user and directories systemd-sysusers and
# systemd-tmpfiles make from the installed entries, and support-migrate
# run from the installed tree against a private PostgreSQL: it finds the
# installed sql/ by itself. Then the first request: the installed
# support-api behind nginx running the production site (TLS with a
# self-signed certificate, its ports moved): readyz, an admin page from
# the installed templates, a static file, the http→https redirect, and
# /metrics on the operators' listener only. Runs as root (owners of the
# directories, nginx's user); systemd itself is not run (no PID 1 here).
# Exit: 0 pass, 1 fail (make check's convention), 99 a tool is missing.
# shellcheck disable=SC2016  # bash -c '…' scripts take their arguments
set -uo pipefail

top_srcdir=$(cd "${top_srcdir:-$(dirname "${BASH_SOURCE[0]}")/../..}" && pwd)
top_builddir=$(cd "${top_builddir:-$PWD}" && pwd)

failed=0
ok() { echo "ok: $*"; }
fail() {
    echo "FAIL: $*"
    failed=1
}
# shellcheck disable=SC2317  # run by check
quiet() { "$@" >/dev/null 2>&1; }
check() { # check DESCRIPTION COMMAND...
    local what=$1
    shift
    if "$@"; then ok "$what"; else fail "$what"; fi
}

for tool in systemd-analyze nginx openssl; do
    command -v "$tool" >/dev/null 2>&1 || {
        echo "test_install: $tool is missing (scripts/dev deps)"
        exit 99
    }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/support-install.XXXXXX") || exit 99
chmod 755 "$tmp" # postgres (the cluster's owner when root) works in here
# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
    [ -s "$tmp/nginx/nginx.pid" ] && kill "$(cat "$tmp/nginx/nginx.pid")" 2>/dev/null
    [ -n "${api_pid:-}" ] && kill "$api_pid" 2>/dev/null && wait "$api_pid" 2>/dev/null
    [ -n "${STACK_RUN_DIR:-}" ] && (stack_pg_stop) >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT
root=$tmp/root

# Another make of the same tree (make check runs this): none of the
# parent's jobserver or command-line variables.
sub_make() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$top_builddir" "$@"; }
# The value of a variable of the build tree's Makefile.
# shellcheck disable=SC2016  # $(…) is make's, in the makefile on stdin
mkvar() { printf 'print-var:\n\t@echo $(%s)\n' "$1" | sub_make -f Makefile -f - print-var; }

if ! sub_make install DESTDIR="$root" >"$tmp/install.log" 2>&1; then
    cat "$tmp/install.log"
    echo "FAIL: make install DESTDIR=$root"
    exit 1
fi
ok "make install DESTDIR=…"

bindir=$(mkvar bindir)
datadir=$(mkvar supportdatadir)
unitdir=$(mkvar systemdsystemunitdir)
confdir=$(mkvar supportconfdir)
statedir=$(mkvar supportstatedir)
cachedir=$(mkvar supportcachedir)
nginxlogdir=$(mkvar nginxlogdir)
tmpfilesdir=$(mkvar tmpfilesdir)
sysusersdir=$(mkvar sysusersdir)
read -r -a programs <<<"$(mkvar bin_PROGRAMS)"
[ ${#programs[@]} -ge 5 ] || { echo "FAIL: bin_PROGRAMS: '${programs[*]}'"; exit 1; }

# ---------------------------------------------------------------- programs
for p in "${programs[@]}"; do
    check "program $p installed" test -x "$root$bindir/$p"
done
for p in support-token hello-fcgi; do
    check "$p (development only) not installed" test ! -e "$root$bindir/$p"
done

# -------------------------------------------------------- sql, templates
n_sql=0
for f in "$top_srcdir"/sql/[0-9]*.sql; do
    n_sql=$((n_sql + 1))
    check "migration ${f##*/} installed" cmp -s "$f" "$root$datadir/sql/${f##*/}"
done
while IFS= read -r -d '' f; do
    rel=${f#"$top_srcdir"/}
    [ "$rel" = templates/mail/README.md ] && continue
    check "template $rel installed" cmp -s "$f" "$root$datadir/$rel"
done < <(find "$top_srcdir/templates" -type f -print0)

# -------------------------------------------------------------------- docs
# operations.md and the documents it names (docs/X.md or a link X.md), and
# theirs in turn: every one of docs/ installed beside it in $(docdir), so
# a reference from the installed copy never leads nowhere.
docdir=$(mkvar docdir)
declare -A doc_seen=([operations.md]=1)
doc_todo=(operations.md)
while [ ${#doc_todo[@]} -gt 0 ]; do
    d=${doc_todo[0]}
    doc_todo=("${doc_todo[@]:1}")
    check "doc $d installed" cmp -s "$top_srcdir/docs/$d" "$root$docdir/$d"
    while IFS= read -r n; do
        if [ ! -f "$top_srcdir/docs/$n" ] || [ -n "${doc_seen[$n]:-}" ]; then continue; fi
        doc_seen[$n]=1
        doc_todo+=("$n")
    done < <(grep -oE '(docs/|\]\()[A-Za-z0-9_-]+\.md' "$top_srcdir/docs/$d" |
        sed 's#.*[/(]##' | sort -u)
done
[ ${#doc_seen[@]} -ge 6 ] || fail "the docs operations.md names: ${!doc_seen[*]}"

# ------------------------------------------------------------------- nginx
for f in support-site.conf http.conf public.conf problems.conf operators.conf chat.conf \
    internal.conf fastcgi_params security_headers.conf; do
    check "nginx/$f installed" test -s "$root$datadir/nginx/$f"
    if grep -n '@[A-Za-z_]*@' "$root$datadir/nginx/$f"; then
        fail "nginx/$f has a placeholder left"
    fi
done
check "the site includes the installed snippets" \
    grep -q "include $datadir/nginx/public.conf;" "$root$datadir/nginx/support-site.conf"
check "the public server passes to support-api's documented socket" \
    grep -q 'fastcgi_pass unix:/run/support-api/api.sock;' "$root$datadir/nginx/public.conf"
check "the chat hooks pass to support-chat's documented socket" \
    grep -q 'fastcgi_pass unix:/run/support-chat/chat.sock;' "$root$datadir/nginx/internal.conf"
check "the admin pages' static files are the installed ones" \
    grep -q "alias $datadir/templates/static/;" "$root$datadir/nginx/public.conf"
# Every problem nginx answers by itself is JSON whose type names its code,
# as the workers' problems do (errors/<code>): clients branch on either.
# shellcheck disable=SC2317  # run by check
problems_name_their_code() {
    python3 - "$@" <<'PY'
import json, re, sys
bad = 0
for path in sys.argv[1:]:
    for n, line in enumerate(open(path), 1):
        m = re.search(r"return [0-9]+ '(\{.*\})';", line)
        if not m or '"type"' not in m.group(1):
            continue
        o = json.loads(m.group(1).replace('$support_request_id', 'x'))
        if o["type"] != "https://docs.support.example/errors/" + o["code"]:
            print(f"{path}:{n}: type {o['type']} for code {o['code']}")
            bad = 1
sys.exit(bad)
PY
}
check "nginx's own problems are JSON whose type names their code" \
    problems_name_their_code "$root$datadir"/nginx/*.conf
# An add_header in a block drops every add_header it would inherit (nginx):
# a block of the site's snippets with one of its own includes
# security_headers.conf or sends Strict-Transport-Security itself (QA:
# the articles, the attachment downloads, the 405/429/5xx problems went
# without HSTS).
# shellcheck disable=SC2317  # run by check
every_header_block_keeps_hsts() {
    python3 - "$@" <<'PY'
import re, sys
bad = 0
for path in sys.argv[1:]:
    text = re.sub(r"#[^\n]*", "", open(path).read())
    # the directives of each block, inner blocks left out; depth 0 = the file
    stack, heads = [[]], ["(file)"]
    for tok in re.finditer(r"[^{};]+[{;]|}", text):
        t = tok.group(0).strip()
        if t.endswith("{"):
            stack.append([]); heads.append(t[:-1].strip())
        elif t == "}":
            body, head = stack.pop(), heads.pop()
            if any(d.startswith("add_header ") for d in body) and not any(
                    d.startswith("add_header Strict-Transport-Security ")
                    or re.match(r"include \S*/security_headers\.conf$", d) for d in body):
                print(f"{path}: {head}: add_header without Strict-Transport-Security")
                bad = 1
        else:
            stack[-1].append(" ".join(t[:-1].split()))
sys.exit(bad)
PY
}
check "every block of the site with headers of its own sends HSTS" \
    every_header_block_keeps_hsts "$root$datadir"/nginx/{public,problems,chat,operators}.conf
check "security_headers.conf sends HSTS" \
    grep -qx 'add_header Strict-Transport-Security $support_hsts always;' \
    "$root$datadir/nginx/security_headers.conf"

# The user (sysusers.d) and the directories (tmpfiles.d), made by systemd's
# own tools inside the staged tree (its /etc seeded with this host's
# users: nginx's www-data); what nginx -t below needs must be among them.
check "tmpfiles.d entry installed" test -s "$root$tmpfilesdir/support.conf"
check "sysusers.d entry (user support) installed" \
    grep -q '^u support ' "$root$sysusersdir/support.conf"
mkdir -p "$root/etc"
cp /etc/passwd /etc/group "$root/etc/"
# shellcheck disable=SC2016  # the inner scripts take their arguments
check "systemd-sysusers makes the user support" \
    bash -c 'systemd-sysusers --root="$1" support.conf && grep -q "^support:" "$1/etc/passwd"' _ "$root"
check "systemd-tmpfiles makes the directories" systemd-tmpfiles --root="$root" --create support.conf
# Owners by number: the staged /etc knows the user support, this host not.
id_in() { awk -F: -v n="$2" '$1 == n { print $3 }' "$root/etc/$1"; }
for d in "$statedir/attachments 2770 www-data support" "$statedir/upload 2770 www-data support" \
    "$cachedir/nginx-kb 700 www-data www-data" "/run/support-nginx 750 root www-data" \
    "$confdir/secrets 750 root support" "$nginxlogdir 755 root adm"; do
    read -r path mode user group <<<"$d"
    check "tmpfiles.d: $path is $mode $user:$group" \
        test "$(stat -c '%a %u:%g' "$root$path" 2>&1)" = \
        "$mode $(id_in passwd "$user"):$(id_in group "$group")"
done

# nginx -t: the site inside a stand-in of Debian's nginx.conf, every path
# it names moved under $tmp (a self-signed certificate in place of the
# real one).
mkdir -p "$tmp/nginx/conf" "$tmp/nginx/log" "$tmp/ssl"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=support.example.com \
    -keyout "$tmp/ssl/privkey.pem" -out "$tmp/ssl/fullchain.pem" 2>/dev/null
for f in "$root$datadir"/nginx/*; do
    sed -e "s#$datadir/nginx/#$tmp/nginx/conf/#g" -e "s#$datadir/#$root$datadir/#g" \
        -e "s#$nginxlogdir/#$tmp/nginx/log/#g" -e "s#/etc/ssl/support/#$tmp/ssl/#g" \
        -e "s#$cachedir/#$root$cachedir/#g" -e "s#$statedir/#$root$statedir/#g" \
        -e "s#/run/support-nginx/#$root/run/support-nginx/#g" \
        -e "s#/run/support-api/#$root/run/support-api/#g" \
        -e "s#/run/support-chat/#$root/run/support-chat/#g" \
        -e "s#$confdir/nginx/#$tmp/site/#g" \
        "$f" >"$tmp/nginx/conf/${f##*/}"
done
# (Debian loads nchan and headers-more from /etc/nginx/modules-enabled/,
# relative to its prefix: by absolute path here, as the dev stack does.)
cat >"$tmp/nginx/nginx.conf" <<EOF
$([ "$(id -u)" -eq 0 ] && echo "user www-data;")
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/log/error.log;
load_module /usr/lib/nginx/modules/ngx_nchan_module.so;
load_module /usr/lib/nginx/modules/ngx_http_headers_more_filter_module.so;
events { }
http {
    include /etc/nginx/mime.types;
    client_body_temp_path $tmp/nginx/body;
    sendfile on;
    gzip on;
    include $tmp/nginx/conf/support-site.conf;
}
EOF
if out=$(nginx -t -p "$tmp/nginx/" -c "$tmp/nginx/nginx.conf" 2>&1); then
    ok "nginx -t accepts the production site"
else
    printf '%s\n' "$out"
    fail "nginx -t accepts the production site"
fi
# nchan's store is the site's own file, included by glob in every nchan
# location (QA: rendered into the snippets, Redis was dropped by each
# upgrade's make install): no file is nchan's memory, and with Redis in it
# (several nodes) the site is still valid.
check "chat.conf takes nchan's store from the site's file" \
    test "$(grep -c "^ *include $confdir/nginx/chat-store\*\.conf;$" \
        "$root$datadir/nginx/chat.conf")" = 1
check "internal.conf's publishers take nchan's store from the site's file" \
    test "$(grep -c "^ *include $confdir/nginx/chat-store\*\.conf;$" \
        "$root$datadir/nginx/internal.conf")" = 2
check "no nchan store directive in the installed snippets" \
    bash -c '! grep -n "^[^#]*nchan_\(use_redis\|redis_url\)" "$@"' _ "$root$datadir"/nginx/*.conf
check "make install writes no chat-store.conf" test ! -e "$root$confdir/nginx"
mkdir -p "$tmp/site"
printf '%s\n' 'nchan_use_redis on;' 'nchan_redis_url "redis://127.0.0.1:6379";' \
    >"$tmp/site/chat-store.conf"
# and a node behind a load balancer: the site's realip lines taken in
cp "$tmp/nginx/conf/support-site.conf" "$tmp/site.conf.one-node"
sed -i 's/^\( *\)#\(set_real_ip_from\|real_ip_header\|real_ip_recursive\) /\1\2 /' \
    "$tmp/nginx/conf/support-site.conf"
check "the site has the realip lines for a load balancer" \
    test "$(grep -c '^ *\(set_real_ip_from\|real_ip_header\|real_ip_recursive\) ' \
        "$tmp/nginx/conf/support-site.conf")" = 3
if out=$(nginx -t -p "$tmp/nginx/" -c "$tmp/nginx/nginx.conf" 2>&1); then
    ok "nginx -t accepts the production site with Redis in chat-store.conf and realip"
else
    printf '%s\n' "$out"
    fail "nginx -t accepts the production site with Redis in chat-store.conf and realip"
fi
# the site run below: one node, nchan's memory, no balancer
rm -f "$tmp/site/chat-store.conf"
mv -f "$tmp/site.conf.one-node" "$tmp/nginx/conf/support-site.conf"

# ----------------------------------------------------------------- systemd
unit() { echo "$root$unitdir/$1"; }
key() { sed -n "s/^$2=//p" "$(unit "$1")"; } # key UNIT KEY: its values
for d in support-api support-chat support-dispatch support-scan knowledge-embedding-sync-loop; do
    u=$d.service
    check "$u installed" test -s "$(unit "$u")"
    # shellcheck disable=SC2016
    check "$u runs the installed ${d%-loop}" bash -c '[[ $1 == "$2 "* || $1 == "$2" ]]' _ \
        "$(key "$u" ExecStart)" "$bindir/${d%-loop}"
    # shellcheck disable=SC2016  # systemd's $MAINPID, literally
    check "$u reloads by SIGHUP" test "$(key "$u" ExecReload)" = '/bin/kill -HUP $MAINPID'
    for kv in NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes PrivateTmp=yes \
        PrivateDevices=yes 'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6' CapabilityBoundingSet=; do
        check "$u: $kv" grep -qx "$kv" "$(unit "$u")"
    done
    # shellcheck disable=SC2016
    check "$u: a service user, never root" bash -c '[ -n "$1" ] && [ "$1" != root ]' _ \
        "$(key "$u" User)"
    check "$u reads $confdir/support.env" test "$(key "$u" EnvironmentFile)" = "$confdir/support.env"
done
# journald's default rate limit (10,000 lines in 30 s a unit) would drop
# access lines, the staff audit trail (docs/operations.md "Logs").
for u in support-api.service support-chat.service; do
    check "$u: journald drops none of its lines (LogRateLimitIntervalSec=0)" \
        test "$(key "$u" LogRateLimitIntervalSec)" = 0
done
check "support-api's socket is the documented one" \
    grep -qx 'Environment=SUPPORT_LISTEN=/run/support-api/api.sock' "$(unit support-api.service)"
check "support-chat's socket is the documented one" \
    grep -qx 'Environment=SUPPORT_CHAT_LISTEN=/run/support-chat/chat.sock' "$(unit support-chat.service)"

# Every job program has a timer, whose service runs it once (support-mail-in
# is no job: the MTA runs it per mail, docs/operations.md "Mail in").
for p in "${programs[@]}"; do
    case $p in support-api | support-chat | support-migrate | support-mail-in) continue ;; esac
    found=
    for t in "$root$unitdir"/*.timer; do
        s=$(basename "$t" .timer).service
        [ "$(key "$s" ExecStart)" = "$bindir/$p --once" ] && found=${t##*/}
    done
    check "job $p has a timer (${found:-none})" test -n "$found"
    check "job $p is in the crontab example" \
        grep -q "exec $bindir/$p --once" "$root$datadir/examples/crontab.example"
done
# The crontab's logs are rotated (the logrotate example): every file the
# crontab appends to is in its directory; logrotate rotates them as the
# service user (here nobody, the directory's owner, as support owns the
# real one) and a job's next `>>` writes to the new file.
logdir=$(mkvar supportlogdir)
lr=$root$datadir/examples/logrotate.example
check "logrotate example installed for $logdir" grep -qx "$logdir/\*.log {" "$lr"
check "every log of the crontab is under $logdir" \
    bash -c '! grep -o ">>[^ ]*" "$1" | grep -v "^>>$2/[a-z-]*\.log$"' _ \
    "$root$datadir/examples/crontab.example" "$logdir"
if command -v logrotate >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
    mkdir -p "$tmp/lr/log"
    chown nobody "$tmp/lr/log" && chmod 0750 "$tmp/lr/log"
    sed -e "s#$logdir/#$tmp/lr/log/#" -e 's/support adm/nobody root/' "$lr" >"$tmp/lr/conf"
    echo '{"event":"sla_monitor_pass"}' >"$tmp/lr/log/ticket-sla-monitor.log"
    chown nobody "$tmp/lr/log/ticket-sla-monitor.log"
    check "logrotate rotates the jobs' logs" \
        bash -c 'cd "$1/log" && logrotate -f -s ../state ../conf &&
                 test -s ticket-sla-monitor.log.1 &&
                 test "$(stat -c "%a %U" ticket-sla-monitor.log)" = "640 nobody" &&
                 echo next >>ticket-sla-monitor.log &&
                 test "$(cat ticket-sla-monitor.log)" = next' \
        _ "$tmp/lr"
fi
for t in "$root$unitdir"/*.timer; do
    s=$(basename "$t" .timer).service
    check "${t##*/} starts a oneshot $s" test "$(key "$s" Type)" = oneshot
    # a oneshot has no start timeout of its own: a pass that hangs on a
    # database that does not answer would hold its timer forever
    check "$s bounds its run (TimeoutStartSec)" test -n "$(key "$s" TimeoutStartSec)"
done

# Every program a unit names is installed; systemd-analyze verify (which
# checks that too) on copies whose paths point into the staged tree, and
# says nothing at all (an unknown key is only a warning to it).
mkdir -p "$tmp/units"
for f in "$root$unitdir"/*; do
    while read -r exe; do
        exe=${exe%% *}
        check "${f##*/}: $exe is installed" test -x "$root$exe"
    done < <(sed -n 's/^Exec[A-Za-z]*=[-@!+]*//p' "$f" | grep "^$bindir/")
    sed -e "s#$bindir/#$root$bindir/#g" "$f" >"$tmp/units/${f##*/}"
done
if out=$(cd "$tmp/units" && systemd-analyze verify --man=no ./*.service ./*.timer 2>&1) &&
    [ -z "$out" ]; then
    ok "systemd-analyze verify: every unit and timer"
else
    printf '%s\n' "$out"
    fail "systemd-analyze verify: every unit and timer"
fi

# The sandbox, scored by systemd (0 = locked down, 10 = none): the units
# score 1.7 ("OK"); a change that opens one up past 2.5 fails here.
for s in "$tmp"/units/*.service; do
    check "${s##*/}: systemd-analyze security exposure <= 2.5" \
        quiet systemd-analyze security --offline=yes --threshold=25 "$s"
done

# --------------------------------------------- support-migrate, installed
# shellcheck source=scripts/lib/stack.sh
. "$top_srcdir/scripts/lib/stack.sh"
STACK_SRC_DIR=$top_srcdir
STACK_BIN_DIR=$top_builddir
STACK_PG_FAST=1
STACK_METRICS_PORT=1 # no nginx here
if ! { stack_init "$tmp/stack" "$(stack_free_port)" && stack_pg_start; } >"$tmp/pg.log" 2>&1; then
    cat "$tmp/pg.log"
    echo "FAIL: PostgreSQL did not start"
    exit 1
fi
# From / and without SUPPORT_MIGRATIONS_DIR: the default is the installed
# tree's sql/ (a copy under DESTDIR finds its own).
check "support-api --help names the installed sql/" \
    grep -q "SUPPORT_MIGRATIONS_DIR .*(default: $root$datadir/sql)" \
    <(cd / && env -u SUPPORT_MIGRATIONS_DIR "$root$bindir/support-api" --help 2>&1)
if (cd / && env -u SUPPORT_MIGRATIONS_DIR SUPPORT_DATABASE_URL="$STACK_DATABASE_URL" \
    "$root$bindir/support-migrate") >"$tmp/migrate.log" 2>&1; then
    ok "installed support-migrate ran"
else
    cat "$tmp/migrate.log"
    fail "installed support-migrate ran"
fi
newest=$(find "$top_srcdir/sql" -maxdepth 1 -name '[0-9]*.sql' | sed 's#.*/0*\([0-9]*\)_.*#\1#' |
    sort -n | tail -n 1)
got=$(stack_psql -XAtc 'SELECT count(*), max(version) FROM schema_migrations' 2>&1)
check "the installed migrations are applied ($got; want $n_sql|$newest)" test "$got" = "$n_sql|$newest"

# ------------------------------------- the first request, through the site
# The installed support-api on the site's socket (under the staged tree),
# nginx running the production site with its ports moved to free ones:
# what docs/operations.md's walk-through ends with, but systemd.
https_port=$(stack_free_port)
http_port=$(stack_free_port)
ops_port=$(stack_free_port)
sed -i -e "s#listen 443 ssl http2;#listen 127.0.0.1:$https_port ssl http2;#" \
    -e "s#listen 80;#listen 127.0.0.1:$http_port;#" -e '/listen \[::\]:/d' \
    -e "s#listen 127.0.0.1:9464;#listen 127.0.0.1:$ops_port;#" "$tmp/nginx/conf/support-site.conf"
mkdir -p "$root/run/support-api"
# A SUPPORT_LISTEN that names a file (a mistyped setting) is refused at
# start and the file kept: the master used to unlink whatever stood at
# the path before binding its socket.
echo keep >"$tmp/not-a-socket"
rc=0
(cd / && exec env -u SUPPORT_MIGRATIONS_DIR -u SUPPORT_TEMPLATES_DIR \
    SUPPORT_DATABASE_URL="$STACK_DATABASE_URL" SUPPORT_LISTEN="$tmp/not-a-socket" \
    SUPPORT_WORKERS=1 SUPPORT_JWT_KEYS="k1:$(openssl rand -hex 32)" \
    timeout 20 "$root$bindir/support-api") >"$tmp/listen-file.log" 2>&1 || rc=$?
check "support-api refuses a SUPPORT_LISTEN that is a file, and keeps the file" \
    bash -c '[ "$1" -ne 0 ] && [ "$1" -ne 124 ] && [ "$(cat "$2")" = keep ] &&
             grep -q "something other than a socket" "$3"' \
    _ "$rc" "$tmp/not-a-socket" "$tmp/listen-file.log"
group=()
[ "$(id -u)" -eq 0 ] && group=(SUPPORT_LISTEN_GROUP=www-data)
(cd / && exec env -u SUPPORT_MIGRATIONS_DIR -u SUPPORT_TEMPLATES_DIR "${group[@]}" \
    SUPPORT_DATABASE_URL="$STACK_DATABASE_URL" SUPPORT_LISTEN="$root/run/support-api/api.sock" \
    SUPPORT_WORKERS=2 SUPPORT_JWT_KEYS="k1:$(openssl rand -hex 32)" \
    "$root$bindir/support-api") >"$tmp/support-api.log" 2>&1 &
api_pid=$!
for _ in $(seq 100); do
    [ -S "$root/run/support-api/api.sock" ] && break
    sleep 0.1
done
if ! nginx -p "$tmp/nginx/" -c "$tmp/nginx/nginx.conf" >"$tmp/nginx/start.log" 2>&1; then
    cat "$tmp/nginx/start.log" "$tmp/nginx/log/error.log" 2>/dev/null
    fail "nginx starts with the production site"
fi
site() { # site PATH [curl args]: status, content type and body over https
    local where=$1
    shift
    curl -sk --max-time 10 --resolve "support.example.com:$https_port:127.0.0.1" \
        -w '\n%{http_code} %{content_type}' "$@" "https://support.example.com:$https_port$where"
}
for _ in $(seq 50); do
    [[ $(site /support/healthz) == *"200 application/json"* ]] && break
    sleep 0.2
done
got=$(site /support/readyz)
check "readyz through the site: 200, database and installed migrations ok" \
    bash -c '[[ $1 == *"\"migrations\":\"ok\""* && $1 == *"200 application/json"* ]]' _ "$got"
got=$(site /support/admin/login)
check "an admin page from the installed templates" \
    bash -c '[[ $1 == *"<form"* && $1 == *"200 text/html"* ]]' _ "$got"
got=$(site /support/admin/static/admin.css -o "$tmp/admin.css")
got=${got#$'\n'}
check "the admin stylesheet served by nginx from the installed static/ ($got)" \
    bash -c '[[ $1 == *"200 text/css"* ]] && cmp -s "$2" "$3"' _ \
    "$got" "$tmp/admin.css" "$top_srcdir/templates/static/admin.css"
got=$(curl -s --max-time 10 -o /dev/null -w '%{http_code} %{redirect_url}' \
    -H 'Host: support.example.com' "http://127.0.0.1:$http_port/support/healthz")
check "plain HTTP redirects to https ($got)" \
    test "$got" = "301 https://support.example.com/support/healthz"
# To the configured name whatever Host the client sent (the port-80 server
# is the default one: any name reaches it).
got=$(curl -s --max-time 10 -o /dev/null -w '%{http_code} %{redirect_url}' \
    -H 'Host: evil.example' "http://127.0.0.1:$http_port/support/healthz?a=1")
check "plain HTTP redirects to the site's name, not the client's Host ($got)" \
    test "$got" = "301 https://support.example.com/support/healthz?a=1"
# Strict-Transport-Security on every kind of answer over https: the
# worker's, nginx's 404, 405 and 502 problems, the knowledge-base cache's.
hsts() { # hsts PATH [curl args]: the status and the HSTS header's value
    site "$@" -D - -o /dev/null | tr -d '\r' |
        sed -n -e 's/^strict-transport-security: //Ip' -e 's#^HTTP/[0-9.]* \([0-9]*\).*#\1#p' |
        tr '\n' ' '
}
want_hsts="max-age=63072000; includeSubDomains"
for req in "200 /support/readyz" "200 /support/articles" "404 /nope" \
    "405 /support/admin/static/admin.css -X POST"; do
    read -r status path args <<<"$req"
    # shellcheck disable=SC2086  # args: curl's words
    got=$(hsts "$path" $args)
    check "HSTS on $path ${args:-GET} ($got)" test "$got" = "$status $want_hsts "
done
got=$(curl -s --max-time 10 -w '\n%{http_code}' "http://127.0.0.1:$ops_port/metrics")
check "the operators' listener serves /metrics" \
    bash -c '[[ $1 == *"# TYPE support_"* && $1 == *$'"'"'\n'"'"'200 ]]' _ "$got"
got=$(site /support/metrics -o /dev/null)
check "the public server never serves /metrics" bash -c '[[ $1 == *404* ]]' _ "$got"

# support-api stopped (a restart): its 502 problem carries HSTS, and no
# error log of nginx keeps a query string (a signed attachment URL's
# signature, a search's words) -- connect() to a missing socket is
# logged at crit; the access log shows the 502 and why ("ust", "uct").
kill "$api_pid" 2>/dev/null && wait "$api_pid" 2>/dev/null
api_pid=
rm -f "$root/run/support-api/api.sock"
marker=leak$RANDOM$RANDOM
got=$(hsts "/support/tickets?q=$marker-pii")
check "HSTS on the 502 of a worker down ($got)" test "$got" = "502 $want_hsts "
got=$(site "/support/attachments/A1b2C3/content?kid=k1&expires=9999999999&size=6&sig=$marker" \
    -X PUT --data-binary 123456 -o /dev/null)
check "a signed upload URL with the worker down: 502 (${got#$'\n'})" \
    bash -c '[[ $1 == *502* ]]' _ "$got"
sleep 0.3 # nginx writes its log lines after the answer
check "no nginx error log holds a query string" \
    bash -c '! grep -rl "$1" "$2"/*error*.log' _ "$marker" "$tmp/nginx/log"
# The search's 502 names its failed connect; the upload's is answered by
# its auth_request check, a subrequest nginx does not log: no upstream
# on its line (docs/operations.md).
check "the access log shows the search's 502 and its upstream's failed connect" \
    test "$(grep -c '"status":502,.*"ust":"502","uct":"-"' "$tmp/nginx/log/support-access.log")" = 1
check "the access log shows the upload's 502 without an upstream" \
    test "$(grep -c '"status":502,.*"ust":"","uct":""' "$tmp/nginx/log/support-access.log")" = 1

exit $failed
