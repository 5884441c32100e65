#!/usr/bin/python3
"""Fault-test load generator (bench/faults, t/integration/test_faults).

Python stdlib + python3-websockets. Every mode runs a load against the stack
at --base, injects one kind of fault itself and records the outcome of every
request; it prints one JSON object (the summary, plus what the caller needs
to check the database) to --out or stdout. Times are monotonic seconds from
the start of the mode.

usage:
  faults_load.py api --base URL --tokens FILE [--clients N] [--baseline S]
        [--duration S] [--kill-pidfile F] [--kill-every S] [--post-every N]
        [--max-posts N] [--interval S] [--kill-target busy|any] [--prefix P]
    N threads, each with its own customer token (line i of FILE) and one
    ticket created at set-up, GET that ticket in a loop; every --post-every-th
    request is a POST /support/tickets (the k-th POST as the customer of line
    k % lines; at most --max-posts), --interval s apart. A baseline phase without faults, then a
    fault phase in which a random worker child of the master in --kill-pidfile
    (never the master) is sent SIGKILL every --kill-every seconds. A failure
    (non-2xx or transport error) is "attributed" when a kill happened while
    the request was in flight.
  faults_load.py chat --base URL --sessions FILE [--clients N] [--baseline S]
        [--duration S] [--interval S] [--kill-pidfile F] [--kill-every S]
        [--prefix P]
    N websocket clients, one per session (lines "SID SESSION_TOKEN JWT"),
    each sends a `message` frame (client_id P-<client>-<i>) every --interval
    s and waits for the stored frames of its own messages. A closed socket is
    reopened and every own message without a frame is resent (same
    client_id); so is every one after an error frame dependency_unavailable
    (a frame whose worker was killed: the socket stays open). Phases and kills as for api (support-chat's master).
  faults_load.py pg --base URL --tokens FILE [--clients N] [--duration S]
        [--fault-at S] --fault-cmd CMD [--max-tries N] [--max-creates N]
        [--interval S] [--prefix P]
    N threads create tickets, each with a unique Idempotency-Key and subject
    "faults <P> <key>"; a create that does not answer 201 is retried with the
    same key and body (every 0.1 s, at most --max-tries) until 201; a
    thread waits --interval s between two creates, all stop after
    --max-creates keys. The customer of key k is line k % lines of FILE. CMD
    (e.g. `stackctl DIR restart-pg`) runs once at --fault-at. Recovery =
    first failed attempt -> first 201 of an attempt sent after CMD returned.
    Prints every key tried and every 201 (key, public_id, Idempotent-Replayed).
  faults_load.py reload --base URL --sessions FILE [--per-session K]
        [--rate R] [--duration S] [--fault-at S] --fault-cmd CMD [--prefix P]
    K websocket subscribers per session; one sender POSTs
    /support/chat/session/:id/messages (client_id P-<n>, retried with the
    same client_id until 201) at R messages/s over all sessions. CMD (e.g.
    `nginx -s reload`) runs at --fault-at. A subscriber whose socket closes
    reconnects, then catches up from GET /support/chat/session/:id (every
    page). At the end every message stored with a P- client_id must have
    reached every subscriber, live or by catch-up.
"""
import argparse
import asyncio
import http.client
import json
import os
import random
import shlex
import signal
import subprocess
import sys
import threading
import time
import urllib.parse

T0 = time.monotonic()


def now():
    return time.monotonic() - T0


def pct(values, p):
    if not values:
        return None
    v = sorted(values)
    i = max(0, min(len(v) - 1, int(len(v) * p / 100.0 + 0.999999) - 1))
    return round(v[i], 3)


def read_lines(path):
    with open(path) as f:
        return [line.split() for line in f if line.strip()]


