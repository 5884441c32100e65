# shellcheck shell=bash
#
# cluster.sh — two application nodes on one machine (docs/operations.md,
# "Two nodes"): each node is a stack of scripts/lib/stack.sh (nginx + nchan,
# support-api, support-chat) without a database of its own; they share
#   - a PostgreSQL primary (a stack that runs only PostgreSQL, on TCP),
#   - a streaming replica of it (pg_basebackup -R), which the nodes' read-
#     mostly endpoints use (SUPPORT_DATABASE_READ_URL),
#   - one Redis (Debian redis-server), nchan's store
#     (SUPPORT_NCHAN_REDIS_URL), so a channel spans both nginx.
# Each node runs in a network namespace of its own, joined to the host by a
# veth pair on a private bridge (10.213.N.0/24: host .1, node a .2, node b
# .3); where namespaces cannot be made (no CAP_NET_ADMIN, a container
# without them) the nodes fall back to loopback addresses 127.0.0.2 and
# 127.0.0.3 in the host's namespace, and `up` says so.
# SUPPORT_CLUSTER_NET=loopback forces the fallback.
#
# Sourced by scripts/dev (cluster up|test|down) and scripts/lib/clusterctl.
#   source scripts/lib/stack.sh; source scripts/lib/cluster.sh
#   CLUSTER_BIN_DIR=build/asan
#   cluster_up /tmp/cl && ... && cluster_down /tmp/cl
#
# Layout of a cluster directory:
#   cluster.env        what cluster_up chose (network, addresses, ports)
#   secrets/           JWT, PII and attachment keys shared by both nodes
#   primary/, replica/ stacks running only PostgreSQL
#   node-a/, node-b/   the application stacks
#   attachments/       the attachment storage both nodes use (production: a
#                      shared file system at one path on every node, or a
#                      bucket; QA: a directory per node lost uploads)
#   redis/             redis.pid, redis.log
# Needs root (namespaces, and the stacks run their servers as postgres and
# www-data).

_CLUSTER_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

_cluster_say() { printf 'cluster: %s\n' "$*" >&2; }

# ------------------------------------------------------------------ network

# A /24 under 10.213.0.0/16 that no interface of this machine uses.
_cluster_free_subnet() {
    local n used
    used=$(ip -o -4 addr show 2>/dev/null)
    for n in $(shuf -i 1-254 2>/dev/null || seq 1 254); do
        if ! grep -q "inet 10\.213\.$n\." <<<"$used"; then
            printf '%s\n' "$n"
            return 0
        fi
    done
    return 1
}

# _cluster_netns_up ID — bridge sp<ID>br, namespaces sp<ID>a / sp<ID>b with
# eth0 on it. Sets CLUSTER_HOST_ADDR and CLUSTER_ADDR_A/B. Undoes what it
# made when a step fails.
_cluster_netns_up() {
    local id=$1 n br ns x
    n=$(_cluster_free_subnet) || return 1
    br=sp${id}br
    ip link add "$br" type bridge 2>/dev/null || return 1
    CLUSTER_BRIDGE=$br
    ip addr add "10.213.$n.1/24" dev "$br" && ip link set "$br" up || return 1
    for x in a b; do
        ns=sp$id$x
        ip netns add "$ns" 2>/dev/null || return 1
        if [ "$x" = a ]; then CLUSTER_NS_A=$ns; else CLUSTER_NS_B=$ns; fi
        ip link add "$ns" type veth peer name eth0 netns "$ns" &&
            ip link set "$ns" master "$br" up &&
            ip -n "$ns" link set lo up &&
            ip -n "$ns" addr add "10.213.$n.$([ $x = a ] && echo 2 || echo 3)/24" dev eth0 &&
            ip -n "$ns" link set eth0 up || return 1
    done
    CLUSTER_HOST_ADDR=10.213.$n.1
    CLUSTER_ADDR_A=10.213.$n.2
    CLUSTER_ADDR_B=10.213.$n.3
    CLUSTER_SUBNET=10.213.$n.0/24
}

_cluster_net_down() {
    [ -n "${CLUSTER_NS_A:-}" ] && ip netns del "$CLUSTER_NS_A" 2>/dev/null
    [ -n "${CLUSTER_NS_B:-}" ] && ip netns del "$CLUSTER_NS_B" 2>/dev/null
    [ -n "${CLUSTER_BRIDGE:-}" ] && ip link del "$CLUSTER_BRIDGE" 2>/dev/null
    return 0
}

