# shellcheck shell=bash
#
# stack.sh — run one support stack (PostgreSQL, support-api, support-chat,
# nginx; for the dev stack also support-dispatch, its SMTP sink and its
# notification-service sink) in a
# directory. Sourced by scripts/dev (the dev stack in var/), by
# t/integration/run (a throw-away stack per test run) and by
# scripts/lib/stackctl (acts on a running stack from a test program).
#
#   source scripts/lib/stack.sh
#   STACK_BIN_DIR=build/asan          # optional settings, see stack_init
#   stack_init /tmp/stack 18080
#   STACK_API_ENV+=("SUPPORT_JWT_KEYS=test:abcd")
#   stack_pg_start && stack_migrate && stack_api_start && stack_nginx_start
#   ...
#   stack_stop_all
#
# Layout of a stack directory (all 0755 so nginx workers reach the sockets):
#   stack.env          saved settings (0600), read back by stack_load
#   run/               unix sockets: PostgreSQL, support-api.sock, support-chat.sock,
#                      hello-fcgi.sock
#   mail/              the SMTP sink's Maildir (what support-dispatch sent)
#   notify/            the notification sink's requests (SMS, push, staff), one
#                      JSON file each
#   log/               postgresql.log, support-api.log, support-chat.log, migrate.log,
#                      support-dispatch.log, smtp-sink.log, notify-sink.log,
#                      nginx-chat-error.log (emerg only: no chat tokens),
#                      nginx-attachments-error.log (alert only: no URL signatures),
#                      nginx-api-error.log (alert only: no query strings),
#                      nginx-access.log (JSON), nginx-error.log, hello-fcgi.log
#   pg/data            the cluster (owned by `postgres` when run as root)
#   nginx/             rendered nginx.conf, fastcgi_params, pid, temp dirs
#   site/              chat-store.conf: nchan's Redis store when set (production:
#                      /etc/support/nginx/chat-store.conf, the site's own file)
#   attachments/       uploaded attachments (SUPPORT_ATTACHMENT_DIR; nginx serves
#                      them from an internal location)
#   clamd/             clamd.conf, its socket and pid (the virus scanner of
#                      attachments, with the test signature database
#                      t/fixtures/clamav: works offline)
#
# Functions return non-zero on failure and print why on stderr; they work
# with or without `set -e` in the caller.

_STACK_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

_stack_say() { printf 'stack: %s\n' "$*" >&2; }

# Run a command as the cluster owner: `postgres` when we are root (initdb
# and pg_ctl refuse root), else the current user.
_stack_pg_as() {
    if [ "$EUID" -eq 0 ]; then
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

_stack_find_pg_bin() {
    local d
    if command -v pg_config >/dev/null 2>&1; then
        d=$(pg_config --bindir 2>/dev/null) || d=
        if [ -n "$d" ] && [ -x "$d/initdb" ]; then
            printf '%s\n' "$d"
            return 0
        fi
    fi
    for d in $(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V -r); do
        if [ -x "$d/initdb" ]; then
            printf '%s\n' "$d"
            return 0
        fi
    done
    d=$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/initdb)")
    [ -x "$d/initdb" ] && printf '%s\n' "$d" && return 0
    return 1
}

# stack_free_port: print a TCP port on 127.0.0.1 that nothing listens on.
stack_free_port() {
    local p i
    if command -v python3 >/dev/null 2>&1; then
        p=$(python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])' 2>/dev/null) && [ -n "$p" ] && { printf '%s\n' "$p"; return 0; }
    fi
    for i in $(seq 1 200); do
        p=$(( 20000 + (RANDOM * 32768 + RANDOM) % 30000 ))
        : "$i"
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            printf '%s\n' "$p"
            return 0
        fi
    done
    _stack_say "no free port found"
    return 1
}