class Http:
    """One keep-alive connection; reconnects after any transport error."""

    def __init__(self, base, timeout=15):
        u = urllib.parse.urlsplit(base)
        self.host, self.port, self.timeout = u.hostname, u.port or 80, timeout
        self.c = None

    def request(self, method, path, token=None, body=None, headers=None):
        h = dict(headers or {})
        if token:
            h["Authorization"] = "Bearer " + token
        if body is not None:
            h["Content-Type"] = "application/json"
        if self.c is None:
            self.c = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            self.c.request(method, path, body=body, headers=h)
            r = self.c.getresponse()
            data = r.read()
            if r.getheader("Connection", "").lower() == "close":
                self.close()
            return r.status, dict((k.lower(), v) for k, v in r.getheaders()), data
        except (OSError, http.client.HTTPException) as e:
            self.close()
            return None, {}, type(e).__name__

    def close(self):
        if self.c is not None:
            try:
                self.c.close()
            except OSError:
                pass
        self.c = None


def workers_of(pidfile):
    with open(pidfile) as f:
        master = int(f.read().split()[0])
    kids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rindex(")") + 2:].split()
        if int(fields[1]) == master and fields[0] != "Z":
            kids.append(int(d))
    return master, kids


def busy(pid):
    """Serving a request: not blocked in accept()/accept4() (idle workers
    wait there, in FCGX_Accept_r)."""
    try:
        with open("/proc/%d/syscall" % pid) as f:
            nr = f.read().split()[0]
    except (OSError, IndexError):
        return False
    return nr not in ("43", "288")


class Killer(threading.Thread):
    """SIGKILL one worker child every `every` s until stopped: with target
    "busy" one that is serving a request (if one is within 50 ms), else any
    (chosen at random)."""

    def __init__(self, pidfile, every, target="busy"):
        super().__init__(daemon=True)
        self.pidfile, self.every, self.target = pidfile, every, target
        self.kills = []  # (t, pid, was busy)
        self.stop = threading.Event()

    def run(self):
        while not self.stop.wait(self.every):
            deadline = time.monotonic() + 0.05
            while True:
                master, kids = workers_of(self.pidfile)
                kids = [k for k in kids if k != master]
                hot = [k for k in kids if busy(k)]
                if hot or self.target != "busy" or time.monotonic() > deadline:
                    break
                time.sleep(0.001)
            if not kids:
                continue
            pid = random.choice(hot) if hot and self.target == "busy" else random.choice(kids)
            try:
                os.kill(pid, signal.SIGKILL)
                self.kills.append((now(), pid, pid in hot))
            except ProcessLookupError:
                pass


