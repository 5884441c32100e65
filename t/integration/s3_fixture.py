#!/usr/bin/python3
"""An S3-compatible object store for the integration tests (the attachment
storage, as a C client reaching S3 with AWS Signature Version 4 calls it).
The signatures are checked here, in Python, independently of the C
client's signing: a second implementation of SigV4 (service "s3").

usage: s3_fixture.py --access-key ID --secret KEY [--region us-east-1] [--timeout S]

Listens on 127.0.0.1, on a free port, HTTP/1.1 with keep-alive, and
prints, flushed:
  {"event":"listening","port":N,"pid":P}   once, first
  {"event":"request","method","path","query","auth","status","code",
   "bucket","key"}                          for each S3 request (not for
      /_fixture/…), once its answer is decided and just before it is
      written (a client that has the answer can read the line at once).
      path and query: as sent (raw, still percent-encoded; query "" when
      none); auth: "query" (presigned), "header" (Authorization) or
      "none"; code: the S3 error code, null on success; bucket, key:
      decoded, null when the path has none. On SignatureDoesNotMatch the
      line also carries "canonical_request" and "string_to_sign" (what
      the fixture signed), as does the XML error.

Objects (path-style only: /<bucket>/<key…>, the key may hold '/' and
percent-encoded bytes; any bucket exists):
  PUT     stores the body (exactly Content-Length bytes; chunked or no
          Content-Length → 411 MissingContentLength) with its Content-Type
          (default binary/octet-stream) and Content-Disposition → 200,
          ETag "<md5 hex>".
  GET     the bytes, with Content-Length, ETag, Last-Modified and the
          stored Content-Type; the query's response-content-type,
          response-content-disposition, response-cache-control,
          response-content-language, response-content-encoding and
          response-expires override those headers.
  HEAD    the same headers (Content-Length: the object's size), no body.
  DELETE  204, present or not.
  Absent key on GET/HEAD → 404 NoSuchKey (HEAD: no body). Paths without a
  key, and multipart (?uploads, ?uploadId, ?partNumber) → 501
  NotImplemented; other methods → 405 MethodNotAllowed.

Authentication (SigV4, every S3 request, checked before anything else):
  query   X-Amz-Algorithm=AWS4-HMAC-SHA256, X-Amz-Credential=
          <id>/<yyyymmdd>/<region>/s3/aws4_request, X-Amz-Date,
          X-Amz-Expires (1..604800), X-Amz-SignedHeaders, X-Amz-Signature;
          payload UNSIGNED-PAYLOAD. date + expires < now → 403 AccessDenied
          "Request has expired"; date > now + 15 min → 403 AccessDenied.
  header  Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…,
          Signature=…, with x-amz-date and x-amz-content-sha256
          (UNSIGNED-PAYLOAD or the body's hex SHA-256, checked: 400
          XAmzContentSHA256Mismatch); x-amz-date more than 15 min off →
          403 RequestTimeTooSkewed.
  Canonical URI: each path segment percent-decoded then re-encoded with
  only RFC 3986 unreserved characters kept (S3's rule: '+' in a path is a
  literal plus, signed as %2B). Canonical query: every parameter (but
  X-Amz-Signature when presigned), names and values percent-decoded
  ('+' stays '+') and re-encoded the same way, sorted. Canonical headers:
  the signed ones, lowercase, values trimmed with inner runs of spaces
  collapsed, sorted; host must be signed (its value as sent, host:port),
  every signed header must be in the request, and every x-amz-* header
  of the request must be signed.
  Errors: wrong access key id → 403 InvalidAccessKeyId; bad signature →
  403 SignatureDoesNotMatch; no authentication → 403 AccessDenied;
  malformed → 400 AuthorizationQueryParametersError /
  AuthorizationHeaderMalformed (wrong region or service too); both kinds
  at once → 400 InvalidArgument. All as S3's XML,
  <?xml …?><Error><Code>…</Code><Message>…</Message>…</Error>,
  application/xml.

Control (no authentication, not logged):
  GET  /_fixture/objects  → 200 [{"bucket","key","size","sha256",
       "content_type"}] sorted by bucket then key.
  POST /_fixture/put?bucket=B&key=K  (query form-decoded) the body → an
       object, with the request's Content-Type → 200 {"bucket","key",
       "size","sha256","etag"}.
  POST /_fixture/reset    → 200 {}; forgets every object.
  POST /_fixture/clock?offset=S  → 200 {"offset":S}; the fixture's "now"
       is the real time plus S seconds (expiry and skew tests).
Exits after S seconds (default 120) or on SIGTERM.
"""
import datetime
import email.utils
import hashlib
import hmac
import json
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, quote, unquote_to_bytes

