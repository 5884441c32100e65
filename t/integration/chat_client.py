#!/usr/bin/python3
"""Websocket chat client for the integration tests (python3-websockets).

usage: chat_client.py URL [--header 'Name: value'] [--send JSON]...
                          [--send-bytes N]... [--send-when PATH] [--expect N]
                          [--until TEXT] [--timeout S] [--deflate]

Connects to URL (ws://...). Prints one JSON line per event, flushed:
  {"event":"open"}                      after the 101 (subscribed); with
                                        --deflate (offer permessage-deflate,
                                        as browsers do) also "extensions":
                                        the ones the server accepted
  {"event":"rejected","status":403}     when the handshake is refused
  {"event":"frame","data":<frame>}      each frame received (data is the
                                        parsed JSON, or the raw text)
  {"event":"closed","code":1008,"reason":"..."}
  {"event":"done","received":N}         at the end
After "open" it waits for PATH to exist (--send-when), sends a text frame
of N "x" for each --send-bytes (a frame too long for a command line), then
the --send frames in order, then reads until N frames arrived or S seconds
passed, or (--until) a frame whose text holds TEXT arrived: a test that
sends a marker after what it checks ends there, not at S.
A message frame is stored when its echo arrives: without --expect the
client closes right after sending, and nchan drops a frame still waiting
for its hook when the socket goes (docs/API.md §7) -- expect the echoes.
"""
import argparse
import asyncio
import json
import os
import sys

import websockets


def out(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


async def run(a):
    headers = []
    for h in a.header:
        name, _, value = h.partition(":")
        headers.append((name.strip(), value.strip()))
    try:
        ws = await asyncio.wait_for(
            websockets.connect(a.url, extra_headers=headers,
                               compression="deflate" if a.deflate else None), a.timeout)
    except Exception as e:  # handshake refused
        status = getattr(e, "status_code", None)
        if status is None and getattr(e, "response", None) is not None:
            status = getattr(e.response, "status_code", None)
        out({"event": "rejected", "status": status, "error": type(e).__name__})
        return 0
    received = 0
    try:
        if a.deflate:
            out({"event": "open", "extensions": [e.name for e in ws.extensions]})
        else:
            out({"event": "open"})
        loop = asyncio.get_running_loop()
        deadline = loop.time() + a.timeout
        if a.send_when:
            while not os.path.exists(a.send_when) and loop.time() < deadline:
                await asyncio.sleep(0.02)
        for f in ["x" * n for n in a.send_bytes] + a.send:
            await ws.send(f)
        while received < a.expect:
            left = deadline - loop.time()
            if left <= 0:
                break
            try:
                msg = await asyncio.wait_for(ws.recv(), left)
            except asyncio.TimeoutError:
                break
            try:
                data = json.loads(msg)
            except ValueError:
                data = msg
            received += 1
            out({"event": "frame", "data": data})
            text = msg if isinstance(msg, str) else msg.decode("utf-8", "replace")
            if a.until is not None and a.until in text:
                break
    except websockets.exceptions.ConnectionClosed as e:
        out({"event": "closed", "code": e.code, "reason": e.reason})
    finally:
        await ws.close()
    out({"event": "done", "received": received})
    return 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("url")
    p.add_argument("--header", action="append", default=[])
    p.add_argument("--send", action="append", default=[])
    p.add_argument("--send-bytes", action="append", type=int, default=[])
    p.add_argument("--send-when")
    p.add_argument("--expect", type=int, default=0)
    p.add_argument("--until")
    p.add_argument("--timeout", type=float, default=10.0)
    p.add_argument("--deflate", action="store_true")
    return asyncio.run(run(p.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
