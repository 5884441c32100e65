/* Admin pages: the live preview of the article editor, and the one-shot
 * notice of an action. The server renders and sanitizes (POST
 * /support/admin/kb/preview, the same renderer as a save); this only sends
 * the text after a pause and shows the answer. Loaded as a file (CSP
 * allows scripts from 'self' only, never inline). */
"use strict";
/* Back to a page this page's own form left (Save, Publish, …): Chrome
 * restores it from its back/forward cache, no-store or not, with the
 * version the form was rendered with, and the next Save was told someone
 * else had saved (QA). A page left by one of its forms is loaded afresh,
 * unless its article form holds text typed and not saved (the form left
 * by Publish, say): that text is kept, and a Save that finds the article
 * changed keeps it too, saying so. */
(function () {
  var leftBy = null;
  function unsaved(form) {
    return Array.prototype.some.call(form.elements, function (e) {
      return (e.type === "checkbox" ? e.checked !== e.defaultChecked
              : e.type !== "hidden" && "defaultValue" in e && e.value !== e.defaultValue);
    });
  }
  document.addEventListener("submit", function (e) { leftBy = e.target; });
  window.addEventListener("pageshow", function (e) {
    if (!e.persisted || !leftBy) return;
    var article = document.getElementById("article-form");
    if (leftBy !== article && article && unsaved(article)) return;
    location.reload();
  });
})();
document.addEventListener("DOMContentLoaded", function () {
  /* "?done=saved" said it once: a reload or a bookmark must not say it
   * again, so the address loses it (the page keeps showing it). */
  if (/[?&]done=/.test(location.search) && window.history && history.replaceState) {
    var q = location.search.slice(1).split("&").filter(function (kv) {
      return kv.split("=")[0] !== "done";
    }).join("&");
    history.replaceState(history.state, "", location.pathname + (q ? "?" + q : "") + location.hash);
  }
  var area = document.querySelector("textarea[data-preview]");
  var form = document.getElementById("article-form");
  if (!area || !form) return;
  var target = document.getElementById(area.getAttribute("data-preview"));
  var csrf = form.querySelector("input[name=csrf_token]").value;
  var timer = null, seq = 0;
  function say(text) {
    var p = document.createElement("p");
    p.className = "field-error";
    p.textContent = text;
    target.replaceChildren(p);
  }
  function refresh() {
    var mine = ++seq;
    var body = new URLSearchParams();
    body.set("csrf_token", csrf);
    body.set("content_markdown", area.value);
    fetch("/support/admin/kb/preview", {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded" }
    }).then(function (r) {
      var type = r.headers.get("Content-Type") || "";
      /* Only the preview's own answer goes into the page: never one a
       * redirect led to (a sign-in page is a live form), nor any other
       * kind of answer. */
      if (r.ok && !r.redirected && /^text\/html\b/i.test(type))
        return r.text().then(function (html) {
          if (mine === seq) target.innerHTML = html;
        });
      /* The session ended (401), or this page's did (403: its token is
       * no live session's): the text stays in the form, unsaved. */
      if ((r.status === 401 || r.status === 403) && !r.redirected) {
        if (mine === seq)
          say("Your session has ended \u2014 sign in again in another tab; your text is kept.");
        return;
      }
      /* 413: the text is over 200 KiB; it was kept silent, the pane
       * showing a preview of older text (QA). */
      if (r.status === 413) {
        if (mine === seq)
          say("Too long to preview (over 200 KiB): shorten the text; Save refuses it too.");
        return;
      }
      /* 422: markdown the server refuses (too deeply nested, too many
       * table cells); its reason is shown as text in place of the preview */
      if (r.status === 422 && !r.redirected && /^application\/problem\+json\b/i.test(type))
        return r.json().then(function (problem) {
          if (mine !== seq) return;
          var e = problem.errors && problem.errors[0];
          say(e ? e.message : problem.detail);
        });
      return Promise.reject(r.status);
    }).catch(function (status) {
      /* Any other answer (a 5xx, a proxy's page) or none: never the last
       * preview shown as if it were this text's. */
      if (mine === seq)
        say(typeof status === "number"
            ? "The preview is not available (HTTP " + status + "); your text is kept."
            : "The preview is not available (no answer); your text is kept.");
    });
  }
  area.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(refresh, 300);
  });
  if (!target.innerHTML.trim() && area.value) refresh();
});