from fixture_server import out, serve

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED = "UNSIGNED-PAYLOAD"
SKEW = 15 * 60
MAX_EXPIRES = 604800
MAX_BODY = 256 * 1024 * 1024
MULTIPART = {"uploads", "uploadId", "partNumber"}
OVERRIDES = {
    "response-content-type": "Content-Type",
    "response-content-disposition": "Content-Disposition",
    "response-cache-control": "Cache-Control",
    "response-content-language": "Content-Language",
    "response-content-encoding": "Content-Encoding",
    "response-expires": "Expires",
}

config = {"access_key": "", "secret": "", "region": "us-east-1", "offset": 0.0}
objects = {}
lock = threading.Lock()


class S3Error(Exception):
    def __init__(self, status, code, message, **extra):
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


# ---- SigV4, as plain functions (the selftest checks them against AWS's
# published examples) ------------------------------------------------------

def uri_encode(data):
    """RFC 3986 percent-encoding, unreserved (A-Z a-z 0-9 - . _ ~) kept,
    hex upper-case; data: str (UTF-8) or bytes."""
    return quote(data, safe="")


def canonical_uri(raw_path):
    """The canonical URI of a path as sent: each '/'-separated segment
    decoded, then re-encoded (S3 does not normalize or double-encode)."""
    return "/".join(uri_encode(unquote_to_bytes(seg)) for seg in raw_path.split("/"))


def query_pairs(raw_query):
    """[(name, value)] of a raw query string, percent-decoded to str
    (UTF-8, undecodable bytes kept as surrogates); '+' stays '+'."""
    pairs = []
    for piece in raw_query.split("&"):
        if piece == "":
            continue
        name, _, value = piece.partition("=")
        pairs.append((unquote_to_bytes(name).decode("utf-8", "surrogateescape"),
                      unquote_to_bytes(value).decode("utf-8", "surrogateescape")))
    return pairs


def _enc(s):
    return uri_encode(s.encode("utf-8", "surrogateescape"))


def canonical_query(pairs, exclude=()):
    return "&".join("%s=%s" % nv for nv in sorted(
        (_enc(n), _enc(v)) for n, v in pairs if n not in exclude))


def canonical_header_value(value):
    return re.sub(" +", " ", value.strip())


def canonical_request(method, c_uri, c_query, headers, signed_headers, payload_hash):
    """headers: {lowercase name: value} holding at least the signed ones;
    signed_headers: the ';'-joined list as the client gave it."""
    names = signed_headers.split(";")
    lines = "".join("%s:%s\n" % (n, canonical_header_value(headers[n])) for n in names)
    return "\n".join([method, c_uri, c_query, lines, signed_headers, payload_hash])


