#!/usr/bin/python3
"""bench/attachments helper: what wrk cannot do (it reads no bodies).

usage:
  attachments.py prepare --base URL --token JWT --body FILE --count N
                         --out FILE [--conns K]
      creates N attachments (POST /support/attachments, text/plain, the
      size of FILE) over K keep-alive connections and writes their signed
      upload paths, one a line, to --out. Prints {"created":N,"seconds":S}.
  attachments.py clean --base URL --token JWT --body FILE
      creates one attachment, uploads FILE, waits until it is clean and
      prints {"id":…,"download_path":…} (the signed download path).
  attachments.py latency --base URL --token JWT --body FILE --count N
                         --rate R --out FILE
      uploads N attachments (create, then PUT), R per second on one
      connection, and writes their ids to --out (the upload-to-clean times
      are read from the database by bench/attachments). Prints
      {"uploaded":N,"seconds":S}.
Exit 1 on any unexpected status (the answer is printed).
"""
import argparse
import http.client
import json
import sys
import threading
import time
import urllib.parse


def conn(base):
    u = urllib.parse.urlparse(base)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=60)


def call(c, method, path, body=None, headers=None, want=(200,)):
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    if r.status not in want:
        sys.stderr.write("%s %s -> %d %s\n" % (method, path, r.status, data[:500]))
        sys.exit(1)
    return json.loads(data) if data and r.getheader("Content-Type", "").find("json") >= 0 else None


def create(c, token, size, name="bench.txt"):
    body = json.dumps({"filename": name, "content_type": "text/plain", "size": size})
    return call(c, "POST", "/support/attachments", body,
                {"Authorization": "Bearer " + token, "Content-Type": "application/json"},
                want=(201,))


def upload(c, path, data):
    call(c, "PUT", path, data, {"Content-Type": "application/octet-stream"})


def read_body(path):
    with open(path, "rb") as f:
        return f.read()


def cmd_prepare(a):
    size = len(read_body(a.body))
    per = [a.count // a.conns + (1 if i < a.count % a.conns else 0) for i in range(a.conns)]
    out = [[] for _ in range(a.conns)]

    def work(i):
        c = conn(a.base)
        for _ in range(per[i]):
            out[i].append(create(c, a.token, size)["upload_url"])
        c.close()

    t0 = time.monotonic()
    ts = [threading.Thread(target=work, args=(i,)) for i in range(a.conns)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    urls = [u for part in out for u in part]
    if len(urls) != a.count:
        sys.exit(1)
    with open(a.out, "w") as f:
        f.write("\n".join(urls) + "\n")
    print(json.dumps({"created": len(urls), "seconds": round(time.monotonic() - t0, 2)}))


def wait_clean(c, token, aid, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        m = call(c, "GET", "/support/attachments/" + aid, None,
                 {"Authorization": "Bearer " + token})
        if m["status"] != "pending":
            return m
        time.sleep(0.05)
    sys.stderr.write("attachment %s still pending after %d s\n" % (aid, seconds))
    sys.exit(1)


def cmd_clean(a):
    data = read_body(a.body)
    c = conn(a.base)
    made = create(c, a.token, len(data), "download.txt")
    upload(c, made["upload_url"], data)
    m = wait_clean(c, a.token, made["id"])
    if m["status"] != "clean":
        sys.stderr.write("scan verdict %s\n" % m["status"])
        sys.exit(1)
    print(json.dumps({"id": made["id"], "download_path": m["download_url"]}))


def cmd_latency(a):
    data = read_body(a.body)
    c = conn(a.base)
    ids = []
    t0 = time.monotonic()
    for k in range(a.count):
        due = t0 + k / a.rate
        now = time.monotonic()
        if due > now:
            time.sleep(due - now)
        made = create(c, a.token, len(data), "latency.txt")
        upload(c, made["upload_url"], data)
        ids.append(made["id"])
    with open(a.out, "w") as f:
        f.write("\n".join(ids) + "\n")
    print(json.dumps({"uploaded": len(ids), "seconds": round(time.monotonic() - t0, 2)}))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("cmd", choices=["prepare", "clean", "latency"])
    p.add_argument("--base", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--body", required=True)
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--conns", type=int, default=4)
    p.add_argument("--rate", type=float, default=20.0)
    p.add_argument("--out")
    a = p.parse_args()
    {"prepare": cmd_prepare, "clean": cmd_clean, "latency": cmd_latency}[a.cmd](a)


if __name__ == "__main__":
    main()