def run_fault(cmd):
    t = now()
    p = subprocess.run(cmd, shell=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return {"cmd": cmd, "start_s": round(t, 3), "end_s": round(now(), 3), "rc": p.returncode,
            "output": p.stdout.decode(errors="replace")[-500:]}


def attribute(failures, kills, slack=0.05):
    """failures: (start, end); a failure belongs to the latest kill inside
    [start - slack, end + slack]. Returns (attributed, unattributed, max per
    kill)."""
    per_kill = {}
    unattributed = 0
    for s, e in failures:
        cands = [i for i, k in enumerate(kills) if s - slack <= k[0] <= e + slack]
        if not cands:
            unattributed += 1
            continue
        per_kill[cands[-1]] = per_kill.get(cands[-1], 0) + 1
    return len(failures) - unattributed, unattributed, max(per_kill.values(), default=0)


# ------------------------------------------------------------------ api

def mode_api(a):
    tokens = [t[0] for t in read_lines(a.tokens)]
    if len(tokens) < a.clients:
        raise SystemExit("need at least %d tokens" % a.clients)
    ids = []
    h = Http(a.base)
    for i in range(a.clients):
        st, _, body = h.request("POST", "/support/tickets", tokens[i], json.dumps(
            {"subject": "faults %s-reader-%d" % (a.prefix, i), "description": "fault test"}))
        if st != 201:
            raise SystemExit("set-up create answered %s: %r" % (st, body[:300]))
        ids.append(json.loads(body)["public_id"])
    h.close()
    records = []  # (phase, kind, start, end, status or error)
    lock = threading.Lock()
    phase = {"name": "baseline"}
    stop = threading.Event()
    posts = {"n": 0}

    def client(i):
        c = Http(a.base)
        n = 0
        while not stop.is_set():
            n += 1
            kind = "get"
            if a.post_every and n % a.post_every == 0:
                with lock:
                    k = posts["n"] if posts["n"] < a.max_posts else None
                    posts["n"] += 1
                if k is not None:
                    kind = "post"
            ph = phase["name"]
            t = now()
            if kind == "get":
                st, _, _ = c.request("GET", "/support/tickets/" + ids[i], tokens[i])
            else:
                key = "%s-p%d" % (a.prefix, k)
                st, _, _ = c.request(
                    "POST", "/support/tickets", tokens[k % len(tokens)],
                    json.dumps({"subject": "faults %s" % key,
                                "description": "fault test"}),
                    {"Idempotency-Key": key})
            with lock:
                records.append((ph, kind, t, now(), st))
            if a.interval:
                time.sleep(a.interval)
        c.close()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(a.clients)]
    for t in threads:
        t.start()
    time.sleep(a.baseline)
    phase["name"] = "fault"
    fault_start = now()
    killer = Killer(a.kill_pidfile, a.kill_every, a.kill_target)
    killer.start()
    time.sleep(a.duration)
    killer.stop.set()
    killer.join()
    fault_end = now()
    # the last kill's in-flight requests end within the timeout
    time.sleep(0.3)
    stop.set()
    for t in threads:
        t.join()
    out = {"mode": "api", "clients": a.clients, "kill_every_s": a.kill_every,
           "kill_target": a.kill_target, "kills": len(killer.kills),
           "kills_of_busy_workers": sum(1 for k in killer.kills if k[2]), "phases": {}}
    for ph, span in (("baseline", a.baseline), ("fault", fault_end - fault_start)):
        rs = [r for r in records if r[0] == ph]
        ok = [r for r in rs if isinstance(r[4], int) and 200 <= r[4] < 300]
        bad = [r for r in rs if not (isinstance(r[4], int) and 200 <= r[4] < 300)]
        statuses = {}
        for r in bad:
            statuses[str(r[4])] = statuses.get(str(r[4]), 0) + 1
        att, unatt, per_kill = attribute([(r[2], r[3]) for r in bad], killer.kills)
        lat = [(r[3] - r[2]) * 1000 for r in ok]
        out["phases"][ph] = {
            "seconds": round(span, 2), "requests": len(rs), "ok": len(ok),
            "gets": sum(1 for r in rs if r[1] == "get"),
            "posts": sum(1 for r in rs if r[1] == "post"),
            "failures": len(bad), "failures_by_status": statuses,
            "attributed_to_kill": att if ph == "fault" else 0,
            "unattributed": unatt if ph == "fault" else len(bad),
            "max_failures_per_kill": per_kill if ph == "fault" else 0,
            "rps": round(len(rs) / span, 1) if span > 0 else 0,
            "p50_ms": pct(lat, 50), "p99_ms": pct(lat, 99), "max_ms": pct(lat, 100)}
    out["post_keys"] = ["%s-p%d" % (a.prefix, k) for k in range(min(posts["n"], a.max_posts))]
    return out


# ----------------------------------------------------------------- chat

