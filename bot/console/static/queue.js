/* The live queue: open handoffs of the agent's queues, most urgent first, and the agent's own. */
(function () {
  "use strict";
  const C = window.Console;
  const el = C.el;
  const data = C.pageData();
  const me = data.agent || {};
  let handoffs = [];
  let known = null; // ids seen so far (null until the first list), to announce new arrivals

  const QUEUED = ["waiting", "follow_up"];

  function showError(text) {
    const node = document.getElementById("queue-error");
    node.textContent = text || "";
    node.hidden = !text;
  }

  function moodCell(score) {
    const m = C.mood(score);
    return el("td", {}, [el("span", { className: "mood mood--" + m.tone }, [m.label])]);
  }

  function ticker(since) {
    return el("span", { className: "ticker", "data-since": since }, [C.duration(C.now() - Date.parse(since))]);
  }

  async function claim(handoff, button) {
    button.disabled = true;
    showError("");
    const result = await C.api("POST", "/api/handoffs/" + handoff.id + "/claim");
    if (result.ok) {
      window.location.assign("/handoffs/" + handoff.id);
      return;
    }
    button.disabled = false;
    showError(result.data.error);
  }

  function customerCell(h) {
    return el("td", {}, [
      el("a", { href: "/handoffs/" + h.id, className: "customer-link" }, [h.customer_label]),
      h.customer_external_id ? el("div", { className: "muted small" }, [h.customer_external_id]) : null,
    ]);
  }

  function actions(h, mine) {
    const cell = el("td", { className: "actions" });
    if (QUEUED.indexOf(h.status) >= 0) {
      const button = el("button", {
        type: "button", className: "button button--primary button--small", "data-key": "claim-" + h.id,
        "aria-label": "Claim the conversation with " + h.customer_label,
      }, ["Claim"]);
      button.addEventListener("click", function () { claim(h, button); });
      cell.append(button);
    }
    cell.append(el("a", {
      href: "/handoffs/" + h.id, className: "button button--small" + (mine ? " button--primary" : ""),
      "data-key": "open-" + h.id, "aria-label": "Open the conversation with " + h.customer_label,
    }, ["Open"]));
    return cell;
  }

  function statusBadge(status) {
    return el("span", { className: "badge badge--" + status }, [status.replace("_", " ")]);
  }

  function queueRow(h) {
    return el("tr", { "data-handoff-id": h.id, className: "row--" + h.status }, [
      customerCell(h),
      el("td", {}, [h.queue_name]),
      el("td", {}, [h.reason_label]),
      el("td", {}, [el("span", { className: "priority" }, [String(h.priority)])]),
      el("td", {}, [QUEUED.indexOf(h.status) >= 0 ? ticker(h.requested_at) : el("span", { className: "muted" }, ["—"])]),
      moodCell(h.sentiment),
      el("td", {}, [statusBadge(h.status)]),
      el("td", {}, [h.agent_name || "—"]),
      actions(h, false),
    ]);
  }

  function mineRow(h) {
    return el("tr", { "data-handoff-id": h.id }, [
      customerCell(h),
      el("td", {}, [h.queue_name]),
      el("td", {}, [h.reason_label]),
      el("td", {}, [el("span", { className: "priority" }, [String(h.priority)])]),
      el("td", {}, [h.claimed_at ? ticker(h.claimed_at) : "—", el("span", { className: "muted small" }, [" ago"])]),
      moodCell(h.sentiment),
      actions(h, true),
    ]);
  }

  function render() {
    const focused = document.activeElement && document.activeElement.dataset
      ? document.activeElement.dataset.key : null;
    const mine = handoffs.filter(function (h) { return h.status === "assigned" && h.agent_id === me.id; });
    const others = handoffs.filter(function (h) { return !(h.status === "assigned" && h.agent_id === me.id); });
    document.getElementById("mine-rows").replaceChildren.apply(document.getElementById("mine-rows"), mine.map(mineRow));
    document.getElementById("queue-rows").replaceChildren.apply(document.getElementById("queue-rows"), others.map(queueRow));
    document.getElementById("mine-count").textContent = String(mine.length);
    document.getElementById("queue-count").textContent = String(others.length);
    document.getElementById("mine-empty").hidden = mine.length > 0;
    document.getElementById("queue-empty").hidden = others.length > 0;
    document.getElementById("mine-table").hidden = mine.length === 0;
    document.getElementById("queue-table").hidden = others.length === 0;
    if (focused) {
      const again = document.querySelector('[data-key="' + focused + '"]');
      if (again) again.focus();
    }
  }

  function update(list, serverNow) {
    if (serverNow) C.syncClock(serverNow);
    const ids = new Set(list.map(function (h) { return h.id; }));
    if (known !== null) {
      const arrived = list.filter(function (h) { return !known.has(h.id) && QUEUED.indexOf(h.status) >= 0; });
      if (arrived.length === 1) {
        C.announce("queue-announcer", "New conversation waiting in " + arrived[0].queue_name + ".");
      } else if (arrived.length > 1) {
        C.announce("queue-announcer", arrived.length + " new conversations waiting.");
      }
    }
    known = ids;
    handoffs = list;
    render();
  }

  function tick() {
    document.querySelectorAll(".ticker").forEach(function (node) {
      node.textContent = C.duration(C.now() - Date.parse(node.dataset.since));
    });
  }

  async function load() {
    const result = await C.api("GET", "/api/queue");
    if (result.ok) {
      update(result.data.handoffs, result.data.now);
      showError("");
    } else {
      showError(result.data.error);
    }
  }

  render();
  load();
  window.setInterval(tick, 1000);
  C.connectLive(function (message) {
    if (message.type === "queue") update(message.handoffs, message.now);
    else if (message.type === "notice") showError(message.text);
  }, function (reconnected) {
    if (reconnected) load();
  });
})();
