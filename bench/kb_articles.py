#!/usr/bin/python3
"""Knowledge-base articles and search queries for bench/kb (stdlib only).

usage:
  kb_articles.py load --base URL --token JWT --count N [--loaders L]
        [--seed S] [--slugs FILE] [--hot K]
    Generates N articles (deterministic for a seed) and creates them through
    POST /support/admin/articles (admin JWT) on L parallel keep-alive
    connections, so the product renders content_html, summary and
    content_text itself. Every answer must be 201 (a 409 slug_taken counts as
    already loaded, so a second run over the same database is a no-op).
    Prints one JSON line: created, existing, seconds, words and markdown bytes
    (mean, min, max), topics. --no-post: the articles are loaded already
    (bench/kb checks the count), only write --slugs. --slugs writes K slugs (one per topic first:
    the "hot" articles of the cached-read scenario).
  kb_articles.py queries --out-dir DIR [--per-file N] [--seed S]
    Writes search paths, one per line, to DIR/q1.txt, q2.txt, q3.txt (one-,
    two- and three-word queries) and DIR/q-explain.txt (a few labelled
    queries for EXPLAIN).

The text: a few hundred topics (an area of the product × a kind of
question, e.g. "refund" × "cancel"), each with its own feature names (made
up, like the product names of a real knowledge base: rare words, found in
~30 articles) and a handful of mid-frequency words; every article is
mostly general support prose (Zipf-distributed over ~250 common words that
occur in nearly every article), then its topic's words, a little of a
second topic, and markdown structure: headings, paragraphs, bullet and
numbered lists, some tables and code blocks. Lengths are log-normal,
clipped to 150..4,500 words (median ~900).
"""
import argparse
import http.client
import json
import math
import random
import sys
import threading
import time
import urllib.parse

GENERAL = """
you your account can will if the to on in we our us please help support team
time page app site select click tap open choose enter check see find make sure
need want use using may also new after before when then once first next last
option options settings menu button screen step steps information details
request requests change changes update updated view show shows list information
customer customers order orders service services email message contact reply
day days hours minutes business working within usually normally automatically
available unavailable question questions answer problem problems issue issues
error errors work works working fix solve note important tip example following
below above section link links form field fields name number code date
amount total price cost free paid charge charged balance full partial
status pending confirmed completed failed processed received sent send
account holder owner user users member members device devices phone mobile
desktop computer browser version latest older recent history record records
personal data secure safe access log sign signed keep keeps stay
possible impossible allowed required optional limit limits policy policies
country countries region local international standard express extra
original copy document documents file files screenshot photo proof
team agent agents chat call callback case cases reference id
review reviewed approve approved reject rejected cancel cancelled
again still already only just even more less most least every each
help center article articles guide guides learn read explains describes
quickly easily directly manually online offline connection network
wait waiting delay delayed soon later today tomorrow week month year
""".split()

AREAS = """
account password payment refund booking order invoice subscription delivery
shipping voucher coupon card wallet login email notification profile address
return exchange warranty review listing seller buyer message cancellation
reservation checkout cart discount membership points gift tax receipt currency
language privacy security download upload photo verification identity dispute
chargeback payout bank transfer fee commission insurance luggage flight hotel
rental parking ticket seat schedule
""".split()

ISSUES = """
setup change cancel reset troubleshoot error delay missing limit policy update
remove transfer verify recover
""".split()

MID = """
authentication twofactor sms otp pin biometric fingerprint passkey session
cookie cache token expiry expired renewal renew trial upgrade downgrade plan
tier annual monthly prorated proration installment instalment deposit escrow
hold authorization preauthorization settlement reconciliation statement
export import csv spreadsheet api webhook integration sync calendar reminder
itinerary boarding baggage allowance upgrade lounge checkin layover connection
courier tracking parcel package warehouse pickup dropoff locker customs duty
vat invoice billing postcode zipcode province timezone locale translation
accessibility screenreader contrast font darkmode widget shortcut keyboard
attachment pdf jpeg resolution compression watermark thumbnail gallery
moderation report abuse spam fraud phishing scam suspicious blocked suspended
appeal verification selfie passport license utility proof residency
loyalty cashback referral promo promotional giftcard redeem redemption
merchant storefront catalog inventory stock variant sku barcode listing
rating feedback complaint escalation supervisor compensation goodwill credit
""".split()