# stack_init DIR PORT — set the stack's variables. Settings already present in
# the environment are kept, so callers may preset them:
#   STACK_SRC_DIR        source tree (default: the tree holding this file)
#   STACK_BIN_DIR        where support-api, support-migrate, support-token,
#                        hello-fcgi live (default <src>/build/dev)
#   STACK_API_BIN, STACK_MIGRATE_BIN, STACK_TOKEN_BIN, STACK_HELLO_BIN,
#   STACK_CHAT_BIN       support-chat (started by stack_api_start when built)
#   STACK_NCHAN_REDIS_URL  nchan's Redis backend for chat (empty: memory)
#   STACK_LISTEN_ADDR    address of the public listener (127.0.0.1; the
#                        two-node cluster gives each node its own)
#   STACK_EXTERNAL_DB_URL  conninfo of a database this stack does not run
#                        (the cluster's primary); empty: the stack's own
#   STACK_SHARED_ATTACHMENT_DIR  attachment storage shared with other
#                        stacks (the cluster's nodes, as production's shared
#                        file system); empty: the stack's own attachments/
#   STACK_PG_LISTEN, STACK_PG_PORT  PostgreSQL's listen_addresses (empty:
#                        unix socket only) and port (5432)
#   STACK_MIGRATIONS_DIR (default <src>/sql)
#   STACK_API_WORKERS    SUPPORT_WORKERS for support-api (default: app's own)
#   STACK_HELLO_WORKERS  HELLO_WORKERS (default 2)
#   STACK_PG_FAST        1 = fsync/synchronous_commit/full_page_writes off
#   STACK_PG_CONF_EXTRA  more postgresql.conf lines (e.g. shared_preload_libraries)
#   STACK_METRICS_PORT   the operators' listener, GET /metrics (a free port;
#                        scripts/dev: 9464)
#   STACK_NGINX_RATE, STACK_NGINX_BURST   per-IP limit_req (5000 r/s, 10000)
#   STACK_NGINX_WORKERS  worker_processes (auto)
#   STACK_NGINX_CHAT_CONN  chat connections per client address (64)
#   STACK_NGINX_KB_CACHE seconds anonymous article reads are cached (5)
#   STACK_NGINX_BENCH    1 = add the benchmark baselines /bench/nginx and
#                        /bench/hello to the public server (bench/ only)
#   STACK_START_TIMEOUT, STACK_STOP_TIMEOUT   seconds (60, 20)
#   STACK_API_ENV        array of NAME=value passed to support-api and
#                        support-migrate (secrets, sanitizer options, …)
stack_init() {
    if [ $# -ne 2 ]; then
        _stack_say "usage: stack_init DIR PORT"
        return 2
    fi
    mkdir -p "$1" || return 1
    STACK_DIR=$(cd "$1" && pwd) || return 1
    STACK_PORT=$2
    # scripts/dev asks for 9464; temporary stacks (tests, benches) get a
    # free port, so they never collide with a dev stack.
    if [ -z "${STACK_METRICS_PORT:-}" ]; then
        STACK_METRICS_PORT=$(stack_free_port) || return 1
    fi
    STACK_SRC_DIR=${STACK_SRC_DIR:-$(cd "$_STACK_LIB_DIR/../.." && pwd)}
    STACK_BIN_DIR=${STACK_BIN_DIR:-$STACK_SRC_DIR/build/dev}
    STACK_API_BIN=${STACK_API_BIN:-$STACK_BIN_DIR/support-api}
    STACK_MIGRATE_BIN=${STACK_MIGRATE_BIN:-$STACK_BIN_DIR/support-migrate}
    STACK_TOKEN_BIN=${STACK_TOKEN_BIN:-$STACK_BIN_DIR/support-token}
    STACK_HELLO_BIN=${STACK_HELLO_BIN:-$STACK_BIN_DIR/hello-fcgi}
    STACK_CHAT_BIN=${STACK_CHAT_BIN:-$STACK_BIN_DIR/support-chat}
    STACK_NCHAN_REDIS_URL=${STACK_NCHAN_REDIS_URL:-${SUPPORT_NCHAN_REDIS_URL:-}}
    STACK_EXTERNAL_DB_URL=${STACK_EXTERNAL_DB_URL:-}
    STACK_SHARED_ATTACHMENT_DIR=${STACK_SHARED_ATTACHMENT_DIR:-}
    STACK_PG_LISTEN=${STACK_PG_LISTEN:-}
    STACK_PG_PORT=${STACK_PG_PORT:-5432}
    STACK_MIGRATIONS_DIR=${STACK_MIGRATIONS_DIR:-$STACK_SRC_DIR/sql}
    STACK_API_WORKERS=${STACK_API_WORKERS:-}
    STACK_HELLO_WORKERS=${STACK_HELLO_WORKERS:-2}
    STACK_PG_FAST=${STACK_PG_FAST:-0}
    STACK_NGINX_RATE=${STACK_NGINX_RATE:-5000}
    STACK_NGINX_BURST=${STACK_NGINX_BURST:-10000}
    STACK_NGINX_WORKERS=${STACK_NGINX_WORKERS:-auto}
    STACK_NGINX_CHAT_CONN=${STACK_NGINX_CHAT_CONN:-64}
    STACK_NGINX_KB_CACHE=${STACK_NGINX_KB_CACHE:-5}
    STACK_NGINX_BENCH=${STACK_NGINX_BENCH:-0}
    STACK_START_TIMEOUT=${STACK_START_TIMEOUT:-60}
    STACK_STOP_TIMEOUT=${STACK_STOP_TIMEOUT:-20}
    if ! declare -p STACK_API_ENV >/dev/null 2>&1; then
        STACK_API_ENV=()
    fi
    if [ -z "${STACK_PG_BIN:-}" ]; then
        STACK_PG_BIN=$(_stack_find_pg_bin) || {
            _stack_say "PostgreSQL server binaries not found (apt-get install postgresql)"
            return 1
        }
    fi
    _stack_derive
}

# stack_load DIR — read back the settings a previous stack_init saved.
stack_load() {
    local dir
    dir=$(cd "$1" 2>/dev/null && pwd) || { _stack_say "no stack in $1"; return 1; }
    if [ ! -f "$dir/stack.env" ]; then
        _stack_say "no stack in $dir (no stack.env)"
        return 1
    fi
    # shellcheck disable=SC1091
    . "$dir/stack.env" || return 1
    STACK_DIR=$dir
    _stack_derive
}

_stack_derive() {
    STACK_RUN_DIR=$STACK_DIR/run
    STACK_LOG_DIR=$STACK_DIR/log
    STACK_PG_DIR=$STACK_DIR/pg
    STACK_PGDATA=$STACK_PG_DIR/data
    STACK_NGINX_DIR=$STACK_DIR/nginx
    STACK_API_SOCKET=$STACK_RUN_DIR/support-api.sock
    STACK_HELLO_SOCKET=$STACK_RUN_DIR/hello-fcgi.sock
    STACK_API_PIDFILE=$STACK_RUN_DIR/support-api.pid
    STACK_HELLO_PIDFILE=$STACK_RUN_DIR/hello-fcgi.pid
    STACK_CHAT_SOCKET=$STACK_RUN_DIR/support-chat.sock
    STACK_CHAT_PIDFILE=$STACK_RUN_DIR/support-chat.pid
    STACK_CHAT_BIN=${STACK_CHAT_BIN:-$STACK_BIN_DIR/support-chat}
    STACK_DISPATCH_BIN=$STACK_BIN_DIR/support-dispatch
    STACK_DISPATCH_PIDFILE=$STACK_RUN_DIR/support-dispatch.pid
    STACK_SMTP_PIDFILE=$STACK_RUN_DIR/smtp-sink.pid
    STACK_SMTP_PORTFILE=$STACK_RUN_DIR/smtp-sink.port
    STACK_MAIL_DIR=$STACK_DIR/mail
    STACK_NOTIFY_PIDFILE=$STACK_RUN_DIR/notify-sink.pid
    STACK_NOTIFY_PORTFILE=$STACK_RUN_DIR/notify-sink.port
    STACK_NOTIFY_DIR=$STACK_DIR/notify
    STACK_NGINX_PIDFILE=$STACK_NGINX_DIR/nginx.pid
    STACK_ATTACHMENT_DIR=${STACK_SHARED_ATTACHMENT_DIR:-$STACK_DIR/attachments}
    STACK_CLAMD_DIR=$STACK_DIR/clamd
    STACK_CLAMD_SOCKET=$STACK_CLAMD_DIR/clamd.sock
    STACK_CLAMD_PIDFILE=$STACK_CLAMD_DIR/clamd.pid
    STACK_CLAMD_DB=$STACK_SRC_DIR/t/fixtures/clamav
    STACK_SCAN_BIN=$STACK_BIN_DIR/support-scan
    STACK_SCAN_PIDFILE=$STACK_RUN_DIR/support-scan.pid
    STACK_KBSYNC_BIN=$STACK_BIN_DIR/knowledge-embedding-sync
    STACK_KBSYNC_PIDFILE=$STACK_RUN_DIR/knowledge-embedding-sync.pid
    STACK_DATABASE_URL="host=$STACK_RUN_DIR port=${STACK_PG_PORT:-5432} dbname=support user=support"
    [ -n "${STACK_EXTERNAL_DB_URL:-}" ] && STACK_DATABASE_URL=$STACK_EXTERNAL_DB_URL
    # Also for a stack.env written before the setting existed.
    STACK_LISTEN_ADDR=${STACK_LISTEN_ADDR:-127.0.0.1}
    STACK_BASE_URL="http://$STACK_LISTEN_ADDR:$STACK_PORT"
    # The operators' listener (nginx/support.conf.in, docs/metrics.md).
    STACK_METRICS_PORT=${STACK_METRICS_PORT:-9464}
    STACK_METRICS_URL="http://127.0.0.1:$STACK_METRICS_PORT/metrics"
    # nginx's internal server (nginx/internal.conf.in): the chat hooks'
    # targets and nchan's publisher, on a unix socket in a 0750 directory.
    STACK_INTERNAL_DIR=$STACK_RUN_DIR/internal
    STACK_INTERNAL_SOCKET=$STACK_INTERNAL_DIR/nginx.sock
    STACK_CHAT_PUBLISH_SOCKET=$STACK_INTERNAL_SOCKET
    STACK_CHAT_PUBLISH_URL="http://localhost/internal/chat/publish"
    if [ ${#STACK_RUN_DIR} -gt 90 ]; then
        _stack_say "stack dir path too long for unix sockets: $STACK_DIR"
        return 1
    fi
}

# Write the settings to DIR/stack.env so stackctl/stack_load can act later.
_stack_save() {
    (
        umask 077
        {
            echo "# written by scripts/lib/stack.sh; read back by stack_load"
            declare -p STACK_PORT STACK_METRICS_PORT STACK_SRC_DIR STACK_BIN_DIR STACK_API_BIN \
                STACK_MIGRATE_BIN STACK_TOKEN_BIN STACK_HELLO_BIN STACK_MIGRATIONS_DIR \
                STACK_API_WORKERS STACK_HELLO_WORKERS STACK_PG_FAST STACK_PG_BIN \
                STACK_NGINX_RATE STACK_NGINX_BURST STACK_NGINX_WORKERS \
                STACK_NGINX_CHAT_CONN STACK_NGINX_KB_CACHE STACK_NGINX_BENCH \
                STACK_START_TIMEOUT STACK_STOP_TIMEOUT STACK_API_ENV \
                STACK_CHAT_BIN STACK_NCHAN_REDIS_URL STACK_LISTEN_ADDR \
                STACK_EXTERNAL_DB_URL STACK_PG_LISTEN STACK_PG_PORT STACK_SHARED_ATTACHMENT_DIR |
                sed 's/^declare -\([a-zA-Z-]*\) /declare -g\1 /; s/^declare -g- /declare -g /'
        } >"$STACK_DIR/stack.env.tmp"
    ) || return 1
    mv -f "$STACK_DIR/stack.env.tmp" "$STACK_DIR/stack.env"
}

# _stack_traversable DIR — can the users the stack's servers run as when
# root (postgres, and www-data for nginx's workers) reach DIR? Checks DIR's
# existing ancestors from / down (DIR itself is made 0755) and prints the
# first that blocks. Always true when not root: every part then runs as
# this user.
_stack_traversable() {
    local d=$1 u i
    local -a path=()
    [ "$EUID" -eq 0 ] || return 0
    while [ ! -d "$d" ] && [ "$d" != / ]; do
        d=$(dirname "$d")
    done
    while [ "$d" != / ]; do
        path=("$d" "${path[@]}")
        d=$(dirname "$d")
    done
    for i in "${path[@]}"; do
        for u in postgres www-data; do
            id -u "$u" >/dev/null 2>&1 || continue
            if ! (cd / && runuser -u "$u" -- test -x "$i") 2>/dev/null; then
                printf '%s\n' "$i"
                return 1
            fi
        done
    done
}

# stack_runtime_dir DIR KEY — DIR when the stack's servers can reach it,
# else a directory of our own under STACK_RUNTIME_BASE (/var/tmp) named
# after KEY (e.g. the checkout's path), so a checkout under /root or in a
# `mktemp -d` still runs, and the same checkout finds the same stack.
stack_runtime_dir() {
    local base=${STACK_RUNTIME_BASE:-/var/tmp} hash
    if _stack_traversable "$1" >/dev/null; then
        printf '%s\n' "$1"
        return 0
    fi
    hash=$(printf '%s' "$2" | sha256sum | cut -c1-12) || return 1
    printf '%s/support-%s\n' "$base" "$hash"
}

# Directories every part needs. DIR and run/ must be traversable by the
# nginx workers (www-data) and the cluster owner (postgres) when root.
_stack_dirs() {
    local bad
    mkdir -p "$STACK_RUN_DIR" "$STACK_LOG_DIR" "$STACK_NGINX_DIR/tmp" "$STACK_NGINX_DIR/cache" \
        "$STACK_ATTACHMENT_DIR" "$STACK_CLAMD_DIR" || return 1
    chmod 755 "$STACK_DIR" "$STACK_RUN_DIR" "$STACK_LOG_DIR" "$STACK_NGINX_DIR" \
        "$STACK_ATTACHMENT_DIR" || return 1
    if [ "$EUID" -eq 0 ]; then
        chown postgres:postgres "$STACK_RUN_DIR" || return 1
        # Checked once per process and stack: the check runs runuser for
        # each user and path component, and a restart of support-api starts
        # four parts that each come here (over a second with ASan under load).
        if [ "${_stack_traversable_ok:-}" != "$STACK_DIR" ]; then
            if ! bad=$(_stack_traversable "$STACK_DIR"); then
                _stack_say "$bad is not traversable by other users (postgres, www-data);"
                _stack_say "put the stack elsewhere (e.g. SUPPORT_VAR_DIR=/var/tmp/support)"
                return 1
            fi
            _stack_traversable_ok=$STACK_DIR
        fi
    fi
    _stack_save
}

# Is a non-zombie process with this pid alive?
_stack_pid_alive() {
    local pid=$1 line rest
    [ -n "$pid" ] || return 1
    { read -r line <"/proc/$pid/stat"; } 2>/dev/null || return 1
    rest=${line##*) }
    [ "${rest%% *}" != Z ]
}

# Is any non-zombie process left in process group $1?
_stack_group_alive() {
    local pgid=$1 f line rest
    local -a fields
    for f in /proc/[0-9]*/stat; do
        { read -r line <"$f"; } 2>/dev/null || continue
        rest=${line##*) }
        read -r -a fields <<<"$rest"
        if [ "${fields[2]}" = "$pgid" ] && [ "${fields[0]}" != Z ]; then
            return 0
        fi
    done
    return 1
}

_stack_read_pid() {
    local pid=
    [ -f "$1" ] && read -r pid <"$1" 2>/dev/null
    printf '%s\n' "$pid"
}

# _stack_spawn PIDFILE LOGFILE CMD... — start CMD as the leader of a new
# session (so stopping it reaches every child), detached from the caller,
# output appended to LOGFILE. A bash of its own waits for it and writes
# how it ended to PIDFILE.exit ("PID STATUS", STATUS 128+N: killed by
# signal N), for stack_status (QA: a SIGKILLed daemon "exited on its own").
_stack_spawn() {
    local pidfile=$1 log=$2 i
    shift 2
    rm -f "$pidfile" "$pidfile.exit"
    (
        # (setsid forks only when its caller leads a process group: the
        # command's pid is $!, and it leads the session.)
        # shellcheck disable=SC2016  # $! and $@ belong to the inner bash
        setsid bash -c 'setsid "$@" & echo $! >"$0"; wait $!; echo "$! $?" >"$0.exit"' \
            "$pidfile" "$@" </dev/null >>"$log" 2>&1 &
    )
    for i in $(seq 1 50); do
        [ -s "$pidfile" ] && return 0
        sleep 0.1
        : "$i"
    done
    _stack_say "could not start $1"
    return 1
}

# _stack_kill NAME PIDFILE — SIGTERM the process, wait for its whole process
# group to exit, SIGKILL the group after STACK_STOP_TIMEOUT seconds.
_stack_kill() {
    local name=$1 pidfile=$2 pid i limit
    pid=$(_stack_read_pid "$pidfile")
    if [ -z "$pid" ]; then
        return 0
    fi
    if _stack_group_alive "$pid"; then
        kill -TERM "$pid" 2>/dev/null
        limit=$(( ${STACK_STOP_TIMEOUT:-20} * 10 ))
        for ((i = 0; i < limit; i++)); do
            _stack_group_alive "$pid" || break
            sleep 0.1
        done
        if _stack_group_alive "$pid"; then
            _stack_say "$name did not stop in ${STACK_STOP_TIMEOUT:-20}s; killing"
            kill -KILL -- "-$pid" 2>/dev/null
            kill -KILL "$pid" 2>/dev/null
            for ((i = 0; i < 50; i++)); do
                _stack_group_alive "$pid" || break
                sleep 0.1
            done
        fi
    fi
    rm -f "$pidfile"
}

# _stack_wait_socket NAME PIDFILE SOCKET LOG — wait until SOCKET exists,
# failing early (with the log's tail) when the process dies.
_stack_wait_socket() {
    local name=$1 pidfile=$2 sock=$3 log=$4 pid i limit
    pid=$(_stack_read_pid "$pidfile")
    limit=$(( ${STACK_START_TIMEOUT:-60} * 10 ))
    for ((i = 0; i < limit; i++)); do
        if [ -S "$sock" ]; then
            return 0
        fi
        if ! _stack_pid_alive "$pid"; then
            _stack_say "$name exited during start-up; last lines of $log:"
            tail -n 30 "$log" >&2
            return 1
        fi
        sleep 0.1
    done
    _stack_say "$name did not create $sock in ${STACK_START_TIMEOUT:-60}s; last lines of $log:"
    tail -n 30 "$log" >&2
    return 1
}

# _stack_port_open PORT [ADDR] — does something accept on ADDR (127.0.0.1):PORT?
_stack_port_open() {
    (exec 3<>"/dev/tcp/${2:-127.0.0.1}/$1") 2>/dev/null
}

# ---------------------------------------------------------------- PostgreSQL

stack_pg_running() {
    [ -f "$STACK_PGDATA/PG_VERSION" ] &&
        _stack_pg_as "$STACK_PG_BIN/pg_ctl" status -D "$STACK_PGDATA" >/dev/null 2>&1
}

_stack_pg_conf() {
    local sockdir=${STACK_RUN_DIR//\'/\'\'}
    {
        echo "# written by scripts/lib/stack.sh at each start"
        echo "listen_addresses = '${STACK_PG_LISTEN:-}'"
        echo "port = ${STACK_PG_PORT:-5432}"
        echo "unix_socket_directories = '$sockdir'"
        # initdb --auth=trust (stack_pg_start): only the owner (and root)
        # may reach the socket, not every local user (QA).
        echo "unix_socket_permissions = 0700"
        echo "max_connections = 200"
        echo "shared_buffers = 128MB"
        echo "timezone = 'UTC'"
        echo "log_timezone = 'UTC'"
        echo "log_line_prefix = '%m [%p] %q%u@%d '"
        echo "log_min_duration_statement = 1000"
        if [ "${STACK_PG_FAST:-0}" = 1 ]; then
            echo "fsync = off"
            echo "synchronous_commit = off"
            echo "full_page_writes = off"
        fi
        # extra settings lines from the caller (bench: pg_stat_statements)
        [ -z "${STACK_PG_CONF_EXTRA:-}" ] || printf '%s\n' "$STACK_PG_CONF_EXTRA"
    } >"$STACK_PGDATA/stack.conf"
}

# stack_pg_start — initdb on first use, (re)write settings, start, createdb.
stack_pg_start() {
    local locale=C
    _stack_dirs || return 1
    if [ ! -f "$STACK_PGDATA/PG_VERSION" ]; then
        mkdir -p "$STACK_PG_DIR" || return 1
        chmod 700 "$STACK_PG_DIR"
        if [ "$EUID" -eq 0 ]; then
            chown postgres:postgres "$STACK_PG_DIR" || return 1
        fi
        if locale -a 2>/dev/null | grep -qix 'c\.utf-\?8'; then
            locale=C.UTF-8
        fi
        _stack_say "initdb $STACK_PGDATA"
        if ! _stack_pg_as "$STACK_PG_BIN/initdb" -D "$STACK_PGDATA" --auth=trust \
            -U support --encoding=UTF8 --locale="$locale" --no-instructions \
            >"$STACK_LOG_DIR/initdb.log" 2>&1; then
            _stack_say "initdb failed:"
            cat "$STACK_LOG_DIR/initdb.log" >&2
            return 1
        fi
        echo "include_if_exists = 'stack.conf'" >>"$STACK_PGDATA/postgresql.conf"
    fi
    if ! stack_pg_running; then
        _stack_pg_conf || return 1
        touch "$STACK_LOG_DIR/postgresql.log"
        if [ "$EUID" -eq 0 ]; then
            chown postgres:postgres "$STACK_PGDATA/stack.conf" "$STACK_LOG_DIR/postgresql.log"
        fi
        if ! _stack_pg_as "$STACK_PG_BIN/pg_ctl" start -D "$STACK_PGDATA" -w \
            -t "${STACK_START_TIMEOUT:-60}" -l "$STACK_LOG_DIR/postgresql.log" >/dev/null; then
            _stack_say "PostgreSQL did not start; last lines of postgresql.log:"
            tail -n 30 "$STACK_LOG_DIR/postgresql.log" >&2
            return 1
        fi
    fi
    if [ "$(stack_psql -d postgres -XtAc "SELECT 1 FROM pg_database WHERE datname = 'support'")" != 1 ]; then
        "$STACK_PG_BIN/createdb" -h "$STACK_RUN_DIR" -p "${STACK_PG_PORT:-5432}" -U support support || return 1
    fi
}

stack_pg_stop() {
    if stack_pg_running; then
        _stack_pg_as "$STACK_PG_BIN/pg_ctl" stop -D "$STACK_PGDATA" -m fast -w \
            -t "${STACK_STOP_TIMEOUT:-20}" >/dev/null ||
            _stack_pg_as "$STACK_PG_BIN/pg_ctl" stop -D "$STACK_PGDATA" -m immediate -w >/dev/null
    fi
}

# stack_psql [psql args] — psql as `support`; database `support` unless -d.
stack_psql() {
    "$STACK_PG_BIN/psql" -h "$STACK_RUN_DIR" -p "${STACK_PG_PORT:-5432}" -U support -d support "$@"
}

stack_migrate() {
    local dir=$STACK_MIGRATIONS_DIR
    if [ ! -x "$STACK_MIGRATE_BIN" ]; then
        _stack_say "$STACK_MIGRATE_BIN not built"
        return 1
    fi
    if ! env "${STACK_API_ENV[@]}" SUPPORT_DATABASE_URL="$STACK_DATABASE_URL" \
        SUPPORT_MIGRATIONS_DIR="$dir" "$STACK_MIGRATE_BIN" \
        </dev/null >>"$STACK_LOG_DIR/migrate.log" 2>&1; then
        _stack_say "support-migrate failed; last lines of migrate.log:"
        tail -n 30 "$STACK_LOG_DIR/migrate.log" >&2
        return 1
    fi
}

# --------------------------------------------------------------- support-api

stack_api_running() {
    _stack_pid_alive "$(_stack_read_pid "$STACK_API_PIDFILE")"
}

# The sockets are 0660: as root nginx's workers are www-data and reach
# them through the group; otherwise nginx runs as this user, who owns them.
# Sets the caller's array `group` (STACK_API_ENV, passed later, may override).
_stack_listen_group() {
    group=()
    [ "$EUID" -eq 0 ] && group=(SUPPORT_LISTEN_GROUP=www-data)
    return 0
}

stack_api_start() {
    local -a workers=() group=()
    _stack_dirs || return 1
    if stack_api_running; then
        return 0
    fi
    if [ ! -x "$STACK_API_BIN" ]; then
        _stack_say "$STACK_API_BIN not built"
        return 1
    fi
    [ -n "${STACK_API_WORKERS:-}" ] && workers=("SUPPORT_WORKERS=$STACK_API_WORKERS")
    _stack_listen_group
    rm -f "$STACK_API_SOCKET"
    _stack_spawn "$STACK_API_PIDFILE" "$STACK_LOG_DIR/support-api.log" \
        env "${workers[@]}" "${group[@]}" \
        SUPPORT_TEMPLATES_DIR="$STACK_SRC_DIR/templates" SUPPORT_COOKIE_INSECURE=1 \
        SUPPORT_WEBHOOK_ALLOW_LOOPBACK=1 \
        SUPPORT_ATTACHMENT_DIR="$STACK_ATTACHMENT_DIR" SUPPORT_CLAMD_SOCKET="$STACK_CLAMD_SOCKET" \
        SUPPORT_MIGRATIONS_DIR="$STACK_MIGRATIONS_DIR" \
        "${STACK_API_ENV[@]}" \
        SUPPORT_DATABASE_URL="$STACK_DATABASE_URL" \
        SUPPORT_LISTEN="$STACK_API_SOCKET" \
        SUPPORT_CHAT_PUBLISH_URL="$STACK_CHAT_PUBLISH_URL" \
        SUPPORT_CHAT_PUBLISH_SOCKET="$STACK_CHAT_PUBLISH_SOCKET" \
        "$STACK_API_BIN" || return 1
    _stack_wait_socket support-api "$STACK_API_PIDFILE" "$STACK_API_SOCKET" \
        "$STACK_LOG_DIR/support-api.log" || return 1
    # The chat worker runs next to the API whenever it is built, and so
    # do the attachment scanner and its clamd.
    if [ -x "$STACK_CHAT_BIN" ]; then
        stack_chat_start || return 1
    fi
    if [ -x "$STACK_SCAN_BIN" ]; then
        stack_clamd_start && stack_scan_start
    fi
}

stack_api_stop() {
    _stack_kill support-api "$STACK_API_PIDFILE"
    rm -f "$STACK_API_SOCKET"
}

# -------------------------------------------------------------- support-chat

stack_chat_running() {
    _stack_pid_alive "$(_stack_read_pid "$STACK_CHAT_PIDFILE")"
}

# stack_chat_start — the chat worker (same settings as support-api, its own
# socket held bound by its prefork master).
stack_chat_start() {
    local -a workers=() group=()
    if stack_chat_running; then
        return 0
    fi
    _stack_dirs || return 1
    if [ ! -x "$STACK_CHAT_BIN" ]; then
        _stack_say "$STACK_CHAT_BIN not built"
        return 1
    fi
    [ -n "${STACK_API_WORKERS:-}" ] && workers=("SUPPORT_WORKERS=$STACK_API_WORKERS")
    _stack_listen_group
    rm -f "$STACK_CHAT_SOCKET"
    _stack_spawn "$STACK_CHAT_PIDFILE" "$STACK_LOG_DIR/support-chat.log" \
        env "${workers[@]}" "${group[@]}" "${STACK_API_ENV[@]}" \
        SUPPORT_DATABASE_URL="$STACK_DATABASE_URL" \
        SUPPORT_LISTEN="$STACK_CHAT_SOCKET" \
        SUPPORT_CHAT_LISTEN="$STACK_CHAT_SOCKET" \
        SUPPORT_MIGRATIONS_DIR="$STACK_MIGRATIONS_DIR" \
        SUPPORT_TEMPLATES_DIR="$STACK_SRC_DIR/templates" SUPPORT_COOKIE_INSECURE=1 \
        SUPPORT_CHAT_PUBLISH_URL="$STACK_CHAT_PUBLISH_URL" \
        SUPPORT_CHAT_PUBLISH_SOCKET="$STACK_CHAT_PUBLISH_SOCKET" \
        "$STACK_CHAT_BIN" || return 1
    _stack_wait_socket support-chat "$STACK_CHAT_PIDFILE" "$STACK_CHAT_SOCKET" \
        "$STACK_LOG_DIR/support-chat.log"
}

stack_chat_stop() {
    _stack_kill support-chat "$STACK_CHAT_PIDFILE"
    rm -f "$STACK_CHAT_SOCKET"
}

# ------------------------------- SMTP and notification sinks + support-dispatch (dev stack)

# _stack_sink_start NAME PIDFILE PORTFILE SCRIPT DIR — one of the dev
# stack's sinks (a Python script of scripts/lib taking DIR and
# --ready-file): started on a free port, waited for until it wrote its
# port to PORTFILE; its output in log/NAME.log.
_stack_sink_start() {
    local name=$1 pidfile=$2 portfile=$3 script=$4 dir=$5 i py=/usr/bin/python3
    _stack_dirs || return 1
    _stack_pid_alive "$(_stack_read_pid "$pidfile")" && return 0
    [ -x "$py" ] || py=python3
    rm -f "$portfile"
    _stack_spawn "$pidfile" "$STACK_LOG_DIR/$name.log" \
        "$py" "$STACK_SRC_DIR/scripts/lib/$script" "$dir" --ready-file "$portfile" || return 1
    for ((i = 0; i < 100; i++)); do
        [ -s "$portfile" ] && return 0
        if ! _stack_pid_alive "$(_stack_read_pid "$pidfile")"; then
            _stack_say "the $name exited; last lines of $name.log:"
            tail -n 20 "$STACK_LOG_DIR/$name.log" >&2
            return 1
        fi
        sleep 0.1
    done
    _stack_say "the $name did not start"
    return 1
}

stack_smtp_running() {
    _stack_pid_alive "$(_stack_read_pid "$STACK_SMTP_PIDFILE")"
}

# stack_smtp_start — a local SMTP sink (scripts/lib/smtp_sink.py, Debian
# python3-aiosmtpd) on a free port, storing every mail in DIR/mail (a
# Maildir), so the mails support-dispatch sends can be read.
stack_smtp_start() {
    _stack_sink_start smtp-sink "$STACK_SMTP_PIDFILE" "$STACK_SMTP_PORTFILE" smtp_sink.py \
        "$STACK_MAIL_DIR"
}

stack_smtp_stop() {
    _stack_kill smtp-sink "$STACK_SMTP_PIDFILE"
    rm -f "$STACK_SMTP_PORTFILE"
}

stack_notify_running() {
    _stack_pid_alive "$(_stack_read_pid "$STACK_NOTIFY_PIDFILE")"
}

# stack_notify_start — the notification service of the dev stack
# (ARCHITECTURE.md: "dev logs to var/"): scripts/lib/notify_sink.py on a
# free port, answering 202 and writing each request support-dispatch
# POSTs (SMS, push, staff notifications) as a JSON file in DIR/notify.
stack_notify_start() {
    _stack_sink_start notify-sink "$STACK_NOTIFY_PIDFILE" "$STACK_NOTIFY_PORTFILE" \
        notify_sink.py "$STACK_NOTIFY_DIR"
}

stack_notify_stop() {
    _stack_kill notify-sink "$STACK_NOTIFY_PIDFILE"
    rm -f "$STACK_NOTIFY_PORTFILE"
}

# _stack_job_daemon PIDFILE BIN ARGS... — a job of cron/ as a daemon with the
# jobs' settings (stack_job_env), logging to log/<job>.log; not again while
# it runs.
_stack_job_daemon() {
    local pidfile=$1 bin=$2
    shift 2
    _stack_pid_alive "$(_stack_read_pid "$pidfile")" && return 0
    if [ ! -x "$bin" ]; then
        _stack_say "$bin not built"
        return 1
    fi
    stack_job_env
    _stack_spawn "$pidfile" "$STACK_LOG_DIR/${bin##*/}.log" env "${STACK_JOB_ENV[@]}" "$bin" "$@"
}

stack_dispatch_running() {
    _stack_pid_alive "$(_stack_read_pid "$STACK_DISPATCH_PIDFILE")"
}

# stack_dispatch_start — support-dispatch --loop, mailing through the sink
# (customers' mails, and staff notifications to staff@localhost), and
# posting SMS and push to the notification sink when it runs.
stack_dispatch_start() {
    stack_dispatch_running && return 0
    [ -s "$STACK_SMTP_PORTFILE" ] || { _stack_say "no SMTP sink running"; return 1; }
    _stack_job_daemon "$STACK_DISPATCH_PIDFILE" "$STACK_DISPATCH_BIN" --loop
}

stack_dispatch_stop() {
    _stack_kill support-dispatch "$STACK_DISPATCH_PIDFILE"
}

# ------------------------------------------------ clamd + support-scan

stack_clamd_running() {
    _stack_pid_alive "$(_stack_read_pid "$STACK_CLAMD_PIDFILE")"
}

# stack_clamd_start — a clamd of the stack's own on a unix socket, whose
# only signatures are the test database (STACK_CLAMD_DB): nothing is
# downloaded, and it starts in well under a second.
stack_clamd_start() {
    if stack_clamd_running; then
        return 0
    fi
    _stack_dirs || return 1
    if ! command -v clamd >/dev/null 2>&1; then
        _stack_say "clamd not found (apt-get install clamav-daemon)"
        return 1
    fi
    printf '%s\n' "# Rendered by scripts/lib/stack.sh: the stack's own clamd." \
        "LocalSocket $STACK_CLAMD_SOCKET" "LocalSocketMode 660" "Foreground yes" \
        "DatabaseDirectory $STACK_CLAMD_DB" "OfficialDatabaseOnly no" \
        "TemporaryDirectory $STACK_CLAMD_DIR" "LogFile $STACK_LOG_DIR/clamd.log" "LogTime yes" \
        "StreamMaxLength 26M" "MaxFileSize 26M" "MaxScanSize 100M" "SelfCheck 3600" \
        >"$STACK_CLAMD_DIR/clamd.conf" || return 1
    rm -f "$STACK_CLAMD_SOCKET"
    _stack_spawn "$STACK_CLAMD_PIDFILE" "$STACK_LOG_DIR/clamd.log" \
        clamd -c "$STACK_CLAMD_DIR/clamd.conf" || return 1
    _stack_wait_socket clamd "$STACK_CLAMD_PIDFILE" "$STACK_CLAMD_SOCKET" "$STACK_LOG_DIR/clamd.log"
}

stack_clamd_stop() {
    _stack_kill clamd "$STACK_CLAMD_PIDFILE"
    rm -f "$STACK_CLAMD_SOCKET"
}

stack_scan_running() {
    _stack_pid_alive "$(_stack_read_pid "$STACK_SCAN_PIDFILE")"
}

# stack_scan_start — support-scan as a daemon: woken by NOTIFY when a file
# is uploaded, every 2 s otherwise (the retry while clamd is down).
stack_scan_start() {
    _stack_dirs || return 1
    _stack_job_daemon "$STACK_SCAN_PIDFILE" "$STACK_SCAN_BIN" --loop --interval 2
}

# stack_job_env — STACK_JOB_ENV: the settings every job of cron/ runs with
# here (the API's, the database, templates, attachments, clamd, nginx's
# chat publisher, and the SMTP and notification sinks while they run), so
# the daemons above and `stack_job` agree. The publisher as support-api
# has it: chat-session-archive tells a chat's live clients it closed
# (QA: without it they were never told).
stack_job_env() {
    local port
    STACK_JOB_ENV=(SUPPORT_WEBHOOK_ALLOW_LOOPBACK=1 "${STACK_API_ENV[@]}"
        SUPPORT_DATABASE_URL="$STACK_DATABASE_URL"
        SUPPORT_TEMPLATES_DIR="$STACK_SRC_DIR/templates"
        SUPPORT_ATTACHMENT_DIR="$STACK_ATTACHMENT_DIR"
        SUPPORT_CLAMD_SOCKET="$STACK_CLAMD_SOCKET"
        SUPPORT_CHAT_PUBLISH_URL="$STACK_CHAT_PUBLISH_URL"
        SUPPORT_CHAT_PUBLISH_SOCKET="$STACK_CHAT_PUBLISH_SOCKET")
    if port=$(cat "$STACK_SMTP_PORTFILE" 2>/dev/null) && [ -n "$port" ]; then
        STACK_JOB_ENV+=(SUPPORT_SMTP_URL="smtp://127.0.0.1:$port"
            SUPPORT_STAFF_MAIL=staff@localhost)
    fi
    if port=$(cat "$STACK_NOTIFY_PORTFILE" 2>/dev/null) && [ -n "$port" ]; then
        STACK_JOB_ENV+=(SUPPORT_NOTIFY_URL="http://127.0.0.1:$port/notify")
    fi
}

# stack_job NAME [ARGS] — one program of cron/ in the foreground, with the
# stack's settings: one pass as cron runs it (--once), unless ARGS ask for
# --loop or --once themselves (QA: `job NAME --dry-run` replaced the
# --once and looped every minute). Its JSON log lines go to stderr, as
# under cron.
stack_job() {
    local name=$1 bin
    shift
    bin=$STACK_BIN_DIR/$name
    if [ ! -x "$bin" ] || [ ! -f "$STACK_SRC_DIR/cron/$name.c" ]; then
        _stack_say "no job '$name' built in $STACK_BIN_DIR (one of: $(stack_job_names))"
        return 2
    fi
    local a mode=
    for a in "$@"; do
        case $a in --once | --loop | --help | -h) mode=given ;; esac
    done
    [ -n "$mode" ] || set -- --once "$@"
    stack_job_env
    env "${STACK_JOB_ENV[@]}" "$bin" "$@" </dev/null
}

# stack_mail_in [ARGS] — support-mail-in with the stack's settings: the
# mail on standard input, as an MTA pipes it (docs/operations.md, Mail in).
stack_mail_in() {
    stack_job_env
    # The dev stack has no MTA to verify senders (docs/operations.md).
    env "${STACK_JOB_ENV[@]}" SUPPORT_MAIL_TRUST_FROM=1 "$STACK_BIN_DIR/support-mail-in" "$@"
}

# stack_job_names — the jobs of cron/, by name.
stack_job_names() {
    local f names=()
    for f in "${STACK_SRC_DIR:-$_STACK_LIB_DIR/../..}"/cron/*.c; do
        f=${f##*/}
        names+=("${f%.c}")
    done
    echo "${names[*]}"
}

stack_scan_stop() {
    _stack_kill support-scan "$STACK_SCAN_PIDFILE"
}

# ------------------------------------------ knowledge-embedding-sync --loop

stack_kbsync_running() {
    _stack_pid_alive "$(_stack_read_pid "$STACK_KBSYNC_PIDFILE")"
}

# stack_kbsync_start — knowledge-embedding-sync as the daemon production runs
# (knowledge-embedding-sync-loop.service): woken by NOTIFY when an admin saves
# a published article, so the assistant answers from an edit within seconds
# (retrieval leaves an edited article out until its chunks are of its
# current version: docs/API.md §9 "Edits"); a full pass every 10 minutes.
stack_kbsync_start() {
    _stack_job_daemon "$STACK_KBSYNC_PIDFILE" "$STACK_KBSYNC_BIN" --loop --interval 600
}

stack_kbsync_stop() {
    _stack_kill knowledge-embedding-sync "$STACK_KBSYNC_PIDFILE"
}

# ---------------------------------------------- hello-fcgi (bench baseline)

stack_hello_running() {
    _stack_pid_alive "$(_stack_read_pid "$STACK_HELLO_PIDFILE")"
}

stack_hello_start() {
    _stack_dirs || return 1
    if stack_hello_running; then
        return 0
    fi
    if [ ! -x "$STACK_HELLO_BIN" ]; then
        _stack_say "$STACK_HELLO_BIN not built"
        return 1
    fi
    rm -f "$STACK_HELLO_SOCKET"
    _stack_spawn "$STACK_HELLO_PIDFILE" "$STACK_LOG_DIR/hello-fcgi.log" \
        env HELLO_LISTEN="$STACK_HELLO_SOCKET" HELLO_WORKERS="$STACK_HELLO_WORKERS" \
        "$STACK_HELLO_BIN" || return 1
    _stack_wait_socket hello-fcgi "$STACK_HELLO_PIDFILE" "$STACK_HELLO_SOCKET" \
        "$STACK_LOG_DIR/hello-fcgi.log"
}

stack_hello_stop() {
    _stack_kill hello-fcgi "$STACK_HELLO_PIDFILE"
    rm -f "$STACK_HELLO_SOCKET"
}

# --------------------------------------------------------------------- nginx

stack_nginx_running() {
    _stack_pid_alive "$(_stack_read_pid "$STACK_NGINX_PIDFILE")"
}

# Render nginx/chat.conf.in and internal.conf.in into DIR/nginx/, and
# DIR/site/chat-store.conf: nchan's store, the file a site owns in
# production (/etc/support/nginx/chat-store.conf, docs/operations.md "Two
# nodes"), which the snippets include by glob. Written from
# STACK_NCHAN_REDIS_URL (Redis) or removed (nchan's memory), so the dev
# stacks and the cluster take the store the way production does.
_stack_chat_render() {
    local site=$STACK_DIR/site
    mkdir -p "$site" && chmod 755 "$site" || return 1
    if [ -n "${STACK_NCHAN_REDIS_URL:-}" ]; then
        case $STACK_NCHAN_REDIS_URL in
        *[\"\;\ ]*) _stack_say "SUPPORT_NCHAN_REDIS_URL has unsafe characters"; return 1 ;;
        esac
        printf '%s\n' "# Written by scripts/lib/stack.sh from STACK_NCHAN_REDIS_URL." \
            "nchan_use_redis on;" "nchan_redis_url \"$STACK_NCHAN_REDIS_URL\";" \
            >"$site/chat-store.conf" || return 1
    else
        rm -f "$site/chat-store.conf"
    fi
    _stack_render_to "$STACK_SRC_DIR/nginx/chat.conf.in" "$STACK_NGINX_DIR/chat.conf" &&
        _stack_render_to "$STACK_SRC_DIR/nginx/internal.conf.in" "$STACK_NGINX_DIR/internal.conf"
}

# _stack_render_to TEMPLATE OUT [EXTRA] — the snippets' placeholders
# (nginx/*.conf.in but support.conf.in; make install renders the same
# templates with production paths, Makefile.am).
_stack_render_to() {
    local tpl
    tpl=$(<"$1") || return 1
    # Quoted replacements: literal even with bash 5.2's patsub_replacement.
    tpl=${tpl//@CHAT_SOCKET@/"$STACK_CHAT_SOCKET"}
    tpl=${tpl//@INTERNAL_SOCKET@/"$STACK_INTERNAL_SOCKET"}
    tpl=${tpl//@NGINX_DIR@/"$STACK_NGINX_DIR"}
    tpl=${tpl//@LOG_DIR@/"$STACK_LOG_DIR"}
    tpl=${tpl//@HELLO_SOCKET@/"$STACK_HELLO_SOCKET"}
    tpl=${tpl//@CHAT_CONN_PER_IP@/"$STACK_NGINX_CHAT_CONN"}
    tpl=${tpl//@CHAT_STORE_CONF@/"$STACK_DIR/site/chat-store*.conf"}
    tpl=${tpl//@API_SOCKET@/"$STACK_API_SOCKET"}
    tpl=${tpl//@ATTACHMENT_DIR@/"$STACK_ATTACHMENT_DIR"}
    tpl=${tpl//@UPLOAD_TEMP_DIR@/"$STACK_NGINX_DIR/tmp/body"}
    tpl=${tpl//@STATIC_DIR@/"$STACK_NGINX_DIR/static"}
    tpl=${tpl//@KB_CACHE_DIR@/"$STACK_NGINX_DIR/cache/kb"}
    tpl=${tpl//@RATE@/"$STACK_NGINX_RATE"}
    tpl=${tpl//@BURST@/"$STACK_NGINX_BURST"}
    tpl=${tpl//@KB_CACHE@/"$STACK_NGINX_KB_CACHE"}
    tpl=${tpl//@EXTRA_LOCATIONS@/"${3:-}"}
    if [[ $tpl =~ @[A-Z_]+@ ]]; then
        _stack_say "unrendered placeholder ${BASH_REMATCH[0]} in $1"
        return 1
    fi
    printf '%s\n' "$tpl" >"$2"
}

# Render nginx/support.conf.in into DIR/nginx/nginx.conf, with its snippets
# (http.conf, operators.conf, public.conf, chat.conf, internal.conf).
stack_nginx_render() {
    local tpl user="" extra="" f
    _stack_dirs || return 1
    _stack_chat_render || return 1
    if [ "${STACK_NGINX_BENCH:-0}" = 1 ]; then
        _stack_render_to "$STACK_SRC_DIR/bench/nginx-locations.conf.in" \
            "$STACK_NGINX_DIR/bench.conf" || return 1
        extra="include $STACK_NGINX_DIR/bench.conf;"
    fi
    for f in http operators public problems; do
        _stack_render_to "$STACK_SRC_DIR/nginx/$f.conf.in" "$STACK_NGINX_DIR/$f.conf" "$extra" ||
            return 1
    done
    tpl=$(<"$STACK_SRC_DIR/nginx/support.conf.in") || return 1
    cp "$STACK_SRC_DIR/nginx/fastcgi_params" "$STACK_SRC_DIR/nginx/security_headers.conf" \
        "$STACK_NGINX_DIR/" || return 1
    rm -rf "$STACK_NGINX_DIR/static" && cp -r "$STACK_SRC_DIR/templates/static" \
        "$STACK_NGINX_DIR/static" && chmod -R a+rX "$STACK_NGINX_DIR/static" || return 1
    [ "$EUID" -eq 0 ] && user="user www-data;"
    # Quoted replacements: literal even with bash 5.2's patsub_replacement.
    tpl=${tpl//@USER_DIRECTIVE@/"$user"}
    tpl=${tpl//@WORKER_PROCESSES@/"$STACK_NGINX_WORKERS"}
    tpl=${tpl//@NGINX_DIR@/"$STACK_NGINX_DIR"}
    tpl=${tpl//@LOG_DIR@/"$STACK_LOG_DIR"}
    tpl=${tpl//@LISTEN_ADDR@/"$STACK_LISTEN_ADDR"}
    tpl=${tpl//@PORT@/"$STACK_PORT"}
    tpl=${tpl//@METRICS_PORT@/"$STACK_METRICS_PORT"}
    if [[ $tpl =~ @[A-Z_]+@ ]]; then
        _stack_say "unrendered placeholder ${BASH_REMATCH[0]} in nginx/support.conf.in"
        return 1
    fi
    printf '%s\n' "$tpl" >"$STACK_NGINX_DIR/nginx.conf"
}

# stack_nginx_test — render and check the configuration (nginx -t).
stack_nginx_test() {
    local out
    stack_nginx_render || return 1
    if ! out=$(nginx -t -p "$STACK_NGINX_DIR/" -c "$STACK_NGINX_DIR/nginx.conf" 2>&1); then
        printf '%s\n' "$out" >&2
        return 1
    fi
}

# stack_ports_free — whether nginx's ports are free (each one taken said):
# asked before anything starts as well as by nginx's start.
stack_ports_free() {
    if _stack_port_open "$STACK_PORT" "$STACK_LISTEN_ADDR"; then
        _stack_say "port $STACK_LISTEN_ADDR:$STACK_PORT is already in use"
        return 1
    fi
    if _stack_port_open "$STACK_METRICS_PORT"; then
        _stack_say "metrics port $STACK_METRICS_PORT is already in use (set STACK_METRICS_PORT)"
        return 1
    fi
}

stack_nginx_start() {
    local i limit
    if stack_nginx_running; then
        return 0
    fi
    stack_nginx_render || return 1
    stack_ports_free || return 1
    _stack_internal_dir || return 1
    if ! nginx -p "$STACK_NGINX_DIR/" -c "$STACK_NGINX_DIR/nginx.conf" \
        </dev/null >>"$STACK_LOG_DIR/nginx-error.log" 2>&1; then
        _stack_say "nginx did not start; last lines of nginx-error.log:"
        tail -n 20 "$STACK_LOG_DIR/nginx-error.log" >&2
        return 1
    fi
    limit=$(( ${STACK_START_TIMEOUT:-60} * 10 ))
    for ((i = 0; i < limit; i++)); do
        if _stack_port_open "$STACK_PORT" "$STACK_LISTEN_ADDR" && [ -S "$STACK_INTERNAL_SOCKET" ]; then
            _stack_internal_socket_mode
            return 0
        fi
        sleep 0.1
    done
    _stack_say "nginx does not answer on port $STACK_PORT"
    tail -n 20 "$STACK_LOG_DIR/nginx-error.log" >&2
    return 1
}

# The group shared by nginx's workers (they connect to the internal socket
# for the chat hooks) and the FastCGI workers and jobs (they publish).
_stack_internal_group() {
    if [ "$EUID" -eq 0 ]; then
        echo www-data
    else
        id -gn
    fi
}

# The internal server's directory: 0750, group as above; no stale socket
# (nginx does not replace one left by a killed master).
_stack_internal_dir() {
    mkdir -p "$STACK_INTERNAL_DIR" || return 1
    chgrp "$(_stack_internal_group)" "$STACK_INTERNAL_DIR" && chmod 750 "$STACK_INTERNAL_DIR" || return 1
    rm -f "$STACK_INTERNAL_SOCKET"
}

# nginx creates unix sockets 0666: narrow it to 0660 and the shared group.
_stack_internal_socket_mode() {
    chgrp "$(_stack_internal_group)" "$STACK_INTERNAL_SOCKET" &&
        chmod 660 "$STACK_INTERNAL_SOCKET"
}

stack_nginx_stop() {
    _stack_kill nginx "$STACK_NGINX_PIDFILE"
}

# stack_nginx_reload — render the configuration again and `nginx -s reload`
# (graceful: new workers take new connections, the old ones finish their
# requests; websocket/EventSource subscribers are closed, and the memory
# store of nchan is emptied — docs/chat-transport.md §1.6). Returns once the
# signal is sent.
stack_nginx_reload() {
    local out
    if ! stack_nginx_running; then
        _stack_say "nginx is not running"
        return 1
    fi
    stack_nginx_render || return 1
    if ! out=$(nginx -p "$STACK_NGINX_DIR/" -c "$STACK_NGINX_DIR/nginx.conf" -s reload </dev/null 2>&1); then
        printf '%s\n' "$out" >&2
        return 1
    fi
}

# ---------------------------------------------------------------- together

stack_stop_all() {
    local rc=0
    stack_nginx_stop || rc=1
    stack_dispatch_stop || rc=1
    stack_smtp_stop || rc=1
    stack_notify_stop || rc=1
    stack_scan_stop || rc=1
    stack_kbsync_stop || rc=1
    stack_clamd_stop || rc=1
    stack_chat_stop || rc=1
    stack_api_stop || rc=1
    stack_hello_stop || rc=1
    stack_pg_stop || rc=1
    return $rc
}

# _stack_ended PIDFILE PID — how the process PID of PIDFILE ended, as
# the bash that waited for it wrote (_stack_spawn): "killed by SIGKILL",
# "exited with status 1"; a process that forks itself away (nginx, the
# PostgreSQL server) has no such record.
_stack_ended() {
    local wpid='' st=''
    { read -r wpid st <"$1.exit"; } 2>/dev/null
    if [ "$wpid" != "$2" ] || [ -z "$st" ]; then
        echo "is gone"
    elif [ "$st" -gt 128 ]; then
        echo "was killed by SIG$(kill -l "$((st - 128))")"
    else
        echo "exited with status $st"
    fi
}

# _stack_status_line NAME PIDFILE DETAIL — "running  pid N  DETAIL", or
# stopped: by `down` (no pid file) or how it ended (its pid file outlived
# it), and where its logs are (STACK_LOGS_HINT: the cluster's nodes are
# no dev stack, QA: `scripts/dev logs` answered "no dev stack" for them).
# 1 unless it runs.
_stack_status_line() {
    local name=$1 pidfile=$2 detail=$3 pid
    pid=$(_stack_read_pid "$pidfile")
    if _stack_pid_alive "$pid"; then
        printf '%-12s running  pid %s  %s\n' "$name" "$pid" "$detail"
        return 0
    fi
    if [ -n "$pid" ]; then
        printf '%-12s stopped  (pid %s %s: %s)\n' "$name" "$pid" \
            "$(_stack_ended "$pidfile" "$pid")" "${STACK_LOGS_HINT:-scripts/dev logs}"
    else
        printf '%-12s stopped\n' "$name"
    fi
    return 1
}

# _stack_status_part NAME PIDFILE DETAIL — the line of a part started on
# demand (the sinks, the job daemons, the bench's hello worker): as
# _stack_status_line, but a part this stack never started prints nothing
# (and is no failure).
_stack_status_part() {
    [ -n "$(_stack_read_pid "$2")" ] || return 0
    _stack_status_line "$@"
}

# stack_status — one line per part; returns 0 when pg, api and nginx run
# and no part started on demand has exited.
stack_status() {
    local rc=0
    printf '%-12s %s\n' stack "$STACK_DIR"
    if [ -n "${STACK_EXTERNAL_DB_URL:-}" ]; then
        # Not this stack's to run (a cluster node: the cluster's primary).
        printf '%-12s external %s\n' postgresql "$STACK_DATABASE_URL"
    elif stack_pg_running; then
        printf '%-12s running  %s\n' postgresql "$STACK_DATABASE_URL"
    else
        printf '%-12s stopped\n' postgresql
        rc=1
    fi
    _stack_status_line support-api "$STACK_API_PIDFILE" "$STACK_API_SOCKET" || rc=1
    _stack_status_line support-chat "$STACK_CHAT_PIDFILE" "$STACK_CHAT_SOCKET"
    _stack_status_part support-dispatch "$STACK_DISPATCH_PIDFILE" "mail in $STACK_MAIL_DIR" || rc=1
    _stack_status_part notify-sink "$STACK_NOTIFY_PIDFILE" "requests in $STACK_NOTIFY_DIR" || rc=1
    _stack_status_part clamd "$STACK_CLAMD_PIDFILE" "$STACK_CLAMD_SOCKET" || rc=1
    _stack_status_part support-scan "$STACK_SCAN_PIDFILE" "" || rc=1
    _stack_status_part kb-sync "$STACK_KBSYNC_PIDFILE" "" || rc=1
    _stack_status_part hello-fcgi "$STACK_HELLO_PIDFILE" "$STACK_HELLO_SOCKET" || rc=1
    if _stack_status_line nginx "$STACK_NGINX_PIDFILE" "$STACK_BASE_URL/support/healthz"; then
        printf '%-12s %s\n' metrics "$STACK_METRICS_URL"
        printf '%-12s %s\n' chat-metrics "${STACK_METRICS_URL%/metrics}/chat/metrics"
    else
        rc=1
    fi
    return $rc
}

# The demo data (scripts/dev up, stackctl demo).
# shellcheck source=scripts/lib/demo.sh
. "$_STACK_LIB_DIR/demo.sh"
