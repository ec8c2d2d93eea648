/* A conversation's transcript in the review (CX team and admins): tag it, mark it reviewed, leave a note, save it as a
 * test story with the intents chosen beside each customer message. The server stores each change with its audit
 * record before it answers (POST /api/review/conversations/...); the page then shows what it stored, as text. */
(function () {
  "use strict";
  const C = window.Console;
  const el = C.el;
  const data = C.pageData();
  const base = "/api/review/conversations/" + data.id;
  let review = data.review || { tags: [] };

  function show(id, text) {
    const node = document.getElementById(id);
    node.textContent = text || "";
    node.hidden = !text;
  }

  function when(iso) {
    return iso ? C.dateTime(C.parseTime(iso)) : "";
  }

  async function send(path, body) {
    show("review-error", "");
    const result = await C.api("POST", base + path, body);
    if (!result.ok) {
      show("review-notice", "");
      show("review-error", result.data.error);
      return null;
    }
    review = result.data.review;
    show("review-notice", result.data.message);
    draw();
    return result.data;
  }

  function draw() {
    const list = document.getElementById("tag-list");
    list.replaceChildren.apply(list, review.tags.map(function (tag) {
      return el("li", { className: "tag-chip", "data-tag": tag }, [
        tag + " ",
        el("button", {
          type: "button", className: "button button--quiet button--small", "data-remove-tag": tag,
          "aria-label": "Remove tag " + tag,
        }, ["×"]),
      ]);
    }));
    document.getElementById("reviewed").checked = review.reviewed;
    document.getElementById("reviewed-by").textContent =
      review.reviewed ? "by " + review.reviewed_by + ", " + when(review.reviewed_at) : "";
    document.getElementById("note-by").textContent = review.note ? "by " + review.note_by + ", " + when(review.note_at) : "";
    const saved = document.getElementById("saved-tests");
    saved.replaceChildren.apply(saved, review.saved_tests.map(function (s) {
      return el("li", {}, ["“" + s.story + "” in " + s.file + " · " + s.saved_by + ", " + when(s.saved_at) +
        (s.corrected ? " (corrected)" : "")]);
    }));
  }

  function addTag(tag) {
    tag = (tag || "").trim().toLowerCase();
    if (!tag || review.tags.indexOf(tag) >= 0) return;
    send("/tags", { tags: review.tags.concat([tag]) });
  }

  document.getElementById("tag-form").addEventListener("submit", function (event) {
    event.preventDefault();
    const input = document.getElementById("tag-input");
    addTag(input.value);
    input.value = "";
  });
  document.addEventListener("click", function (event) {
    const target = event.target.closest("button");
    if (!target) return;
    if (target.dataset.suggest) addTag(target.dataset.suggest);
    if (target.dataset.removeTag) {
      const gone = target.dataset.removeTag;
      send("/tags", { tags: review.tags.filter(function (t) { return t !== gone; }) });
    }
  });
  document.getElementById("reviewed").addEventListener("change", function (event) {
    send("/reviewed", { reviewed: event.target.checked }).then(function (done) {
      if (!done) event.target.checked = review.reviewed;
    });
  });
  document.getElementById("note-save").addEventListener("click", function () {
    send("/note", { note: document.getElementById("note").value });
  });
  document.getElementById("save-test").addEventListener("click", async function (event) {
    const button = event.target;
    const corrections = {};
    document.querySelectorAll("select.test-intent").forEach(function (select) {
      if (select.value !== select.dataset.original) corrections[select.dataset.line] = select.value;
    });
    button.disabled = true;
    const done = await send("/save-test", { corrections: corrections, name: document.getElementById("test-name").value || null });
    button.disabled = false;
    show("test-diff", done ? done.diff : "");
  });
  document.querySelectorAll("select.test-intent").forEach(function (select) {
    select.addEventListener("change", function () {
      select.closest(".turn").classList.toggle("turn--corrected", select.value !== select.dataset.original);
    });
  });
})();
