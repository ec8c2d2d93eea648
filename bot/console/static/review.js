/* The NLU inbox (CX team and admins): one dialog annotates a message or a whole group of messages that mean the same:
 * confirm the bot's intent, choose another, create one, mark entities (select words in the message), or discard.
 * The server decides and writes (POST /api/review/...); the page shows what it did. Messages are put in as text. */
(function () {
  "use strict";
  const C = window.Console;
  const el = C.el;
  const data = C.pageData();
  const INTENT_NAME = /^[a-z][a-z0-9_]{1,63}$/;
  const items = {};
  (data.groups || []).forEach(function (g) {
    g.items.forEach(function (i) { items[i.message_id] = i; });
  });

  const dialog = document.getElementById("annotate-dialog");
  const form = document.getElementById("annotate-form");
  const textNode = document.getElementById("annotate-text");
  const save = document.getElementById("annotate-save");
  let current = null; // {ids: [...], item: the one message or null for a group}
  let spans = []; // entities marked in current.item's text: {start, end, entity}
  let returnFocus = null;

  function show(id, text) {
    const node = document.getElementById(id);
    node.textContent = text || "";
    node.hidden = !text;
  }

  function decision() {
    const checked = form.querySelector('input[name="decision"]:checked');
    return checked ? checked.value : "confirm";
  }

  function choose(value) {
    document.getElementById("decision-" + value).checked = true;
    update();
  }

  function update() {
    const d = decision();
    document.getElementById("annotate-intent").disabled = d !== "relabel";
    document.getElementById("new-intent-fields").hidden = d !== "new";
    document.getElementById("entities-fields").hidden = !current || !current.item || d === "discard";
  }

  // --- entities --------------------------------------------------------------------------------------------------
  function drawText() {
    const text = current.item.text;
    const parts = [];
    let at = 0;
    spans.slice().sort(function (a, b) { return a.start - b.start; }).forEach(function (s) {
      if (s.start > at) parts.push(text.slice(at, s.start));
      parts.push(el("mark", { className: "entity", title: s.entity }, [text.slice(s.start, s.end)]));
      at = s.end;
    });
    if (at < text.length) parts.push(text.slice(at));
    textNode.replaceChildren.apply(textNode, parts);
    const list = document.getElementById("entity-list");
    list.replaceChildren.apply(list, spans.map(function (s, n) {
      const value = text.slice(s.start, s.end);
      const remove = el("button", { type: "button", className: "button button--quiet button--small",
        "aria-label": "Unmark " + value + " (" + s.entity + ")" }, ["Unmark"]);
      remove.addEventListener("click", function () { spans.splice(n, 1); drawText(); });
      return el("li", { className: "entity-chip" }, [el("span", { className: "entity-value" }, [value]), " is ",
        el("strong", {}, [s.entity]), " ", remove]);
    }));
  }

  /** The selection as offsets in the message's text; null when it is not inside it. */
  function selectedSpan() {
    const selection = window.getSelection();
    if (!selection || selection.rangeCount === 0 || selection.isCollapsed) return null;
    const range = selection.getRangeAt(0);
    if (!textNode.contains(range.startContainer) || !textNode.contains(range.endContainer)) return null;
    const before = document.createRange();
    before.setStart(textNode, 0);
    before.setEnd(range.startContainer, range.startOffset);
    let start = before.toString().length;
    let end = start + range.toString().length;
    const text = current.item.text;
    while (start < end && /\s/.test(text[start])) start += 1;
    while (end > start && /\s/.test(text[end - 1])) end -= 1;
    return start < end ? { start: start, end: end } : null;
  }

  // The last selection made in the message: pressing the button must not lose it.
  let lastSelected = null;
  document.addEventListener("selectionchange", function () {
    if (current && current.item) {
      const span = selectedSpan();
      if (span) lastSelected = span;
    }
  });

  document.getElementById("entity-mark").addEventListener("click", function () {
    const span = selectedSpan() || lastSelected;
    lastSelected = null;
    if (!span) {
      show("annotate-error", "Select the words in the message first, then mark them.");
      return;
    }
    const overlaps = spans.some(function (s) { return span.start < s.end && s.start < span.end; });
    if (overlaps) {
      show("annotate-error", "That overlaps a marked entity: unmark it first.");
      return;
    }
    show("annotate-error", "");
    spans.push({ start: span.start, end: span.end, entity: document.getElementById("entity-name").value });
    window.getSelection().removeAllRanges();
    drawText();
  });

  // --- the dialog ------------------------------------------------------------------------------------------------
  function intentOption(intent) {
    const select = document.getElementById("annotate-intent");
    return Array.prototype.some.call(select.options, function (o) { return o.value === intent; });
  }

  function open(ids, button) {
    const one = ids.length === 1 ? items[ids[0]] : null;
    current = { ids: ids, item: one };
    lastSelected = null;
    returnFocus = button;
    show("annotate-error", "");
    const list = document.getElementById("annotate-texts");
    const intents = Array.from(new Set(ids.map(function (id) { return items[id].intent || "—"; })));
    const canConfirm = ids.some(function (id) { return items[id].intent && items[id].intent !== "nlu_fallback"; });
    if (one) {
      document.getElementById("annotate-title").textContent = "Annotate this message";
      spans = one.placeholders.filter(function (p) { return p.entity; })
        .map(function (p) { return { start: p.start, end: p.end, entity: p.entity }; });
      textNode.hidden = false;
      list.hidden = true;
      drawText();
    } else {
      document.getElementById("annotate-title").textContent = "Annotate all " + ids.length + " messages";
      spans = [];
      textNode.hidden = true;
      list.hidden = false;
      list.replaceChildren.apply(list, ids.map(function (id) { return el("li", {}, [items[id].text]); }));
    }
    document.getElementById("confirm-label").textContent = one
      ? "The bot was right: " + intents[0] + (one.confidence !== null ? " (" + one.confidence.toFixed(2) + ")" : "")
      : "The bot was right about each: " + intents.join(", ");
    document.getElementById("decision-confirm").disabled = !canConfirm;
    const first = ids.map(function (id) { return items[id].intent; }).find(intentOption);
    if (first) document.getElementById("annotate-intent").value = first;
    document.getElementById("new-intent-name").value = "";
    choose(canConfirm ? "confirm" : "relabel");
    dialog.showModal();
  }

  function body() {
    const d = decision();
    const out = {};
    if (d === "discard") {
      out.discard = true;
    } else if (d === "relabel") {
      out.intent = document.getElementById("annotate-intent").value;
    } else if (d === "new") {
      const name = document.getElementById("new-intent-name").value.trim();
      if (!INTENT_NAME.test(name)) {
        return { error: "“" + name + "” is not an intent name: lower case letters, digits and _, starting with a letter." };
      }
      out.intent = name;
      out.nlu_file = document.getElementById("new-intent-file").value;
      out.domain_file = document.getElementById("new-intent-domain").value || null;
    }
    if (current.item && d !== "discard") out.entities = spans;
    if (!current.item) out.message_ids = current.ids;
    return { body: out };
  }

  function markDone(id, text) {
    const node = document.querySelector('.inbox-item[data-message-id="' + id + '"]');
    if (!node) return;
    node.classList.add("inbox-item--done");
    node.querySelector(".inbox-actions").hidden = true;
    const result = node.querySelector(".inbox-result");
    result.textContent = text;
    result.hidden = false;
    const group = node.closest(".inbox-group");
    const open = group.querySelectorAll(".inbox-item:not(.inbox-item--done)");
    const all = group.querySelector("[data-annotate-group]");
    if (all) all.hidden = open.length < 2;
  }

  form.addEventListener("change", function (event) {
    if (event.target.name === "decision") update();
  });
  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    if (!current) return;
    const built = body();
    if (built.error) {
      show("annotate-error", built.error);
      return;
    }
    save.disabled = true;
    save.textContent = "Saving…";
    const url = current.item
      ? "/api/review/messages/" + current.item.message_id + "/annotate"
      : "/api/review/groups/annotate";
    const result = await C.api("POST", url, built.body);
    save.disabled = false;
    save.textContent = "Save";
    if (!result.ok) {
      show("annotate-error", result.data.error);
      return;
    }
    const done = result.data.annotation ? [result.data.annotation] : result.data.annotations;
    done.forEach(function (a) {
      markDone(a.message_id, a.nlu_file ? "Added to " + a.nlu_file + " as " + a.intent + "." : "Discarded.");
    });
    (result.data.refused || []).forEach(function (r) {
      const node = document.querySelector('.inbox-item[data-message-id="' + r.message_id + '"] .inbox-result');
      if (node) { node.textContent = "Not annotated: " + r.error; node.hidden = false; }
    });
    current = null;
    dialog.close();
    show("review-error", "");
    show("review-notice", result.data.message);
  });

  dialog.querySelectorAll("[data-close]").forEach(function (b) {
    b.addEventListener("click", function () { dialog.close(); });
  });
  dialog.addEventListener("close", function () {
    if (returnFocus && document.body.contains(returnFocus) && !returnFocus.closest("[hidden]")) returnFocus.focus();
    else document.getElementById("main").focus();
  });

  document.querySelectorAll("[data-annotate]").forEach(function (button) {
    button.addEventListener("click", function () { open([Number(button.dataset.annotate)], button); });
  });
  document.querySelectorAll("[data-annotate-group]").forEach(function (button) {
    button.addEventListener("click", function () {
      const group = button.closest(".inbox-group");
      const ids = Array.from(group.querySelectorAll(".inbox-item:not(.inbox-item--done)"))
        .map(function (node) { return Number(node.dataset.messageId); });
      open(ids, button);
    });
  });
})();
