#!/usr/bin/env python3
"""browser_check: the knowledge-base admin pages in a real browser.

Drives headless Chromium over the DevTools protocol (--remote-debugging-pipe:
no port, no extra Python package) through the admin flow of API.md §8:
sign in by pasting a support_admin JWT, the article list, "New article"
(typed title/slug/tags/markdown; the live preview must render the markdown,
which proves admin.js runs under the page CSP), save, the edit page (a
title of 120 emoji typed whole; Back after Save loads the page afresh, not
the back/forward cache's copy with its stale version, and the next Save
saves; a text over 200 KiB makes the preview say it is too long), the
list again — at desktop width and at a phone width (390 px) — then, with
the session cookie gone, that the preview says the session has ended (and
never shows the sign-in page), and saves a screenshot of each step into
OUT_DIR. The edit page after the create must say "Article created." and
its address must have lost ?done=.

Fails (exit 1) on any console error, uncaught exception, CSP violation
(securitypolicyviolation events, Log/Audits entries), failed or non-2xx
request of a page or of its CSS/JS, a stylesheet that did not apply, a
preview that did not render, or a page wider than the phone viewport. At
the end it also checks that the CSP really is enforced (an inline script
added to the page must be blocked and reported).

Usage: browser_check.py BASE_URL OUT_DIR
  env SP_BROWSER_ADMIN_TOKEN   a JWT with role support_admin (required)
  env SP_BROWSER_CHROMIUM      browser binary (default /usr/bin/chromium)
  env SP_BROWSER_TIMEOUT       overall deadline in seconds (default 60)
Writes OUT_DIR/*.png, OUT_DIR/report.json and OUT_DIR/chromium.log.
Exit: 0 passed, 1 a check failed, 2 usage/setup error, 77 no browser.

Every process it starts (the browser and its helpers, in their own process
group) is killed on the way out, whatever the way out is.
"""

import base64
import json
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
import queue

DESKTOP = (1280, 900)
PHONE = (390, 844)


class Fail(Exception):
    pass


