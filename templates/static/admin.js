/* Admin pages: the live preview of the article editor. The server renders
 * and sanitizes (POST /support/admin/kb/preview, the same renderer as a
 * save); this only sends the text after a pause and shows the answer.
 * Loaded as a file (CSP allows scripts from 'self' only, never inline). */
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var area = document.querySelector("textarea[data-preview]");
  var form = document.getElementById("article-form");
  if (!area || !form) return;
  var target = document.getElementById(area.getAttribute("data-preview"));
  var csrf = form.querySelector("input[name=csrf_token]").value;
  var timer = null, seq = 0;
  function refresh() {
    var mine = ++seq;
    var body = new URLSearchParams();
    body.set("csrf_token", csrf);
    body.set("content_markdown", area.value);
    fetch("/support/admin/kb/preview", {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded" }
    }).then(function (r) {
      if (r.ok) return r.text().then(function (html) {
        if (mine === seq) target.innerHTML = html;
      });
      /* 422: markdown the server refuses (too deeply nested, too many
       * table cells); its reason is shown as text in place of the preview */
      if (r.status !== 422) return Promise.reject(r.status);
      return r.json().then(function (problem) {
        if (mine !== seq) return;
        var e = problem.errors && problem.errors[0], p = document.createElement("p");
        p.className = "field-error";
        p.textContent = e ? e.message : problem.detail;
        target.replaceChildren(p);
      });
    }).catch(function () { /* keep the last preview */ });
  }
  area.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(refresh, 300);
  });
  if (!target.innerHTML.trim() && area.value) refresh();
});