SYLL = """ba be bi bo bu da de di do du fa fe fi fo ka ke ki ko la le li lo lu
ma me mi mo mu na ne ni no nu pa pe pi po ra re ri ro ru sa se si so ta te ti
to va ve vi vo za ze zi zo tra tri pro pla ple qua que xen zor vex lyn mar""".split()
SUFFIX = "pay link vault go box hub flow pass point track desk mate way plus".split()

N_TOPICS = 300

# PostgreSQL's english stop words are not searchable: queries skip them.
STOP = set("""i me my myself we our ours ourselves you your yours yourself yourselves he
him his himself she her hers herself it its itself they them their theirs themselves what
which who whom this that these those am is are was were be been being have has had having
do does did doing a an the and but if or because as until while of at by for with about
against between into through during before after above below to from up down in out on
off over under again further then once here there when where why how all any both each few
more most other some such no nor not only own same so than too very s t can will just don
should now""".split())


def topics(seed):
    """[(area, issue, [feature names], [mid words])] — the same for a seed."""
    r = random.Random(seed * 7919 + 1)
    pairs = [(a, i) for a in AREAS for i in ISSUES]
    r.shuffle(pairs)
    seen = set()
    out = []
    for area, issue in pairs[:N_TOPICS]:
        feats = []
        while len(feats) < 2:
            w = "".join(r.choice(SYLL) for _ in range(r.choice((1, 2)))) + r.choice(SUFFIX)
            if w not in seen and len(w) >= 5:
                seen.add(w)
                feats.append(w)
        out.append((area, issue, feats, r.sample(MID, 8)))
    return out


def zipf_cum(n, s=1.0):
    acc, cum = 0.0, []
    for k in range(1, n + 1):
        acc += 1.0 / k ** s
        cum.append(acc)
    return cum


GEN_CUM = zipf_cum(len(GENERAL))


class Writer:
    def __init__(self, r, topic, second):
        self.r = r
        area, issue, feats, mids = topic
        a2, i2, f2, m2 = second
        # Topic vocabulary: heavy on its area/issue/features, then its mid words.
        self.topic_words = [area] * 6 + [issue] * 4 + feats * 3 + mids
        self.second_words = [a2, i2] + f2[:1] + m2[:3]
        self.words = 0

    def word(self):
        r = self.r
        x = r.random()
        if x < 0.62:
            return r.choices(GENERAL, cum_weights=GEN_CUM)[0]
        if x < 0.88:
            return r.choice(self.topic_words)
        if x < 0.95:
            return r.choice(MID)
        if x < 0.985:
            return r.choice(self.second_words)
        return r.choice(AREAS)

    def sentence(self, lo=7, hi=22):
        n = self.r.randint(lo, hi)
        ws = [self.word() for _ in range(n)]
        self.words += n
        s = " ".join(ws)
        if self.r.random() < 0.08:
            k = self.r.randrange(n)
            ws[k] = "**" + ws[k] + "**"
            s = " ".join(ws)
        elif self.r.random() < 0.05:
            k = self.r.randrange(n)
            ws[k] = "`" + ws[k] + "`"
            s = " ".join(ws)
        return s[0].upper() + s[1:] + "."

    def paragraph(self):
        return " ".join(self.sentence() for _ in range(self.r.randint(2, 6)))

    def heading(self):
        n = self.r.randint(2, 5)
        self.words += n
        s = " ".join(self.word() for _ in range(n))
        return s[0].upper() + s[1:]

    def bullets(self, numbered):
        items = []
        for k in range(self.r.randint(3, 7)):
            mark = "%d." % (k + 1) if numbered else "-"
            items.append("%s %s" % (mark, self.sentence(4, 14)))
        return "\n".join(items)

    def table(self):
        cols = self.r.randint(2, 4)
        head = [self.heading().split()[0].capitalize() for _ in range(cols)]
        rows = ["| " + " | ".join(head) + " |", "|" + "---|" * cols]
        for _ in range(self.r.randint(2, 6)):
            cells = []
            for c in range(cols):
                if c > 0 and self.r.random() < 0.4:
                    cells.append("%d.%02d" % (self.r.randint(1, 500), self.r.randint(0, 99)))
                else:
                    cells.append(self.word())
                    self.words += 1
            rows.append("| " + " | ".join(cells) + " |")
        return "\n".join(rows)

    def code(self):
        lang = self.r.choice(("json", "sh", ""))
        if lang == "json":
            body = '{\n  "%s": "%s",\n  "%s": %d\n}' % (
                self.word(), self.word(), self.word(), self.r.randint(1, 9999))
        elif lang == "sh":
            body = "curl -H 'Authorization: Bearer $TOKEN' https://api.example.com/v1/%s/%s" % (
                self.word(), self.word())
        else:
            body = "%s: %s\n%s: %s" % (self.word(), self.word(), self.word(), self.word())
        self.words += 4
        return "```%s\n%s\n```" % (lang, body)