def become_subreaper():
    """Orphans of the browser (helpers it double-forks) become our children,
    not init's, so that close() can kill and reap them."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_CHILD_SUBREAPER = 36
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def children():
    """Pids of our live child processes (Linux /proc)."""
    me, out = os.getpid(), []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        if int(fields[1]) == me and fields[0] != "Z":
            out.append(int(d))
    return out


class Browser:
    """A headless Chromium and one CDP session on one page (flat mode)."""

    def __init__(self, binary, out_dir):
        self.proc_pid = None
        self.profile = tempfile.mkdtemp(prefix="sp-chromium-")
        # We write commands to to_chrome[1], Chromium reads its fd 3;
        # Chromium writes fd 4, we read from_chrome[0].
        to_chrome = os.pipe()
        from_chrome = os.pipe()
        args = [
            binary,
            "--headless=new",
            "--remote-debugging-pipe",
            "--user-data-dir=" + self.profile,
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-default-apps",
            "--disable-features=Translate,MediaRouter,OptimizationHints",
            "--metrics-recording-only",
            "--mute-audio",
            "--disable-crash-reporter",
            "--disable-breakpad",
            "--hide-scrollbars",
            "--password-store=basic",
            "--use-mock-keychain",
            "--window-size=%d,%d" % DESKTOP,
            "about:blank",
        ]
        if os.geteuid() == 0:
            args.insert(1, "--no-sandbox")  # CI runs as root
        log = os.path.join(out_dir, "chromium.log")
        actions = [
            (os.POSIX_SPAWN_DUP2, to_chrome[0], 3),
            (os.POSIX_SPAWN_DUP2, from_chrome[1], 4),
            (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
            (os.POSIX_SPAWN_DUP2, 1, 2),
        ]
        env = dict(os.environ)
        env.setdefault("HOME", self.profile)
        # Own process group: the browser, its zygotes and renderers all go
        # with one killpg.
        self.proc_pid = os.posix_spawn(binary, args, env, file_actions=actions, setpgroup=0)
        os.close(to_chrome[0])
        os.close(from_chrome[1])
        self.wfd = to_chrome[1]
        self.rfd = from_chrome[0]
        self.next_id = 0
        self.pending = {}
        self.lock = threading.Lock()
        self.events = queue.Queue()
        self.listeners = []
        self.session = None
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    # --- transport -----------------------------------------------------------

    def _read(self):
        buf = b""
        while True:
            try:
                chunk = os.read(self.rfd, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                break
            buf += chunk
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                msg = json.loads(raw)
                if "id" in msg:
                    with self.lock:
                        slot = self.pending.pop(msg["id"], None)
                    if slot is not None:
                        slot.put(msg)
                else:
                    for fn in self.listeners:
                        fn(msg)
        with self.lock:
            for slot in self.pending.values():
                slot.put({"error": {"message": "browser went away"}})
            self.pending.clear()

    def call(self, method, params=None, session=True, timeout=20):
        with self.lock:
            self.next_id += 1
            mid = self.next_id
            slot = queue.Queue(1)
            self.pending[mid] = slot
        msg = {"id": mid, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        data = json.dumps(msg).encode() + b"\0"
        while data:
            data = data[os.write(self.wfd, data):]
        try:
            reply = slot.get(timeout=timeout)
        except queue.Empty:
            raise Fail("no answer to %s within %ss" % (method, timeout))
        if "error" in reply:
            raise Fail("%s: %s" % (method, reply["error"].get("message")))
        return reply.get("result", {})

    def close(self):
        """Kills the browser's process group and removes its profile."""
        if self.proc_pid is not None:
            try:
                self.call("Browser.close", session=False, timeout=3)
            except Exception:
                pass
            deadline = time.time() + 3
            while time.time() < deadline:
                try:
                    if os.waitpid(self.proc_pid, os.WNOHANG)[0] != 0:
                        break
                except ChildProcessError:
                    break
                time.sleep(0.05)
            try:
                os.killpg(self.proc_pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            # Helpers that left the group (crashpad starts its own session)
            # were reparented to us (subreaper): kill and reap them all.
            for _ in range(50):
                left = children()
                for pid in left:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                try:
                    while os.waitpid(-1, os.WNOHANG)[0] != 0:
                        pass
                except ChildProcessError:
                    pass
                if not left:
                    break
                time.sleep(0.05)
            self.proc_pid = None
        for fd in ("wfd", "rfd"):
            try:
                os.close(getattr(self, fd))
            except (OSError, AttributeError):
                pass
            setattr(self, fd, -1)
        shutil.rmtree(self.profile, ignore_errors=True)


def logged_status(text):
    """The HTTP status a console line reports ("... status of 422 ..."), or 0."""
    m = re.search(r"status of (\d+)", text)
    return int(m.group(1)) if m else 0


class Check:
    def __init__(self, browser, base, out_dir):
        self.b = browser
        self.base = base
        self.out = out_dir
        self.failures = []
        self.notes = []
        self.shots = []
        self.loads = 0
        self.cond = threading.Condition()
        self.expect_csp = False
        self.csp_seen = []
        self.requests = {}      # requestId -> {url, type}
        self.resources = []     # (url, type, status) of responses
        self.refused_preview = 0  # a refusal (this status) of the preview is the step's point
        self.bfcache = []       # back/forward cache restores seen, and why not when not
        browser.listeners.append(self.on_event)

    # --- events ----------------------------------------------------------------

    def fail(self, what):
        self.failures.append(what)
        print("FAIL: " + what, flush=True)

    def note(self, what):
        self.notes.append(what)
        print("  " + what, flush=True)

    def csp(self, what):
        if self.expect_csp:
            self.csp_seen.append(what)
        else:
            self.fail("CSP violation: " + what)

    def on_event(self, m):
        method, p = m.get("method"), m.get("params", {})
        if method == "Page.loadEventFired":
            with self.cond:
                self.loads += 1
                self.cond.notify_all()
        elif method == "Runtime.consoleAPICalled":
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", []))
            if p.get("type") in ("error", "assert"):
                self.fail("console.%s: %s" % (p.get("type"), text))
            elif p.get("type") == "warning":
                self.note("console.warning: " + text)
        elif method == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            text = d.get("exception", {}).get("description") or d.get("text")
            self.fail("uncaught exception: %s (%s:%s)" % (text, d.get("url", "?"), d.get("lineNumber")))
        elif method == "Log.entryAdded":
            e = p.get("entry", {})
            text = "%s [%s] %s" % (e.get("source"), e.get("url", ""), e.get("text"))
            if "Content Security Policy" in e.get("text", "") or "Content-Security-Policy" in e.get("text", ""):
                self.csp("log: " + text)
            elif self.expected_refusal(e.get("url", ""), logged_status(e.get("text", ""))):
                self.note("expected: " + text)
            elif e.get("level") == "error":
                self.fail("console error: " + text)
            elif e.get("level") == "warning":
                self.note("console warning: " + text)
        elif method == "Runtime.bindingCalled" and p.get("name") == "__spCspReport":
            self.csp("securitypolicyviolation: " + p.get("payload", ""))
        elif method == "Audits.issueAdded":
            issue = p.get("issue", {})
            if issue.get("code") == "ContentSecurityPolicyIssue":
                d = issue.get("details", {}).get("contentSecurityPolicyIssueDetails", {})
                self.csp("audit: %s blocked %s" % (d.get("violatedDirective"), d.get("blockedURL", "inline")))
        elif method == "Page.frameNavigated" and not p.get("frame", {}).get("parentId"):
            if p.get("type") == "BackForwardCacheRestore":
                self.bfcache.append("restored " + p["frame"].get("url", ""))
        elif method == "Page.backForwardCacheNotUsed":
            reasons = [r.get("reason") for r in p.get("notRestoredExplanations", [])]
            self.bfcache.append("not used: %s" % ", ".join(str(r) for r in reasons))
        elif method == "Network.requestWillBeSent":
            self.requests[p["requestId"]] = {"url": p["request"]["url"], "type": p.get("type")}
        elif method == "Network.responseReceived":
            r = p["response"]
            self.resources.append((r["url"], p.get("type"), r["status"]))
            # The preview endpoint is a Fetch; pages are Document; plus CSS/JS.
            if p.get("type") in ("Document", "Stylesheet", "Script", "Fetch", "XHR", "Image") \
                    and not 200 <= r["status"] < 400 \
                    and not self.expected_refusal(r["url"], r["status"]):
                self.fail("HTTP %s for %s (%s)" % (r["status"], r["url"], p.get("type")))
        elif method == "Network.loadingFailed":
            req = self.requests.get(p["requestId"], {})
            if p.get("blockedReason") == "csp":
                self.csp("request blocked: %s" % req.get("url"))
            elif not p.get("canceled"):
                self.fail("request failed: %s (%s): %s" % (req.get("url"), p.get("type"), p.get("errorText")))

    def expected_refusal(self, url, status):
        """The preview's refusal a step provokes on purpose: 422 for markdown
        the server refuses, 401 once the session has ended."""
        return status != 0 and self.refused_preview == status \
            and url.endswith("/support/admin/kb/preview")

    # --- page helpers ---------------------------------------------------------------

    def js(self, expr, timeout=20):
        r = self.b.call("Runtime.evaluate", {"expression": expr, "returnByValue": True,
                                             "awaitPromise": True}, timeout=timeout)
        if "exceptionDetails" in r:
            raise Fail("evaluating %r: %s" % (expr[:60], r["exceptionDetails"].get("text")))
        return r.get("result", {}).get("value")

    def navigation(self, action, want_path, what, timeout=15):
        """Runs action (which must cause exactly one page load) and waits for
        the load; the page must end up at a path matching want_path."""
        with self.cond:
            before = self.loads
        action()
        with self.cond:
            if not self.cond.wait_for(lambda: self.loads > before, timeout):
                raise Fail("%s: no page load within %ss" % (what, timeout))
        path = self.js("location.pathname")
        if not re.fullmatch(want_path, path):
            raise Fail("%s: landed on %s, not %s (page says: %s)" % (
                what, path, want_path, (self.js("document.body.innerText") or "")[:300]))
        # The page has loaded: its stylesheet must apply (the header bar is
        # flex only through admin.css).
        disp = self.js("getComputedStyle(document.querySelector('header.bar')).display")
        if disp != "flex":
            self.fail("%s: admin.css did not apply (header display %r)" % (what, disp))
        return path

    def goto(self, path, want_path, what):
        return self.navigation(lambda: self.b.call("Page.navigate", {"url": self.base + path}),
                               want_path, what)

    def click(self, selector):
        ok = self.js("(function(){var e=document.querySelector(%s); if(!e) return false;"
                     " e.scrollIntoView(); e.click(); return true})()" % json.dumps(selector))
        if not ok:
            raise Fail("nothing to click at %s on %s" % (selector, self.js("location.pathname")))

    def type_into(self, selector, text):
        """Focuses the field and inserts text as the keyboard/paste would
        (input events fire)."""
        ok = self.js("(function(){var e=document.querySelector(%s); if(!e) return false;"
                     " e.focus(); e.select && e.select(); return document.activeElement===e})()"
                     % json.dumps(selector))
        if not ok:
            raise Fail("cannot focus %s" % selector)
        self.b.call("Input.insertText", {"text": text})

    def wait_js(self, expr, what, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.js(expr):
                return
            time.sleep(0.1)
        raise Fail("%s: not within %ss" % (what, timeout))

    def viewport(self, size, mobile):
        self.b.call("Emulation.setDeviceMetricsOverride", {
            "width": size[0], "height": size[1], "deviceScaleFactor": 1, "mobile": mobile})

    def shot(self, name, settle=True):
        if settle:  # let layout, fonts and the last preview settle
            self.js("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        r = self.b.call("Page.captureScreenshot", {"format": "png"}, timeout=5)
        path = os.path.join(self.out, name + ".png")
        with open(path, "wb") as f:
            f.write(base64.b64decode(r["data"]))
        self.shots.append(path)
        self.note("screenshot %s" % path)

    def no_overflow(self, what, width):
        w = self.js("document.documentElement.scrollWidth")
        if w > width:
            self.fail("%s: page is %spx wide in a %spx viewport (scrolls sideways)" % (what, w, width))

    # --- the flow ---------------------------------------------------------------------

    def run(self, token):
        b = self.b
        targets = b.call("Target.getTargets", session=False)["targetInfos"]
        page = next((t for t in targets if t["type"] == "page"), None)
        if page is None:
            page = {"targetId": b.call("Target.createTarget", {"url": "about:blank"},
                                       session=False)["targetId"]}
        b.session = b.call("Target.attachToTarget", {"targetId": page["targetId"], "flatten": True},
                           session=False)["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network", "Audits"):
            b.call(domain + ".enable")
        b.call("Network.setCacheDisabled", {"cacheDisabled": True})
        # Reports securitypolicyviolation events of every document (a CDP
        # script: the page CSP does not apply to it).
        b.call("Runtime.addBinding", {"name": "__spCspReport"})
        b.call("Page.addScriptToEvaluateOnNewDocument", {"source": """
            document.addEventListener('securitypolicyviolation', function (e) {
              window.__spCspReport(e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline') +
                                   ' at ' + e.sourceFile + ':' + e.lineNumber);
            });"""})
        self.viewport(DESKTOP, False)

        # 1. Sign in.
        self.goto("/support/admin/login", r"/support/admin/login", "login page")
        if not self.js("!!document.querySelector('textarea#token')"):
            raise Fail("login page has no token field")
        self.shot("01-login")
        self.type_into("textarea#token", token)
        self.navigation(lambda: self.click("form[action$='/login'] button[type=submit]"),
                        r"/support/admin/kb", "sign in")
        if not self.js("!!document.querySelector('form.logout')"):
            self.fail("list page after sign-in shows no sign-out form")
        self.shot("02-list-before")

        # 2. A new article through the form, with the live preview.
        self.navigation(lambda: self.click("a[href='/support/admin/kb/new']"),
                        r"/support/admin/kb/new", "New article")
        uniq = "%d-%d" % (int(time.time()), os.getpid())
        title = "Browser check " + uniq
        slug = "browser-check-" + uniq
        markdown = ("# Resetting your password\n\n"
                    "Open **Settings**, then *Security*, and choose `Reset`.\n\n"
                    "| Step | Where |\n|------|-------|\n| 1 | Settings |\n| 2 | Security |\n\n"
                    "- first item\n- ~~old~~ new item\n")
        self.type_into("#title", title)
        self.type_into("#slug", slug)
        self.type_into("#tags", "Browser, Check")
        # Markdown the server refuses (nested past 32): the preview shows
        # why, as text, instead of keeping a stale rendering.
        self.refused_preview = 422
        self.type_into("#content_markdown", "- " * 40 + "x")
        self.wait_js("(function(){var e=document.querySelector('#preview .field-error');"
                     " return !!(e && /nests more than 32 levels/.test(e.textContent))})()",
                     "the preview saying why the markdown is refused (422)")
        time.sleep(0.5)  # its console line and events arrive after the page shows it
        self.refused_preview = 0
        self.type_into("#content_markdown", markdown)
        self.wait_js("(function(){var p=document.getElementById('preview');"
                     " return !!(p && p.querySelector('h1') && p.querySelector('strong')"
                     " && p.querySelector('table') && p.querySelector('del'))})()",
                     "the live preview rendering the markdown (admin.js under the CSP)")
        self.shot("03-new-with-preview")
        path = self.navigation(lambda: self.click("#article-form button[type=submit]"),
                               r"/support/admin/kb/\d+/edit", "save the new article")

        # 3. The edit page, saying what happened once: the notice shows,
        # and the address loses ?done= (a reload must not say it again).
        said = self.js("({n: (document.getElementById('notice')||{}).textContent||null,"
                       " q: location.search})")
        if said.get("n") != "Article created." or said.get("q") != "":
            self.fail("after the create: notice %r, address query %r (want 'Article created.',"
                      " none)" % (said.get("n"), said.get("q")))
        got = self.js("({t: document.getElementById('title').value,"
                      " s: document.getElementById('slug').value,"
                      " g: document.getElementById('tags').value,"
                      " m: document.getElementById('content_markdown').value,"
                      " h: !!document.querySelector('#preview strong'),"
                      " st: (document.querySelector('.badge')||{}).textContent})")
        if got["t"] != title or got["s"] != slug or got["m"].rstrip() != markdown.rstrip():
            self.fail("edit page does not show what was saved: %r" % got)
        if got["g"] != "browser, check":
            self.fail("edit page tags: %r, expected 'browser, check'" % got["g"])
        if not got["h"]:
            self.fail("edit page preview is empty (server-rendered html missing)")
        self.shot("04-edit")
        self.edit_steps()

        # 4. The list shows it.
        self.navigation(lambda: self.click("a[href='/support/admin/kb']"),
                        r"/support/admin/kb", "back to the list")
        if not self.js("!!document.querySelector(%s)" % json.dumps("a[href='%s']" % path)):
            self.fail("the list does not link to the new article %s" % path)
        self.shot("05-list")

        # 5. Phone width.
        self.viewport(PHONE, True)
        self.goto("/support/admin/kb", r"/support/admin/kb", "list at phone width")
        self.no_overflow("list at %dpx" % PHONE[0], PHONE[0])
        self.shot("06-list-phone")
        self.goto(path, r"/support/admin/kb/\d+/edit", "edit at phone width")
        self.no_overflow("edit at %dpx" % PHONE[0], PHONE[0])
        cols = self.js("getComputedStyle(document.querySelector('.editor')).gridTemplateColumns")
        if len(cols.split()) != 1:
            self.fail("edit page at phone width is not one column (grid %r)" % cols)
        self.shot("07-edit-phone")

        # 6. The CSP is enforced and this check sees violations: an inline
        # script must not run and must be reported.
        self.viewport(DESKTOP, False)
        self.goto(path, r"/support/admin/kb/\d+/edit", "edit page (CSP probe)")
        self.expect_csp = True
        ran = self.js("(function(){window.__spInline=0; var s=document.createElement('script');"
                      " s.textContent='window.__spInline=1'; document.body.appendChild(s);"
                      " return window.__spInline})()")
        # The three reports (Log, Audits, the page's own event) arrive in
        # any order; wait for all, then a moment for stragglers.
        deadline = time.time() + 5
        kinds = ("log:", "audit:", "securitypolicyviolation:")
        while time.time() < deadline and not all(
                any(s.startswith(k) for s in self.csp_seen) for k in kinds):
            time.sleep(0.1)
        time.sleep(0.3)
        self.expect_csp = False
        if ran != 0:
            self.fail("an inline script ran: the page CSP allows inline scripts")
        if not self.csp_seen:
            self.fail("the blocked inline script was not reported (CSP detection is blind)")
        else:
            for seen in self.csp_seen:
                self.note("CSP probe blocked and reported (%s)" % seen)
            if not any(s.startswith("securitypolicyviolation") for s in self.csp_seen):
                self.fail("no securitypolicyviolation event for the blocked inline script")

        # 7. The session ends while the editor is open: the preview says so
        # in a line of text, never shows the sign-in page (a live form) a
        # redirect would lead to, and the typed text stays in the form.
        self.b.call("Network.deleteCookies", {"name": "support_admin_session",
                                              "url": self.base + "/support/admin/kb"})
        self.refused_preview = 401
        typed = "Typed after the session ended"
        self.type_into("#content_markdown", typed)
        self.wait_js("(function(){var e=document.querySelector('#preview .field-error');"
                     " return !!(e && /session has ended/.test(e.textContent))})()",
                     "the preview saying the session has ended (401)")
        time.sleep(0.5)
        self.refused_preview = 0
        left = self.js("({f: !!document.querySelector('#preview form, #preview textarea,"
                       " #preview input'), m: document.getElementById('content_markdown').value})")
        if left["f"]:
            self.fail("the preview pane shows a form after the session ended")
        if left["m"] != typed:
            self.fail("the typed text was not kept: %r" % left["m"])
        self.shot("09-session-ended")

        # 8. The sign-in page at phone width (signed out now: signed in, it
        # sends the browser on to the list).
        self.viewport(PHONE, True)
        self.goto("/support/admin/login", r"/support/admin/login", "login at phone width")
        self.no_overflow("login at %dpx" % PHONE[0], PHONE[0])
        self.shot("08-login-phone")
        return path

    def edit_steps(self):
        """On the edit page of the new article: a title of 120 emoji, Back
        after Save, and a text too long to preview."""
        # A title of 120 emoji is valid (the server counts code points); a
        # maxlength of 200 (UTF-16 units) stopped the typing at 100.
        self.type_into("#title", "\U0001F600" * 120)
        n = self.js("Array.from(document.getElementById('title').value).length")
        if n != 120:
            self.fail("the title field took %s of 120 emoji" % n)

        # Back after Save: Chrome restores the page left by Save from its
        # back/forward cache, with the version it was rendered with; the
        # next Save was told someone else had saved (QA). admin.js loads
        # such a page afresh.
        self.navigation(lambda: self.click("#article-form button[type=submit]"),
                        r"/support/admin/kb/\d+/edit", "save the 120-emoji title")
        saved = self.js("document.querySelector('#article-form input[name=version]').value")
        self.bfcache.clear()
        self.navigation(lambda: self.js("history.back()"), r"/support/admin/kb/\d+/edit",
                        "back after Save (the page loaded afresh)")
        for seen in self.bfcache:
            self.note("back/forward cache: " + seen)
        if not any(s.startswith("restored") for s in self.bfcache):
            self.note("the page was not restored from the back/forward cache: the reload"
                      " on pageshow was not exercised")
        back = self.js("document.querySelector('#article-form input[name=version]').value")
        if back != saved:
            self.fail("back after Save: the form edits version %s, the article is at %s"
                      % (back, saved))
        self.type_into("#tags", "browser, check, back")
        self.navigation(lambda: self.click("#article-form button[type=submit]"),
                        r"/support/admin/kb/\d+/edit", "save again after Back")
        notice = self.js("(document.getElementById('notice')||{}).textContent||null")
        if notice != "Saved.":
            self.fail("save after Back: %r, not 'Saved.' (page says: %s)" % (
                notice, (self.js("document.body.innerText") or "")[:300]))

        # Over 200 KiB the preview is a 413: the pane says so instead of
        # keeping the last rendering as if it were this text's (QA).
        self.refused_preview = 413
        self.js("(function(){var a=document.getElementById('content_markdown');"
                " a.value='a'.repeat(210*1024); a.dispatchEvent(new Event('input'));})()")
        self.wait_js("(function(){var e=document.querySelector('#preview .field-error');"
                     " return !!(e && /too long to preview/i.test(e.textContent))})()",
                     "the preview saying the text is too long (413)")
        time.sleep(0.5)
        self.refused_preview = 0
        self.shot("04b-too-long")

    def assets_loaded(self):
        for name, kind in (("admin.css", "Stylesheet"), ("admin.js", "Script")):
            ok = [r for r in self.resources if r[0].endswith("/support/admin/static/" + name)
                  and r[1] == kind and r[2] == 200]
            if not ok:
                self.fail("%s was never loaded with 200" % name)


def main():
    if len(sys.argv) != 3:
        print(__doc__.split("\n\n")[0], file=sys.stderr)
        print("usage: browser_check.py BASE_URL OUT_DIR", file=sys.stderr)
        return 2
    base, out = sys.argv[1].rstrip("/"), sys.argv[2]
    token = os.environ.get("SP_BROWSER_ADMIN_TOKEN")
    if not token:
        print("browser_check: SP_BROWSER_ADMIN_TOKEN is not set", file=sys.stderr)
        return 2
    binary = os.environ.get("SP_BROWSER_CHROMIUM", "/usr/bin/chromium")
    if not os.access(binary, os.X_OK):
        print("browser_check: no browser at %s (apt-get install chromium)" % binary, file=sys.stderr)
        return 77
    os.makedirs(out, exist_ok=True)
    for f in os.listdir(out):
        if f.endswith(".png"):
            os.remove(os.path.join(out, f))
    limit = int(os.environ.get("SP_BROWSER_TIMEOUT", "60"))

    browser = None
    check = None

    def on_signal(signum, frame):
        raise SystemExit(128 + signum)

    def on_alarm(signum, frame):
        raise Fail("over the %ss deadline" % limit)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(limit)
    start = time.time()
    rc = 1
    become_subreaper()
    try:
        browser = Browser(binary, out)
        check = Check(browser, base, out)
        version = browser.call("Browser.getVersion", session=False)
        print("browser: %s" % version.get("product"), flush=True)
        check.run(token)
        check.assets_loaded()
        rc = 1 if check.failures else 0
    except Fail as e:
        if check is not None:
            check.fail(str(e))
            try:
                check.shot("99-failure", settle=False)
            except Exception:
                pass
        else:
            print("FAIL: " + str(e), flush=True)
    finally:
        signal.alarm(0)
        if browser is not None:
            browser.close()
        if check is not None:
            with open(os.path.join(out, "report.json"), "w") as f:
                json.dump({"ok": rc == 0, "seconds": round(time.time() - start, 1),
                           "failures": check.failures, "notes": check.notes,
                           "screenshots": check.shots,
                           "responses": check.resources}, f, indent=1)
    print("browser_check: %s in %.1fs, %d screenshot(s) in %s" % (
        "PASS" if rc == 0 else "FAIL", time.time() - start,
        len(check.shots) if check else 0, out), flush=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
