#!/usr/bin/python3
"""bench/chat_load.py — websocket load generator for bench/chat.

usage: chat_load.py --base http://127.0.0.1:PORT --sessions FILE
                    [--per-session 2] [--procs 4] [--rate 200]
                    [--duration 10] [--lanes 64] [--out FILE.json]

FILE has one line per chat session: "SESSION_ID SESSION_TOKEN CUSTOMER_JWT".
Each session gets --per-session websocket subscribers (all as the session's
customer) on /support/chat/connect. The sessions are split over --procs
processes (python3-websockets, asyncio; one event loop per process).

Once every socket is open, the same sockets are measured in four phases,
one after the other, each for --duration seconds:

  static-rate    POST {"type":"message","client_id":…} to nginx's internal
                 publisher /internal/chat/publish/<sid> (no worker, no DB),
                 open loop, --rate messages/s in total, sessions round-robin
  stored-rate    the first socket of the session sends a `message` frame
                 (the worker authorizes, rate-limits, stores, broadcasts the
                 stored frame), same rate, same sessions
  static-max     closed loop: --lanes concurrent senders per process, each
                 sends the next message when the previous one reached the
                 sending session's first socket -> saturated throughput
  stored-max     the same through the worker

Every message carries its send time (time.monotonic_ns(), same clock for all
processes of the machine) in client_id; the stored frame echoes client_id.
Latency = receive time - send time, per delivered frame (every subscriber
of the session). "delivered/s" counts frames received by subscribers.

Prints one JSON object (also to --out).
"""
import argparse
import asyncio
import json
import multiprocessing as mp
import os
import re
import sys
import time

import websockets

CID = re.compile(rb'"client_id"\s*:\s*"b\.([a-z]+)\.(\d+)\.(\d+)\.(\d+)"')
PHASES = ["static-rate", "stored-rate", "static-max", "stored-max"]
TAG = {"static-rate": "sr", "stored-rate": "tr", "static-max": "sm", "stored-max": "tm"}
UNTAG = {v: k for k, v in TAG.items()}


