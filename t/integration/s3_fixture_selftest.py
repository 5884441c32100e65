#!/usr/bin/env python3
"""s3_fixture_selftest: t/integration/s3_fixture.py checks SigV4 right.

usage: python3 t/integration/s3_fixture_selftest.py   (exit 0: all passed)

Checks, each named in the output:
  vectors     the fixture's plain signing functions and verify() against
              AWS's published SigV4 examples for S3 (presigned GET; header
              GET with Range, PUT, ?lifecycle, ?max-keys&prefix) at a fixed
              "now", and the same presigned URL expired a day later;
  client      this file's own SigV4 client reproduces AWS's presigned
              example (so the live checks below sign independently);
then against the fixture run as a subprocess, all on one kept HTTP/1.1
connection where the connection survives:
  presigned   PUT then GET round-trips (bytes, ETag, Content-Type); keys
              with '/', spaces, '+', '$' and UTF-8; response-content-type
              and response-content-disposition honoured;
  refused     tampered signature, expired URL, a date in the future, a
              different content-length, a wrong key id, no auth, a wrong
              region, x-amz-content-sha256 not matching the body, a skewed
              x-amz-date: the right status and S3 code;
  header      Authorization-signed PUT, HEAD (no body), GET, DELETE (204),
              then GET/HEAD 404 NoSuchKey;
  framing     chunked PUT and PUT without Content-Length → 411, a body
              shorter than its Content-Length stores nothing;
  control     /_fixture/put, /_fixture/objects, /_fixture/clock, reset;
  events      one request line per S3 request, with auth, status, code.
Standard library only; no network beyond 127.0.0.1.
"""
import datetime
import hashlib
import hmac
import http.client
import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import s3_fixture  # noqa: E402  (for the vectors: its plain functions)

AK, SK, REGION = "AKIDSELFTEST", "selftest/secret+key", "eu-west-3"
failures = []


def check(name, cond, detail=""):
    if cond:
        print("ok    %s" % name)
    else:
        print("FAIL  %s %s" % (name, detail))
        failures.append(name)


# ---- an independent SigV4 client ------------------------------------------

UNRESERVED = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def enc(s, slash=False):
    b = s.encode("utf-8") if isinstance(s, str) else s
    return "".join(chr(c) if c in UNRESERVED or (slash and c == 0x2F) else "%%%02X" % c
                   for c in b)


