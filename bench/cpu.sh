# bench/cpu.sh — CPU accounting shared by bench/run and bench/queue (sourced).
# Needs: the stack's settings (scripts/lib/stack.sh, loaded), $TMP (a
# scratch dir), REQS[key] (requests of a scenario), NOISE_PCT and the NOISY
# array (set by the caller).
# Where the CPU goes during each scenario: CPU time of the stack's own
# processes (found by pid, so other PostgreSQL/nginx instances on the machine
# are not counted) and of the load generator (wrk/pgbench: our children) per
# request, and the machine's busy share. "rest" is the remaining busy time:
# kernel threads, and anything else running on the machine at the time — a
# large "rest" means the figures were disturbed by foreign load.
CLK_TCK=$(getconf CLK_TCK 2>/dev/null || echo 100)

# cpu_snap — print "pg api hello nginx busy total" in clock ticks.
cpu_snap() {
    local pg api hello ngx f line rest pid c
    local -a F
    local -A acc=([pg]=0 [api]=0 [hello]=0 [nginx]=0)
    pg=$(head -n 1 "$STACK_PGDATA/postmaster.pid" 2>/dev/null || true)
    api=$(_stack_read_pid "$STACK_API_PIDFILE")
    hello=$(_stack_read_pid "$STACK_HELLO_PIDFILE")
    ngx=$(_stack_read_pid "$STACK_NGINX_PIDFILE")
    for f in /proc/[0-9]*/stat; do
        { read -r line <"$f"; } 2>/dev/null || continue
        pid=${f#/proc/}
        pid=${pid%/stat}
        rest=${line##*) }
        read -r -a F <<<"$rest"
        # F[n-3] is field n of proc(5): 4 ppid, 6 session, 14-17 times.
        c=
        if [ "$pid" = "$pg" ] || [ "$pid" = "$api" ] || [ "$pid" = "$hello" ] || [ "$pid" = "$ngx" ]; then
            # A leader: its own time and that of its reaped children.
            case $pid in
            "$pg") c=pg ;; "$api") c=api ;; "$hello") c=hello ;; "$ngx") c=nginx ;;
            esac
            acc[$c]=$((acc[$c] + F[11] + F[12] + F[13] + F[14]))
            continue
        fi
        # PostgreSQL children setsid() themselves: match them by parent.
        if [ -n "$pg" ] && [ "${F[1]}" = "$pg" ]; then
            c=pg
        elif [ -n "$api" ] && [ "${F[3]}" = "$api" ]; then
            c=api
        elif [ -n "$hello" ] && [ "${F[3]}" = "$hello" ]; then
            c=hello
        elif [ -n "$ngx" ] && [ "${F[3]}" = "$ngx" ]; then
            c=nginx
        fi
        [ -n "$c" ] && acc[$c]=$((acc[$c] + F[11] + F[12]))
    done
    read -r _ "F[0]" "F[1]" "F[2]" "F[3]" "F[4]" "F[5]" "F[6]" "F[7]" _ </proc/stat
    # user nice system idle iowait irq softirq steal
    printf '%d %d %d %d %d %d\n' "${acc[pg]}" "${acc[api]}" "${acc[hello]}" "${acc[nginx]}" \
        $((F[0] + F[1] + F[2] + F[5] + F[6] + F[7])) \
        $((F[0] + F[1] + F[2] + F[3] + F[4] + F[5] + F[6] + F[7]))
}

# children_cpu VAR — set VAR to the CPU seconds of this shell's reaped
# children (wrk, pgbench, curl, …), from the `times` builtin. Call it
# directly, never in $(…): a subshell does not see its parent's children.
# `times` prints "XmY.YYYs XmY.YYYs" for the shell, then for its children.
children_cpu() {
    local u='' s=''
    times >"$TMP/times"
    { read -r _ _ && read -r u s; } <"$TMP/times" || true
    printf -v "$1" '%s' "$(awk -v u="${u:-0m0s}" -v s="${s:-0m0s}" 'function sec(t,   m) {
            m = t; sub(/m.*/, "", m); sub(/^[0-9]+m/, "", t); sub(/s$/, "", t)
            return m * 60 + t }
        BEGIN { printf "%.3f\n", sec(u) + sec(s) }')"
}

declare -A CPU_PG CPU_API CPU_HELLO CPU_NGINX CPU_GEN CPU_REST BUSY REST_PCT
# cpu_account KEY "SNAP-BEFORE" "SNAP-AFTER" GEN-BEFORE GEN-AFTER — CPU µs
# per request for each part, machine busy %, and "rest" as a % of the machine.
cpu_account() {
    local key=$1 n=${REQS[$1]:-0} out
    out=$(awk -v a="$2" -v b="$3" -v g0="$4" -v g1="$5" -v n="$n" -v hz="$CLK_TCK" 'BEGIN {
        split(a, x, " "); split(b, y, " ")
        for (i = 1; i <= 6; i++) d[i] = y[i] - x[i]
        gen = (g1 - g0) * hz
        if (gen < 0) gen = 0
        own = d[1] + d[2] + d[3] + d[4] + gen
        us = 1e6 / hz / (n > 0 ? n : 1)
        rest = d[5] - own; if (rest < 0) rest = 0
        busy = d[6] > 0 ? 100 * d[5] / d[6] : 0
        restpct = d[6] > 0 ? 100 * rest / d[6] : 0
        printf "%.0f %.0f %.0f %.0f %.0f %.0f %.0f %.0f\n", d[1] * us, d[2] * us, d[3] * us,
            d[4] * us, gen * us, rest * us, busy, restpct }') || return 0
    read -r "CPU_PG[$key]" "CPU_API[$key]" "CPU_HELLO[$key]" "CPU_NGINX[$key]" \
        "CPU_GEN[$key]" "CPU_REST[$key]" "BUSY[$key]" "REST_PCT[$key]" <<<"$out"
    if [ "${REST_PCT[$key]}" -ge "$NOISE_PCT" ]; then
        NOISY+=("($key) ${REST_PCT[$key]} %")
    fi
}