class Worker:
    def __init__(self, idx, a, sessions):
        self.idx = idx
        self.a = a
        self.sessions = sessions          # [(sid, stoken, jwt)]
        self.socks = {}                   # sid -> [ws, ...]
        self.lat = {p: [] for p in PHASES}
        self.errors = {"connect": 0, "closed": 0, "error_frames": 0, "publish_non2xx": 0,
                       "send_failed": 0, "late_or_foreign": 0}
        self.sent = {p: 0 for p in PHASES}
        self.phase = None
        self.waiters = {}                 # client_id seq -> future (closed loop)
        self.seq = 0
        host, _, port = a.base.split("//", 1)[1].partition(":")
        self.host, self.port = host, int(port or 80)
        self.publish_socket = a.publish_socket

    # ------------------------------------------------------------ sockets
    async def connect_one(self, sem, sid, stoken, jwt):
        url = "ws%s/support/chat/connect?session_id=%s&session_token=%s" % (
            self.a.base[4:], sid, stoken)
        async with sem:
            for attempt in range(3):
                try:
                    ws = await asyncio.wait_for(websockets.connect(
                        url, extra_headers=[("Authorization", "Bearer " + jwt)],
                        compression=None, ping_interval=None, max_queue=None,
                        close_timeout=1, open_timeout=None), 30)
                    self.socks.setdefault(sid, []).append(ws)
                    asyncio.get_running_loop().create_task(self.reader(ws))
                    return
                except Exception as e:  # noqa: BLE001 — counted, reported
                    self.last_connect_error = "%s: %s" % (type(e).__name__, str(e)[:200])
                    await asyncio.sleep(0.2 * (attempt + 1))
            self.errors["connect"] += 1

    async def reader(self, ws):
        try:
            async for msg in ws:
                now = time.monotonic_ns()
                if isinstance(msg, str):
                    msg = msg.encode()
                m = CID.search(msg)
                if not m:
                    if b'"type":"error"' in msg or b'"type": "error"' in msg:
                        self.errors["error_frames"] += 1
                        if not hasattr(self, "first_error_frame"):
                            self.first_error_frame = msg[:300].decode("utf-8", "replace")
                    continue
                phase = UNTAG.get(m.group(1).decode())
                if phase is None or phase != self.phase:
                    self.errors["late_or_foreign"] += 1  # straggler of a previous phase
                    continue
                self.lat[phase].append((now - int(m.group(2))) / 1e6)
                if phase.endswith("max") and int(m.group(3)) == self.idx:
                    f = self.waiters.pop(int(m.group(4)), None)
                    if f is not None and not f.done():
                        f.set_result(None)
        except websockets.exceptions.ConnectionClosed:
            pass
        except Exception:  # noqa: BLE001
            pass
        if self.phase != "closing":
            self.errors["closed"] += 1

    # ------------------------------------------------------------ senders
    def frame(self, phase):
        self.seq += 1
        cid = "b.%s.%d.%d.%d" % (TAG[phase], time.monotonic_ns(), self.idx, self.seq)
        return self.seq, ('{"type":"message","body":"bench %s","client_id":"%s"}'
                          % (phase, cid)).encode()

    async def http_conn(self):
        r, w = await asyncio.open_unix_connection(self.publish_socket)
        return [r, w]

    async def publish(self, conn, sid, body):
        req = (b"POST /internal/chat/publish/%s HTTP/1.1\r\nHost: localhost\r\n"
               b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
               % (sid.encode(), len(body))) + body
        for attempt in range(2):
            try:
                r, w = conn
                w.write(req)
                status = await r.readline()
                clen = 0
                while True:
                    line = await r.readline()
                    if not line:
                        raise ConnectionError("eof")
                    if line in (b"\r\n", b"\n"):
                        break
                    if line[:15].lower() == b"content-length:":
                        clen = int(line[15:].strip())
                if clen:
                    await r.readexactly(clen)
                code = int(status.split()[1])
                if code not in (200, 201, 202):
                    self.errors["publish_non2xx"] += 1
                return
            except Exception:  # noqa: BLE001 — reconnect once
                conn[:] = await self.http_conn()
        self.errors["send_failed"] += 1

    async def send_one(self, phase, conn, sid):
        seq, body = self.frame(phase)
        if phase.startswith("static"):
            await self.publish(conn, sid, body)
        else:
            try:
                await self.socks[sid][0].send(body.decode())
            except Exception:  # noqa: BLE001
                self.errors["send_failed"] += 1
        self.sent[phase] += 1
        return seq

    async def run_rate(self, phase, rate, duration):
        """Open loop: `rate` messages/s from this process, sessions round-robin."""
        sids = list(self.socks)
        if not sids or rate <= 0:
            await asyncio.sleep(duration)
            return
        nconn = 8
        conns = [await self.http_conn() for _ in range(nconn)] if phase.startswith("static") else [None]
        locks = [asyncio.Lock() for _ in conns]
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        i = 0
        tasks = set()

        async def one(k, sid):
            async with locks[k]:
                await self.send_one(phase, conns[k], sid)

        while True:
            due = t0 + i / rate
            if due - t0 >= duration:
                break
            d = due - loop.time()
            if d > 0:
                await asyncio.sleep(d)
            t = loop.create_task(one(i % len(conns), sids[i % len(sids)]))
            tasks.add(t)
            t.add_done_callback(tasks.discard)
            i += 1
        if tasks:
            await asyncio.wait(tasks, timeout=5)
        for c in conns:
            if c:
                c[1].close()

    async def run_max(self, phase, lanes, duration):
        """Closed loop: `lanes` senders, each waits for its message to reach
        the session's first socket (the sender's own socket for stored)."""
        sids = list(self.socks)
        if not sids:
            await asyncio.sleep(duration)
            return
        loop = asyncio.get_running_loop()
        end = loop.time() + duration

        async def lane(k):
            conn = await self.http_conn() if phase.startswith("static") else None
            j = k
            while loop.time() < end:
                sid = sids[j % len(sids)]
                j += lanes
                fut = loop.create_future()
                # register before sending (the answer may come first)
                seq_next = self.seq + 1
                self.waiters[seq_next] = fut
                seq = await self.send_one(phase, conn, sid)
                if seq != seq_next:  # another lane took the number: re-key
                    self.waiters.pop(seq_next, None)
                    self.waiters[seq] = fut
                try:
                    await asyncio.wait_for(fut, max(0.1, min(5, end - loop.time() + 1)))
                except asyncio.TimeoutError:
                    self.waiters.pop(seq, None)
            if conn:
                conn[1].close()

        await asyncio.gather(*(lane(k) for k in range(min(lanes, len(sids)))))

    # ------------------------------------------------------------ driver
    async def main(self, pipe):
        loop = asyncio.get_running_loop()
        sem = asyncio.Semaphore(self.a.connect_concurrency)
        t0 = time.monotonic()
        await asyncio.gather(*(self.connect_one(sem, sid, st, jwt)
                               for sid, st, jwt in self.sessions
                               for _ in range(self.a.per_session)))
        nsock = sum(len(v) for v in self.socks.values())
        pipe.send({"connected": nsock, "connect_s": time.monotonic() - t0,
                   "connect_errors": self.errors["connect"],
                   "last_connect_error": getattr(self, "last_connect_error", None)})
        while True:
            cmd = await loop.run_in_executor(None, pipe.recv)
            if cmd["op"] == "quit":
                break
            phase = cmd["phase"]
            self.phase = phase
            # wait for the common start time
            d = cmd["start"] - time.monotonic()
            if d > 0:
                await asyncio.sleep(d)
            if phase.endswith("rate"):
                await self.run_rate(phase, cmd["rate"], cmd["duration"])
            else:
                await self.run_max(phase, cmd["lanes"], cmd["duration"])
            await asyncio.sleep(cmd.get("drain", 1.0))  # late deliveries still count
            self.phase = None
            alive = sum(1 for v in self.socks.values() for ws in v if ws.open)
            pipe.send({"phase": phase, "lat": self.lat[phase], "sent": self.sent[phase],
                       "alive": alive, "errors": dict(self.errors),
                       "first_error_frame": getattr(self, "first_error_frame", None)})
            self.lat[phase] = []
        self.phase = "closing"
        await asyncio.gather(*(ws.close() for v in self.socks.values() for ws in v),
                             return_exceptions=True)
        pipe.send({"closed": True})