def hm(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def sign(secret, region, amz_date, creq):
    scope = "%s/%s/s3/aws4_request" % (amz_date[:8], region)
    sts = "AWS4-HMAC-SHA256\n%s\n%s\n%s" % (amz_date, scope,
                                            hashlib.sha256(creq.encode()).hexdigest())
    k = hm(hm(hm(hm(("AWS4" + secret).encode(), amz_date[:8]), region), "s3"), "aws4_request")
    return hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()


def amzdate(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def presign(method, host, path, *, ak=AK, sk=SK, region=REGION, t=None, expires=300,
            headers=None, extra=()):
    """(encoded path?query) of a presigned URL for the decoded path;
    headers: {lowercase name: value} signed besides host."""
    t = time.time() if t is None else t
    d = amzdate(t)
    signed = dict(headers or {}, host=host)
    names = sorted(signed)
    params = [("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
              ("X-Amz-Credential", "%s/%s/%s/s3/aws4_request" % (ak, d[:8], region)),
              ("X-Amz-Date", d), ("X-Amz-Expires", str(expires)),
              ("X-Amz-SignedHeaders", ";".join(names))] + list(extra)
    cq = "&".join(sorted("%s=%s" % (enc(k), enc(v)) for k, v in params))
    cpath = enc(path, slash=True)
    creq = "\n".join([method, cpath, cq,
                      "".join("%s:%s\n" % (n, signed[n].strip()) for n in names),
                      ";".join(names), "UNSIGNED-PAYLOAD"])
    return "%s?%s&X-Amz-Signature=%s" % (cpath, cq, sign(sk, region, d, creq))


def header_sign(method, host, path, body=b"", *, t=None, payload=None, headers=None,
                query=""):
    """The headers of an Authorization-signed request."""
    t = time.time() if t is None else t
    d = amzdate(t)
    payload = hashlib.sha256(body).hexdigest() if payload is None else payload
    h = dict(headers or {}, host=host)
    h["x-amz-date"] = d
    h["x-amz-content-sha256"] = payload
    names = sorted(h)
    cq = "&".join(sorted("%s=%s" % (enc(urllib.parse.unquote(k)), enc(urllib.parse.unquote(v)))
                         for k, _, v in (p.partition("=") for p in query.split("&") if p)))
    creq = "\n".join([method, enc(path, slash=True), cq,
                      "".join("%s:%s\n" % (n, h[n].strip()) for n in names),
                      ";".join(names), payload])
    h["authorization"] = ("AWS4-HMAC-SHA256 Credential=%s/%s/%s/s3/aws4_request, "
                          "SignedHeaders=%s, Signature=%s"
                          % (AK, d[:8], REGION, ";".join(names), sign(SK, REGION, d, creq)))
    del h["host"]
    return h


# ---- AWS's examples -------------------------------------------------------

EX_AK, EX_SK = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
EX_HOST = "examplebucket.s3.amazonaws.com"
EX_EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def at(*ymdhm):
    return datetime.datetime(*ymdhm, tzinfo=datetime.timezone.utc).timestamp()


def vectors():
    f = s3_fixture
    q = ("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524"
         "%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400"
         "&X-Amz-SignedHeaders=host")
    want = "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
    creq = f.canonical_request("GET", f.canonical_uri("/test.txt"),
                               f.canonical_query(f.query_pairs(q)), {"host": EX_HOST},
                               "host", "UNSIGNED-PAYLOAD")
    check("vectors: presigned GET signature", f.signature(EX_SK, "us-east-1",
                                                          "20130524T000000Z", creq)[0] == want)
    args = ("GET", "/test.txt", q + "&X-Amz-Signature=" + want, [("Host", EX_HOST)], None)
    r = f.verify(*args, at(2013, 5, 24, 1, 0), EX_AK, EX_SK, "us-east-1")
    check("vectors: presigned GET verifies", r == ("query", None), r)
    r = f.verify(*args, at(2013, 5, 25, 0, 1), EX_AK, EX_SK, "us-east-1")
    check("vectors: presigned GET expired a day later",
          r[1] is not None and (r[1].code, r[1].message) == ("AccessDenied", "Request has expired"))
    r = f.verify("GET", "/test.txt", q + "&X-Amz-Signature=" + want[:-1] + "5",
                 [("Host", EX_HOST)], None, at(2013, 5, 24, 1, 0), EX_AK, EX_SK, "us-east-1")
    check("vectors: presigned GET, one digit changed", r[1] is not None
          and r[1].code == "SignatureDoesNotMatch")
    check("vectors: this client's presign", presign(
        "GET", EX_HOST, "/test.txt", ak=EX_AK, sk=EX_SK, region="us-east-1",
        t=at(2013, 5, 24, 0, 0), expires=86400).endswith("X-Amz-Signature=" + want))

    def header(name, method, path, query, extra, payload, signed, sig, body_sha=None):
        h = [("Host", EX_HOST)] + extra + [
            ("x-amz-content-sha256", payload), ("x-amz-date", "20130524T000000Z"),
            ("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/"
             "us-east-1/s3/aws4_request,SignedHeaders=%s,Signature=%s" % (signed, sig))]
        r = f.verify(method, path, query, h, body_sha or payload, at(2013, 5, 24, 0, 5),
                     EX_AK, EX_SK, "us-east-1")
        check("vectors: " + name, r == ("header", None), r[1] and r[1].extra)

    header("header GET with Range", "GET", "/test.txt", "", [("Range", "bytes=0-9")], EX_EMPTY,
           "host;range;x-amz-content-sha256;x-amz-date",
           "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
    header("header PUT /test$file.text", "PUT", "/test%24file.text", "",
           [("Date", "Fri, 24 May 2013 00:00:00 GMT"),
            ("x-amz-storage-class", "REDUCED_REDUNDANCY")],
           hashlib.sha256(b"Welcome to Amazon S3.").hexdigest(),
           "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
           "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd")
    header("header GET ?lifecycle", "GET", "/", "lifecycle", [], EX_EMPTY,
           "host;x-amz-content-sha256;x-amz-date",
           "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543")
    header("header GET ?max-keys=2&prefix=J", "GET", "/", "max-keys=2&prefix=J", [], EX_EMPTY,
           "host;x-amz-content-sha256;x-amz-date",
           "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7")


# ---- the live fixture -----------------------------------------------------

class Fixture:
    def __init__(self):
        self.p = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "s3_fixture.py"), "--access-key", AK,
             "--secret", SK, "--region", REGION, "--timeout", "120"],
            stdout=subprocess.PIPE, text=True)
        first = json.loads(self.p.stdout.readline())
        assert first["event"] == "listening", first
        self.port = first["port"]
        self.host = "127.0.0.1:%d" % self.port
        self.lines = queue.Queue()
        threading.Thread(target=self.pump, daemon=True).start()
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)

    def pump(self):
        for line in self.p.stdout:
            self.lines.put(json.loads(line))

    def event(self):
        try:
            return self.lines.get(timeout=5)
        except queue.Empty:
            return None

    def request(self, method, target, body=None, headers=None):
        self.conn.request(method, target, body=body, headers=headers or {})
        r = self.conn.getresponse()
        data = r.read()
        return r, data

    def stop(self):
        self.conn.close()
        self.p.terminate()
        self.p.wait(5)