def signing_key(secret, date, region, service="s3"):
    k = ("AWS4" + secret).encode()
    for part in (date, region, service, "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    return k


def string_to_sign(amz_date, scope, creq):
    return "\n".join([ALGORITHM, amz_date, scope,
                      hashlib.sha256(creq.encode("utf-8", "surrogateescape")).hexdigest()])


def signature(secret, region, amz_date, creq, service="s3"):
    """(hex signature, string to sign) of a canonical request."""
    scope = "%s/%s/%s/aws4_request" % (amz_date[:8], region, service)
    sts = string_to_sign(amz_date, scope, creq)
    key = signing_key(secret, amz_date[:8], region, service)
    return hmac.new(key, sts.encode(), hashlib.sha256).hexdigest(), sts


def parse_amz_date(s):
    try:
        if not re.fullmatch(r"\d{8}T\d{6}Z", s):
            raise ValueError
        return datetime.datetime.strptime(s, "%Y%m%dT%H%M%SZ").replace(
            tzinfo=datetime.timezone.utc).timestamp()
    except ValueError:
        return None


def _auth_kinds(pairs, lowercase_names):
    qnames = {n for n, _ in pairs}
    return (bool(qnames & {"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature"}),
            "authorization" in lowercase_names)


def auth_kind(raw_query, headers):
    """"query", "header" or "none", as verify would classify the request
    (both: "header")."""
    q, h = _auth_kinds(query_pairs(raw_query), {n.lower() for n, _ in headers})
    return "header" if h else "query" if q else "none"


def verify(method, raw_path, raw_query, headers, body_sha256, now,
           access_key, secret, region):
    """Checks a request's SigV4 authentication. headers: [(name, value)] as
    received; body_sha256: the hex SHA-256 of the body read. Returns
    (auth, error): auth "query", "header" or "none"; error None or an
    S3Error."""
    hdrs = {}
    for name, value in headers:
        n = name.lower()
        hdrs[n] = hdrs[n] + "," + value if n in hdrs else value
    pairs = query_pairs(raw_query)
    has_query, has_header = _auth_kinds(pairs, hdrs)
    if has_query and has_header:
        return "header", S3Error(400, "InvalidArgument", "Only one auth mechanism allowed; "
                                 "only the X-Amz-Algorithm query parameter or the "
                                 "Authorization header should be specified")
    if not has_query and not has_header:
        return "none", S3Error(403, "AccessDenied", "Access Denied")
    auth = "query" if has_query else "header"
    try:
        _verify(auth, method, raw_path, pairs, hdrs, body_sha256, now,
                access_key, secret, region)
    except S3Error as e:
        return auth, e
    return auth, None


def _verify(auth, method, raw_path, pairs, hdrs, body_sha256, now,
            access_key, secret, region):
    if auth == "query":
        malformed = "AuthorizationQueryParametersError"
        q = {}
        for n, v in pairs:
            if n.startswith("X-Amz-"):
                if n in q:
                    raise S3Error(400, malformed, "%s is given twice" % n)
                q[n] = v
        for n in ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
                  "X-Amz-SignedHeaders", "X-Amz-Signature"):
            if n not in q:
                raise S3Error(400, malformed, "Query-string authentication version 4 "
                              "requires the X-Amz-Algorithm, X-Amz-Credential, "
                              "X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and "
                              "X-Amz-Expires parameters (%s is missing)" % n)
        algorithm, credential, amz_date = q["X-Amz-Algorithm"], q["X-Amz-Credential"], q["X-Amz-Date"]
        signed, sig, expires = q["X-Amz-SignedHeaders"], q["X-Amz-Signature"], q["X-Amz-Expires"]
    else:
        malformed = "AuthorizationHeaderMalformed"
        value = hdrs["authorization"].strip()
        algorithm, _, rest = value.partition(" ")
        fields = {}
        for part in rest.split(","):
            k, eq, v = part.strip().partition("=")
            if not eq or k in fields:
                raise S3Error(400, malformed, "The authorization header is malformed: %r" % part)
            fields[k] = v
        for k in ("Credential", "SignedHeaders", "Signature"):
            if k not in fields:
                raise S3Error(400, malformed, "The authorization header is malformed; "
                              "%s is missing" % k)
        credential, signed, sig = fields["Credential"], fields["SignedHeaders"], fields["Signature"]
        amz_date, expires = hdrs.get("x-amz-date"), None
        if amz_date is None:
            raise S3Error(403, "AccessDenied", "AWS authentication requires a valid Date "
                          "or x-amz-date header (this fixture: x-amz-date)")
    if algorithm != ALGORITHM:
        raise S3Error(400, malformed if auth == "query" else "InvalidArgument",
                      "Unsupported authorization algorithm %r" % algorithm)
    cred = credential.split("/")
    if len(cred) != 5:
        raise S3Error(400, malformed, "Error parsing the X-Amz-Credential parameter; "
                      "expecting <id>/<yyyymmdd>/<region>/s3/aws4_request")
    if cred[0] != access_key:
        raise S3Error(403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does "
                      "not exist in our records.", AWSAccessKeyId=cred[0])
    when = parse_amz_date(amz_date)
    if when is None:
        raise S3Error(400 if auth == "query" else 403,
                      malformed if auth == "query" else "AccessDenied",
                      "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
    if cred[1] != amz_date[:8]:
        raise S3Error(400, malformed, "Invalid credential date \"%s\". This date is not the "
                      "same as X-Amz-Date: \"%s\"." % (cred[1], amz_date[:8]))
    if cred[2] != region:
        raise S3Error(400, malformed, "the region '%s' is wrong; expecting '%s'" % (cred[2], region),
                      Region=region)
    if cred[3] != "s3" or cred[4] != "aws4_request":
        raise S3Error(400, malformed, "the credential scope must end in /s3/aws4_request")
    if auth == "query":
        if not re.fullmatch(r"[0-9]{1,6}", expires) or not 1 <= int(expires) <= MAX_EXPIRES:
            raise S3Error(400, malformed, "X-Amz-Expires must be between 1 and %d seconds"
                          % MAX_EXPIRES)
        if when + int(expires) < now:
            raise S3Error(403, "AccessDenied", "Request has expired",
                          XAmzExpires=expires, Expires=_iso(when + int(expires)),
                          ServerTime=_iso(now))
        if when > now + SKEW:
            raise S3Error(403, "AccessDenied", "Request is not valid yet")
        payload = UNSIGNED
    else:
        if abs(when - now) > SKEW:
            raise S3Error(403, "RequestTimeTooSkewed", "The difference between the request "
                          "time and the current time is too large.",
                          RequestTime=amz_date, ServerTime=_iso(now), MaxAllowedSkewMilliseconds="900000")
        payload = hdrs.get("x-amz-content-sha256")
        if payload is None:
            raise S3Error(400, "InvalidRequest", "Missing required header for this request: "
                          "x-amz-content-sha256")
        if payload != UNSIGNED and not re.fullmatch(r"[0-9a-f]{64}", payload):
            raise S3Error(400, "InvalidArgument", "x-amz-content-sha256 must be "
                          "UNSIGNED-PAYLOAD or a lower-case hex SHA-256 (this fixture "
                          "does not do streaming payloads)")
    names = signed.split(";")
    if signed == "" or any(n == "" or n != n.lower() for n in names) or names != sorted(set(names)):
        raise S3Error(403, "SignatureDoesNotMatch", "SignedHeaders must be lower-case "
                      "names, sorted, ';'-separated, each once: %r" % signed)
    if "host" not in names:
        raise S3Error(403, "SignatureDoesNotMatch", "host must be a signed header")
    missing = [n for n in names if n not in hdrs]
    if missing:
        raise S3Error(403, "SignatureDoesNotMatch", "signed headers absent from the "
                      "request: %s" % ", ".join(missing))
    unsigned = sorted(n for n in hdrs if n.startswith("x-amz-") and n not in names)
    if unsigned:
        raise S3Error(403, "AccessDenied", "There were headers present in the request "
                      "which were not signed", HeadersNotSigned=", ".join(unsigned))
    creq = canonical_request(method, canonical_uri(raw_path),
                             canonical_query(pairs, ("X-Amz-Signature",) if auth == "query" else ()),
                             hdrs, signed, payload)
    want, sts = signature(secret, region, amz_date, creq)
    if not hmac.compare_digest(want.encode(), sig.encode("utf-8", "surrogateescape")):
        raise S3Error(403, "SignatureDoesNotMatch", "The request signature we calculated "
                      "does not match the signature you provided. Check your key and "
                      "signing method.", AWSAccessKeyId=cred[0], StringToSign=sts,
                      SignatureProvided=sig, CanonicalRequest=creq)
    if auth == "header" and payload != UNSIGNED and body_sha256 != payload:
        raise S3Error(400, "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' "
                      "header does not match what was computed.",
                      ClientComputedContentSHA256=payload, S3ComputedContentSHA256=body_sha256)


def _iso(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _xml(s):
    return (s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("\"", "&quot;"))


def error_xml(e):
    extra = "".join("<%s>%s</%s>" % (k, _xml(str(v)), k) for k, v in e.extra.items())
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s</Code>'
            '<Message>%s</Message>%s</Error>' % (e.code, _xml(e.message), extra)).encode(
                "utf-8", "surrogateescape")


def _decode(raw):
    return unquote_to_bytes(raw).decode("utf-8", "surrogateescape")


def _header_value(v):
    """A str header value as its UTF-8 bytes on the wire (send_header
    writes latin-1); control characters → S3Error."""
    if re.search(r"[\x00-\x1f\x7f]", v):
        raise S3Error(400, "InvalidArgument", "header values cannot hold control characters")
    return v.encode("utf-8", "surrogateescape").decode("latin-1")


def store(bucket, key, data, content_type, disposition=None):
    obj = {"data": data, "content_type": content_type or "binary/octet-stream",
           "content_disposition": disposition, "etag": '"%s"' % hashlib.md5(data).hexdigest(),
           "sha256": hashlib.sha256(data).hexdigest(), "mtime": time.time()}
    with lock:
        objects[(bucket, key)] = obj
    return obj


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 60  # an idle kept connection closes after that

    def version_string(self):
        return "s3_fixture"

    def log_message(self, *args):
        pass

    def send(self, status, headers, body=b"", length=None):
        """Writes the answer; always a Content-Length (length: HEAD's)."""
        try:
            self.send_response(status)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body) if length is None else length))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def read_body(self):
        """The body: exactly Content-Length bytes, b"" without one; raises
        S3Error (and closes the connection) when it cannot be framed."""
        if self.headers.get("Transfer-Encoding") is not None:
            self.close_connection = True
            raise S3Error(411, "MissingContentLength",
                          "You must provide the Content-Length HTTP header (no chunked bodies).")
        lengths = self.headers.get_all("Content-Length") or []
        if not lengths:
            if self.command in ("PUT", "POST"):
                raise S3Error(411, "MissingContentLength",
                              "You must provide the Content-Length HTTP header.")
            return b""
        if len(lengths) > 1 or not re.fullmatch(r"[0-9]{1,12}", lengths[0].strip()):
            self.close_connection = True
            raise S3Error(400, "InvalidArgument", "bad Content-Length: %r" % lengths)
        n = int(lengths[0])
        if n > MAX_BODY:
            self.close_connection = True
            raise S3Error(400, "EntityTooLarge", "Your proposed upload exceeds the maximum "
                          "allowed size (this fixture: %d bytes)" % MAX_BODY)
        data = self.rfile.read(n) if n else b""
        if len(data) != n:
            self.close_connection = True
            raise S3Error(400, "IncompleteBody", "You did not provide the number of bytes "
                          "specified by the Content-Length HTTP header")
        return data

    def handle_any(self):
        raw_path, _, raw_query = self.path.partition("?")
        if raw_path.startswith("/_fixture/"):
            return self.control(raw_path, raw_query)
        segs = raw_path.split("/", 2)
        bucket = _decode(segs[1]) if len(segs) > 1 and segs[1] else None
        key = _decode(segs[2]) if len(segs) > 2 and segs[2] else None
        auth = auth_kind(raw_query, self.headers.items())
        try:
            data = self.read_body()
            auth, err = verify(self.command, raw_path, raw_query, self.headers.items(),
                               hashlib.sha256(data).hexdigest(),
                               time.time() + config["offset"], config["access_key"],
                               config["secret"], config["region"])
            if err is not None:
                raise err
            status, headers, body, length = self.operate(bucket, key, raw_query, data)
            code, err = None, None
        except S3Error as e:
            status, code, err = e.status, e.code, e
            headers, body, length = [("Content-Type", "application/xml")], error_xml(e), None
            if self.command == "HEAD":
                body, length = b"", 0
        event = {"event": "request", "method": self.command, "path": raw_path,
                 "query": raw_query, "auth": auth, "status": status, "code": code,
                 "bucket": bucket, "key": key}
        if err is not None and "CanonicalRequest" in err.extra:
            event["canonical_request"] = err.extra["CanonicalRequest"]
            event["string_to_sign"] = err.extra["StringToSign"]
        out(event)
        self.send(status, headers, body, length)

    def operate(self, bucket, key, raw_query, data):
        """(status, headers, body, length) of an authenticated request."""
        pairs = query_pairs(raw_query)
        if bucket is None or key is None or any(n in MULTIPART for n, _ in pairs):
            if self.command not in ("GET", "HEAD", "PUT", "DELETE", "POST"):
                raise S3Error(405, "MethodNotAllowed",
                              "The specified method is not allowed against this resource.")
            raise S3Error(501, "NotImplemented", "This fixture serves only single objects "
                          "(path-style /<bucket>/<key>), no bucket operations or multipart.")
        if self.command == "PUT":
            obj = store(bucket, key, data, self.headers.get("Content-Type"),
                        self.headers.get("Content-Disposition"))
            return 200, [("ETag", obj["etag"])], b"", None
        if self.command == "DELETE":
            with lock:
                objects.pop((bucket, key), None)
            return 204, [], b"", None
        if self.command not in ("GET", "HEAD"):
            raise S3Error(405, "MethodNotAllowed",
                          "The specified method is not allowed against this resource.")
        with lock:
            obj = objects.get((bucket, key))
        if obj is None:
            raise S3Error(404, "NoSuchKey", "The specified key does not exist.", Key=key)
        h = {"Content-Type": obj["content_type"], "ETag": obj["etag"],
             "Last-Modified": email.utils.formatdate(obj["mtime"], usegmt=True),
             "Accept-Ranges": "none"}
        if obj["content_disposition"]:
            h["Content-Disposition"] = obj["content_disposition"]
        for n, v in pairs:
            if n in OVERRIDES:
                h[OVERRIDES[n]] = _header_value(v)
        headers = list(h.items())
        if self.command == "HEAD":
            return 200, headers, b"", len(obj["data"])
        return 200, headers, obj["data"], None

    def control(self, raw_path, raw_query):
        try:
            data = self.read_body()
        except S3Error as e:
            return self.send(e.status, [("Content-Type", "application/xml")], error_xml(e))
        q = {k: v[0] for k, v in parse_qs(raw_query, keep_blank_values=True).items()}
        status, reply = 200, None
        if raw_path == "/_fixture/objects" and self.command == "GET":
            with lock:
                items = sorted(objects.items())
            reply = [{"bucket": b, "key": k, "size": len(o["data"]), "sha256": o["sha256"],
                      "content_type": o["content_type"]} for (b, k), o in items]
        elif raw_path == "/_fixture/put" and self.command == "POST":
            if not q.get("bucket") or not q.get("key"):
                status, reply = 400, {"error": "bucket and key are required"}
            else:
                obj = store(q["bucket"], q["key"], data, self.headers.get("Content-Type"))
                reply = {"bucket": q["bucket"], "key": q["key"], "size": len(data),
                         "sha256": obj["sha256"], "etag": obj["etag"]}
        elif raw_path == "/_fixture/reset" and self.command == "POST":
            with lock:
                objects.clear()
            reply = {}
        elif raw_path == "/_fixture/clock" and self.command == "POST":
            try:
                config["offset"] = float(q.get("offset", "0"))
                reply = {"offset": config["offset"]}
            except ValueError:
                status, reply = 400, {"error": "offset: seconds"}
        else:
            status, reply = 404, {"error": "no such control endpoint"}
        self.send(status, [("Content-Type", "application/json")], json.dumps(reply).encode())

    do_GET = do_PUT = do_HEAD = do_DELETE = do_POST = do_PATCH = do_OPTIONS = handle_any


def main():
    timeout = 120
    args = sys.argv[1:]
    while args:
        if len(args) < 2 or args[0] not in ("--access-key", "--secret", "--region", "--timeout"):
            sys.exit("usage: s3_fixture.py --access-key ID --secret KEY "
                     "[--region us-east-1] [--timeout S]")
        if args[0] == "--timeout":
            timeout = int(args[1])
        else:
            config[args[0][2:].replace("-", "_")] = args[1]
        args = args[2:]
    if not config["access_key"] or not config["secret"]:
        sys.exit("s3_fixture.py: --access-key and --secret are required")
    serve(Handler, timeout)


if __name__ == "__main__":
    main()
