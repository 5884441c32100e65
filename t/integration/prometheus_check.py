#!/usr/bin/env python3
"""A real Prometheus against a test stack (docs/metrics.md).

Checks the shipped docs/prometheus files with promtool, then runs
Debian's prometheus with the shipped scrape jobs pointed at the stack's
operators' listener (1 s interval) and the shipped rules loaded, and asks
its HTTP API until: both targets (support, support-chat) are up, a
support series is stored, a job's series carries its name as
exported_job (what the rules read), the two pages' like-named series are
stored apart (by job), support-chat's request counter grows by the chat
requests this script sends to the public port, and every rule group of
support-rules.yml is loaded and healthy. The rules' unit tests
(t/integration/support-rules.test.yml) run with promtool first. Prints
one JSON line per step; exit 0 when all hold, 1 otherwise. Always stops
the Prometheus it started and removes its directory.

    prometheus_check.py SRCDIR METRICS_URL BASE_URL
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

CHAT_CONNECT = ('sum(support_http_requests_total{job="support-chat",'
                'route="/support/chat/connect"})')
CHAT_REQUESTS = 5


def say(**kw):
    print(json.dumps(kw), flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api(port, path, **params):
    url = "http://127.0.0.1:%d/api/v1/%s?%s" % (port, path, urllib.parse.urlencode(params))
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.load(r)["data"]


def render_config(src, work, target):
    """The shipped job, with the test stack's listener as its target, the
    shipped rules file and a 1 s interval (everything else as shipped)."""
    with open(os.path.join(src, "docs/prometheus/prometheus.yml")) as f:
        text = f.read()
    rules = os.path.join(src, "docs/prometheus/support-rules.yml")
    text = text.replace("/etc/prometheus/rules/support.yml", rules)
    text = re.sub(r"targets: \['[^']*'\]", "targets: ['%s']" % target, text)
    text = re.sub(r"(scrape|evaluation)_interval: \S+", r"\1_interval: 1s", text)
    path = os.path.join(work, "prometheus.yml")
    with open(path, "w") as f:
        f.write(text)
    return path, rules


def promtool(*args, verb="check"):
    r = subprocess.run(["promtool", verb, *args], capture_output=True, text=True)
    say(step="promtool %s %s" % (verb, args[0]), rc=r.returncode,
        out=(r.stdout + r.stderr)[-1500:])
    return r.returncode == 0


def wait_for(what, fn, seconds=30):
    end = time.monotonic() + seconds
    last = None
    while time.monotonic() < end:
        try:
            last = fn()
            if last is True:
                say(step=what, ok=True)
                return True
        except Exception as e:  # not up yet: connection refused, no data
            last = repr(e)
        time.sleep(0.5)
    say(step=what, ok=False, last=str(last)[:400])
    return False


def value(port, query):
    """The query's one value, 0 when it has none (a counter never moved)."""
    r = api(port, "query", query=query)["result"]
    return float(r[0]["value"][1]) if r else 0.0


def chat_traffic(base_url):
    """Connect attempts without credentials: support-chat answers each
    (nginx's auth subrequest), a 4xx for the client."""
    for _ in range(CHAT_REQUESTS):
        try:
            urllib.request.urlopen(base_url + "/support/chat/connect?session_id=cs_x",
                                   timeout=5).close()
        except urllib.error.HTTPError as e:
            if e.code // 100 != 4:
                raise


def main():
    src, metrics_url, base_url = sys.argv[1], sys.argv[2], sys.argv[3]
    u = urllib.parse.urlsplit(metrics_url)
    work = tempfile.mkdtemp(prefix="support-prom.")
    proc = None
    try:
        config, rules = render_config(src, work, u.netloc)
        # The rules' unit tests (each job's threshold, the scrape and
        # series-missing rules), on series shaped as the scrape below
        # stores them.
        tests = os.path.join(src, "t/integration/support-rules.test.yml")
        ok = (promtool("config", config) and promtool("rules", rules)
              and promtool("rules", tests, verb="test"))
        if not ok:
            return 1
        port = free_port()
        log = open(os.path.join(work, "prometheus.log"), "w")
        proc = subprocess.Popen(
            ["prometheus", "--config.file=" + config,
             "--storage.tsdb.path=" + os.path.join(work, "data"),
             "--web.listen-address=127.0.0.1:%d" % port],
            stdout=log, stderr=subprocess.STDOUT)

        def target_up():
            r = api(port, "query", query='up{job=~"support|support-chat"}')["result"]
            jobs = sorted(x["metric"]["job"] for x in r if x["value"][1] == "1")
            return jobs == ["support", "support-chat"] or r

        def pages_apart():
            # Both pages name these series alike; the scrape job keeps
            # them two series, each with its own service label.
            r = api(port, "query", query="support_db_connects_total")["result"]
            seen = sorted((x["metric"].get("job"), x["metric"].get("service")) for x in r)
            return seen == [("support", "support"), ("support-chat", "support-chat")] or r

        before = []

        def chat_counted():
            # Stored once before the traffic, then until the scrape shows it.
            if not before:
                before.append(value(port, CHAT_CONNECT))
                chat_traffic(base_url)
            now = value(port, CHAT_CONNECT)
            return now - before[0] >= CHAT_REQUESTS or {"before": before[0], "now": now}

        def series_stored():
            r = api(port, "query", query='sum(support_http_requests_total{job="support"})')
            return bool(r["result"]) and float(r["result"][0]["value"][1]) > 0 or r

        def rules_healthy():
            groups = api(port, "rules")["groups"]
            names = [rl["name"] for g in groups for rl in g["rules"]]
            bad = [rl["name"] for g in groups for rl in g["rules"] if rl.get("health") != "ok"]
            with open(rules) as f:
                want = re.findall(r"- alert: (\S+)", f.read())
            return (sorted(names) == sorted(want) and not bad) or {"loaded": names, "bad": bad}

        def job_label_exported():
            # The page's `job` label (the batch job's name) is renamed by
            # the scrape (honor_labels: false): the rules read exported_job.
            r = api(port, "query", query='support_job_runs_total')["result"]
            return (bool(r) and all(x["metric"].get("job") == "support"
                                    and x["metric"].get("exported_job") for x in r)) or r

        ok = (wait_for("target up", target_up) and wait_for("series stored", series_stored)
              and wait_for("job label exported", job_label_exported)
              and wait_for("pages stored apart", pages_apart)
              and wait_for("chat requests counted", chat_counted)
              and wait_for("rules healthy", rules_healthy))
        if not ok:
            with open(os.path.join(work, "prometheus.log")) as f:
                say(step="prometheus log", tail=f.read()[-1500:])
        return 0 if ok else 1
    finally:
        if proc is not None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