def code_of(data):
    s = data.decode("utf-8", "replace")
    return s[s.find("<Code>") + 6:s.find("</Code>")] if "<Code>" in s else None


def live(fx):
    ev_expect = []  # (method, auth, status, code) of each S3 request, in order

    def s3(name, method, target, body=None, headers=None, status=200, code=None, auth="query"):
        r, data = fx.request(method, target, body, headers)
        got = (r.status, code_of(data) if method != "HEAD" else None)
        check(name, got == (status, code if method != "HEAD" else None),
              "got %s %s" % (got, data[:400]))
        if code is not None and method != "HEAD":
            check(name + " (application/xml)", r.getheader("Content-Type") == "application/xml")
        ev_expect.append((method, auth, status, code))
        return r, data

    sock0 = None
    # presigned PUT then GET
    body = b"hello, fixture\x00\xff" * 100
    key = "tickets/42/a b+c$d/r\u00e9sum\u00e9.pdf"
    path = "/attachments/" + key
    r, _ = s3("presigned: PUT", "PUT", presign("PUT", fx.host, path),
              body, {"Content-Type": "application/pdf"})
    sock0 = fx.conn.sock
    check("presigned: PUT ETag", r.getheader("ETag") == '"%s"' % hashlib.md5(body).hexdigest())
    r, data = s3("presigned: GET", "GET", presign("GET", fx.host, path))
    check("presigned: GET bytes", data == body)
    check("presigned: GET headers", (r.getheader("Content-Type"), r.getheader("ETag"),
                                     r.getheader("Content-Length"))
          == ("application/pdf", '"%s"' % hashlib.md5(body).hexdigest(), str(len(body))))
    disp = "attachment; filename=\"r\u00e9sum\u00e9.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf"
    r, data = s3("presigned: GET with response overrides", "GET", presign(
        "GET", fx.host, path, extra=[("response-content-disposition", disp),
                                     ("response-content-type", "application/octet-stream")]))
    check("presigned: response-content-disposition honoured",
          r.getheader("Content-Disposition").encode("latin-1").decode() == disp,
          r.getheader("Content-Disposition"))
    check("presigned: response-content-type honoured",
          r.getheader("Content-Type") == "application/octet-stream")
    # a PUT signing its content-length
    small = b"12345"
    url = presign("PUT", fx.host, "/b/signed-length", headers={"content-length": "5"})
    s3("presigned: PUT with a signed content-length", "PUT", url, small)
    # refused
    good = presign("GET", fx.host, path)
    tampered = good[:-1] + ("0" if good[-1] != "0" else "1")
    s3("refused: tampered signature", "GET", tampered, status=403, code="SignatureDoesNotMatch")
    s3("refused: path changed", "GET", good.replace("a%20b", "a%20c"), status=403,
       code="SignatureDoesNotMatch")
    s3("refused: a parameter added", "GET", good + "&response-content-type=text/html",
       status=403, code="SignatureDoesNotMatch")
    r, data = s3("refused: expired URL", "GET",
                 presign("GET", fx.host, path, t=time.time() - 3600, expires=60),
                 status=403, code="AccessDenied")
    check("refused: expired URL says so", b"Request has expired" in data)
    s3("refused: a date 20 min ahead", "GET",
       presign("GET", fx.host, path, t=time.time() + 1200), status=403, code="AccessDenied")
    s3("refused: X-Amz-Expires 604801", "GET", presign("GET", fx.host, path, expires=604801),
       status=400, code="AuthorizationQueryParametersError")
    s3("refused: a different content-length", "PUT", url, small + b"6", status=403,
       code="SignatureDoesNotMatch")
    s3("refused: wrong key id", "GET", presign("GET", fx.host, path, ak="AKIDOTHER"),
       status=403, code="InvalidAccessKeyId")
    s3("refused: wrong secret", "GET", presign("GET", fx.host, path, sk="other"),
       status=403, code="SignatureDoesNotMatch")
    s3("refused: wrong region", "GET", presign("GET", fx.host, path, region="us-east-1"),
       status=400, code="AuthorizationQueryParametersError")
    s3("refused: host of another port", "GET", presign("GET", "127.0.0.1:1", path),
       status=403, code="SignatureDoesNotMatch")
    s3("refused: no auth", "GET", "/attachments/" + enc(key, slash=True), status=403,
       code="AccessDenied", auth="none")
    s3("refused: unsigned x-amz- header", "GET", good, headers={"x-amz-meta-a": "1"},
       status=403, code="AccessDenied")
    s3("refused: header auth, body hash mismatch", "PUT", enc("/b/h", slash=True), b"abc",
       header_sign("PUT", fx.host, "/b/h", b"abd"), status=400,
       code="XAmzContentSHA256Mismatch", auth="header")
    s3("refused: header auth, 16 min skew", "GET", enc(path, slash=True), None,
       header_sign("GET", fx.host, path, t=time.time() - 960), status=403,
       code="RequestTimeTooSkewed", auth="header")
    r, data = s3("refused: header auth, bad signature", "GET", enc(path, slash=True), None,
                 dict(header_sign("GET", fx.host, path), **{"x-amz-date": amzdate(time.time() - 1)}),
                 status=403, code="SignatureDoesNotMatch", auth="header")
    check("refused: SignatureDoesNotMatch shows the canonical request",
          b"<CanonicalRequest>GET\n/attachments/tickets/42/a%20b%2Bc%24d/" in data, data[:300])
    # header auth: PUT, HEAD, GET, DELETE
    hk = "/hdr/x/y.txt"
    hb = b"header-signed body"
    s3("header: PUT", "PUT", hk, hb, header_sign("PUT", fx.host, hk, hb), auth="header")
    s3("header: PUT UNSIGNED-PAYLOAD", "PUT", "/hdr/u", hb,
       header_sign("PUT", fx.host, "/hdr/u", payload="UNSIGNED-PAYLOAD"), auth="header")
    r, data = s3("header: HEAD", "HEAD", hk, None, header_sign("HEAD", fx.host, hk),
                 auth="header")
    check("header: HEAD headers, no body", data == b"" and r.getheader("Content-Length")
          == str(len(hb)) and r.getheader("Content-Type") == "binary/octet-stream")
    r, data = s3("header: GET", "GET", hk, None, header_sign("GET", fx.host, hk), auth="header")
    check("header: GET bytes", data == hb)
    r, data = s3("header: GET with a signed query", "GET", hk + "?response-content-type=text%2Fplain",
                 None, header_sign("GET", fx.host, hk, query="response-content-type=text%2Fplain"),
                 auth="header")
    check("header: GET response-content-type", r.getheader("Content-Type") == "text/plain")
    s3("header: DELETE", "DELETE", hk, None, header_sign("DELETE", fx.host, hk), status=204,
       auth="header")
    s3("header: DELETE again", "DELETE", hk, None, header_sign("DELETE", fx.host, hk),
       status=204, auth="header")
    s3("header: GET deleted", "GET", hk, None, header_sign("GET", fx.host, hk), status=404,
       code="NoSuchKey", auth="header")
    r, data = s3("header: HEAD deleted", "HEAD", hk, None, header_sign("HEAD", fx.host, hk),
                 status=404, auth="header")
    ev_expect[-1] = ("HEAD", "header", 404, "NoSuchKey")
    check("header: HEAD 404 has no body", data == b"")
    s3("header: GET unknown bucket", "GET", "/nobucket/k", None,
       header_sign("GET", fx.host, "/nobucket/k"), status=404, code="NoSuchKey", auth="header")
    check("keep-alive: one connection throughout", fx.conn.sock is sock0 and sock0 is not None)

    # control
    r, data = fx.request("POST", "/_fixture/put?bucket=ctl&key=dir%2Fk.json", b'{"a":1}',
                         {"Content-Type": "application/json"})
    check("control: put", r.status == 200 and json.loads(data)["size"] == 7)
    r, data = s3("control: the object is served", "GET", presign("GET", fx.host, "/ctl/dir/k.json"))
    check("control: bytes and type", data == b'{"a":1}'
          and r.getheader("Content-Type") == "application/json")
    r, data = fx.request("GET", "/_fixture/objects")
    objs = json.loads(data)
    want = sorted([("attachments", key, len(body), "application/pdf"),
                   ("b", "signed-length", 5, "binary/octet-stream"),
                   ("ctl", "dir/k.json", 7, "application/json"),
                   ("hdr", "u", len(hb), "binary/octet-stream")])
    check("control: objects", [(o["bucket"], o["key"], o["size"], o["content_type"])
                               for o in objs] == want, objs)
    check("control: sha256", objs[0]["sha256"] == hashlib.sha256(body).hexdigest())
    fx.request("POST", "/_fixture/clock?offset=7200")
    s3("control: clock +2 h expires a fresh URL", "GET", presign("GET", fx.host, path),
       status=403, code="AccessDenied")
    fx.request("POST", "/_fixture/clock?offset=0")

    # events
    for i, (method, auth, status, code) in enumerate(ev_expect):
        e = fx.event()
        check("events: #%d %s" % (i, method), e is not None and e["event"] == "request"
              and (e["method"], e["auth"], e["status"], e["code"]) == (method, auth, status, code),
              "%s vs %s" % (e, (method, auth, status, code)))
    check("events: nothing more (control not logged)", fx.lines.empty())

    # framing, on raw sockets
    def raw(req):
        s = socket.create_connection(("127.0.0.1", fx.port), timeout=5)
        s.sendall(req)
        got = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += chunk
                if b"\r\n\r\n" in got and b"</Error>" in got:
                    break
        except socket.timeout:
            pass
        s.close()
        return got

    u = presign("PUT", fx.host, "/frame/k")
    got = raw(("PUT %s HTTP/1.1\r\nHost: %s\r\nTransfer-Encoding: chunked\r\n\r\n"
               "5\r\nhello\r\n0\r\n\r\n" % (u, fx.host)).encode())
    check("framing: chunked PUT → 411", got.startswith(b"HTTP/1.1 411")
          and b"MissingContentLength" in got, got[:200])
    got = raw(("PUT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (u, fx.host)).encode())
    check("framing: PUT without Content-Length → 411", got.startswith(b"HTTP/1.1 411"), got[:200])
    s = socket.create_connection(("127.0.0.1", fx.port), timeout=5)
    s.sendall(("PUT %s HTTP/1.1\r\nHost: %s\r\nContent-Length: 10\r\n\r\nhello"
               % (u, fx.host)).encode())
    s.shutdown(socket.SHUT_WR)
    got = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        got += chunk
    s.close()
    check("framing: short body → 400 IncompleteBody", got.startswith(b"HTTP/1.1 400")
          and b"IncompleteBody" in got, got[:200])
    for _ in range(3):
        e = fx.event()
        check("framing: logged", e is not None and e["status"] in (411, 400), e)
    r, data = fx.request("GET", "/_fixture/objects")
    check("framing: nothing stored", not any(o["bucket"] == "frame" for o in json.loads(data)))
    fx.request("POST", "/_fixture/reset")
    r, data = fx.request("GET", "/_fixture/objects")
    check("control: reset", json.loads(data) == [])


def main():
    vectors()
    fx = Fixture()
    try:
        live(fx)
    finally:
        fx.stop()
    if failures:
        print("%d FAILED: %s" % (len(failures), ", ".join(failures)))
        return 1
    print("all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