# Loopback fallback: Linux routes all of 127.0.0.0/8 to lo, so 127.0.0.2
# and 127.0.0.3 need no setup.
_cluster_loopback() {
    CLUSTER_NET=loopback CLUSTER_NS_A='' CLUSTER_NS_B='' CLUSTER_BRIDGE=''
    CLUSTER_HOST_ADDR=127.0.0.1 CLUSTER_ADDR_A=127.0.0.2 CLUSTER_ADDR_B=127.0.0.3
    CLUSTER_SUBNET=127.0.0.0/8
}

cluster_net_up() {
    local id
    id=$(od -An -tx1 -N2 /dev/urandom | tr -d ' \n')
    CLUSTER_NS_A='' CLUSTER_NS_B='' CLUSTER_BRIDGE=''
    if [ "${SUPPORT_CLUSTER_NET:-}" = loopback ]; then
        _cluster_loopback
        _cluster_say "network: loopback addresses 127.0.0.2 / 127.0.0.3 (SUPPORT_CLUSTER_NET=loopback)"
    elif [ "$(id -u)" -eq 0 ] && command -v ip >/dev/null 2>&1 && _cluster_netns_up "$id"; then
        CLUSTER_NET=netns
        _cluster_say "network: namespaces $CLUSTER_NS_A ($CLUSTER_ADDR_A), $CLUSTER_NS_B ($CLUSTER_ADDR_B), bridge $CLUSTER_BRIDGE ($CLUSTER_HOST_ADDR)"
    else
        _cluster_net_down
        _cluster_loopback
        _cluster_say "network: namespaces unavailable here (ip netns/bridge failed); FALLBACK to loopback addresses 127.0.0.2 / 127.0.0.3"
    fi
}

# cluster_node_exec a|b CMD... — CMD in the node's namespace (or here).
cluster_node_exec() {
    local ns
    if [ "$1" = a ]; then ns=${CLUSTER_NS_A:-}; else ns=${CLUSTER_NS_B:-}; fi
    shift
    if [ -n "$ns" ]; then
        ip netns exec "$ns" "$@"
    else
        "$@"
    fi
}

# -------------------------------------------------------------------- state

_cluster_save() {
    (
        umask 077
        declare -p CLUSTER_NET CLUSTER_NS_A CLUSTER_NS_B CLUSTER_BRIDGE CLUSTER_HOST_ADDR \
            CLUSTER_ADDR_A CLUSTER_ADDR_B CLUSTER_SUBNET CLUSTER_PORT CLUSTER_METRICS_PORT_A \
            CLUSTER_METRICS_PORT_B CLUSTER_PG_PORT CLUSTER_REPLICA_PORT CLUSTER_REDIS_PORT \
            CLUSTER_BIN_DIR CLUSTER_SRC_DIR |
            sed 's/^declare -\([a-zA-Z-]*\) /declare -g\1 /; s/^declare -g- /declare -g /' \
                >"$CLUSTER_DIR/cluster.env.tmp"
    ) && mv -f "$CLUSTER_DIR/cluster.env.tmp" "$CLUSTER_DIR/cluster.env"
}

# cluster_load DIR — what cluster_up saved.
cluster_load() {
    CLUSTER_DIR=$(cd "$1" 2>/dev/null && pwd) || { _cluster_say "no cluster in $1"; return 1; }
    [ -f "$CLUSTER_DIR/cluster.env" ] || { _cluster_say "no cluster in $CLUSTER_DIR"; return 1; }
    # shellcheck disable=SC1091
    . "$CLUSTER_DIR/cluster.env"
    _cluster_derive
}

_cluster_derive() {
    CLUSTER_DB_URL="host=$CLUSTER_HOST_ADDR port=$CLUSTER_PG_PORT dbname=support user=support connect_timeout=3"
    CLUSTER_READ_URL="host=$CLUSTER_HOST_ADDR port=$CLUSTER_REPLICA_PORT dbname=support user=support connect_timeout=2"
    CLUSTER_REDIS_URL="redis://$CLUSTER_HOST_ADDR:$CLUSTER_REDIS_PORT"
    CLUSTER_URL_A="http://$CLUSTER_ADDR_A:$CLUSTER_PORT"
    CLUSTER_URL_B="http://$CLUSTER_ADDR_B:$CLUSTER_PORT"
    CLUSTER_REDIS_PIDFILE=$CLUSTER_DIR/redis/redis.pid
}

