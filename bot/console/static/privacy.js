/* Privacy requests (admins only): the pending ones, the oldest due first with the overdue and the due-soon flagged
 * (the server decides which), "Erase now" after a confirm step, and "Cancel". Every name and id is put into the page
 * as text. */
(function () {
  "use strict";
  const C = window.Console;
  const el = C.el;
  const data = C.pageData();
  let requests = data.requests || [];
  let overdueCount = data.overdue_count || 0;
  let erasing = null; // the request the confirm dialog is about
  let returnFocus = null;

  function show(id, text) {
    const node = document.getElementById(id);
    node.textContent = text || "";
    node.hidden = !text;
  }

  function customerText(r) {
    if (!r.customer_external_id) return "an erased customer";
    return (r.customer_name || "Customer") + " (" + r.customer_external_id + ")";
  }

  function dueCell(r) {
    const flag = r.overdue ? { label: "Overdue", tone: "overdue" }
      : r.due_soon ? { label: "Due soon", tone: "due-soon" } : null;
    return el("td", { className: "due" }, [
      el("time", { datetime: r.due_at }, [C.dateTime(Date.parse(r.due_at))]),
      flag ? " " : null,
      flag ? el("span", { className: "badge badge--" + flag.tone }, [flag.label]) : null,
    ]);
  }

  function row(r) {
    const actions = el("td", { className: "actions" });
    if (r.kind === "erasure") {
      const erase = el("button", {
        type: "button", className: "button button--primary button--small", "data-key": "erase-" + r.id,
        "aria-label": "Erase now: " + r.reference + ", " + customerText(r),
      }, ["Erase now"]);
      erase.addEventListener("click", function () { confirmErase(r, erase); });
      actions.append(erase);
    }
    const cancel = el("button", {
      type: "button", className: "button button--small", "data-key": "cancel-" + r.id,
      "aria-label": "Cancel request " + r.reference + " of " + customerText(r),
    }, ["Cancel"]);
    cancel.addEventListener("click", function () { cancelRequest(r, cancel); });
    actions.append(cancel);
    const tone = r.overdue ? "row--overdue" : r.due_soon ? "row--due-soon" : "";
    return el("tr", { className: tone, "data-request-id": r.id, "data-reference": r.reference }, [
      el("td", {}, [el("span", { className: "reference" }, [r.reference])]),
      el("td", {}, [
        r.customer_name || (r.customer_external_id ? "Customer" : "Erased customer"),
        r.customer_external_id ? el("div", { className: "muted small" }, [r.customer_external_id]) : null,
      ]),
      el("td", {}, [r.kind_label || r.kind]),
      el("td", {}, [el("time", { datetime: r.requested_at }, [C.dateTime(Date.parse(r.requested_at))])]),
      dueCell(r),
      actions,
    ]);
  }

  function render() {
    const body = document.getElementById("pending-rows");
    body.replaceChildren.apply(body, requests.map(row));
    document.getElementById("pending-count").textContent = String(requests.length);
    document.getElementById("overdue-count").textContent = String(overdueCount);
    document.getElementById("overdue-words").textContent = overdueCount === 1 ? "request is" : "requests are";
    document.getElementById("overdue-summary").hidden = overdueCount === 0;
    document.getElementById("pending-table").hidden = requests.length === 0;
    document.getElementById("pending-empty").hidden = requests.length > 0;
  }

  async function load() {
    const result = await C.api("GET", "/api/privacy-requests");
    if (result.ok) {
      requests = result.data.requests;
      overdueCount = result.data.overdue_count || 0;
      render();
    } else {
      show("privacy-error", result.data.error);
    }
  }

  const dialog = document.getElementById("erase-dialog");
  const form = document.getElementById("erase-form");

  function confirmErase(r, button) {
    erasing = r;
    returnFocus = button;
    show("erase-error", "");
    document.getElementById("erase-what").textContent =
      "Request " + r.reference + ": erase " + customerText(r) + " from every store?";
    dialog.showModal();
    document.getElementById("erase-confirm").focus();
  }

  dialog.querySelectorAll("[data-close]").forEach(function (b) {
    b.addEventListener("click", function () { dialog.close(); });
  });
  dialog.addEventListener("close", function () {
    if (returnFocus && document.body.contains(returnFocus)) returnFocus.focus();
    else document.getElementById("main").focus();
  });

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    if (!erasing) return;
    const r = erasing;
    const submit = document.getElementById("erase-confirm");
    submit.disabled = true;
    submit.textContent = "Erasing…";
    const result = await C.api("POST", "/api/privacy-requests/" + r.id + "/erase");
    submit.disabled = false;
    submit.textContent = "Erase now";
    if (!result.ok) {
      show("erase-error", result.data.error);
      if (result.status === 409) load(); // someone else handled it
      return;
    }
    erasing = null;
    returnFocus = null;
    dialog.close();
    show("privacy-error", "");
    show("privacy-notice", "Erased " + customerText(r) + ". Request " + r.reference + " is done.");
    load();
  });

  async function cancelRequest(r, button) {
    button.disabled = true;
    show("privacy-error", "");
    const result = await C.api("POST", "/api/privacy-requests/" + r.id + "/cancel");
    if (result.ok) {
      show("privacy-notice", "Request " + r.reference + " was cancelled; nothing was erased.");
      document.getElementById("main").focus();
    } else {
      button.disabled = false;
      show("privacy-error", result.data.error);
    }
    load();
  }

  if (data.now) C.syncClock(data.now);
  render();
  C.connectLive(function () {}, function (reconnected) {
    if (reconnected) load();
  });
})();
