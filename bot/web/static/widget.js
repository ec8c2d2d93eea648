/*
 * Tandem chat widget.
 *
 * Embed with one script tag; it adds its own stylesheet (widget.css next to this file) and DOM:
 *
 *   <script src="https://shop.example/static/widget.js"
 *           data-rasa-url="https://bot.example"        (or data-config-endpoint="/api/config")
 *           data-token-endpoint="/api/session"          (optional: renews an expired customer token;
 *                                                        POST {"customer_id"} -> {"token"}; a real shop
 *                                                        answers for its logged-in customer only)
 *           data-max-chars="5000"                       (optional)
 *           defer></script>
 *
 * Page API (window.TandemWidget):
 *   setCustomer(token, customer)  after the shop's login: token signed by the shop's server,
 *                                 customer = {external_id, name, email}
 *   clearCustomer()               back to an anonymous conversation
 *   getCustomer()                 the signed-in customer or null
 *   open(), close(), send(text)
 * The widget fires a "tandem:ready" event on window once window.TandemWidget exists.
 *
 * Message text is only ever rendered with textContent, never as HTML.
 */
(function () {
  "use strict";

  if (window.TandemWidget) return; // embedded twice

  const script = document.currentScript || document.querySelector("script[src*='widget.js'][data-rasa-url]");
  const PREFIX = "tandem:";
  const WEBHOOK_PATH = "/webhooks/tandem/webhook";
  const REQUEST_TIMEOUT_MS = 30000;
  const MAX_TRANSCRIPT_ENTRIES = 200;
  const TEXT = {
    title: "Tandem assistant",
    launcher: "Chat with us",
    close: "Close chat",
    label: "Message the assistant",
    placeholder: "Type your message…",
    send: "Send",
    typing: "The assistant is typing…",
    you: "You said: ",
    bot: "Assistant said: ",
    guest: "You are chatting as a guest.",
    signedIn: (name) => "Signed in as " + name + ".",
    welcome: "Hi! I can help with orders, deliveries, returns and our products. How can I help?",
    unreachable: "I can't reach the assistant right now. Please check your connection and try again in a moment.",
    expired: "Your session has expired. Please sign in again to continue.",
    rejected: (detail) => "The assistant couldn't accept that message" + (detail ? ": " + detail : "."),
    cut: (n) => "Your message was too long, so it was cut to " + n + " characters.",
  };

  const config = readConfig(script);
  const stores = { local: safeStorage("localStorage"), session: safeStorage("sessionStorage") };
  const memory = new Map(); // used when web storage is disabled
  const ui = {};
  const state = {
    session: loadSession(), // {token, customer} or null
    senderId: null,
    transcript: [],
    pending: 0,
    queue: Promise.resolve(),
    rasaUrl: null,
  };
  state.senderId = senderFor(state.session);
  state.transcript = loadTranscript(state.senderId);

  // Renderers for `custom` payloads by `custom.type` (product cards, handoff notices, ... come later).
  // Each takes the custom object and returns a DOM node or null.
  const CUSTOM_RENDERERS = {};

  // ---------------------------------------------------------------- configuration

  function readConfig(el) {
    const data = (el && el.dataset) || {};
    return {
      rasaUrl: trimSlash(data.rasaUrl || ""),
      configEndpoint: data.configEndpoint || "",
      tokenEndpoint: data.tokenEndpoint || "",
      maxChars: positiveInt(data.maxChars, 5000),
      title: data.title || TEXT.title,
      cssUrl: data.cssUrl || (el && el.src ? new URL("widget.css", el.src).href : ""),
    };
  }

  function trimSlash(url) {
    return String(url).trim().replace(/\/+$/, "");
  }

  function positiveInt(value, fallback) {
    const n = parseInt(value, 10);
    return n > 0 ? n : fallback;
  }

  async function getRasaUrl() {
    if (config.rasaUrl) return config.rasaUrl;
    if (!config.configEndpoint) throw new Error("TandemWidget: set data-rasa-url or data-config-endpoint");
    const res = await fetch(config.configEndpoint, { credentials: "same-origin" });
    const data = res.ok ? await res.json() : null;
    if (!data || typeof data.rasa_url !== "string") throw new Error("TandemWidget: no rasa_url in config");
    config.rasaUrl = trimSlash(data.rasa_url);
    return config.rasaUrl;
  }

  // ---------------------------------------------------------------- storage

  function safeStorage(name) {
    try {
      const store = window[name];
      store.getItem(PREFIX + "probe");
      return store;
    } catch (err) {
      return null; // disabled (privacy settings, sandboxed frame)
    }
  }

  function load(store, key) {
    try {
      const raw = store ? store.getItem(PREFIX + key) : memory.get(key);
      return raw == null ? null : JSON.parse(raw);
    } catch (err) {
      return null;
    }
  }

  function save(store, key, value) {
    const raw = value == null ? null : JSON.stringify(value);
    try {
      if (!store) memory.set(key, raw);
      else if (raw === null) store.removeItem(PREFIX + key);
      else store.setItem(PREFIX + key, raw);
    } catch (err) {
      memory.set(key, raw); // quota exceeded: keep it for this page at least
    }
  }

  function randomId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  /** The conversation id of a customer (or of the anonymous visitor), kept across reloads. */
  function senderFor(session) {
    const key = "sender:" + (session ? session.customer.external_id : "anonymous");
    let sender = load(stores.local, key);
    if (typeof sender !== "string" || !sender) {
      sender = randomId();
      save(stores.local, key, sender);
    }
    return sender;
  }

  function loadSession() {
    const session = load(stores.session, "customer");
    const valid = session && typeof session.token === "string" && session.customer &&
      typeof session.customer.external_id === "string";
    return valid ? session : null;
  }

  function loadTranscript(sender) {
    const entries = load(stores.session, "transcript:" + sender);
    return Array.isArray(entries) ? entries.filter((e) => e && (e.from === "user" || e.from === "bot")) : [];
  }

  function saveTranscript(sender, entries) {
    save(stores.session, "transcript:" + sender, entries.slice(-MAX_TRANSCRIPT_ENTRIES));
  }

  // ---------------------------------------------------------------- DOM helpers

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function srOnly(text) {
    return el("span", "tandem-sr-only", text);
  }

  function chatIcon() {
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    svg.setAttribute("class", "tandem-icon");
    const path = document.createElementNS(ns, "path");
    path.setAttribute("d", "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z");
    svg.appendChild(path);
    return svg;
  }

  function injectStylesheet(done) {
    if (!config.cssUrl || document.querySelector("link[data-tandem-widget]")) return done();
    const link = el("link");
    link.rel = "stylesheet";
    link.href = config.cssUrl;
    link.setAttribute("data-tandem-widget", "");
    link.addEventListener("load", done);
    link.addEventListener("error", done);
    setTimeout(done, 3000); // show the widget even if the stylesheet hangs
    document.head.appendChild(link);
  }

  function buildDom() {
    ui.root = el("div", "tandem-widget");
    ui.root.hidden = true; // until the stylesheet has loaded

    ui.launcher = el("button", "tandem-launcher");
    ui.launcher.type = "button";
    ui.launcher.setAttribute("aria-expanded", "false");
    ui.launcher.setAttribute("aria-controls", "tandem-panel");
    ui.launcher.append(chatIcon(), el("span", "tandem-launcher__label", TEXT.launcher));

    ui.panel = el("section", "tandem-panel");
    ui.panel.id = "tandem-panel";
    ui.panel.hidden = true;
    ui.panel.setAttribute("role", "dialog");
    ui.panel.setAttribute("aria-modal", "false");
    ui.panel.setAttribute("aria-labelledby", "tandem-title");

    const header = el("header", "tandem-header");
    const heading = el("div", "tandem-header__text");
    const title = el("h2", "tandem-title", config.title);
    title.id = "tandem-title";
    ui.status = el("p", "tandem-status");
    heading.append(title, ui.status);
    ui.close = el("button", "tandem-close");
    ui.close.type = "button";
    ui.close.setAttribute("aria-label", TEXT.close);
    ui.close.append(el("span", "", "×"));
    ui.close.firstChild.setAttribute("aria-hidden", "true");
    header.append(heading, ui.close);

    ui.log = el("div", "tandem-log");
    ui.log.setAttribute("role", "log");
    ui.log.setAttribute("aria-live", "polite");
    ui.log.setAttribute("aria-label", "Conversation");
    ui.log.tabIndex = 0; // scrollable region reachable by keyboard

    ui.typing = el("div", "tandem-typing");
    ui.typing.append(srOnly(TEXT.typing));
    for (let i = 0; i < 3; i++) ui.typing.append(el("span", "tandem-typing__dot"));

    ui.form = el("form", "tandem-composer");
    ui.form.noValidate = true;
    const label = el("label", "tandem-sr-only", TEXT.label);
    label.htmlFor = "tandem-input";
    ui.input = el("input", "tandem-input");
    ui.input.id = "tandem-input";
    ui.input.type = "text";
    ui.input.maxLength = config.maxChars;
    ui.input.autocomplete = "off";
    ui.input.placeholder = TEXT.placeholder;
    ui.input.setAttribute("enterkeyhint", "send");
    ui.input.setAttribute("aria-describedby", "tandem-hint");
    ui.send = el("button", "tandem-send", TEXT.send);
    ui.send.type = "submit";
    ui.hint = el("p", "tandem-hint");
    ui.hint.id = "tandem-hint";
    ui.hint.setAttribute("aria-live", "polite");
    ui.form.append(label, ui.input, ui.send, ui.hint);

    ui.panel.append(header, ui.log, ui.form);
    ui.root.append(ui.panel, ui.launcher);
    document.body.appendChild(ui.root);
  }

  // ---------------------------------------------------------------- rendering

  function renderText(from, text) {
    const bubble = el("p", "tandem-bubble");
    bubble.append(srOnly(from === "user" ? TEXT.you : TEXT.bot), document.createTextNode(text));
    return bubble;
  }

  function renderImage(src) {
    const img = el("img", "tandem-image");
    img.src = src;
    img.alt = "Image from the assistant";
    img.loading = "lazy";
    return img;
  }

  function renderCustom(custom) {
    const render = custom && CUSTOM_RENDERERS[custom.type];
    return render ? render(custom) : null;
  }

  function renderQuickReplies(buttons) {
    const group = el("div", "tandem-quick-replies");
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", "Suggested replies");
    for (const button of buttons) {
      const node = el("button", "tandem-quick-reply", button.title);
      node.type = "button";
      node.addEventListener("click", () => {
        sendMessage(button.payload, button.title);
        ui.input.focus();
      });
      group.append(node);
    }
    return group;
  }

  /** One transcript entry; quick replies only while the entry is the last one. */
  function renderEntry(entry, isLast) {
    const node = el("div", "tandem-msg tandem-msg--" + entry.from);
    if (entry.text) node.append(renderText(entry.from, entry.text));
    if (entry.image) node.append(renderImage(entry.image));
    const custom = entry.custom ? renderCustom(entry.custom) : null;
    if (custom) node.append(custom);
    if (isLast && entry.buttons && entry.buttons.length) node.append(renderQuickReplies(entry.buttons));
    return node.childNodes.length ? node : null;
  }

  function renderTranscript() {
    if (!ui.log) return;
    ui.log.replaceChildren();
    if (!state.transcript.length) appendNode(renderEntry({ from: "bot", text: TEXT.welcome }, false));
    state.transcript.forEach((entry, i) => appendNode(renderEntry(entry, i === state.transcript.length - 1)));
    if (state.pending) ui.log.append(ui.typing);
    scrollToBottom();
  }

  function appendNode(node) {
    if (!node || !ui.log) return;
    const before = ui.typing && ui.typing.parentNode === ui.log ? ui.typing : null;
    ui.log.insertBefore(node, before);
    scrollToBottom();
  }

  function scrollToBottom() {
    ui.log.scrollTop = ui.log.scrollHeight;
  }

  function removeQuickReplies() {
    if (ui.log) ui.log.querySelectorAll(".tandem-quick-replies").forEach((node) => node.remove());
  }

  /** Records an entry in the conversation of `sender`; shows it if that conversation is on screen. */
  function addEntry(entry, sender) {
    if (sender !== state.senderId) {
      saveTranscript(sender, loadTranscript(sender).concat([entry]));
      return;
    }
    removeQuickReplies();
    state.transcript.push(entry);
    saveTranscript(sender, state.transcript);
    appendNode(renderEntry(entry, true));
  }

  /** Errors are shown in the chat but not kept in the transcript. */
  function showError(text, sender) {
    if (sender !== state.senderId) return;
    const node = el("div", "tandem-msg tandem-msg--error");
    node.append(el("p", "tandem-bubble", text));
    appendNode(node);
  }

  function setBusy(delta) {
    state.pending = Math.max(0, state.pending + delta);
    if (!ui.log) return;
    if (state.pending) {
      if (ui.typing.parentNode !== ui.log) ui.log.append(ui.typing);
    } else {
      ui.typing.remove();
    }
    scrollToBottom();
  }

  function showHint(text) {
    if (ui.hint) ui.hint.textContent = text || "";
  }

  function updateStatus() {
    if (!ui.status) return;
    const customer = state.session && state.session.customer;
    ui.status.textContent = customer ? TEXT.signedIn(customer.name || customer.external_id) : TEXT.guest;
  }

  // ---------------------------------------------------------------- talking to Rasa

  /** A reply message from Rasa as a transcript entry, or null when it has nothing to show. */
  function toEntry(message) {
    if (!message || typeof message !== "object") return null;
    const entry = { from: "bot" };
    if (typeof message.text === "string" && message.text) entry.text = message.text;
    if (Array.isArray(message.buttons)) {
      entry.buttons = message.buttons
        .filter((b) => b && typeof b.payload === "string" && b.payload)
        .map((b) => ({ title: typeof b.title === "string" && b.title ? b.title : b.payload, payload: b.payload }));
    }
    const image = safeUrl(message.image);
    if (image) entry.image = image;
    if (message.custom && typeof message.custom === "object") entry.custom = message.custom;
    return entry.text || entry.image || entry.custom || (entry.buttons && entry.buttons.length) ? entry : null;
  }

  function safeUrl(value) {
    if (typeof value !== "string" || !value) return null;
    try {
      const url = new URL(value, window.location.href);
      return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
    } catch (err) {
      return null;
    }
  }

  async function postJson(url, body, credentials) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
    try {
      const res = await fetch(url, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
        credentials: credentials,
        signal: controller.signal,
      });
      let data = null;
      try {
        data = await res.json();
      } catch (err) {
        data = null;
      }
      return { status: res.status, ok: res.ok, data: data };
    } finally {
      clearTimeout(timer);
    }
  }

  function postToRasa(rasaUrl, message, ctx) {
    const metadata = ctx.token ? { customer_token: ctx.token } : {};
    return postJson(rasaUrl + WEBHOOK_PATH, { sender: ctx.sender, message: message, metadata: metadata }, "omit");
  }

  /** Asks the shop for a fresh token of the same customer; the new token, or null. */
  async function renewToken(customerId) {
    if (!config.tokenEndpoint) return null;
    try {
      const res = await postJson(config.tokenEndpoint, { customer_id: customerId }, "same-origin");
      const token = res.ok && res.data && res.data.token;
      if (typeof token !== "string" || !token) return null;
      if (state.session && state.session.customer.external_id === customerId) {
        state.session = { token: token, customer: state.session.customer };
        save(stores.session, "customer", state.session);
      }
      return token;
    } catch (err) {
      return null;
    }
  }

  async function deliver(message, ctx) {
    setBusy(1);
    try {
      const rasaUrl = await getRasaUrl();
      let reply = await postToRasa(rasaUrl, message, ctx);
      if (reply.status === 401 && ctx.customerId) {
        const token = await renewToken(ctx.customerId); // once; a second 401 is reported
        if (token) {
          ctx.token = token;
          reply = await postToRasa(rasaUrl, message, ctx);
        }
      }
      handleReply(reply, ctx);
    } catch (err) {
      if (window.console) console.warn("TandemWidget:", err);
      showError(TEXT.unreachable, ctx.sender);
    } finally {
      setBusy(-1);
    }
  }

  function handleReply(reply, ctx) {
    const detail = reply.data && typeof reply.data.error === "string" ? reply.data.error : "";
    if (reply.ok && Array.isArray(reply.data)) {
      reply.data.map(toEntry).filter(Boolean).forEach((entry) => addEntry(entry, ctx.sender));
    } else if (reply.status === 401 && ctx.customerId) {
      showError(TEXT.expired, ctx.sender);
    } else if (reply.status >= 400 && reply.status < 500) {
      showError(TEXT.rejected(detail), ctx.sender);
    } else {
      showError(TEXT.unreachable, ctx.sender);
    }
  }

  /** Shows `display` (defaults to the message) as the visitor's message and sends `message`. */
  function sendMessage(message, display) {
    const text = String(message == null ? "" : message).trim().slice(0, config.maxChars);
    if (!text) return false;
    const shown = display ? String(display).trim() : text;
    const customer = state.session && state.session.customer;
    const ctx = {
      sender: state.senderId,
      token: state.session ? state.session.token : null,
      customerId: customer ? customer.external_id : null,
    };
    addEntry({ from: "user", text: shown }, ctx.sender);
    state.queue = state.queue.then(() => deliver(text, ctx)); // one message at a time, in order
    return true;
  }

  // ---------------------------------------------------------------- UI events

  function openPanel(focusInput) {
    if (!ui.panel) return;
    ui.panel.hidden = false;
    ui.root.classList.add("tandem-widget--open");
    ui.launcher.setAttribute("aria-expanded", "true");
    save(stores.session, "open", true);
    scrollToBottom();
    if (focusInput) ui.input.focus();
  }

  function closePanel(returnFocus) {
    if (!ui.panel) return;
    ui.panel.hidden = true;
    ui.root.classList.remove("tandem-widget--open");
    ui.launcher.setAttribute("aria-expanded", "false");
    save(stores.session, "open", false);
    if (returnFocus) ui.launcher.focus();
  }

  function onSubmit(event) {
    event.preventDefault();
    const value = ui.input.value;
    if (!value.trim()) {
      ui.input.focus();
      return;
    }
    ui.input.value = "";
    showHint("");
    sendMessage(value);
    ui.input.focus();
  }

  function onPaste(event) {
    const pasted = event.clipboardData ? event.clipboardData.getData("text") : "";
    const selected = (ui.input.selectionEnd || 0) - (ui.input.selectionStart || 0);
    if (ui.input.value.length - selected + pasted.length > config.maxChars) showHint(TEXT.cut(config.maxChars));
  }

  function onInput() {
    if (ui.input.value.length > config.maxChars) {
      ui.input.value = ui.input.value.slice(0, config.maxChars);
      showHint(TEXT.cut(config.maxChars));
    }
  }

  function bindEvents() {
    ui.launcher.addEventListener("click", () => (ui.panel.hidden ? openPanel(true) : closePanel(true)));
    ui.close.addEventListener("click", () => closePanel(true));
    ui.root.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && !ui.panel.hidden) {
        event.preventDefault();
        closePanel(true);
      }
    });
    ui.form.addEventListener("submit", onSubmit);
    ui.input.addEventListener("paste", onPaste);
    ui.input.addEventListener("input", onInput);
  }

  function init() {
    buildDom();
    bindEvents();
    updateStatus();
    renderTranscript();
    if (load(stores.session, "open")) openPanel(false);
    injectStylesheet(() => {
      ui.root.hidden = false;
    });
  }

  // ---------------------------------------------------------------- public API

  function switchConversation() {
    const sender = senderFor(state.session);
    if (sender !== state.senderId) {
      state.senderId = sender;
      state.transcript = loadTranscript(sender);
      renderTranscript();
    }
    updateStatus();
  }

  function setCustomer(token, customer) {
    if (typeof token !== "string" || !token) throw new TypeError("TandemWidget.setCustomer: token is required");
    if (!customer || typeof customer.external_id !== "string" || !customer.external_id) {
      throw new TypeError("TandemWidget.setCustomer: customer.external_id is required");
    }
    state.session = {
      token: token,
      customer: { external_id: customer.external_id, name: customer.name || "", email: customer.email || "" },
    };
    save(stores.session, "customer", state.session);
    switchConversation();
  }

  function clearCustomer() {
    state.session = null;
    save(stores.session, "customer", null);
    switchConversation();
  }

  function getCustomer() {
    return state.session ? Object.assign({}, state.session.customer) : null;
  }

  window.TandemWidget = Object.freeze({
    setCustomer: setCustomer,
    clearCustomer: clearCustomer,
    getCustomer: getCustomer,
    open: () => openPanel(true),
    close: () => closePanel(true),
    send: (text) => sendMessage(text),
  });

  if (document.body) init();
  else document.addEventListener("DOMContentLoaded", init);
  window.dispatchEvent(new CustomEvent("tandem:ready"));
})();