async def mode_chat(a):
    import websockets
    sessions = read_lines(a.sessions)[:a.clients]
    host = a.base.split("://", 1)[1]
    phase = {"name": "baseline"}
    stop = asyncio.Event()
    res = []

    async def client(ci, sid, stok, jwt):
        url = "ws://%s/support/chat/connect?session_id=%s&session_token=%s" % (
            host, urllib.parse.quote(sid), urllib.parse.quote(stok))
        st = {"sent": {}, "got": {}, "closes": [], "connect_failures": 0, "ws": None,
              "dups": 0, "error_frames": 0}

        async def connect():
            while True:
                try:
                    return await asyncio.wait_for(websockets.connect(
                        url, extra_headers=[("Authorization", "Bearer " + jwt)],
                        compression=None, ping_interval=None, close_timeout=1), 5)
                except Exception:  # noqa: BLE001 — refused while no worker, counted
                    st["connect_failures"] += 1
                    await asyncio.sleep(0.1)

        def frame(cid):
            return json.dumps({"type": "message", "body": "fault " + cid, "client_id": cid})

        st["ws"] = await connect()

        async def reader():
            while True:
                try:
                    msg = await st["ws"].recv()
                except websockets.exceptions.ConnectionClosed as e:
                    st["closes"].append((now(), e.code, phase["name"]))
                    st["ws"] = await connect()
                    for cid in [c for c in st["sent"] if c not in st["got"]]:
                        try:
                            await st["ws"].send(frame(cid))
                        except websockets.exceptions.ConnectionClosed:
                            break
                    continue
                except asyncio.CancelledError:
                    return
                try:
                    d = json.loads(msg)
                except ValueError:
                    continue
                if not isinstance(d, dict):
                    continue
                if d.get("type") == "error" and d.get("code") == "dependency_unavailable":
                    # a frame the worker did not handle (killed mid-frame):
                    # the socket stays open, resend what is unanswered
                    st["error_frames"] += 1
                    for cid in [c for c in st["sent"] if c not in st["got"]]:
                        try:
                            await st["ws"].send(frame(cid))
                        except websockets.exceptions.ConnectionClosed:
                            break
                    continue
                cid = d.get("client_id")
                if d.get("type") == "message" and cid in st["sent"]:
                    if cid in st["got"]:
                        if st["got"][cid][0] != d.get("id"):
                            st["dups"] += 1
                    else:
                        st["got"][cid] = (d.get("id"), now())

        rt = asyncio.get_running_loop().create_task(reader())
        i = 0
        while not stop.is_set():
            cid = "%s-%d-%d" % (a.prefix, ci, i)
            i += 1
            st["sent"][cid] = (now(), phase["name"])
            try:
                await st["ws"].send(frame(cid))
            except websockets.exceptions.ConnectionClosed:
                pass  # the reader reconnects and resends
            await asyncio.sleep(a.interval)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and len(st["got"]) < len(st["sent"]):
            await asyncio.sleep(0.05)
        rt.cancel()
        try:
            await st["ws"].close()
        except Exception:  # noqa: BLE001
            pass
        res.append(st)

    tasks = [asyncio.get_running_loop().create_task(client(i, *s))
             for i, s in enumerate(sessions)]
    await asyncio.sleep(a.baseline)
    phase["name"] = "fault"
    fault_start = now()
    killer = Killer(a.kill_pidfile, a.kill_every, a.kill_target)
    killer.start()
    await asyncio.sleep(a.duration)
    killer.stop.set()
    fault_end = now()
    await asyncio.sleep(0.3)
    stop.set()
    await asyncio.gather(*tasks)
    killer.join()
    out = {"mode": "chat", "clients": len(sessions), "interval_s": a.interval,
           "kill_every_s": a.kill_every, "kill_target": a.kill_target, "kills": len(killer.kills),
           "kills_of_busy_workers": sum(1 for k in killer.kills if k[2]), "phases": {}}
    for ph, span in (("baseline", a.baseline), ("fault", fault_end - fault_start)):
        sent = [(s, cid, t) for s in res for cid, (t, p) in s["sent"].items() if p == ph]
        lat = [(s["got"][cid][1] - t) * 1000 for s, cid, t in sent if cid in s["got"]]
        closes = [c for s in res for c in s["closes"] if c[2] == ph]
        codes = {}
        for c in closes:
            codes[str(c[1])] = codes.get(str(c[1]), 0) + 1
        att, unatt, per_kill = attribute([(t - 2.0, t) for t, _, _ in closes], killer.kills, 0)
        out["phases"][ph] = {
            "seconds": round(span, 2), "frames_sent": len(sent),
            "stored_frames_received": len(lat),
            "never_received": len(sent) - len(lat),
            "closes": len(closes), "close_codes": codes,
            "abnormal_closes": sum(1 for c in closes if c[1] not in (1008, 1011)),
            "attributed_to_kill": att if ph == "fault" else 0,
            "unattributed": unatt if ph == "fault" else len(closes),
            "max_closes_per_kill": per_kill if ph == "fault" else 0,
            "p50_ms": pct(lat, 50), "p99_ms": pct(lat, 99), "max_ms": pct(lat, 100)}
    out["connect_failures"] = sum(s["connect_failures"] for s in res)
    out["duplicate_ids_for_one_client_id"] = sum(s["dups"] for s in res)
    out["dependency_unavailable_frames"] = sum(s["error_frames"] for s in res)
    out["client_id_prefix"] = a.prefix
    return out


