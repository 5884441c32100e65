#!/usr/bin/python3
"""The two-node cluster checks (issue 14, item 4): run by `scripts/dev cluster
test` against a cluster that scripts/lib/cluster.sh started in DIR.

usage: t/cluster/test.py DIR [CHECK...]

Each check prints `ok - NAME` or `not ok - NAME: why`; the exit status is
the number of failed checks (0: all passed). The nodes are reached as a
load balancer would: node a and node b on their own addresses (network
namespaces, or 127.0.0.2/127.0.0.3). Websocket clients use nchan's
`ws+meta.nchan` subprotocol, whose frames carry the message id that a
reconnect passes back as `last_event_id` (docs/chat-transport.md §6).
"""
import asyncio
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid

import websockets

DIR = sys.argv[1] if len(sys.argv) > 1 else sys.exit(__doc__)
CTL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                   "scripts", "lib", "clusterctl")


def ctl(*args, check=True):
    r = subprocess.run([CTL, DIR, *args], capture_output=True, text=True, timeout=60)
    if check and r.returncode != 0:
        raise AssertionError(f"clusterctl {' '.join(args)}: {r.stderr.strip()}")
    return r.stdout


ENV = dict(line.split("=", 1) for line in ctl("env").splitlines() if "=" in line)
URL = {"a": ENV["CLUSTER_URL_A"], "b": ENV["CLUSTER_URL_B"]}


def token(role, sub=None):
    return ctl("token", role, *([sub] if sub else [])).strip()


def unique(prefix):
    return prefix + uuid.uuid4().hex[:12]


def user_id():
    """A JWT sub nobody else uses: a positive integer written one way
    (docs/API.md §2), 16 digits without a leading zero."""
    return str(10**15 + uuid.uuid4().int % (9 * 10**15))


def http(node, method, path, tok=None, body=None, timeout=10):
    """(status, headers, parsed JSON or None)."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(URL[node] + path, data=data, method=method)
    if tok:
        req.add_header("Authorization", "Bearer " + tok)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw, status, headers = r.read(), r.status, r.headers
    except urllib.error.HTTPError as e:
        raw, status, headers = e.read(), e.code, e.headers
    try:
        return status, headers, json.loads(raw) if raw else None
    except ValueError:
        return status, headers, None


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def metric(node, sample):
    """The value of a sample (`name` or `name{labels}` as written in the
    page) in the node's /metrics, or None."""
    for line in ctl("metrics", node).splitlines():
        if line.startswith(sample + " "):
            return float(line.split()[1])
    return None


def sql(which, query):
    return ctl("psql", which, "-XtAq", "-v", "ON_ERROR_STOP=1", "-c", query).strip()


def wait_for(fn, timeout, what, interval=0.2):
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout}s")
        time.sleep(interval)


# ------------------------------------------------------------------- chat

class Sub:
    """A websocket subscriber with ws+meta.nchan: every frame is
    `id: <msgid>\\ncontent-type: …\\n\\n<data>`; keeps (id, frame) pairs."""

    def __init__(self, node, path):
        self.url = "ws" + URL[node][4:] + path
        self.frames = []
        self.closed = None

    async def open(self):
        self.ws = await asyncio.wait_for(
            websockets.connect(self.url, subprotocols=["ws+meta.nchan"], compression=None,
                               open_timeout=10), 10)
        self.task = asyncio.ensure_future(self.read())
        return self

    async def read(self):
        try:
            async for msg in self.ws:
                head, _, data = msg.partition("\n\n")
                mid = None
                for line in head.split("\n"):
                    if line.startswith("id: "):
                        mid = line[4:]
                try:
                    frame = json.loads(data)
                except ValueError:
                    frame = data
                self.frames.append((mid, frame))
        except websockets.exceptions.ConnectionClosed as e:
            self.closed = e.code
        except (ConnectionError, OSError) as e:
            self.closed = str(e)
        if self.closed is None:
            self.closed = "eof"

    def messages(self):
        return [f for _, f in self.frames if isinstance(f, dict) and f.get("type") == "message"]

    async def wait(self, pred, timeout, what):
        deadline = time.monotonic() + timeout
        while not pred(self):
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: not within {timeout}s; got {self.frames!r}")
            await asyncio.sleep(0.05)

    async def send(self, frame):
        await self.ws.send(json.dumps(frame))

    async def close(self):
        try:
            await self.ws.close()
        except Exception:  # already dead (a killed node)
            pass
        self.task.cancel()


def chat_session(node, cust):
    st, _, s = http(node, "POST", "/support/chat/session", cust, {})
    expect(st == 201, f"POST /support/chat/session on {node}: {st} {s}")
    return s


