#!/usr/bin/python3
"""Chat transport probes for test_chat_transport (python3-websockets + stdlib).

usage:
  chat_probe.py es URL [--last-event-id ID] [--expect N] [--until TEXT] [--timeout S]
      EventSource client (Accept: text/event-stream). Prints
        {"event":"status","status":200}
        {"event":"message","id":"<id: line>","data":"<data: text>"} per event
        {"event":"done","received":N}
      Ping events and comments are skipped. Stops after N messages, after a
      message whose data holds TEXT, or after S s.
  chat_probe.py longpoll URL [--etag E] [--last-modified L] [--timeout S]
      One long-poll request (no Upgrade, no event-stream). Prints one line
        {"event":"answer","status":..,"etag":..,"last_modified":..,
         "content_type":..,"body":".."}  or {"event":"timeout"}
  chat_probe.py stress URL --prefix P --count N --interval S [--timeout S]
                           [--send-when PATH]
      Websocket sender: sends N message frames with client_id P-<i>, one every
      S seconds, reading concurrently. When the socket closes it prints
        {"event":"closed","code":..,"reason":".."}
      reconnects (retrying refused handshakes) and resends every message of
      its own whose stored frame it has not received yet (same client_id);
      a message still unanswered after 2 s is resent as well.
      Prints {"event":"frame","data":<frame>} for every frame and at the end
        {"event":"done","sent":N,"pending":[client_ids without a frame],
         "closes":K,"reconnect_failures":F}
  chat_probe.py raw URL [--send JSON | --send-hex HEX]... [--declare N] [--binary]
                       [--until TEXT] [--timeout S]
      A websocket client on a bare socket, as a careless client is: it never
      answers a ping or a close frame, so it sees whatever the server sends
      after its close frame. Prints {"event":"open"} (or
        {"event":"rejected","status":N}), sends the --send frames (opcode 2
      with --binary, else 1), then with --declare the header of a text
      frame declaring N bytes and 4 of them, then one line per frame received
        {"event":"frame","opcode":N,"data":"<text>"}   (opcode 8: "code",
         "reason" instead of "data")
      and {"event":"done","eof":true|false} at EOF, after S seconds, or after a
      text frame holding TEXT (--until: a test that sends a marker after what
      it checks ends there).
"""
import argparse
import asyncio
import base64
import http.client
import json
import os
import socket
import struct
import sys
import time
import urllib.parse

import websockets


def out(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def conn_for(url, timeout):
    u = urllib.parse.urlsplit(url)
    c = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=timeout)
    path = u.path + ("?" + u.query if u.query else "")
    return c, path


def cmd_es(a):
    c, path = conn_for(a.url, a.timeout)
    headers = {"Accept": "text/event-stream"}
    if a.last_event_id is not None:
        headers["Last-Event-ID"] = a.last_event_id
    c.request("GET", path, headers=headers)
    sock = c.sock  # getresponse() drops it from the connection (Connection: close)
    r = c.getresponse()
    out({"event": "status", "status": r.status,
         "content_type": r.getheader("Content-Type")})
    received = 0
    deadline = time.monotonic() + a.timeout
    if r.status != 200:
        out({"event": "done", "received": 0, "body": r.read().decode(errors="replace")})
        return 0
    ev_id, ev_type, data = None, None, []
    try:
        while received < a.expect and time.monotonic() < deadline:
            sock.settimeout(max(0.1, deadline - time.monotonic()))
            line = r.readline()
            if not line:
                break
            line = line.decode().rstrip("\r\n")
            if line == "":
                if data and ev_type in (None, "message"):
                    received += 1
                    out({"event": "message", "id": ev_id, "data": "\n".join(data)})
                    if a.until is not None and a.until in "\n".join(data):
                        break
                ev_id, ev_type, data = None, None, []
                continue
            if line.startswith(":"):
                continue
            field, _, value = line.partition(":")
            if value.startswith(" "):
                value = value[1:]
            if field == "id":
                ev_id = value
            elif field == "event":
                ev_type = value
            elif field == "data":
                data.append(value)
    except (TimeoutError, OSError):
        pass
    out({"event": "done", "received": received})
    c.close()
    return 0


