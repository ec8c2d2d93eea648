/* One conversation: the timeline (bot transcript + handoff log, live), the mood chart, the handoff's state,
 * and what the agent does: claim, reply, note, resolve, hand back. */
(function () {
  "use strict";
  const C = window.Console;
  const el = C.el;
  const data = C.pageData();
  const me = data.agent || {};
  let handoff = data.handoff;
  const base = "/api/handoffs/" + handoff.id;
  const OPEN = ["waiting", "assigned", "follow_up"];
  const QUEUED = ["waiting", "follow_up"];

  const timeline = document.getElementById("timeline");
  const byMessageId = new Map(); // handoff-log id -> <li>
  const received = new Map(); // live messages, kept to re-apply after a full reload of the timeline
  let chartTimer = null;

  // --- notices -------------------------------------------------------------------------------------------
  function notice(id, text, tone) {
    const node = document.getElementById(id);
    node.textContent = text || "";
    node.hidden = !text;
    if (tone) node.dataset.tone = tone;
    else delete node.dataset.tone;
  }

  // --- the handoff's state ---------------------------------------------------------------------------------
  function mine() {
    return handoff.status === "assigned" && handoff.agent_id === me.id;
  }

  function fact(term, value) {
    return [el("dt", {}, [term]), el("dd", {}, [value === null || value === undefined || value === "" ? "—" : String(value)])];
  }

  function renderInfo() {
    const info = document.getElementById("handoff-info");
    const m = C.mood(handoff.sentiment);
    const items = [].concat(
      fact("Status", handoff.status.replace("_", " ")),
      fact("Queue", handoff.queue_name),
      fact("Reason", handoff.reason_label),
      fact("Priority", handoff.priority),
      fact("Mood at handoff", handoff.sentiment === null ? null : m.label + " (" + C.signed(handoff.sentiment) + ")"),
      fact("Requested", C.dateTime(Date.parse(handoff.requested_at))),
      fact("Claimed", handoff.claimed_at ? C.dateTime(Date.parse(handoff.claimed_at)) : null),
      fact("With", handoff.agent_name),
      fact("Wait promised", handoff.expected_wait_seconds ? Math.ceil(handoff.expected_wait_seconds / 60) + " min" : null),
      handoff.closed_at ? fact("Closed", C.dateTime(Date.parse(handoff.closed_at))) : [],
      handoff.summary ? fact("Summary", handoff.summary) : []
    );
    info.replaceChildren.apply(info, items);
    const badge = document.getElementById("status-badge");
    badge.textContent = handoff.status.replace("_", " ") + (handoff.agent_name && handoff.status === "assigned"
      ? " · " + (mine() ? "you" : handoff.agent_name) : "");
    badge.className = "badge badge--" + handoff.status;
  }

  function renderActions() {
    const open = OPEN.indexOf(handoff.status) >= 0;
    const free = handoff.agent_id === null || handoff.agent_id === me.id;
    document.getElementById("claim-button").hidden = QUEUED.indexOf(handoff.status) < 0;
    document.getElementById("resolve-button").hidden = !(open && free);
    document.getElementById("handback-button").hidden = !(open && free);
    const send = document.getElementById("send-button");
    send.disabled = !mine();
    const hint = document.getElementById("composer-hint");
    if (mine()) hint.textContent = "Ctrl+Enter sends to the customer. Notes are only seen by agents.";
    else if (QUEUED.indexOf(handoff.status) >= 0) hint.textContent = "Claim the conversation to reply. You can add internal notes now.";
    else if (open) hint.textContent = (handoff.agent_name || "Another agent") + " has this conversation. You can add internal notes.";
    else hint.textContent = "This conversation is " + handoff.status.replace("_", " ") + ". You can still add internal notes.";
  }

  function setHandoff(next) {
    handoff = next;
    renderInfo();
    renderActions();
  }

  // --- the timeline --------------------------------------------------------------------------------------
  const LABELS = { customer: null, bot: "Bot", agent: null, note: "Internal note", system: "System" };

  function authorLabel(entry) {
    if (entry.from === "customer") return handoff.customer_label;
    if (entry.from === "agent") return (entry.author || "Agent") + " (agent)";
    if (entry.from === "note") return "Internal note · " + (entry.author || "agent");
    return LABELS[entry.from] || entry.from;
  }

  function deliveryBadge(entry) {
    if (entry.from !== "agent" || entry.delivered === null || entry.delivered === undefined) return null;
    return el("span", { className: "delivery" + (entry.delivered ? "" : " delivery--pending") },
      [entry.delivered ? "Delivered" : "Saved, not delivered yet"]);
  }

  function entryNode(entry) {
    const ms = C.parseTime(entry.ts);
    const li = el("li", {
      className: "msg msg--" + entry.from, "data-key": entry.key, "data-ts": Number.isNaN(ms) ? "" : String(ms),
    }, [
      el("div", { className: "msg-meta" }, [
        el("span", { className: "msg-author" }, [authorLabel(entry)]),
        Number.isNaN(ms) ? null : el("time", { dateTime: new Date(ms).toISOString(), title: C.dateTime(ms) }, [C.clockTime(ms)]),
        deliveryBadge(entry),
      ]),
      entry.text ? el("p", { className: "msg-text" }, [entry.text]) : null,
      entry.detail ? el("p", { className: "msg-detail" }, [entry.detail]) : null,
    ]);
    if (entry.message_id) {
      li.dataset.messageId = String(entry.message_id);
      byMessageId.set(entry.message_id, li);
    }
    return li;
  }

  function divider() {
    const ms = Date.parse(handoff.requested_at);
    return el("li", { className: "divider", "data-ts": String(ms), "data-key": "handoff" }, [
      el("span", {}, ["Handed to a person (" + handoff.reason_label + ") · " + C.dateTime(ms)]),
    ]);
  }

  function insertSorted(node) {
    const ts = Number(node.dataset.ts || Infinity);
    const items = timeline.children;
    for (let i = items.length - 1; i >= 0; i -= 1) {
      const other = Number(items[i].dataset.ts || 0);
      if (other <= ts) {
        items[i].after(node);
        return;
      }
    }
    timeline.prepend(node);
  }

  function nearBottom() {
    return timeline.scrollHeight - timeline.scrollTop - timeline.clientHeight < 80;
  }

  function scrollDown() {
    timeline.scrollTop = timeline.scrollHeight;
  }

  function fromMessage(m) {
    return {
      key: "m" + m.id, from: m.kind, text: m.text, ts: m.at, author: m.author, message_id: m.id,
      delivered: m.kind === "agent" ? Boolean(m.delivered_at) : null,
    };
  }

  function addMessage(m) {
    const existing = byMessageId.get(m.id);
    if (existing) {
      if (m.kind === "agent" && m.delivered_at) markDelivered([m.id]);
      return;
    }
    const stick = nearBottom();
    insertSorted(entryNode(fromMessage(m)));
    if (stick || m.agent_id === me.id) scrollDown();
  }

  function markDelivered(ids) {
    ids.forEach(function (id) {
      const li = byMessageId.get(id);
      const badge = li && li.querySelector(".delivery");
      if (badge) {
        badge.textContent = "Delivered";
        badge.className = "delivery";
      }
    });
  }

  async function loadTimeline(chartOnly) {
    const result = await C.api("GET", base + "/timeline");
    if (!result.ok) {
      if (!chartOnly) notice("transcript-notice", result.data.error, "warn");
      return;
    }
    const body = result.data;
    window.SentimentChart.render(body.sentiments || [], !body.transcript_available);
    if (chartOnly) return;
    notice("transcript-notice", body.notice || "", "warn");
    byMessageId.clear();
    timeline.replaceChildren();
    body.entries.forEach(function (entry) { timeline.append(entryNode(entry)); });
    insertSorted(divider());
    received.forEach(addMessage); // what arrived live while the timeline was loading
    if (!body.entries.length && !received.size) timeline.append(el("li", { className: "muted timeline-empty" }, ["Nothing said yet."]));
    scrollDown();
  }

  function remember(m) {
    received.set(m.id, m);
    if (received.size > 500) received.delete(received.keys().next().value);
  }

  /** The handoff and its log as the database has them now: catches up on anything said while the live
   *  connection was (re)opening. */
  async function reloadHandoff() {
    const result = await C.api("GET", base);
    if (result.ok) {
      C.syncClock(result.data.now);
      setHandoff(result.data.handoff);
      result.data.messages.forEach(function (m) {
        remember(m);
        addMessage(m);
      });
    }
  }

  function refreshChartSoon() {
    if (chartTimer) window.clearTimeout(chartTimer);
    chartTimer = window.setTimeout(function () { loadTimeline(true); }, 2500);
  }

  // --- actions -------------------------------------------------------------------------------------------
  async function claim() {
    const button = document.getElementById("claim-button");
    button.disabled = true;
    const result = await C.api("POST", base + "/claim");
    button.disabled = false;
    if (result.ok) {
      setHandoff(result.data.handoff);
      notice("action-notice", result.data.warning || "You have this conversation. The customer was told you joined.",
        result.data.warning ? "warn" : "ok");
      document.getElementById("composer-text").focus();
    } else {
      notice("action-notice", result.data.error, "error");
      reloadHandoff();
    }
  }

  function composerError(text) {
    const node = document.getElementById("composer-error");
    node.textContent = text || "";
    node.hidden = !text;
  }

  // Replies go out one after another, in the order the agent sent them. The box is emptied at once so the agent
  // can write the next one while this one is stored. When one fails, it and those queued behind it come back into
  // the box, in order and ahead of anything typed since: nothing the agent wrote is lost.
  let queue = [];
  let draining = false;

  function submit(kind) {
    const box = document.getElementById("composer-text");
    const text = box.value.trim();
    if (!text) {
      composerError(kind === "note" ? "Write the note first." : "Write a reply first.");
      box.focus();
      return;
    }
    if (text.length > data.max_chars) {
      composerError("That is too long: at most " + data.max_chars + " characters.");
      return;
    }
    composerError("");
    box.value = "";
    updateCount();
    box.focus();
    queue.push({ kind: kind, text: text });
    if (!draining) drain();
  }

  async function drain() {
    draining = true;
    try {
      while (queue.length) {
        const next = queue[0];
        const result = await C.api("POST", base + (next.kind === "note" ? "/notes" : "/messages"), { text: next.text });
        renderActions();
        if (!result.ok) {
          giveBack(queue.map(function (item) { return item.text; }));
          queue = [];
          composerError(result.data.error);
          if (result.status === 409) reloadHandoff();
          return;
        }
        queue.shift();
        addMessage(result.data.message);
        if (result.status === 202) notice("action-notice", result.data.notice, "warn");
        else notice("action-notice", "");
      }
    } finally {
      draining = false;
    }
  }

  function giveBack(texts) {
    const box = document.getElementById("composer-text");
    box.value = texts.concat(box.value ? [box.value] : []).join("\n");
    updateCount();
  }

  function updateCount() {
    const box = document.getElementById("composer-text");
    document.getElementById("composer-count").textContent = box.value.length + " / " + data.max_chars;
  }

  function wireDialog(buttonId, dialogId, formId, errorId, send) {
    const dialog = document.getElementById(dialogId);
    const form = document.getElementById(formId);
    const error = document.getElementById(errorId);
    document.getElementById(buttonId).addEventListener("click", function () {
      error.hidden = true;
      dialog.showModal();
    });
    dialog.querySelectorAll("[data-close]").forEach(function (b) {
      b.addEventListener("click", function () { dialog.close(); });
    });
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      const submitButton = form.querySelector('button[type="submit"]');
      submitButton.disabled = true;
      const result = await send(form);
      submitButton.disabled = false;
      if (result.ok) {
        dialog.close();
        setHandoff(result.data.handoff);
      } else {
        error.textContent = result.data.error;
        error.hidden = false;
      }
    });
  }

  function summaryOf(id) {
    return document.getElementById(id).value.trim();
  }

  wireDialog("resolve-button", "resolve-dialog", "resolve-form", "resolve-error", async function (form) {
    const chosen = form.querySelector('input[name="journey"]:checked');
    const journeyId = chosen && chosen.value ? Number(chosen.value) : null;
    const result = await C.api("POST", base + "/resolve", { journey_id: journeyId, summary: summaryOf("resolve-summary") });
    if (result.ok) notice("action-notice", "Resolved. The customer is back with the bot" + (journeyId ? " and was asked to rate it." : "."), "ok");
    return result;
  });

  wireDialog("handback-button", "handback-dialog", "handback-form", "handback-error", async function () {
    const result = await C.api("POST", base + "/hand-back", { summary: summaryOf("handback-summary") });
    if (result.ok) notice("action-notice", "Handed back. The bot answers the customer again.", "ok");
    return result;
  });

  document.getElementById("claim-button").addEventListener("click", claim);
  document.getElementById("composer").addEventListener("submit", function (event) {
    event.preventDefault();
    submit("reply");
  });
  document.getElementById("note-button").addEventListener("click", function () { submit("note"); });
  document.getElementById("composer-text").addEventListener("input", updateCount);
  document.getElementById("composer-text").addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      if (mine()) submit("reply");
    }
  });

  // --- live ----------------------------------------------------------------------------------------------
  function onLive(message) {
    if (message.type === "message" && message.handoff_id === handoff.id) {
      remember(message.message);
      addMessage(message.message);
      if (message.message.kind === "customer") refreshChartSoon();
    } else if (message.type === "handoff" && message.handoff.id === handoff.id) {
      setHandoff(message.handoff);
    } else if (message.type === "delivered" && message.handoff_id === handoff.id) {
      markDelivered(message.message_ids);
    } else if (message.type === "queue" && message.now) {
      C.syncClock(message.now);
    }
  }

  renderInfo();
  renderActions();
  loadTimeline(false);
  C.connectLive(onLive, function (reconnected) {
    reloadHandoff();
    if (reconnected) loadTimeline(false);
  });
})();
