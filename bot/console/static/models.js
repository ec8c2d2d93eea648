/* The model page (CX team and admins): start a check, a publish or a rollback (POST /api/review/models/...), then
 * follow the job's steps and percentage by polling /api/review/models/job until it ends, and show the page again
 * with the registry as the job left it. One job at a time: the server answers 409 with the one running. */
(function () {
  "use strict";
  const C = window.Console;
  const el = C.el;
  const data = C.pageData();
  const POLL_MS = 1000;
  const KINDS = { check: "Check of the current data", publish: "Publish", rollback: "Rollback" };
  const STATES = {
    running: "running", passed: "passed: the model may be published", failed: "failed: the model may not be published",
    done: "done", error: "failed", interrupted: "interrupted",
  };
  const STEP_STATES = { waiting: "waiting", running: "running", passed: "done", failed: "failed", skipped: "skipped" };
  const buttons = Array.from(document.querySelectorAll("#check-button, #rollback-button, [data-publish]"));
  buttons.forEach(function (b) { b.dataset.blocked = b.disabled ? "yes" : ""; });
  let watching = false;

  function show(id, text) {
    const node = document.getElementById(id);
    node.textContent = text || "";
    node.hidden = !text;
  }

  function showReasons(reasons) {
    const list = document.getElementById("models-error-reasons");
    list.replaceChildren.apply(list, (reasons || []).map(function (r) { return el("li", {}, [r]); }));
    list.hidden = !(reasons && reasons.length);
  }

  function busy(on) {
    buttons.forEach(function (b) { b.disabled = on || b.dataset.blocked === "yes"; });
  }

  function stepLine(s) {
    let state = STEP_STATES[s.state] || s.state;
    if (s.state === "running" && s.fraction !== null && s.fraction !== undefined) state += " " + Math.round(s.fraction * 100) + "%";
    return el("li", { className: "job-step", "data-step": s.step, "data-state": s.state }, [
      el("strong", {}, [s.label]), " ", el("span", { className: "job-step-state" }, [state]),
      s.state === "running" && s.message ? el("span", { className: "muted small" }, [" · " + s.message]) : null,
    ]);
  }

  function outcome(job) {
    const parts = [];
    if (job.check && !job.check.passed && job.check.reasons.length) {
      parts.push(el("p", {}, ["Why it may not be published:"]));
      parts.push(el("ul", { className: "small job-reasons" }, job.check.reasons.slice(0, 20).map(function (r) {
        return el("li", {}, [r]);
      })));
    }
    return parts;
  }

  function draw(job) {
    const panel = document.getElementById("model-job");
    panel.hidden = !job;
    if (!job) return;
    panel.dataset.state = job.state;
    const started = C.dateTime(C.parseTime(job.started_at));
    document.getElementById("job-summary").textContent =
      (KINDS[job.kind] || job.kind) + (job.model ? " " + job.model : "") + " by " + job.by + ", started " + started +
      ": " + (STATES[job.state] || job.state);
    document.querySelector(".job-progress").hidden = job.state !== "running"; // a finished job shows its outcome
    document.getElementById("job-progress").value = job.percent;
    document.getElementById("job-percent").textContent = job.percent + "%";
    const steps = document.getElementById("job-steps");
    steps.replaceChildren.apply(steps, job.steps.map(stepLine));
    document.getElementById("job-message").textContent = job.message;
    const box = document.getElementById("job-outcome");
    box.replaceChildren.apply(box, job.state === "running" ? [] : outcome(job));
  }

  async function poll() {
    const r = await C.api("GET", "/api/review/models/job");
    if (!r.ok) {
      show("models-error", r.data.error);
      window.setTimeout(poll, POLL_MS * 3);
      return;
    }
    const job = r.data.job;
    draw(job);
    if (job && job.state === "running") {
      window.setTimeout(poll, POLL_MS);
    } else if (watching) {
      watching = false;
      window.location.reload(); // the registry as the job left it; the finished job stays shown
    } else {
      busy(false);
    }
  }

  function follow(job) {
    draw(job);
    busy(true);
    watching = true;
    window.setTimeout(poll, POLL_MS);
  }

  async function start(url, body) {
    show("models-error", "");
    showReasons([]);
    busy(true);
    const r = await C.api("POST", url, body);
    if (r.ok) {
      follow(r.data.job);
      return;
    }
    show("models-error", r.data.error);
    showReasons(r.data.reasons);
    if (r.data.job && r.data.job.state === "running") follow(r.data.job);
    else busy(false);
  }

  document.getElementById("check-button").addEventListener("click", function () {
    start("/api/review/models/check", {});
  });
  document.getElementById("rollback-button").addEventListener("click", function () {
    start("/api/review/models/rollback", {});
  });
  document.querySelectorAll("[data-publish]").forEach(function (b) {
    b.addEventListener("click", function () { start("/api/review/models/publish", { model: b.dataset.publish }); });
  });

  draw(data.job);
  if (data.job && data.job.state === "running") {
    busy(true);
    watching = true;
    window.setTimeout(poll, POLL_MS);
  }
})();
