#!/usr/bin/python3
"""The labelled half of bench/ai (stdlib only).

usage:
  ai_bench.py load --base URL --token ADMIN_JWT [--file bench/ai_labelled.json]
      Creates the labelled articles through POST /support/admin/articles
      (409 slug_taken: already there). Prints {"created","existing"}.
  ai_bench.py files --out-dir DIR --ticket ID [--file …]
      Writes DIR/questions.tsv ("slug<TAB>question", for bench/ai-retrieval)
      and DIR/bodies.txt (one POST /support/ai/query body a line, with the
      ticket as context, for bench/ai.lua).
  ai_bench.py quality --base URL --token JWT --ticket ID [--file …]
      Asks every labelled question through POST /support/ai/query, one at a
      time, and prints {"questions","top1","share","dont_know","sets","wrong":[…]}:
      top1 = answers whose first source is the labelled article; "sets":
      the same per set of questions ("tune": may guide retrieval changes;
      "held-out", "new": must not — the figure to report is theirs,
      "held-out+new").
"""
import argparse
import http.client
import json
import sys
import urllib.parse

HERE = __file__.rsplit("/", 1)[0]


def labelled(path):
    with open(path or HERE + "/ai_labelled.json") as f:
        return json.load(f)


def post(conn, path, token, body):
    conn.request("POST", path, json.dumps(body),
                 {"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    r = conn.getresponse()
    return r.status, r.read()


def connect(base):
    u = urllib.parse.urlsplit(base)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=60)


def cmd_load(a):
    conn = connect(a.base)
    created = existing = 0
    for art in labelled(a.file)["articles"]:
        status, body = post(conn, "/support/admin/articles", a.token,
                            {"slug": art["slug"], "title": art["title"],
                             "content_markdown": art["markdown"], "is_published": True,
                             "tags": ["bench-ai"]})
        if status == 201:
            created += 1
        elif status == 409:
            existing += 1
        else:
            sys.exit("POST %s answered %d: %s" % (art["slug"], status, body[:300]))
    print(json.dumps({"created": created, "existing": existing}))


def cmd_files(a):
    qs = labelled(a.file)["questions"]
    with open(a.out_dir + "/questions.tsv", "w") as f:
        for q in qs:
            f.write("%s\t%s\n" % (q["slug"], q["q"]))
    with open(a.out_dir + "/bodies.txt", "w") as f:
        for q in qs:
            f.write(json.dumps({"question": q["q"], "ticket_id": a.ticket}) + "\n")


def cmd_quality(a):
    conn = connect(a.base)
    qs = labelled(a.file)["questions"]
    top1 = dont_know = 0
    wrong = []
    sets = {}
    for q in qs:
        tally = sets.setdefault(q.get("set", "all"), {"questions": 0, "top1": 0})
        tally["questions"] += 1
        status, body = post(conn, "/support/ai/query", a.token,
                            {"question": q["q"], "ticket_id": a.ticket})
        if status != 200:
            sys.exit("POST /support/ai/query answered %d: %s" % (status, body[:300]))
        ans = json.loads(body)
        first = ans["sources"][0]["slug"] if ans["sources"] else None
        dont_know += first is None
        if first == q["slug"]:
            top1 += 1
            tally["top1"] += 1
        else:
            wrong.append({"q": q["q"], "want": q["slug"], "got": first,
                          "set": q.get("set", "all")})
    held = [sets[k] for k in ("held-out", "new") if k in sets]
    if held:
        sets["held-out+new"] = {"questions": sum(t["questions"] for t in held),
                                "top1": sum(t["top1"] for t in held)}
    for t in sets.values():
        t["share"] = round(t["top1"] / t["questions"], 3)
    print(json.dumps({"questions": len(qs), "top1": top1, "share": round(top1 / len(qs), 3),
                      "dont_know": dont_know, "sets": sets, "wrong": wrong}))


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("load", "files", "quality"):
        s = sub.add_parser(name)
        s.add_argument("--file")
        if name != "files":
            s.add_argument("--base", required=True)
            s.add_argument("--token", required=True)
        if name != "load":
            s.add_argument("--ticket", required=True)
        if name == "files":
            s.add_argument("--out-dir", required=True)
    a = p.parse_args()
    {"load": cmd_load, "files": cmd_files, "quality": cmd_quality}[a.cmd](a)


if __name__ == "__main__":
    main()