def article(seed, i, tps):
    """(slug, body dict, words) of article i."""
    r = random.Random(seed * 1000003 + i)
    t = tps[i % len(tps)]
    second = tps[r.randrange(len(tps))]
    w = Writer(r, t, second)
    area, issue, feats, _ = t
    target = int(min(4500, max(150, r.lognormvariate(math.log(900), 0.75))))
    title_forms = (
        "How to %s your %s" % (issue, area),
        "%s %s: %s questions" % (feats[0].capitalize(), area, issue),
        "%s %s with %s" % (issue.capitalize(), area, feats[1].capitalize()),
        "Why is my %s %s %s?" % (area, issue, r.choice(("pending", "failing", "blocked"))),
        "%s: %s and %s explained" % (area.capitalize(), issue, r.choice(feats)),
    )
    title = "%s (%d)" % (r.choice(title_forms), i + 1)
    parts = [w.paragraph()]
    while w.words < target:
        parts.append("## " + w.heading())
        for _ in range(r.randint(1, 3)):
            x = r.random()
            if x < 0.55:
                parts.append(w.paragraph())
            elif x < 0.75:
                parts.append(w.bullets(False))
            elif x < 0.88:
                parts.append(w.bullets(True))
            elif x < 0.95:
                parts.append(w.table())
            else:
                parts.append(w.code())
            if r.random() < 0.15:
                parts.append("### " + w.heading())
    md = "\n\n".join(parts) + "\n"
    tags = [area, issue] + r.sample(("faq", "how-to", "troubleshooting", "billing", "mobile",
                                     "web", "policy", "new"), r.randint(0, 2))
    tags = list(dict.fromkeys(tags))
    slug = "%s-%s-%05d" % (area, issue, i + 1)
    body = {"slug": slug, "title": title, "content_markdown": md, "tags": tags,
            "is_published": True}
    return slug, body, w.words