def cmd_longpoll(a):
    c, path = conn_for(a.url, a.timeout)
    headers = {}
    if a.etag is not None:
        headers["If-None-Match"] = a.etag
    if a.last_modified is not None:
        headers["If-Modified-Since"] = a.last_modified
    try:
        c.request("GET", path, headers=headers)
        r = c.getresponse()
        body = r.read().decode(errors="replace")
    except (TimeoutError, OSError):
        out({"event": "timeout"})
        return 0
    out({"event": "answer", "status": r.status, "etag": r.getheader("Etag"),
         "last_modified": r.getheader("Last-Modified"),
         "content_type": r.getheader("Content-Type"), "body": body})
    return 0


async def cmd_stress(a):
    cids = ["%s-%d" % (a.prefix, i) for i in range(a.count)]
    got = set()           # own client_ids with a stored frame received
    sent = []             # own client_ids sent so far (in order)
    closes = 0
    failures = 0
    loop = asyncio.get_running_loop()
    deadline = loop.time() + a.timeout
    frame_of = lambda cid: json.dumps({"type": "message", "body": "stress " + cid,
                                       "client_id": cid})

    async def connect():
        nonlocal failures
        while loop.time() < deadline:
            try:
                return await asyncio.wait_for(
                    websockets.connect(a.url, compression=None), 3)
            except Exception as e:  # refused (e.g. 503 while no worker) or timeout
                failures += 1
                out({"event": "connect_failed", "error": type(e).__name__,
                     "status": getattr(e, "status_code", None)})
                await asyncio.sleep(0.1)
        return None

    ws = await connect()
    if ws is None:
        out({"event": "done", "sent": 0, "pending": cids, "closes": 0,
             "reconnect_failures": failures})
        return 0
    out({"event": "open"})
    if a.send_when:
        while not os.path.exists(a.send_when) and loop.time() < deadline:
            await asyncio.sleep(0.02)

    state = {"ws": ws}
    reconnected = asyncio.Event()

    async def reader():
        nonlocal closes
        while loop.time() < deadline:
            w = state["ws"]
            try:
                msg = await asyncio.wait_for(w.recv(), max(0.05, deadline - loop.time()))
            except asyncio.TimeoutError:
                break
            except websockets.exceptions.ConnectionClosed as e:
                closes += 1
                out({"event": "closed", "code": e.code, "reason": e.reason})
                nw = await connect()
                if nw is None:
                    break
                state["ws"] = nw
                out({"event": "reopened"})
                # resend what has no stored frame yet, same client_id
                for cid in list(sent):
                    if cid not in got:
                        try:
                            await nw.send(frame_of(cid))
                            out({"event": "resent", "client_id": cid})
                        except websockets.exceptions.ConnectionClosed:
                            break
                continue
            try:
                data = json.loads(msg)
            except ValueError:
                data = msg
            out({"event": "frame", "data": data})
            if isinstance(data, dict) and data.get("type") == "message":
                cid = data.get("client_id")
                if cid in cids:
                    got.add(cid)
            if len(sent) == len(cids) and got >= set(cids):
                break

    async def resender():
        # A frame resent right after a reconnect can be published before
        # nchan has the new subscription in place (its channel may live in
        # another nginx worker): the sender never sees it. Like a real
        # client, resend what is still unanswered after a while (same
        # client_id: stored once, answered with the stored frame).
        while loop.time() < deadline:
            await asyncio.sleep(2.0)
            if len(sent) == len(cids) and got >= set(cids):
                return
            for cid in list(sent):
                if cid not in got and loop.time() - sent_at.get(cid, 0) > 2.0:
                    try:
                        await state["ws"].send(frame_of(cid))
                        sent_at[cid] = loop.time()
                        out({"event": "resent", "client_id": cid})
                    except websockets.exceptions.ConnectionClosed:
                        break

    sent_at = {}
    rtask = asyncio.create_task(reader())
    stask = asyncio.create_task(resender())
    for cid in cids:
        if loop.time() >= deadline:
            break
        sent.append(cid)
        sent_at[cid] = loop.time()
        try:
            await state["ws"].send(frame_of(cid))
        except websockets.exceptions.ConnectionClosed:
            pass  # the reader reconnects and resends it
        await asyncio.sleep(a.interval)
    await rtask
    stask.cancel()
    try:
        await state["ws"].close()
    except Exception:
        pass
    out({"event": "done", "sent": len(sent), "pending": [c for c in cids if c not in got],
         "closes": closes, "reconnect_failures": failures})
    return 0