def customer_path(s, tok):
    return s["ws_url"] + "&access_token=" + tok


def admin_path(s, tok):
    return f"/support/chat/connect?session_id={s['session_id']}&access_token={tok}"


async def check_chat_across_nodes():
    """A frame sent on a websocket of node a reaches a websocket on node b
    (nchan on Redis: the channel spans both nginx)."""
    for node in "ab":
        # The store as production takes it (docs/operations.md "Two nodes"):
        # the site's own chat-store.conf, included by glob in every nchan
        # location, never written into the snippets `make install` replaces.
        d = os.path.join(DIR, "node-" + node)
        with open(os.path.join(d, "site", "chat-store.conf")) as f:
            expect("nchan_use_redis on;" in f.read(), f"node {node}: site/chat-store.conf")
        inc = f"include {os.path.abspath(d)}/site/chat-store*.conf;"
        for conf, n in (("chat.conf", 1), ("internal.conf", 2)):
            with open(os.path.join(d, "nginx", conf)) as f:
                text = f.read()
            expect(text.count(inc) == n, f"node {node}: nginx/{conf} includes the store "
                   f"{text.count(inc)} times, want {n}")
            expect(not any(line.split("#")[0].strip().startswith("nchan_use_redis")
                           for line in text.splitlines()),
                   f"node {node}: nchan_use_redis rendered into nginx/{conf}")
    cust, admin = token("customer", user_id()), token("admin", user_id())
    s = chat_session("a", cust)
    # Staff write to a chat once it is theirs (409 session_waiting before):
    # the admin (whose row starts away) makes itself available and takes
    # it, on node b.
    st, _, b = http("b", "PATCH", "/support/agent/me", admin, {"status": "active"})
    expect(st == 200, f"PATCH /support/agent/me on b: {st} {b}")
    st, _, b = http("b", "POST", f"/support/agent/chats/{s['session_id']}/accept", admin, {})
    expect(st == 200, f"accept on b: {st} {b}")
    on_a = await Sub("a", customer_path(s, cust)).open()
    on_b = await Sub("b", admin_path(s, admin)).open()
    try:
        cid = str(uuid.uuid4())
        await on_a.send({"type": "message", "body": "hello from node a", "client_id": cid})
        await on_b.wait(lambda x: any(m.get("client_id") == cid for m in x.messages()), 10,
                        "the frame sent on node a, on node b's websocket")
        m = next(m for m in on_b.messages() if m.get("client_id") == cid)
        expect(m["sender_type"] == "customer" and m["body"] == "hello from node a",
               f"frame on b: {m}")
        # and back: sent on b, heard on a
        await on_b.send({"type": "message", "body": "hello from node b",
                         "client_id": str(uuid.uuid4())})
        await on_a.wait(lambda x: any(m.get("body") == "hello from node b"
                                      for m in x.messages()), 10,
                        "the frame sent on node b, on node a's websocket")
    finally:
        await on_a.close()
        await on_b.close()
        # away again: the later checks' chats must not be routed to it
        http("b", "PATCH", "/support/agent/me", admin, {"status": "away"})


def check_rate_limits_across_nodes():
    """Ticket creation limits (10 per minute per customer, API.md §1) count
    the requests of both nodes: the counters are rows in PostgreSQL."""
    sec = time.gmtime().tm_sec
    if sec > 45:  # stay inside one fixed one-minute window
        time.sleep(61 - sec)
    cust = token("customer", user_id())
    body = {"subject": "cluster rate", "description": "counted on both nodes"}
    for i in range(10):
        node = "ab"[i % 2]
        st, h, b = http(node, "POST", "/support/tickets", cust, body)
        expect(st == 201, f"create {i + 1} on node {node}: {st} {b}")
        expect(h.get("RateLimit-Remaining") == str(9 - i),
               f"create {i + 1} on node {node}: RateLimit-Remaining "
               f"{h.get('RateLimit-Remaining')}, want {9 - i}")
    for node in "ab":
        st, h, b = http(node, "POST", "/support/tickets", cust, body)
        expect(st == 429 and b and b.get("code") == "rate_limited",
               f"11th create on node {node}: {st} {b}")
        expect(h.get("Retry-After"), f"429 on node {node} without Retry-After")


def history_ids(node, tok, sid):
    ids, cursor = [], None
    while True:
        q = "?messages_limit=100" + (f"&messages_cursor={cursor}" if cursor else "")
        st, _, s = http(node, "GET", f"/support/chat/session/{sid}{q}", tok)
        expect(st == 200, f"GET session on {node}: {st} {s}")
        ids += [m["id"] for m in s["messages"]]
        cursor = s.get("messages_next_cursor") or s.get("next_cursor")
        if not cursor:
            return ids