# ------------------------------------------------------------------- pg

def mode_pg(a):
    tokens = [t[0] for t in read_lines(a.tokens)]
    lock = threading.Lock()
    attempts = []  # (start, end, status)
    acked = []     # (key, public_id, replayed, tries)
    keys = []
    gave_up = []
    stop = threading.Event()
    counter = {"n": 0}

    def client(ci):
        c = Http(a.base)
        while not stop.is_set():
            with lock:
                if counter["n"] >= a.max_creates:
                    break
                k = counter["n"]
                counter["n"] += 1
                key = "%s-%d" % (a.prefix, k)
                keys.append(key)
            token = tokens[k % len(tokens)]
            body = json.dumps({"subject": "faults %s" % key, "description": "pg restart"})
            for tries in range(1, a.max_tries + 1):
                t = now()
                st, hdr, data = c.request("POST", "/support/tickets", token, body,
                                          {"Idempotency-Key": key})
                with lock:
                    attempts.append((t, now(), st))
                if st == 201:
                    with lock:
                        acked.append((key, json.loads(data)["public_id"],
                                      hdr.get("idempotent-replayed") == "true", tries))
                    break
                time.sleep(0.1)
            else:
                with lock:
                    gave_up.append(key)
            if a.interval:
                time.sleep(a.interval)
        c.close()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(a.clients)]
    for t in threads:
        t.start()
    time.sleep(a.fault_at)
    fault = run_fault(a.fault_cmd)
    time.sleep(max(0.0, a.duration - now()))
    stop.set()
    for t in threads:
        t.join()
    fails = [x for x in attempts if x[2] != 201]
    statuses = {}
    for x in fails:
        statuses[str(x[2])] = statuses.get(str(x[2]), 0) + 1
    first_fail = min((x[0] for x in fails), default=None)
    last_fail = max((x[1] for x in fails), default=None)
    # the first 201 of a request sent once the restart command had returned
    first_ok = min((x[1] for x in attempts if x[2] == 201 and x[0] >= fault["end_s"]),
                   default=None)
    lat = [(x[1] - x[0]) * 1000 for x in attempts if x[2] == 201]
    return {"mode": "pg", "clients": a.clients, "fault": fault,
            "creates": len(keys), "attempts": len(attempts), "acked": len(acked),
            "failed_attempts": len(fails), "failed_by_status": statuses,
            "retried_keys": sum(1 for x in acked if x[3] > 1),
            "replayed_acks": sum(1 for x in acked if x[2]),
            "gave_up": gave_up,
            "first_failure_s": first_fail and round(first_fail, 3),
            "last_failure_s": last_fail and round(last_fail, 3),
            "first_success_after_restart_s": first_ok and round(first_ok, 3),
            "recovery_s": round(first_ok - first_fail, 3) if first_ok and first_fail else None,
            "restart_done_to_success_s": first_ok and round(first_ok - fault["end_s"], 3),
            "failures_after_restart_done": sum(1 for x in fails if x[0] >= fault["end_s"]),
            "failure_window_s": round(last_fail - first_fail, 3) if fails else 0,
            "p50_ms": pct(lat, 50), "p99_ms": pct(lat, 99), "max_ms": pct(lat, 100),
            "subject_prefix": "faults %s-" % a.prefix,
            "keys": keys, "acks": [{"key": k, "public_id": p, "replayed": r, "tries": n}
                                   for k, p, r, n in acked]}


# --------------------------------------------------------------- reload

def history(h, sid, jwt):
    """Every message of the session: [(id, client_id)]; None on any error."""
    out, cursor = [], None
    for _ in range(1000):
        path = "/support/chat/session/%s?limit=100" % urllib.parse.quote(sid)
        if cursor:
            path += "&cursor=" + urllib.parse.quote(cursor)
        st, _, body = h.request("GET", path, jwt)
        if st != 200:
            return None
        d = json.loads(body)
        out += [(m["id"], m.get("client_id")) for m in d.get("messages", [])]
        cursor = d.get("next_cursor")
        if not cursor:
            return out
    return None