def raw_frame(payload, opcode):
    mask = os.urandom(4)
    n = len(payload)
    head = bytes([0x80 | opcode])
    head += bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + struct.pack(">H", n)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def raw_read(sock, buf, deadline):
    """(opcode, payload, rest of buf), or None at EOF/deadline."""
    def need(n):
        nonlocal buf
        while len(buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            sock.settimeout(left)
            d = sock.recv(65536)
            if not d:
                raise EOFError
            buf += d
    need(2)
    n, off = buf[1] & 127, 2
    if n == 126:
        need(4)
        n, off = struct.unpack(">H", buf[2:4])[0], 4
    elif n == 127:
        need(10)
        n, off = struct.unpack(">Q", buf[2:10])[0], 10
    need(off + n)
    return buf[0] & 15, buf[off:off + n], buf[off + n:]


def cmd_raw(a):
    u = urllib.parse.urlsplit(a.url)
    sock = socket.create_connection((u.hostname, u.port or 80), timeout=a.timeout)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(("GET %s?%s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
                  "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                  "Sec-WebSocket-Version: 13\r\n\r\n" % (u.path, u.query, u.netloc, key)).encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = sock.recv(65536)
        if not d:
            break
        buf += d
    head, _, buf = buf.partition(b"\r\n\r\n")
    status = int(head.split()[1]) if head.count(b" ") >= 1 else 0
    if status != 101:
        out({"event": "rejected", "status": status})
        return 0
    out({"event": "open"})
    for f in a.send:
        sock.sendall(raw_frame(f if isinstance(f, bytes) else f.encode(),
                               2 if a.binary else 1))
    if a.declare is not None:
        # a text frame's header declaring that many bytes, and 4 of them
        sock.sendall(bytes([0x81, 0x80 | 127]) + struct.pack(">Q", a.declare)
                     + os.urandom(4) + b"xxxx")
    deadline = time.monotonic() + a.timeout
    eof = False
    while True:
        try:
            got = raw_read(sock, buf, deadline)
        except (TimeoutError, socket.timeout):
            break
        except (EOFError, ConnectionResetError):
            eof = True
            break
        opcode, payload, buf = got
        if opcode == 8:
            code = struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else None
            out({"event": "frame", "opcode": 8, "code": code,
                 "reason": payload[2:].decode("utf-8", "replace")})
        elif opcode in (1, 2):
            text = payload.decode("utf-8", "replace")
            out({"event": "frame", "opcode": opcode, "data": text})
            if opcode == 1 and a.until is not None and a.until in text:
                break
    out({"event": "done", "eof": eof})
    return 0


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("es")
    e.add_argument("url")
    e.add_argument("--last-event-id")
    e.add_argument("--expect", type=int, default=1)
    e.add_argument("--until")
    e.add_argument("--timeout", type=float, default=10.0)
    lp = sub.add_parser("longpoll")
    lp.add_argument("url")
    lp.add_argument("--etag")
    lp.add_argument("--last-modified")
    lp.add_argument("--timeout", type=float, default=10.0)
    s = sub.add_parser("stress")
    s.add_argument("url")
    s.add_argument("--prefix", required=True)
    s.add_argument("--count", type=int, default=25)
    s.add_argument("--interval", type=float, default=0.16)
    s.add_argument("--timeout", type=float, default=20.0)
    s.add_argument("--send-when")
    r = sub.add_parser("raw")
    r.add_argument("url")
    r.add_argument("--send", action="append", default=[])
    # the frame's bytes in hex (e.g. invalid UTF-8), in order with --send
    r.add_argument("--send-hex", dest="send", action="append", type=bytes.fromhex)
    r.add_argument("--binary", action="store_true")
    r.add_argument("--declare", type=int)
    r.add_argument("--until")
    r.add_argument("--timeout", type=float, default=10.0)
    a = p.parse_args()
    if a.cmd == "raw":
        return cmd_raw(a)
    if a.cmd == "es":
        return cmd_es(a)
    if a.cmd == "longpoll":
        return cmd_longpoll(a)
    return asyncio.run(cmd_stress(a))


if __name__ == "__main__":
    sys.exit(main())
