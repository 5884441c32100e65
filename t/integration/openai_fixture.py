#!/usr/bin/python3
"""An OpenAI-compatible model server for the integration tests (the AI
provider and embedder of API.md §9, as core/ai_client calls them).

usage: openai_fixture.py [--timeout S] [--dim N]

Listens on 127.0.0.1, on a free port, and prints, flushed:
  {"event":"listening","port":N,"pid":P}       once, first
  {"event":"request","path","authorization","body"}   for each API request
                                               (body: the raw text), before
                                               answering
Serves:
  POST /v1/chat/completions  {"model","messages",["tools"]} → one choice:
      "Fixture answer: see [1]." (after a tool round: "Fixture answer
      from the tool: <tool result> [1]."), usage prompt_tokens 4321,
      completion_tokens 17, model as asked.
  POST /v1/embeddings        {"model","input":[…]} → N-dimension vectors
      (default 64) of hashed words, in reverse order with their "index".
  POST /_control             {"chat_fail":n, "embed_fail":n, "chat_hang":s,
      "tool_calls":"offered"|"always"|"forever"|null, "script":[…],
      "answer":text|null} → 200; not logged. answer: the text of an answer
      without tools (default "Fixture answer: see [1]."; null: content
      null, a model that gives no text); chat_fail / embed_fail: the next
      n calls answer 500; chat_hang: each chat call sleeps s seconds first; tool_calls
      "offered": ask for the first offered tool once per conversation,
      "always": also attach a tool_call when no tool was offered (a
      misbehaving server), "forever": ask for the first offered tool in
      every answer, "tool_choice" or not (a model that never stops);
      script: round i of a conversation (i = the assistant turns with
      tool_calls so far) asks for script[i] — {"name","arguments"} or a
      list of them, arguments an object — whether offered or not; after
      the script, "Fixture answer from the tools: <every tool result,
      joined by " | "> [1]."; usage: an object sent as the answers' "usage"
      (null: the default); raw: a text sent as the whole body of the next
      chat answers, as is (null: none); fail_after_tool: a chat request
      that carries a tool result answers 500; object_arguments: scripted
      calls send "arguments" as the object, not as a JSON string.
Exits after S seconds (default 120) or on SIGTERM.
"""
import hashlib
import json
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler

from fixture_server import out, serve

state = {"chat_fail": 0, "embed_fail": 0, "chat_hang": 0, "tool_calls": None, "script": None,
         "answer": "Fixture answer: see [1].", "usage": None, "raw": None,
         "fail_after_tool": False, "object_arguments": False}
lock = threading.Lock()
dim = 64
STOP = {"the", "and", "for", "are", "you", "your", "how", "what", "does", "with", "can"}




def take(key):
    """True (and one fewer) when a failure of that kind is pending."""
    with lock:
        if state[key] > 0:
            state[key] -= 1
            return True
    return False


def vector(text):
    v = [0.0] * dim
    for w in re.findall(r"[a-z0-9]+", text.lower()):
        if len(w) > 2 and w not in STOP:
            w = w[:-1] if w.endswith("s") else w
            v[int(hashlib.md5(w.encode()).hexdigest(), 16) % dim] += 1.0
    if not any(v):
        v[0] = 1.0
    return v


def calls_message(calls, round_no):
    """An assistant turn asking for calls [{"name","arguments"}]."""
    return {"role": "assistant", "content": None, "tool_calls": [{
        "id": "call_%d_%d" % (round_no, i), "type": "function",
        "function": {"name": c["name"], "arguments": c.get("arguments", {})
                     if state["object_arguments"] else json.dumps(c.get("arguments", {}))}}
        for i, c in enumerate(calls)]}


def chat_answer(req):
    msgs = req.get("messages", [])
    tool_results = [m.get("content") or "" for m in msgs if m.get("role") == "tool"]
    rounds = sum(1 for m in msgs if m.get("role") == "assistant" and m.get("tool_calls"))
    mode = state["tool_calls"]
    script = state["script"]
    offered = req.get("tools") or []
    message = {"role": "assistant", "content": state["answer"]}
    finish = "stop"
    if script and rounds < len(script):
        step = script[rounds]
        message = calls_message(step if isinstance(step, list) else [step], rounds)
        finish = "tool_calls"
    elif mode == "forever" and offered:
        message = calls_message([{"name": offered[0]["function"]["name"],
                                  "arguments": {"query": "refunds"}}], rounds)
        finish = "tool_calls"
    elif tool_results and script:
        message["content"] = "Fixture answer from the tools: %s [1]." % " | ".join(tool_results)
    elif tool_results:
        message["content"] = "Fixture answer from the tool: %s [1]." % tool_results[-1]
    elif mode == "offered" and offered:
        name = offered[0]["function"]["name"]
        message = {"role": "assistant", "content": None, "tool_calls": [{
            "id": "call_1", "type": "function",
            "function": {"name": name, "arguments": "{\"query\":\"refunds\"}"}}]}
        finish = "tool_calls"
    elif mode == "always":
        message["tool_calls"] = [{"id": "call_9", "type": "function",
                                  "function": {"name": "payment_refund",
                                               "arguments": "{\"amount\":1}"}}]
        finish = "tool_calls"
    return {"id": "chatcmpl-fixture", "object": "chat.completion", "created": int(time.time()),
            "model": req.get("model", ""),
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": state["usage"] or {"prompt_tokens": 4321, "completion_tokens": 17,
                                        "total_tokens": 4338}}


def embeddings_answer(req):
    inputs = req.get("input", [])
    if isinstance(inputs, str):
        inputs = [inputs]
    data = [{"object": "embedding", "index": i, "embedding": vector(t)}
            for i, t in enumerate(inputs)]
    data.reverse()
    return {"object": "list", "data": data, "model": req.get("model", ""),
            "usage": {"prompt_tokens": 1, "total_tokens": 1}}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, obj, raw=None):
        data = raw.encode() if raw is not None else json.dumps(obj).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (the timeout tests)

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        text = self.rfile.read(n).decode("utf-8", "replace") if n else ""
        try:
            req = json.loads(text) if text else {}
        except ValueError:
            return self.answer(400, {"error": {"message": "not JSON"}})
        if self.path == "/_control":
            with lock:
                state.update(req)
            return self.answer(200, state)
        out({"event": "request", "path": self.path,
             "authorization": self.headers.get("Authorization"), "body": text})
        if self.path.endswith("/chat/completions"):
            if state["chat_hang"]:
                time.sleep(state["chat_hang"])
            if take("chat_fail") or (state["fail_after_tool"] and any(
                    m.get("role") == "tool" for m in req.get("messages", []))):
                return self.answer(500, {"error": {"message": "fixture failure"}})
            return self.answer(200, chat_answer(req), state["raw"])
        if self.path.endswith("/embeddings"):
            if take("embed_fail"):
                return self.answer(500, {"error": {"message": "fixture failure"}})
            return self.answer(200, embeddings_answer(req))
        return self.answer(404, {"error": {"message": "no such endpoint"}})


def main():
    global dim
    timeout = 120
    args = sys.argv[1:]
    while len(args) >= 2:
        if args[0] == "--timeout":
            timeout = int(args[1])
        elif args[0] == "--dim":
            dim = int(args[1])
        args = args[2:]
    serve(Handler, timeout)


if __name__ == "__main__":
    main()
