/* The response and workflow editors (CX team and admins): each form sends one edit with the version of the file the
 * page was given (POST /api/review/responses/<name> or /api/review/workflows/<name>). The server validates, audits
 * and writes; on success the page is read again (so every form holds the file's new version) and says what was
 * saved; a refusal is shown under the form, in the server's words. Texts go into the page as text. */
(function () {
  "use strict";
  const C = window.Console;
  const NOTICE_KEY = "tandem-editor-notice";

  function showError(form, text) {
    const node = form.querySelector(".field-error");
    node.textContent = text || "";
    node.hidden = !text;
  }

  function condition(form) {
    const select = form.querySelector('select[name="condition"]');
    if (!select || select.disabled) return undefined;
    if (!select.value) return null;
    const at = select.value.indexOf("=");
    return { slot: select.value.slice(0, at), value: select.value.slice(at + 1) };
  }

  async function send(form, url, body) {
    const buttons = form.querySelectorAll("button");
    buttons.forEach(function (b) { b.disabled = true; });
    showError(form, "");
    const result = await C.api("POST", url, body);
    buttons.forEach(function (b) { b.disabled = false; });
    if (!result.ok) {
      showError(form, result.data.error);
      return;
    }
    try { window.sessionStorage.setItem(NOTICE_KEY, result.data.message); } catch (e) { /* shown below instead */ }
    window.location.reload();
  }

  function responseUrl(form) {
    return "/api/review/responses/" + encodeURIComponent(form.dataset.response);
  }

  document.querySelectorAll(".variation-form").forEach(function (form) {
    const adding = form.classList.contains("variation-add");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      const body = { version: form.dataset.version, op: adding ? "add" : "change" };
      if (!adding) body.index = Number(form.dataset.index);
      const text = form.querySelector('textarea[name="text"]');
      if (text) body.text = text.value;
      const wanted = condition(form);
      if (wanted !== undefined && (adding ? wanted !== null : true)) body.condition = wanted;
      if (adding && !body.text.trim()) {
        showError(form, "Write the new variation's text first.");
        return;
      }
      send(form, responseUrl(form), body);
    });
    const remove = form.querySelector("[data-remove]");
    if (remove) {
      remove.addEventListener("click", function () {
        send(form, responseUrl(form), { version: form.dataset.version, op: "remove", index: Number(form.dataset.index) });
      });
    }
  });

  document.querySelectorAll(".workflow-text-form").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      const body = { version: form.dataset.version, key: form.dataset.key, text: form.querySelector('input[name="text"]').value };
      send(form, "/api/review/workflows/" + encodeURIComponent(form.dataset.workflow), body);
    });
  });

  let saved = null;
  try {
    saved = window.sessionStorage.getItem(NOTICE_KEY);
    window.sessionStorage.removeItem(NOTICE_KEY);
  } catch (e) { saved = null; }
  if (saved) {
    const notice = document.getElementById("editor-notice");
    notice.textContent = saved;
    notice.hidden = false;
  }
})();