def cmd_load(a):
    tps = topics(a.seed)
    u = urllib.parse.urlsplit(a.base)
    nxt = [0]
    lock = threading.Lock()
    stats = {"created": 0, "existing": 0, "words": [], "bytes": [], "errors": []}

    def worker():
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
        while True:
            with lock:
                i = nxt[0]
                nxt[0] += 1
            if i >= a.count or stats["errors"]:
                break
            slug, body, words = article(a.seed, i, tps)
            data = json.dumps(body).encode()
            for attempt in range(3):
                try:
                    conn.request("POST", "/support/admin/articles", body=data, headers={
                        "Authorization": "Bearer " + a.token,
                        "Content-Type": "application/json"})
                    resp = conn.getresponse()
                    text = resp.read()
                    break
                except (OSError, http.client.HTTPException):
                    conn.close()
                    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
                    if attempt == 2:
                        raise
            with lock:
                if resp.status == 201:
                    stats["created"] += 1
                elif resp.status == 409 and b"slug_taken" in text:
                    stats["existing"] += 1
                else:
                    stats["errors"].append("%s: %d %s" % (slug, resp.status, text[:300]))
                stats["words"].append(words)
                stats["bytes"].append(len(body["content_markdown"]))
        conn.close()

    t0 = time.monotonic()
    th = [threading.Thread(target=worker) for _ in range(0 if a.no_post else a.loaders)]
    for t in th:
        t.start()
    for t in th:
        t.join()
    secs = time.monotonic() - t0
    if a.slugs:
        # Hot set: one article per topic first, then the next ones.
        with open(a.slugs, "w") as f:
            for i in range(min(a.hot, a.count)):
                f.write("/support/articles/%s\n" % article(a.seed, i, tps)[0])
    ws, bs = stats["words"] or [0], stats["bytes"] or [0]
    out = {"created": stats["created"],
           "existing": a.count if a.no_post else stats["existing"],
           "seconds": round(secs, 1), "loaders": a.loaders, "topics": len(tps),
           "words": {"mean": round(sum(ws) / len(ws)), "min": min(ws), "max": max(ws),
                     "median": sorted(ws)[len(ws) // 2]},
           "markdown_bytes": {"mean": round(sum(bs) / len(bs)), "max": max(bs),
                              "total": sum(bs)},
           "errors": stats["errors"][:5]}
    print(json.dumps(out))
    return 1 if stats["errors"] else 0


def cmd_queries(a):
    tps = topics(a.seed)
    r = random.Random(a.seed * 31 + 5)
    common = [w for w in GENERAL if w not in STOP][:40]

    def t():
        return r.choice(tps)

    def one():
        x = r.random()
        if x < 0.4:
            return [r.choice(common)]                       # in nearly every article
        if x < 0.7:
            return [r.choice(AREAS + MID)]                  # hundreds to thousands
        return [r.choice(t()[2])]                           # a feature name: ~30

    def two():
        x = r.random()
        tp = t()
        if x < 0.4:
            return [tp[1], tp[0]]                           # "cancel booking"
        if x < 0.7:
            return [r.choice(common), tp[0]]                # "refund account"
        return [r.choice(tp[2]), r.choice((tp[0], tp[1]))]  # "paylinx refund"

    def three():
        x = r.random()
        tp = t()
        if x < 0.4:
            return [tp[1], tp[0], r.choice(tp[3])]          # "reset password otp"
        if x < 0.7:
            return [r.choice(common), tp[1], tp[0]]         # "how change email"
        return [r.choice(common), tp[0], r.choice(tp[2])]   # "help refund paylinx"

    def path(words):
        return "/support/articles?q=" + urllib.parse.quote(" ".join(words)) + "&limit=10"

    for name, fn in (("q1", one), ("q2", two), ("q3", three)):
        with open("%s/%s.txt" % (a.out_dir, name), "w") as f:
            for _ in range(a.per_file):
                f.write(path(fn()) + "\n")
    tp = tps[0]
    explain = [
        ("1 common word", common[0]),
        ("1 area word", tp[0]),
        ("1 rare word", tp[2][0]),
        ("2 words, topic", "%s %s" % (tp[1], tp[0])),
        ("2 words, common+area", "%s %s" % (common[1], tp[0])),
        ("3 words, common+topic", "%s %s %s" % (common[2], tp[1], tp[0])),
        ("3 words, rare", "%s %s %s" % (tp[1], tp[0], tp[2][1])),
        # No article holds "zzqx": the any-word fallback (sql/088), the
        # frame words "long" and "take" left out as the worker leaves them.
        ("question, any word: common+area",
         "how long does a %s %s take zzqx" % (common[0], tp[0]), "{long,take}"),
        ("question, any word: rare", "how long does a %s take zzqx" % tp[2][0], "{long,take}"),
    ]
    with open("%s/q-explain.txt" % a.out_dir, "w") as f:
        for e in explain:
            f.write("%s|%s|%s\n" % (e[0], e[1], e[2] if len(e) > 2 else "{}"))
    return 0


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    lp = sub.add_parser("load")
    lp.add_argument("--base", required=True)
    lp.add_argument("--token", required=True)
    lp.add_argument("--count", type=int, default=10000)
    lp.add_argument("--loaders", type=int, default=4)
    lp.add_argument("--seed", type=int, default=1)
    lp.add_argument("--slugs")
    lp.add_argument("--hot", type=int, default=300)
    lp.add_argument("--no-post", action="store_true",
                    help="the articles are there already: only write --slugs")
    qp = sub.add_parser("queries")
    qp.add_argument("--out-dir", required=True)
    qp.add_argument("--per-file", type=int, default=600)
    qp.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    return cmd_load(a) if a.cmd == "load" else cmd_queries(a)


if __name__ == "__main__":
    sys.exit(main())