# ------------------------------------------------------------------- secrets

_cluster_secret() {
    local f=$CLUSTER_DIR/secrets/$1
    if [ ! -s "$f" ]; then
        (umask 077 && printf '%s\n' "$2" >"$f") || return 1
    fi
    printf '%s\n' "$f"
}

_cluster_hex() { od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'; }

# The settings both nodes share (STACK_API_ENV of each node's stack).
_cluster_api_env() {
    local jwt enc att
    mkdir -p "$CLUSTER_DIR/secrets" && chmod 700 "$CLUSTER_DIR/secrets" || return 1
    jwt=$(_cluster_secret jwt_keys "cluster:$(_cluster_hex 32)") || return 1
    enc=$(_cluster_secret encryption_keys "v1:$(head -c 32 /dev/urandom | base64 | tr -d '\n')") || return 1
    att=$(_cluster_secret attachment_keys "c1:$(_cluster_hex 32)") || return 1
    CLUSTER_API_ENV=(
        "SUPPORT_JWT_KEYS_FILE=$jwt"
        "SUPPORT_ENCRYPTION_KEYS_FILE=$enc"
        "SUPPORT_ATTACHMENT_KEYS_FILE=$att"
        "SUPPORT_DATABASE_READ_URL=$CLUSTER_READ_URL"
        "SUPPORT_DASHBOARD_CACHE_MS=0"
        # ASan builds (the cluster test): report, never abort; LeakSanitizer
        # reports at exit (scripts/dev scans the logs after down).
        "ASAN_OPTIONS=detect_leaks=1:abort_on_error=0"
    )
}

# ---------------------------------------------------------------- PostgreSQL

# _cluster_pg NAME PORT FN... — stack_init of CLUSTER_DIR/NAME (PostgreSQL
# on the host address, PORT) in a subshell, then FN there.
_cluster_pg() {
    local name=$1 port=$2
    shift 2
    # shellcheck disable=SC2034  # settings read by stack_init
    (
        STACK_SRC_DIR=$CLUSTER_SRC_DIR STACK_BIN_DIR=$CLUSTER_BIN_DIR STACK_PG_FAST=1
        STACK_PG_LISTEN=$CLUSTER_HOST_ADDR STACK_PG_PORT=$port
        STACK_METRICS_PORT=0
        stack_init "$CLUSTER_DIR/$name" 0 && "$@"
    )
}

# Lets the nodes in over TCP (trust: a private subnet of this machine, a
# throw-away cluster; production uses scram-sha-256 and TLS).
_cluster_pg_hba() {
    local hba=$STACK_PGDATA/pg_hba.conf
    grep -q "# cluster nodes" "$hba" && return 0
    printf '%s\n' "host all all $CLUSTER_SUBNET trust # cluster nodes" \
        "host replication all $CLUSTER_SUBNET trust # cluster nodes" >>"$hba" || return 1
    _stack_pg_as "$STACK_PG_BIN/pg_ctl" reload -D "$STACK_PGDATA" >/dev/null
}

_cluster_primary_up() {
    stack_pg_start && _cluster_pg_hba && stack_migrate
}

# The replica: pg_basebackup -R from the primary's unix socket (streams WAL
# while it copies; -R writes standby.signal and primary_conninfo), then the
# stack's own settings (socket directory, port) and start.
_cluster_replica_up() {
    local primary_run=$CLUSTER_DIR/primary/run
    _stack_dirs || return 1
    if [ ! -f "$STACK_PGDATA/PG_VERSION" ]; then
        mkdir -p "$STACK_PG_DIR" && chmod 700 "$STACK_PG_DIR" || return 1
        [ "$(id -u)" -eq 0 ] && { chown postgres:postgres "$STACK_PG_DIR" || return 1; }
        if ! _stack_pg_as "$STACK_PG_BIN/pg_basebackup" -h "$primary_run" -p "$CLUSTER_PG_PORT" \
            -U support -D "$STACK_PGDATA" -R -X stream -c fast \
            >"$STACK_LOG_DIR/basebackup.log" 2>&1; then
            _cluster_say "pg_basebackup failed:"
            cat "$STACK_LOG_DIR/basebackup.log" >&2
            return 1
        fi
    fi
    stack_pg_start
}

# --------------------------------------------------------------------- Redis

_cluster_redis_up() {
    local i
    mkdir -p "$CLUSTER_DIR/redis" || return 1
    if ! command -v redis-server >/dev/null 2>&1; then
        _cluster_say "redis-server not found (apt-get install redis-server)"
        return 1
    fi
    _stack_pid_alive "$(_stack_read_pid "$CLUSTER_REDIS_PIDFILE")" && return 0
    # No persistence: nchan's buffers are a fast path (the history is in
    # PostgreSQL), as in docs/operations.md.
    _stack_spawn "$CLUSTER_REDIS_PIDFILE" "$CLUSTER_DIR/redis/redis.log" \
        redis-server --bind "$CLUSTER_HOST_ADDR" --port "$CLUSTER_REDIS_PORT" \
        --protected-mode no --save '' --appendonly no --dir "$CLUSTER_DIR/redis" || return 1
    for ((i = 0; i < 100; i++)); do
        _stack_port_open "$CLUSTER_REDIS_PORT" "$CLUSTER_HOST_ADDR" && return 0
        sleep 0.1
    done
    _cluster_say "redis-server did not start:"
    tail -n 20 "$CLUSTER_DIR/redis/redis.log" >&2
    return 1
}

# --------------------------------------------------------------------- nodes

# _cluster_node_init a|b — the node's stack.env (no PostgreSQL of its own).
_cluster_node_init() {
    local x=$1 addr mport
    if [ "$x" = a ]; then addr=$CLUSTER_ADDR_A mport=$CLUSTER_METRICS_PORT_A; else
        addr=$CLUSTER_ADDR_B mport=$CLUSTER_METRICS_PORT_B; fi
    # shellcheck disable=SC2034  # settings read by stack_init
    (
        STACK_SRC_DIR=$CLUSTER_SRC_DIR STACK_BIN_DIR=$CLUSTER_BIN_DIR
        STACK_LISTEN_ADDR=$addr STACK_METRICS_PORT=$mport
        STACK_EXTERNAL_DB_URL=$CLUSTER_DB_URL STACK_NCHAN_REDIS_URL=$CLUSTER_REDIS_URL
        STACK_SHARED_ATTACHMENT_DIR=$CLUSTER_DIR/attachments
        STACK_API_WORKERS=${CLUSTER_WORKERS:-2} STACK_NGINX_WORKERS=1
        STACK_API_ENV=("${CLUSTER_API_ENV[@]}")
        stack_init "$CLUSTER_DIR/node-$x" "$CLUSTER_PORT" && _stack_dirs
    )
}

# cluster_node_start a|b — support-api, support-chat and nginx in the node's
# namespace (stackctl there: every process it spawns stays in it).
cluster_node_start() {
    local ctl=$_CLUSTER_LIB_DIR/stackctl dir=$CLUSTER_DIR/node-$1
    cluster_node_exec "$1" "$ctl" "$dir" start-api &&
        cluster_node_exec "$1" "$ctl" "$dir" start-nginx
}

cluster_node_stop() {
    "$_CLUSTER_LIB_DIR/stackctl" "$CLUSTER_DIR/node-$1" stop-all >/dev/null 2>&1
}

# cluster_node_kill a|b — the node dies: SIGKILL to nginx, support-api and
# support-chat (whole process groups), no drain, no goodbye to clients.
cluster_node_kill() {
    local dir=$CLUSTER_DIR/node-$1 f pid
    for f in nginx/nginx.pid run/support-api.pid run/support-chat.pid; do
        pid=$(_stack_read_pid "$dir/$f")
        [ -n "$pid" ] || continue
        kill -KILL -- "-$pid" 2>/dev/null
        kill -KILL "$pid" 2>/dev/null
    done
    return 0
}

# ------------------------------------------------------------------ together

# cluster_up DIR — network, PostgreSQL primary + replica, Redis, two nodes.
# CLUSTER_BIN_DIR (build/dev) and CLUSTER_SRC_DIR (this tree) may be preset.
cluster_up() {
    mkdir -p "$1" && chmod 755 "$1" || return 1
    CLUSTER_DIR=$(cd "$1" && pwd)
    CLUSTER_SRC_DIR=${CLUSTER_SRC_DIR:-$(cd "$_CLUSTER_LIB_DIR/../.." && pwd)}
    CLUSTER_BIN_DIR=${CLUSTER_BIN_DIR:-$CLUSTER_SRC_DIR/build/dev}
    if [ -f "$CLUSTER_DIR/cluster.env" ]; then
        _cluster_say "a cluster is already set up in $CLUSTER_DIR (run down first)"
        return 1
    fi
    cluster_net_up
    CLUSTER_PORT=$(stack_free_port) && CLUSTER_PG_PORT=$(stack_free_port) &&
        CLUSTER_REPLICA_PORT=$(stack_free_port) && CLUSTER_REDIS_PORT=$(stack_free_port) &&
        CLUSTER_METRICS_PORT_A=$(stack_free_port) && CLUSTER_METRICS_PORT_B=$(stack_free_port) ||
        return 1
    _cluster_save && _cluster_derive && _cluster_api_env || return 1
    _cluster_say "postgresql primary ($CLUSTER_HOST_ADDR:$CLUSTER_PG_PORT)"
    _cluster_pg primary "$CLUSTER_PG_PORT" _cluster_primary_up || return 1
    _cluster_say "postgresql replica ($CLUSTER_HOST_ADDR:$CLUSTER_REPLICA_PORT, pg_basebackup -R)"
    _cluster_pg replica "$CLUSTER_REPLICA_PORT" _cluster_replica_up || return 1
    _cluster_say "redis ($CLUSTER_REDIS_URL)"
    _cluster_redis_up || return 1
    local x
    for x in a b; do
        _cluster_say "node $x"
        _cluster_node_init "$x" && cluster_node_start "$x" || return 1
    done
}

# cluster_down DIR — everything cluster_up started, then the network.
cluster_down() {
    cluster_load "$1" || return 0
    local x
    for x in a b; do
        [ -f "$CLUSTER_DIR/node-$x/stack.env" ] && cluster_node_stop "$x"
    done
    for x in replica primary; do
        [ -f "$CLUSTER_DIR/$x/stack.env" ] &&
            "$_CLUSTER_LIB_DIR/stackctl" "$CLUSTER_DIR/$x" stop-pg >/dev/null 2>&1
    done
    STACK_STOP_TIMEOUT=5 _stack_kill redis "$CLUSTER_REDIS_PIDFILE"
    _cluster_net_down
    rm -f "$CLUSTER_DIR/cluster.env"
}

# _cluster_node_status a|b — the node's support-api, support-chat and
# nginx, each running (its pid) or stopped (how, when known: its own
# stack's status lines), indented under the node; 1 when one is down.
_cluster_node_status() {
    (
        stack_load "$CLUSTER_DIR/node-$1" || exit 1
        # shellcheck disable=SC2034  # read by _stack_status_line
        STACK_LOGS_HINT="logs in $STACK_LOG_DIR/"
        rc=0
        _stack_status_line support-api "$STACK_API_PIDFILE" "$STACK_API_SOCKET" || rc=1
        _stack_status_line support-chat "$STACK_CHAT_PIDFILE" "$STACK_CHAT_SOCKET" || rc=1
        _stack_status_line nginx "$STACK_NGINX_PIDFILE" "port $STACK_PORT" || rc=1
        exit "$rc"
    ) 2>&1 | sed 's/^/  /'
    return "${PIPESTATUS[0]}"
}

# _cluster_pg_status primary|replica URL — its server running or stopped.
_cluster_pg_status() {
    if (stack_load "$CLUSTER_DIR/$1" && stack_pg_running) >/dev/null 2>&1; then
        printf '%-12s running  %s\n' "$1" "$2"
    else
        printf '%-12s stopped  %s\n' "$1" "$2"
        return 1
    fi
}

# cluster_status — the network, each node's processes, the databases and
# Redis; 1 when any of them is down (QA: with a node's support-api down it
# printed the addresses alone and exited 0).
cluster_status() {
    local rc=0 x url
    printf '%-12s %s\n' network "$CLUSTER_NET${CLUSTER_NS_A:+ ($CLUSTER_NS_A, $CLUSTER_NS_B)}"
    for x in a b; do
        if [ "$x" = a ]; then url=$CLUSTER_URL_A; else url=$CLUSTER_URL_B; fi
        printf '%-12s %s\n' "node-$x" "$url/support/   metrics: clusterctl $CLUSTER_DIR metrics $x"
        _cluster_node_status "$x" || rc=1
    done
    _cluster_pg_status primary "$CLUSTER_DB_URL" || rc=1
    _cluster_pg_status replica "$CLUSTER_READ_URL" || rc=1
    STACK_LOGS_HINT="$CLUSTER_DIR/redis/redis.log" \
        _stack_status_line redis "$CLUSTER_REDIS_PIDFILE" "$CLUSTER_REDIS_URL" || rc=1
    return $rc
}
