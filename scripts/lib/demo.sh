# shellcheck shell=bash
#
# demo.sh — the demo data of `scripts/dev up`; `stackctl DIR demo` loads it
# the same way into a test's stack (t/integration/test_demo). Sourced after
# stack.sh, on a stack it started or loaded.
#
#   stack_demo_data      sql/demo/demo.sql: what only staff's tools make —
#                        categories, the demo agents, knowledge-base articles
#   stack_demo_tickets   the demo tickets, through the API (support-api and
#                        nginx running)
#
# The tickets are made as the customer's app makes them and worked as the
# demo agents work them, so routing, SLA dues, sentiment, events,
# notifications and the dashboard's counters are the product's own, never
# a copy of its rules that drifts from them (QA: tickets inserted by
# demo.sql had no SLA dues and no sentiment, sat unassigned in round-robin
# categories, one waited on the customer with no agent reply and one was
# in progress with nobody on it: they never warned or breached, sorted
# last and counted as sla=ok, unlike any real ticket).
#
# Idempotent, across runs and days: a ticket is made only when its
# customer has no ticket of that demo name (metadata.demo), and each call
# carries a fixed Idempotency-Key, so a run cut short and run again within
# the keys' 24 h replays what was done instead of doing it twice.

# The demo customers' tokens (sub, e-mail, name); 1001 is the customer
# `scripts/dev token customer` and the printed CUSTOMER_TOKEN speak for.
_DEMO_CUSTOMERS=(
    "1001 customer@example.com Demo Customer"
    "1002 customer2@example.com Second Demo Customer"
)

stack_demo_data() {
    stack_psql -X -q -v ON_ERROR_STOP=1 -f "$STACK_SRC_DIR/sql/demo/demo.sql" >/dev/null
}

# _demo_token ROLE SUB [ARGS] — a token the stack's API accepts (its keys,
# from its own settings).
_demo_token() {
    env "${STACK_API_ENV[@]}" "$STACK_TOKEN_BIN" "$@" --ttl 300
}

_demo_customer_token() {
    local sub=$1 row
    for row in "${_DEMO_CUSTOMERS[@]}"; do
        [ "${row%% *}" = "$sub" ] || continue
        row=${row#* }
        _demo_token customer "$sub" --email "${row%% *}" --name "${row#* }"
        return
    done
    return 1
}

# _demo_api METHOD PATH TOKEN KEY [BODY] — prints the answer's body; says
# why and fails on anything but 2xx. KEY: the Idempotency-Key ("": none).
_demo_api() {
    local method=$1 path=$2 token=$3 key=$4 body=${5:-} out
    local args=(-sS --fail-with-body --max-time 30 -X "$method" -H "Authorization: Bearer $token")
    [ -z "$key" ] || args+=(-H "Idempotency-Key: $key")
    [ -z "$body" ] || args+=(-H 'Content-Type: application/json' --data-binary "$body")
    if ! out=$(curl "${args[@]}" "$STACK_BASE_URL$path" 2>&1); then
        _stack_say "demo: $method $path: $out"
        return 1
    fi
    printf '%s\n' "$out"
}

# _demo_field NAME — the member NAME of the JSON object on stdin.
_demo_field() {
    python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}

# _demo_ticket NAME SUB BODY — makes the demo ticket NAME as customer SUB
# unless that customer has it; prints its public id when made.
_demo_ticket() {
    local name=$1 sub=$2 body=$3 have token
    have=$(stack_psql -X -q -tA -v ON_ERROR_STOP=1 -v sub="$sub" -v name="$name" <<'EOF'
SELECT count(*) FROM support_tickets WHERE customer_id = :'sub' AND metadata->>'demo' = :'name';
EOF
    ) || return 1
    [ "$have" = 0 ] || return 0
    token=$(_demo_customer_token "$sub") || return 1
    _demo_api POST /support/tickets "$token" "demo-$name" "$body" | _demo_field public_id
}

# _demo_agent_message SUB NAME PUBLIC_ID BODY — agent SUB takes the ticket
# and writes on it (a reply, or a note; with a status move). Routing gave
# it to the demo agent on a fresh database; where more agents share her
# team or skill (tokens of other subs are agents too) it may have picked
# another, and the story is hers: she assigns it to herself first, as an
# agent would (a PATCH of the current value changes nothing).
_demo_agent_message() {
    local sub=$1 display=$2 pid=$3 body=$4 token id
    token=$(_demo_token agent "$sub" --name "$display") || return 1
    id=$(_demo_api GET /support/agent/me "$token" "" | _demo_field id) || return 1
    _demo_api PATCH "/support/agent/tickets/$pid" "$token" "" "{\"assigned_agent_id\":$id}" \
        >/dev/null || return 1
    _demo_api POST "/support/agent/tickets/$pid/messages" "$token" "demo-$pid" "$body" >/dev/null
}

# stack_demo_tickets — the story the README's walk-through starts from:
# customer 1001 was charged twice (billing: round robin in Ada's team,
# Ada on a fresh database; nobody answered yet) and asks to move a stay
# (bookings: Ada answered and waits for the customer); customer 1002's
# app crashes at checkout (technical, skill routing: Grace has it in
# progress, with a note of what she found).
stack_demo_tickets() {
    local pid
    pid=$(_demo_ticket charged-twice 1001 '{"subject":"Charged twice for one booking",
    "description":"<p>I was charged <b>twice</b> for booking BK-1042. Please refund one.</p>",
    "category":"billing","booking_id":"BK-1042","metadata":{"demo":"charged-twice"}}') || return 1
    pid=$(_demo_ticket change-date 1001 '{"subject":"Change the date of my stay",
    "description":"<p>Can I move my booking from 3 to 5 December?</p>",
    "category":"bookings","booking_id":"BK-1077","metadata":{"demo":"change-date"}}') || return 1
    if [ -n "$pid" ]; then
        _demo_agent_message 2001 'Ada (demo agent)' "$pid" '{"status":"pending_customer",
        "body":"<p>Yes, 5 December is free at the same rate. Shall I move your stay?</p>"}' ||
            return 1
    fi
    pid=$(_demo_ticket app-crash 1002 '{"subject":"App crashes on checkout",
    "description":"<p>The app closes when I press <em>Pay</em>.</p>",
    "category":"technical","metadata":{"demo":"app-crash"}}') || return 1
    if [ -n "$pid" ]; then
        _demo_agent_message 2002 'Grace (demo agent)' "$pid" '{"status":"in_progress",
        "is_internal":true,
        "body":"<p>Reproduced on Android 14: the app closes as the payment sheet opens.</p>"}' ||
            return 1
    fi
}