def status_names_a_dead_nodes_logs():
    """With node a killed, `clusterctl status` exits 1 and sends to node
    a's own log directory (QA: it said `scripts/dev logs`, which answers
    "no dev stack" for a cluster); the node's stack says its database is
    external (QA: "postgresql stopped")."""
    r = subprocess.run([CTL, DIR, "status"], capture_output=True, text=True, timeout=60)
    logs = f"logs in {os.path.abspath(DIR)}/node-a/log/"
    expect(r.returncode == 1 and logs in r.stdout and "scripts/dev logs" not in r.stdout,
           f"clusterctl status with node a down: exit {r.returncode}\n{r.stdout}")
    r = subprocess.run([os.path.join(os.path.dirname(CTL), "stackctl"),
                        os.path.join(DIR, "node-a"), "status"],
                       capture_output=True, text=True, timeout=60)
    expect(any(line.split()[:2] == ["postgresql", "external"] for line in r.stdout.splitlines()),
           f"stackctl node-a status:\n{r.stdout}")


async def check_node_down_clients_catch_up():
    """Node a is killed (SIGKILL: nginx, support-api, support-chat). Its
    websocket client reconnects to node b, which starts at the next message
    (no message id reaches nchan 1.3.6: docs/chat-transport.md §6), and
    catches up from the history on node b: the 4 messages stored meanwhile
    are there, after the last one it saw; a message sent after the
    reconnect arrives on node b's socket, and nothing is replayed twice."""
    cust = token("customer", user_id())
    s = chat_session("b", cust)
    sub = await Sub("a", customer_path(s, cust)).open()
    try:
        for i in range(3):
            await sub.send({"type": "message", "body": f"before {i}",
                            "client_id": str(uuid.uuid4())})
        await sub.wait(lambda x: len(x.messages()) >= 3, 10, "3 echoes on node a")
        ctl("kill-node", "a")
        await sub.wait(lambda x: x.closed is not None, 10, "node a's socket closing")
        status_names_a_dead_nodes_logs()
        seen = [m["id"] for m in sub.messages()]
        for i in range(4):  # meanwhile, sent through node b (HTTP fallback)
            st, _, b = http("b", "POST", f"/support/chat/session/{s['session_id']}/messages",
                            cust, {"body": f"while a was down {i}",
                                   "client_id": str(uuid.uuid4())})
            expect(st in (200, 201), f"send on node b: {st} {b}")
        back = await Sub("b", customer_path(s, cust)).open()
        try:
            stored = history_ids("b", cust, s["session_id"])
            expect(len(stored) == 7, f"history holds {len(stored)} messages, want 7")
            expect(len(seen) == len(set(seen)), f"a message arrived twice: {seen}")
            missed = [i for i in stored if i not in seen]
            expect(len(missed) == 4 and min(missed) > max(seen),
                   f"catch-up from the history after {max(seen)}: {missed}")
            st, _, b = http("b", "POST", f"/support/chat/session/{s['session_id']}/messages",
                            cust, {"body": "after the reconnect",
                                   "client_id": str(uuid.uuid4())})
            expect(st in (200, 201), f"send on node b: {st} {b}")
            await back.wait(lambda x: len(x.messages()) >= 1, 10,
                            "a message sent after the reconnect, on node b")
            await asyncio.sleep(0.5)  # anything extra (a replay) shows now
            expect([m["body"] for m in back.messages()] == ["after the reconnect"],
                   f"node b's socket: {back.messages()}")
        finally:
            await back.close()
    finally:
        await sub.close()
        ctl("start-node", "a")