def child(idx, a, sessions, pipe):
    try:
        asyncio.run(Worker(idx, a, sessions).main(pipe))
    except KeyboardInterrupt:
        pass


def pct(xs, p):
    if not xs:
        return None
    return round(xs[min(len(xs) - 1, int(p / 100.0 * len(xs)))], 2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--sessions", required=True)
    ap.add_argument("--per-session", type=int, default=2)
    ap.add_argument("--procs", type=int, default=4)
    ap.add_argument("--rate", type=float, default=200)
    ap.add_argument("--duration", type=float, default=10)
    ap.add_argument("--lanes", type=int, default=32, help="closed-loop senders per process")
    ap.add_argument("--connect-concurrency", type=int, default=64)
    ap.add_argument("--phases", default=",".join(PHASES))
    ap.add_argument("--publish-socket", required=True,
                    help="nginx's internal server (the publisher is not on the public port)")
    ap.add_argument("--out")
    a = ap.parse_args()
    sessions = [tuple(l.split()) for l in open(a.sessions) if l.strip()]
    procs = max(1, min(a.procs, len(sessions)))
    ctx = mp.get_context("fork")
    kids = []
    for i in range(procs):
        parent, kid = ctx.Pipe()
        p = ctx.Process(target=child, args=(i, a, sessions[i::procs], kid), daemon=True)
        p.start()
        kids.append((p, parent))

    def log(*x):
        print("chat_load:", *x, file=sys.stderr, flush=True)

    res = {"sessions": len(sessions), "per_session": a.per_session, "procs": procs,
           "rate": a.rate, "duration_s": a.duration, "lanes_per_proc": a.lanes,
           "subscribers_wanted": len(sessions) * a.per_session, "phases": {}}
    hello = [pp.recv() for _, pp in kids]
    res["subscribers_open"] = sum(h["connected"] for h in hello)
    res["connect_errors"] = sum(h["connect_errors"] for h in hello)
    res["connect_s"] = round(max(h["connect_s"] for h in hello), 2)
    errs = [h["last_connect_error"] for h in hello if h["last_connect_error"]]
    if errs:
        res["last_connect_error"] = errs[0]
    log("%d/%d subscribers open in %.1f s (%d failed)" % (
        res["subscribers_open"], res["subscribers_wanted"], res["connect_s"],
        res["connect_errors"]))
    time.sleep(1)
    for phase in a.phases.split(","):
        start = time.monotonic() + 0.5
        for _, pp in kids:
            pp.send({"op": "phase", "phase": phase, "start": start, "duration": a.duration,
                     "rate": a.rate / procs, "lanes": a.lanes, "drain": 1.5})
        outs = [pp.recv() for _, pp in kids]
        lat = sorted(x for o in outs for x in o["lat"])
        e = {}
        for o in outs:
            for k, v in o["errors"].items():
                e[k] = e.get(k, 0) + v
        r = {"sent": sum(o["sent"] for o in outs), "delivered": len(lat),
             "sent_per_s": round(sum(o["sent"] for o in outs) / a.duration, 1),
             "delivered_per_s": round(len(lat) / a.duration, 1),
             "p50_ms": pct(lat, 50), "p90_ms": pct(lat, 90), "p99_ms": pct(lat, 99),
             "max_ms": round(lat[-1], 2) if lat else None,
             "subscribers_alive": sum(o["alive"] for o in outs), "errors_cumulative": e}
        fe = [o["first_error_frame"] for o in outs if o["first_error_frame"]]
        if fe:
            r["first_error_frame"] = fe[0]
        res["phases"][phase] = r
        log("%-12s sent %7.1f/s delivered %8.1f/s p50 %s ms p99 %s ms max %s ms alive %d" % (
            phase, r["sent_per_s"], r["delivered_per_s"], r["p50_ms"], r["p99_ms"],
            r["max_ms"], r["subscribers_alive"]))
    for _, pp in kids:
        pp.send({"op": "quit"})
    for p, pp in kids:
        if pp.poll(15):
            pp.recv()
        p.join(5)
        if p.is_alive():
            p.terminate()
    ph = res["phases"]
    for kind in ("rate", "max"):
        s, t = ph.get("static-" + kind), ph.get("stored-" + kind)
        if s and t and s["delivered_per_s"]:
            res["stored_over_static_" + kind] = round(t["delivered_per_s"] / s["delivered_per_s"], 3)
    txt = json.dumps(res, indent=1)
    if a.out:
        with open(a.out, "w") as f:
            f.write(txt + "\n")
    print(txt)
    return 0


if __name__ == "__main__":
    sys.exit(main())