async def mode_reload(a):
    import websockets
    sessions = read_lines(a.sessions)
    host = a.base.split("://", 1)[1]
    subs = []
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    async def subscriber(sid, stok, jwt):
        url = "ws://%s/support/chat/connect?session_id=%s&session_token=%s" % (
            host, urllib.parse.quote(sid), urllib.parse.quote(stok))
        s = {"sid": sid, "live": set(), "caught": set(), "closes": [], "reconnect_s": [],
             "connect_failures": 0, "catchup_failures": 0, "catchups": 0, "open": False}
        subs.append(s)

        async def connect():
            while True:
                try:
                    return await asyncio.wait_for(websockets.connect(
                        url, extra_headers=[("Authorization", "Bearer " + jwt)],
                        compression=None, ping_interval=None, close_timeout=1,
                        max_queue=None), 5)
                except Exception:  # noqa: BLE001 — counted
                    s["connect_failures"] += 1
                    await asyncio.sleep(0.05)

        ws = await connect()
        s["open"] = True
        h = Http(a.base)
        while True:
            try:
                msg = await ws.recv()
            except websockets.exceptions.ConnectionClosed as e:
                t = now()
                s["closes"].append((round(t, 3), e.code))
                if stop.is_set():
                    break
                ws = await connect()
                s["reconnect_s"].append(now() - t)
                # subscribed again: now the history holds everything missed
                hist = None
                for _ in range(50):
                    hist = await loop.run_in_executor(None, history, h, sid, jwt)
                    if hist is not None:
                        break
                    s["catchup_failures"] += 1
                    await asyncio.sleep(0.1)
                for mid, cid in hist or []:
                    if mid not in s["live"]:
                        s["caught"].add(mid)
                s["catchups"] += 1
                continue
            except asyncio.CancelledError:
                break
            try:
                d = json.loads(msg)
            except ValueError:
                continue
            if isinstance(d, dict) and d.get("type") == "message":
                s["live"].add(d.get("id"))
        h.close()
        try:
            await ws.close()
        except Exception:  # noqa: BLE001
            pass

    tasks = [loop.create_task(subscriber(*sessions[i % len(sessions)]))
             for i in range(len(sessions) * a.per_session)]
    t_conn = now()
    while sum(1 for s in subs if s["open"]) < len(tasks) and now() - t_conn < 60:
        await asyncio.sleep(0.05)
    connect_s = now() - t_conn
    await asyncio.sleep(0.3)

    sender_stats = {"sent": 0, "attempts": 0, "failures": {}, "stop": False}

    def sender():
        h = Http(a.base)
        n = 0
        t_start = time.monotonic()
        while not sender_stats["stop"]:
            sid, _, jwt = sessions[n % len(sessions)]
            cid = "%s-%d" % (a.prefix, n)
            body = json.dumps({"body": "reload " + cid, "client_id": cid})
            while True:
                sender_stats["attempts"] += 1
                st, _, _ = h.request("POST", "/support/chat/session/%s/messages"
                                     % urllib.parse.quote(sid), jwt, body)
                if st == 201:
                    break
                sender_stats["failures"][str(st)] = sender_stats["failures"].get(str(st), 0) + 1
                time.sleep(0.05)
            n += 1
            sender_stats["sent"] = n
            wait = t_start + n / a.rate - time.monotonic()
            if wait > 0:
                time.sleep(wait)
        h.close()

    th = threading.Thread(target=sender, daemon=True)
    t_send = now()
    th.start()
    await asyncio.sleep(a.fault_at)
    fault = await loop.run_in_executor(None, run_fault, a.fault_cmd)
    await asyncio.sleep(max(0.0, t_send + a.duration - now()))
    sender_stats["stop"] = True
    await loop.run_in_executor(None, th.join)
    # let the last frames arrive and the last catch-ups finish
    settle = now()
    while now() - settle < 10:
        await asyncio.sleep(0.5)
        if all(len(s["closes"]) == s["catchups"] for s in subs):
            break
    await asyncio.sleep(1.0)
    stop.set()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)

    h = Http(a.base)
    stored = {}
    for sid, _, jwt in sessions:
        hist = history(h, sid, jwt)
        if hist is None:
            raise SystemExit("final history of %s failed" % sid)
        stored[sid] = set(mid for mid, cid in hist if cid and cid.startswith(a.prefix + "-"))
    h.close()
    missed_before, missed_after, closed_subs = 0, 0, 0
    per_sub_missed = []
    codes = {}
    for s in subs:
        want = stored[s["sid"]]
        mb = len(want - s["live"])
        ma = len(want - s["live"] - s["caught"])
        missed_before += mb
        missed_after += ma
        per_sub_missed.append(mb)
        if s["closes"]:
            closed_subs += 1
        for _, c in s["closes"]:
            codes[str(c)] = codes.get(str(c), 0) + 1
    rec = [x for s in subs for x in s["reconnect_s"]]
    total_stored = sum(len(v) for v in stored.values())
    return {"mode": "reload", "sessions": len(sessions), "subscribers": len(subs),
            "rate_per_s": a.rate, "connect_s": round(connect_s, 2), "fault": fault,
            "messages_sent": sender_stats["sent"], "post_attempts": sender_stats["attempts"],
            "post_failures": sender_stats["failures"], "messages_stored": total_stored,
            "deliveries_expected": sum(len(stored[s["sid"]]) for s in subs),
            "subscribers_closed": closed_subs,
            "subscribers_reconnected": sum(1 for s in subs if s["reconnect_s"]),
            "close_codes": codes,
            "reconnect_p50_s": pct(rec, 50), "reconnect_max_s": pct(rec, 100),
            "connect_failures": sum(s["connect_failures"] for s in subs),
            "catchup_failures": sum(s["catchup_failures"] for s in subs),
            "missed_before_catchup": missed_before,
            "missed_before_catchup_max_per_subscriber": max(per_sub_missed, default=0),
            "missed_after_catchup": missed_after}


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="mode", required=True)
    for name in ("api", "chat", "pg", "reload"):
        s = sub.add_parser(name)
        s.add_argument("--base", required=True)
        s.add_argument("--out")
        s.add_argument("--prefix", default="f%x" % int(time.time() * 1000))
        s.add_argument("--duration", type=float, default=5)
        if name in ("api", "chat"):
            s.add_argument("--baseline", type=float, default=3)
            s.add_argument("--kill-pidfile", required=True)
            s.add_argument("--kill-every", type=float, default=0.5)
            s.add_argument("--kill-target", choices=("busy", "any"), default="busy")
        if name in ("pg", "reload"):
            s.add_argument("--fault-at", type=float, default=2)
            s.add_argument("--fault-cmd", required=True)
        if name in ("api", "pg"):
            s.add_argument("--tokens", required=True)
            s.add_argument("--clients", type=int, default=8)
        if name in ("chat", "reload"):
            s.add_argument("--sessions", required=True)
    sub.choices["api"].add_argument("--post-every", type=int, default=5)
    sub.choices["api"].add_argument("--max-posts", type=int, default=10 ** 9)
    sub.choices["api"].add_argument("--interval", type=float, default=0)
    sub.choices["chat"].add_argument("--clients", type=int, default=8)
    sub.choices["chat"].add_argument("--interval", type=float, default=0.1)
    sub.choices["pg"].add_argument("--max-tries", type=int, default=300)
    sub.choices["pg"].add_argument("--max-creates", type=int, default=10 ** 9)
    sub.choices["pg"].add_argument("--interval", type=float, default=0)
    sub.choices["reload"].add_argument("--per-session", type=int, default=4)
    sub.choices["reload"].add_argument("--rate", type=float, default=50)
    a = p.parse_args()
    if a.mode == "api":
        out = mode_api(a)
    elif a.mode == "pg":
        out = mode_pg(a)
    elif a.mode == "chat":
        out = asyncio.run(mode_chat(a))
    else:
        out = asyncio.run(mode_reload(a))
    out["command"] = " ".join(shlex.quote(x) for x in sys.argv[1:] if not x.startswith("ey"))
    text = json.dumps(out, indent=1)
    if a.out:
        with open(a.out + ".tmp", "w") as f:
            f.write(text + "\n")
        os.replace(a.out + ".tmp", a.out)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