def check_replica_serves_reads():
    """The public knowledge base reads from the replica: with replay paused
    there, an article published on the primary stays invisible on it (and
    the lag shows in /metrics), appears once replay resumes, and the lag
    returns to 0. With the replica down the same read falls back to the
    primary."""
    admin, cust = token("admin", user_id()), token("customer", user_id())
    expect(metric("b", "support_db_replica_in_recovery") == 1, "replica_in_recovery != 1")
    reads = 'support_db_replica_reads_total{target="replica"}'
    before = metric("b", reads) or 0
    slug = unique("cluster-")
    sql("replica", "SELECT pg_wal_replay_pause()")
    try:
        st, _, a = http("a", "POST", "/support/admin/articles", admin,
                        {"slug": slug, "title": "Replicated", "is_published": True,
                         "content_markdown": "Read from the *replica*."})
        expect(st == 201, f"publish on node a: {st} {a}")
        st, _, _ = http("b", "GET", f"/support/admin/articles/{a['id']}", admin)
        expect(st == 200, f"admin read of the new article (primary) on node b: {st}")
        # Authorization keeps nginx's anonymous micro-cache out of the way.
        st, _, _ = http("b", "GET", f"/support/articles/{slug}", cust)
        expect(st == 404, f"article on node b while replay is paused: {st}, want 404")
        wait_for(lambda: (metric("b", "support_db_replica_replay_lag_bytes") or 0) > 0, 10,
                 "replay lag in bytes on node b's /metrics")
        lag = metric("b", "support_db_replica_lag_seconds")
        expect(lag is not None and lag > 0, f"support_db_replica_lag_seconds {lag}, want > 0")
    finally:
        sql("replica", "SELECT pg_wal_replay_resume()")
    wait_for(lambda: http("b", "GET", f"/support/articles/{slug}", cust)[0] == 200, 10,
             "the article on node b after replay resumed")
    wait_for(lambda: metric("b", "support_db_replica_lag_seconds") == 0, 10, "lag back to 0")
    expect((metric("b", reads) or 0) > before, "no read counted as served by the replica")
    fallback = 'support_db_replica_reads_total{target="primary"}'
    before = metric("b", fallback) or 0
    ctl("stop-pg", "replica")
    try:
        st, _, _ = http("b", "GET", f"/support/articles/{slug}", cust)
        expect(st == 200, f"article on node b with the replica down: {st}, want 200 (primary)")
        expect((metric("b", fallback) or 0) > before, "fallback to the primary not counted")
        expect(metric("b", 'support_scrape_source_up{source="replica"}') == 0,
               "replica down but source_up 1")
    finally:
        ctl("start-pg", "replica")


def raw(node, method, path, data=None, timeout=10):
    """(status, body bytes) of a request with no token: a signed URL's
    (path and query; an absolute URL's host is replaced by the node's)."""
    if path.startswith("http"):
        path = "/" + path.split("/", 3)[3]
    req = urllib.request.Request(URL[node] + path, data=data, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def check_attachments_across_nodes():
    """Attachment storage is shared (one directory both nodes mount at the
    same path, as docs/operations.md asks of production): an upload created
    on node a and PUT through node b is scanned clean — by whichever node's
    support-scan claims it, both run — and downloads through either node.
    QA: with a directory per node, node a's scanner found no file
    (attachment_file_missing), failed the row for good, and node b's
    download of a's upload was 404."""
    cust = token("customer", user_id())
    body = ("shared storage " + uuid.uuid4().hex + "\n").encode()
    st, _, a = http("a", "POST", "/support/attachments", cust,
                    {"filename": "cluster.txt", "content_type": "text/plain",
                     "size": len(body)})
    expect(st == 201 and a.get("upload_url"), f"POST /support/attachments on a: {st} {a}")
    st, out = raw("b", "PUT", a["upload_url"], body)
    expect(200 <= st < 300, f"PUT upload_url through node b: {st} {out[:300]!r}")

    def scanned():
        st, _, m = http("a", "GET", f"/support/attachments/{a['id']}", cust)
        expect(st == 200, f"GET /support/attachments/{a['id']} on a: {st} {m}")
        expect(m["status"] in ("pending", "clean"), f"scanned: {m}")
        return m["status"] == "clean"
    wait_for(scanned, 20, "the upload clean on node a")
    for meta_node in "ab":
        st, _, m = http(meta_node, "GET", f"/support/attachments/{a['id']}", cust)
        expect(st == 200 and m.get("download_url"), f"metadata on {meta_node}: {st} {m}")
        for node in "ab":
            st, got = raw(node, "GET", m["download_url"])
            expect(st == 200 and got == body,
                   f"download (URL from {meta_node}) through node {node}: {st} {got[:200]!r}")


CHECKS = [
    ("chat_across_nodes", check_chat_across_nodes),
    ("rate_limits_across_nodes", check_rate_limits_across_nodes),
    ("node_down_clients_catch_up", check_node_down_clients_catch_up),
    ("replica_serves_reads", check_replica_serves_reads),
    ("attachments_across_nodes", check_attachments_across_nodes),
]


def main():
    only = set(sys.argv[2:])
    failed = 0
    for name, fn in CHECKS:
        if only and name not in only:
            continue
        start = time.monotonic()
        try:
            r = fn()
            if asyncio.iscoroutine(r):
                asyncio.run(r)
            print(f"ok - {name} ({time.monotonic() - start:.1f}s)", flush=True)
        except Exception as e:  # one check's failure must not hide the others
            failed += 1
            print(f"not ok - {name}: {type(e).__name__}: {e}", flush=True)
    return failed


if __name__ == "__main__":
    sys.exit(main())
