/*
 * Tandem chat widget.
 *
 * Embed with one script tag; it adds its own stylesheet (widget.css next to this file), the socket.io
 * client (vendor/socket.io.min.js next to this file) and its DOM:
 *
 *   <script src="https://shop.example/static/widget.js"
 *           data-rasa-url="https://bot.example"        (or data-config-endpoint="/api/config")
 *           data-token-endpoint="/api/session"          (optional: renews an expired customer token;
 *                                                        POST {"customer_id"} -> {"token"}; a real shop
 *                                                        answers for its logged-in customer only)
 *           data-export-endpoint="/api/my-data"        (optional: the signed-in customer's download of their
 *                                                        data, POST {"token"} -> a JSON file; by default
 *                                                        "my-data" next to the token or config endpoint)
 *           data-max-chars="5000"                       (optional)
 *           data-socket-path="/socket.io/"              (optional: socket.io path under the Rasa URL)
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
 * It talks to Rasa over socket.io as docs/widget-protocol.md says. The conversation (its id and
 * transcript) is kept in localStorage, so it survives reloads; after a (re)connect the server sends
 * what the page missed. Everything shown comes from the server as data and is rendered with
 * textContent, never as HTML.
 */
(function () {
  "use strict";

  if (window.TandemWidget) return; // embedded twice

  const script = document.currentScript ||
    document.querySelector("script[src*='widget.js'][data-rasa-url], script[src*='widget.js'][data-config-endpoint]");
  const PREFIX = "tandem:";
  const SOCKET_PATH = "/socket.io/";
  const ACK_TIMEOUT_MS = 15000; // a message not acknowledged by then is shown as failed
  const MAX_RETRY_AFTER_S = 120; // a rate limit's wait the widget honours by itself (longer: the visitor retries)
  const STATE_WAIT_MS = 2000; // how long to wait for conversation_state before sending anyway
  const REPLY_WAIT_MS = 30000; // the typing indicator waits this long for the answer to a message
  const SERVER_TYPING_MAX_MS = 60000; // a typing "on" whose "off" got lost
  const REQUEST_TIMEOUT_MS = 30000;
  const MAX_TRANSCRIPT_ENTRIES = 200;
  const MAX_TRANSCRIPTS = 10; // conversations kept in localStorage
  const MAX_BUTTONS = 12;
  const MAX_PRODUCTS = 10;
  const MAX_NAME_CHARS = 80;
  const HANDOFF_STATUSES = ["waiting", "assigned", "follow_up", "ended"];
  const TEXT = {
    title: "Tandem assistant",
    launcher: "Chat with us",
    unread: " (new messages)",
    close: "Close chat",
    label: "Message the assistant",
    placeholder: "Type your message…",
    send: "Send",
    typing: "The assistant is typing…",
    agentTyping: (name) => (name || "The support agent") + " is typing…",
    you: "You said: ",
    bot: "Assistant said: ",
    agent: (name) => (name ? name + " (support agent) said: " : "Support agent said: "),
    agentLabel: (name) => (name ? name + " · support agent" : "Support agent"),
    image: "Image from the assistant",
    guest: "You are chatting as a guest.",
    signedIn: (name) => "Signed in as " + name + ".",
    welcome: "Hi! I can help with orders, deliveries, returns and our products. How can I help?",
    connecting: "Connecting…",
    reconnecting: "Reconnecting…",
    notSent: "Not sent.",
    retry: "Retry",
    unreachable: "I can't reach the assistant right now. Your message is kept: tap Retry in a moment.",
    expired: "Your session has expired. Please sign in again to continue.",
    forbidden: "This conversation belongs to another customer. Please sign in again.",
    rejected: (detail) => "The assistant couldn't accept that message" + (detail ? ": " + detail : "."),
    slowDown: (s) => "You're sending messages quickly, so I'll send this one in " + s + (s === 1 ? " second." : " seconds."),
    cut: (n) => "Your message was too long, so it was cut to " + n + " characters.",
    products: "Suggested products",
    open: "View details",
    notInterested: "Not interested",
    dismissed: "You said you're not interested.",
    openSaid: (name) => "View details: " + name,
    notInterestedSaid: (name) => "Not interested: " + name,
    csat: "How would you rate this conversation?",
    csatChosen: (title) => "You rated " + title + ". Thank you!",
    waiting: "Waiting for a person",
    wait: (m) => (m <= 0 ? "less than a minute" : m === 1 ? "about 1 minute" : "about " + m + " minutes"),
    position: (n) => "you're number " + n + " in the queue",
    assigned: (name) => "You're chatting with " + (name ? name + " (a person)" : "a person"),
    followUp: "Nobody is online right now; a person will get back to you here",
    ended: "You're back with the assistant",
    download: "Download your data",
    downloading: "Preparing your file…",
    downloaded: (name) => "Saved " + name + " to your downloads.",
    downloadSignIn: "Sign in to download your data.",
    downloadUnavailable: "Downloads aren't available on this page.",
    downloadFailed: (detail) => "Your data couldn't be downloaded" + (detail ? ": " + detail : ". Please try again."),
    downloadExpired: "Your session has expired. Please sign in again to download your data.",
  };

  const config = readConfig(script);
  const stores = { local: safeStorage("localStorage"), session: safeStorage("sessionStorage") };
  const memory = new Map(); // used when web storage is disabled
  const ui = { nodes: new Map() }; // nodes: transcript entry id -> its DOM node
  const runtime = new Map(); // entry id -> {timer, renewed}: what is not persisted about a message
  const state = {
    session: loadSession(), // {token, customer} or null
    convKey: null, // "anonymous" or the customer's external id
    sessionId: null, // the conversation id (null until the server gave one)
    transcript: [],
    gen: 0, // bumped for each socket, so events of a closed one are ignored
    socket: null,
    connecting: null, // the promise of a connection under way
    everConnected: false,
    confirmed: false, // session_confirm received for this socket
    ready: false, // confirmed and conversation_state received: messages may be sent
    readyTimer: null,
    sinceSent: null, // `since` of the last session_request
    renewTried: false,
    forbiddenReset: false,
    refused: null, // the error text while the server refuses the session
    outbox: [], // user entries waiting for their acknowledgement, in order
    inFlight: null, // {entry, gen} of the message sent and not yet acknowledged
    awaitingReply: false,
    replyTimer: null,
    serverTyping: null, // {from} while the server says someone is typing
    serverTypingTimer: null,
    handoff: null,
  };
  let uidCounter = 0;
  enterConversation(convKeyFor(state.session));

  // Renderers for `custom` payloads by `custom.type`; each takes (custom, entry) and returns a node or null.
  const CUSTOM_RENDERERS = {
    product_cards: renderProducts,
    csat: renderCsat,
    survey: renderCsat, // the effort (1-7) and recommend (0-10) questions: the same prompt on their own scale
    data_export: renderDataExport,
    handoff: (custom) => {
      const handoff = cleanHandoff(custom);
      return handoff ? el("p", "tandem-notice", handoffText(handoff)) : null;
    },
  };

  // ---------------------------------------------------------------- configuration

  function readConfig(node) {
    const data = (node && node.dataset) || {};
    const base = node && node.src ? node.src : window.location.href;
    return {
      rasaUrl: trimSlash(data.rasaUrl || ""),
      configEndpoint: data.configEndpoint || "",
      tokenEndpoint: data.tokenEndpoint || "",
      exportEndpoint: data.exportEndpoint || "",
      maxChars: positiveInt(data.maxChars, 5000),
      title: data.title || TEXT.title,
      socketPath: data.socketPath || "",
      cssUrl: data.cssUrl || new URL("widget.css", base).href,
      socketIoUrl: new URL("vendor/socket.io.min.js", base).href,
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

  /** socket.io takes a path in the URL as a namespace, so the origin and the path go separately. */
  function socketTarget(rasaUrl) {
    const url = new URL(rasaUrl, window.location.href);
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error("TandemWidget: bad Rasa URL");
    const path = config.socketPath || url.pathname.replace(/\/+$/, "") + SOCKET_PATH;
    return { origin: url.origin, path: path };
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

  /** Stores `value` (null removes it); false when the store is full. */
  function save(store, key, value) {
    const raw = value == null ? null : JSON.stringify(value);
    try {
      if (!store) memory.set(key, raw);
      else if (raw === null) store.removeItem(PREFIX + key);
      else store.setItem(PREFIX + key, raw);
      return true;
    } catch (err) {
      memory.set(key, raw); // quota exceeded: keep it for this page at least
      return false;
    }
  }

  function randomId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function convKeyFor(session) {
    return session ? session.customer.external_id : "anonymous";
  }

  function loadSession() {
    const session = load(stores.session, "customer");
    const valid = session && typeof session.token === "string" && session.customer &&
      typeof session.customer.external_id === "string";
    return valid ? session : null;
  }

  function loadTranscript(sessionId) {
    if (!sessionId) return [];
    let entries = load(stores.local, "transcript:" + sessionId);
    if (!Array.isArray(entries)) entries = load(stores.session, "transcript:" + sessionId); // older widgets
    return Array.isArray(entries) ? entries.map(cleanStoredEntry).filter(Boolean) : [];
  }

  /** Keeps the newest entries of a conversation, and only the most recent conversations. */
  function saveTranscript() {
    const sessionId = state.sessionId;
    if (!sessionId) return; // kept in memory until the server names the conversation
    const entries = state.transcript.slice(-MAX_TRANSCRIPT_ENTRIES);
    const index = (load(stores.local, "transcripts") || []).filter((id) => typeof id === "string" && id !== sessionId);
    index.push(sessionId);
    while (index.length > MAX_TRANSCRIPTS) save(stores.local, "transcript:" + index.shift(), null);
    save(stores.local, "transcripts", index);
    // When the store is full (it is shared with the shop's own data), keep fewer entries.
    [entries.length, 50, 10].some((n) => save(stores.local, "transcript:" + sessionId, entries.slice(-n)));
  }

  // ---------------------------------------------------------------- messages as data

  function str(value, max) {
    const text = typeof value === "string" ? value : typeof value === "number" && isFinite(value) ? String(value) : "";
    return max ? text.slice(0, max) : text;
  }

  function finiteOrNull(value) {
    return typeof value === "number" && isFinite(value) ? value : null;
  }

  function isObject(value) {
    return !!value && typeof value === "object" && !Array.isArray(value);
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

  function cleanButtons(buttons) {
    if (!Array.isArray(buttons)) return [];
    return buttons
      .filter((b) => isObject(b) && typeof b.payload === "string" && b.payload.trim())
      .slice(0, MAX_BUTTONS)
      .map((b) => ({ title: str(b.title).trim() || b.payload, payload: b.payload }));
  }

  /** Payloads a custom payload already offers as its own buttons (product cards, rating options). */
  function coveredPayloads(custom) {
    const payloads = new Set();
    if (!isObject(custom)) return payloads;
    const items =
      custom.type === "product_cards"
        ? custom.products
        : custom.type === "csat" || custom.type === "survey"
          ? custom.options
          : null;
    if (!Array.isArray(items)) return payloads;
    for (const item of items) {
      if (!isObject(item)) continue;
      for (const key of ["open_payload", "not_interested_payload", "payload"]) {
        if (typeof item[key] === "string") payloads.add(item[key]);
      }
    }
    return payloads;
  }

  /** A server Message (docs/widget-protocol.md) as a transcript entry, or null when it shows nothing. */
  function toEntry(message) {
    if (!isObject(message)) return null;
    const from = message.from === "agent" ? "agent" : message.from === "customer" ? "user" : "bot";
    const entry = { id: "m" + randomId(), from: from, ts: finiteOrNull(message.timestamp) };
    const text = str(message.text);
    if (text.trim()) entry.text = text;
    if (from !== "user") {
      const buttons = cleanButtons(message.buttons);
      if (buttons.length) entry.buttons = buttons;
      const image = safeUrl(message.image);
      if (image) entry.image = image;
      if (isObject(message.custom) && typeof message.custom.type === "string") entry.custom = message.custom;
      // Cards and rating prompts carry their own buttons; the plain ones are for channels without them.
      const covered = coveredPayloads(entry.custom);
      if (entry.buttons && covered.size) {
        entry.buttons = entry.buttons.filter((b) => !covered.has(b.payload));
        if (!entry.buttons.length) delete entry.buttons;
      }
    }
    if (from === "agent") {
      const name = str(message.agent_name, MAX_NAME_CHARS).trim();
      if (name) entry.agent_name = name;
    }
    return entry.text || entry.image || entry.custom || entry.buttons ? entry : null;
  }

  /** An entry read back from storage (which anything on this origin could have written). */
  function cleanStoredEntry(raw) {
    if (!isObject(raw) || ["user", "bot", "agent"].indexOf(raw.from) < 0) return null;
    const from = raw.from === "user" ? "customer" : raw.from;
    const entry = toEntry(Object.assign({}, raw, { from: from, timestamp: raw.ts }));
    if (!entry) return null;
    if (typeof raw.id === "string" && raw.id) entry.id = raw.id;
    if (raw.from === "user") {
      if (typeof raw.payload === "string" && raw.payload) entry.payload = raw.payload;
      if (raw.status === "sending" || raw.status === "failed") entry.status = "failed"; // lost with the page
    }
    if (typeof raw.answer === "number") entry.answer = raw.answer;
    if (Array.isArray(raw.dismissed)) entry.dismissed = raw.dismissed.filter((i) => typeof i === "number");
    return entry;
  }

  function cleanProducts(products) {
    if (!Array.isArray(products)) return [];
    return products
      .filter((p) => isObject(p) && str(p.name).trim())
      .slice(0, MAX_PRODUCTS)
      .map((p) => ({
        name: str(p.name).trim(),
        price: str(p.price).trim(),
        reason: str(p.reason).trim(),
        image: safeUrl(p.image),
        open: str(p.open_payload).trim() ? p.open_payload : "",
        notInterested: str(p.not_interested_payload).trim() ? p.not_interested_payload : "",
      }));
  }

  /** The scores a rating prompt may offer: 1 to 5 for CSAT; a survey's own `lowest`..`highest` within 0 to 10. */
  function scaleOf(custom) {
    const low = custom.lowest;
    const high = custom.highest;
    const valid = Number.isInteger(low) && Number.isInteger(high) && low >= 0 && low < high && high <= 10;
    return custom.type === "survey" && valid ? [low, high] : [1, 5];
  }

  function cleanCsatOptions(options, scale) {
    if (!Array.isArray(options)) return [];
    const seen = new Set();
    return options
      .filter((o) => isObject(o) && Number.isInteger(o.score) && o.score >= scale[0] && o.score <= scale[1] &&
        typeof o.payload === "string" && o.payload.trim() && !seen.has(o.score) && seen.add(o.score))
      .map((o) => ({ score: o.score, title: str(o.title).trim(), payload: o.payload }))
      .sort((a, b) => a.score - b.score);
  }

  function cleanHandoff(raw) {
    if (!isObject(raw) || HANDOFF_STATUSES.indexOf(raw.status) < 0) return null;
    const handoff = { status: raw.status, queue: str(raw.queue) };
    const name = str(raw.agent_name, MAX_NAME_CHARS).trim();
    if (name) handoff.agent_name = name;
    if (Number.isInteger(raw.expected_wait_minutes) && raw.expected_wait_minutes >= 0) {
      handoff.expected_wait_minutes = raw.expected_wait_minutes;
    }
    if (Number.isInteger(raw.position) && raw.position > 0) handoff.position = raw.position;
    return handoff;
  }

  function handoffText(handoff) {
    switch (handoff.status) {
      case "waiting": {
        const parts = [TEXT.waiting];
        if (handoff.expected_wait_minutes !== undefined) parts.push(TEXT.wait(handoff.expected_wait_minutes));
        if (handoff.position !== undefined) parts.push(TEXT.position(handoff.position));
        return parts.join(" · ");
      }
      case "assigned":
        return TEXT.assigned(handoff.agent_name);
      case "follow_up":
        return TEXT.followUp;
      default:
        return TEXT.ended;
    }
  }

  function handoffActive() {
    return !!state.handoff && state.handoff.status !== "ended";
  }

  /** The newest server timestamp the widget shows: what the server sends history after. */
  function newestTimestamp() {
    let newest = null;
    for (const entry of state.transcript) {
      if (entry.ts !== null && (newest === null || entry.ts > newest)) newest = entry.ts;
    }
    return newest;
  }

  // ---------------------------------------------------------------- DOM helpers

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function button(className, text, onClick) {
    const node = el("button", className, text);
    node.type = "button";
    if (onClick) node.addEventListener("click", onClick);
    return node;
  }

  function srOnly(text) {
    return el("span", "tandem-sr-only", text);
  }

  function uid(prefix) {
    uidCounter += 1;
    return prefix + "-" + uidCounter;
  }

  function svgIcon(className, d) {
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    svg.setAttribute("class", className);
    const path = document.createElementNS(ns, "path");
    path.setAttribute("d", d);
    svg.appendChild(path);
    return svg;
  }

  function chatIcon() {
    return svgIcon("tandem-icon", "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z");
  }

  function productPlaceholder() {
    const box = el("div", "tandem-card__image tandem-card__image--placeholder");
    box.setAttribute("aria-hidden", "true");
    box.append(svgIcon("tandem-card__icon", "M3 7l9-4 9 4v10l-9 4-9-4V7zm9 2L5 6v9.5l7 3.1V9zm0 0l7-3v9.5l-7 3.1"));
    return box;
  }

  function injectStylesheet(done) {
    let finished = false;
    const finish = () => {
      if (!finished) {
        finished = true;
        done();
      }
    };
    if (!config.cssUrl || document.querySelector("link[data-tandem-widget]")) return finish();
    const link = el("link");
    link.rel = "stylesheet";
    link.href = config.cssUrl;
    link.setAttribute("data-tandem-widget", "");
    link.addEventListener("load", finish);
    link.addEventListener("error", finish);
    setTimeout(finish, 3000); // show the widget even if the stylesheet hangs
    document.head.appendChild(link);
  }

  function buildDom() {
    ui.root = el("div", "tandem-widget");
    ui.root.hidden = true; // until the stylesheet has loaded

    ui.launcher = button("tandem-launcher");
    ui.launcher.setAttribute("aria-expanded", "false");
    ui.launcher.setAttribute("aria-controls", "tandem-panel");
    ui.unread = srOnly("");
    ui.launcher.append(chatIcon(), el("span", "tandem-launcher__label", TEXT.launcher), ui.unread);

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
    ui.close = button("tandem-close");
    ui.close.setAttribute("aria-label", TEXT.close);
    const cross = el("span", "", "×");
    cross.setAttribute("aria-hidden", "true");
    ui.close.append(cross);
    header.append(heading, ui.close);

    ui.connection = el("p", "tandem-connection");
    ui.connection.setAttribute("role", "status");
    ui.connection.hidden = true;
    ui.handoff = el("p", "tandem-handoff");
    ui.handoff.setAttribute("role", "status");
    ui.handoff.hidden = true;

    ui.log = el("div", "tandem-log");
    ui.log.setAttribute("role", "log");
    ui.log.setAttribute("aria-live", "polite");
    ui.log.setAttribute("aria-label", "Conversation");
    ui.log.tabIndex = 0; // scrollable region reachable by keyboard

    ui.typing = el("div", "tandem-typing");
    ui.typingText = srOnly(TEXT.typing);
    ui.typing.append(ui.typingText);
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

    ui.panel.append(header, ui.connection, ui.handoff, ui.log, ui.form);
    ui.root.append(ui.panel, ui.launcher);
    document.body.appendChild(ui.root);
  }

  // ---------------------------------------------------------------- rendering

  function renderText(entry) {
    const bubble = el("p", "tandem-bubble");
    const prefix = entry.from === "user" ? TEXT.you : entry.from === "agent" ? TEXT.agent(entry.agent_name) : TEXT.bot;
    bubble.append(srOnly(prefix), document.createTextNode(entry.text));
    return bubble;
  }

  function renderImage(src) {
    const img = el("img", "tandem-image");
    img.alt = TEXT.image;
    img.loading = "lazy";
    img.referrerPolicy = "no-referrer";
    img.src = src;
    return img;
  }

  function renderQuickReplies(buttons) {
    const group = el("div", "tandem-quick-replies");
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", "Suggested replies");
    for (const b of buttons) {
      group.append(button("tandem-quick-reply", b.title, () => sendFromButton(b.payload, b.title)));
    }
    return group;
  }

  function renderProducts(custom, entry) {
    const products = cleanProducts(custom.products);
    if (!products.length) return null;
    const list = el("ul", "tandem-cards");
    list.setAttribute("aria-label", TEXT.products);
    products.forEach((product, index) => {
      const dismissed = (entry.dismissed || []).indexOf(index) >= 0;
      const card = el("li", "tandem-card" + (dismissed ? " tandem-card--dismissed" : ""));
      const nameId = uid("tandem-card");
      card.setAttribute("aria-labelledby", nameId);
      let media = productPlaceholder();
      if (product.image) {
        media = el("img", "tandem-card__image");
        media.alt = ""; // the name is right next to it
        media.loading = "lazy";
        media.referrerPolicy = "no-referrer";
        media.addEventListener("error", () => media.replaceWith(productPlaceholder()), { once: true });
        // A picture that arrives after the scroll pushes the newest quick replies down: follow it.
        media.addEventListener("load", () => { if (nearBottom()) scrollToBottom(); }, { once: true });
        media.src = product.image;
      }
      const body = el("div", "tandem-card__body");
      const name = el("p", "tandem-card__name", product.name);
      name.id = nameId;
      body.append(name);
      if (product.price) body.append(el("p", "tandem-card__price", product.price));
      if (product.reason) body.append(el("p", "tandem-card__reason", product.reason));
      const actions = el("div", "tandem-card__actions");
      if (product.open) {
        const open = () => sendFromButton(product.open, TEXT.openSaid(product.name));
        actions.append(button("tandem-card__open", TEXT.open, open));
      }
      if (product.notInterested) {
        const no = button("tandem-card__dismiss", TEXT.notInterested, () => {
          entry.dismissed = (entry.dismissed || []).concat([index]);
          sendFromButton(product.notInterested, TEXT.notInterestedSaid(product.name));
          rerenderEntry(entry);
        });
        actions.append(no);
      }
      actions.querySelectorAll("button").forEach((b) => b.setAttribute("aria-describedby", nameId));
      if (dismissed) {
        actions.querySelectorAll("button").forEach((b) => (b.disabled = true));
        body.append(el("p", "tandem-card__note", TEXT.dismissed));
      }
      if (actions.childNodes.length) body.append(actions);
      card.append(media, body);
      list.append(card);
    });
    return list;
  }

  function renderCsat(custom, entry) {
    const options = cleanCsatOptions(custom.options, scaleOf(custom));
    if (!options.length) return null;
    const box = el("div", "tandem-csat");
    const asked = str(custom.question).trim() || TEXT.csat;
    const question = el("p", "tandem-csat__question", asked);
    // The bubble above may already ask it ("Glad that's sorted! How happy ..."): then it names the group only.
    if (entry.text && entry.text.includes(asked)) question.className = "tandem-sr-only";
    question.id = uid("tandem-csat");
    const group = el("div", "tandem-csat__options");
    group.setAttribute("role", "group");
    group.setAttribute("aria-labelledby", question.id);
    const answered = options.find((o) => o.score === entry.answer);
    for (const option of options) {
      const label = csatLabel(option);
      const node = button("tandem-csat__option");
      node.append(el("span", "tandem-csat__score", String(option.score)));
      if (label !== String(option.score)) node.append(srOnly(label.slice(String(option.score).length)));
      node.setAttribute("aria-pressed", answered === option ? "true" : "false");
      if (answered) {
        node.disabled = true;
        if (answered === option) node.classList.add("tandem-csat__option--chosen");
      } else {
        node.addEventListener("click", () => {
          entry.answer = option.score;
          sendFromButton(option.payload, label);
          rerenderEntry(entry);
        });
      }
      group.append(node);
    }
    group.addEventListener("keydown", (event) => moveAmongButtons(event, group));
    box.append(question, group);
    if (options.length > 1 && (options[0].title || options[options.length - 1].title)) {
      const scale = el("p", "tandem-csat__scale");
      scale.setAttribute("aria-hidden", "true"); // the buttons carry the same words
      scale.append(el("span", "", options[0].title), el("span", "", options[options.length - 1].title));
      box.append(scale);
    }
    if (answered) box.append(el("p", "tandem-csat__chosen", TEXT.csatChosen(csatLabel(answered))));
    return box;
  }

  /** A "Download your data" button (custom `{"type": "data_export"}`): the customer's own file, for their token. */
  function renderDataExport() {
    const box = el("div", "tandem-export");
    const status = el("p", "tandem-export__status");
    status.setAttribute("role", "status");
    status.id = uid("tandem-export");
    const start = button("tandem-export__button", TEXT.download, () => downloadData(start, status));
    start.setAttribute("aria-describedby", status.id);
    box.append(start, status);
    return box;
  }

  /** Where the download comes from: data-export-endpoint, else "my-data" beside the token or config endpoint. */
  function exportEndpoint() {
    if (config.exportEndpoint) return config.exportEndpoint;
    const base = config.tokenEndpoint || config.configEndpoint;
    if (!base) return "";
    try {
      return new URL("my-data", new URL(base, window.location.href)).href;
    } catch (err) {
      return "";
    }
  }

  function showExportStatus(node, text, failed) {
    node.textContent = text;
    node.classList.toggle("tandem-export__status--error", Boolean(failed));
  }

  /** POSTs the current token (in the body, never the URL); a 401 renews the token once and tries again. */
  async function downloadData(start, status) {
    const url = exportEndpoint();
    if (!url) return showExportStatus(status, TEXT.downloadUnavailable, true);
    if (!state.session) return showExportStatus(status, TEXT.downloadSignIn, true);
    start.disabled = true;
    showExportStatus(status, TEXT.downloading, false);
    try {
      let res = await fetchExport(url, state.session.token);
      if (res.status === 401 && state.session && config.tokenEndpoint) {
        const token = await renewToken(state.session.customer.external_id);
        if (token) res = await fetchExport(url, token);
      }
      if (!res.ok) {
        let detail = "";
        try {
          const data = await res.json();
          detail = isObject(data) ? str(data.error) : "";
        } catch (err) {
          detail = "";
        }
        const text = res.status === 401 ? TEXT.downloadExpired : TEXT.downloadFailed(detail);
        return showExportStatus(status, text, true);
      }
      const name = attachmentName(res.headers.get("Content-Disposition"));
      saveFile(await res.blob(), name);
      showExportStatus(status, TEXT.downloaded(name), false);
    } catch (err) {
      showExportStatus(status, TEXT.downloadFailed(""), true);
    } finally {
      start.disabled = false;
    }
  }

  async function fetchExport(url, token) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
    try {
      return await fetch(url, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ token: token }),
        credentials: "same-origin",
        cache: "no-store",
        signal: controller.signal,
      });
    } finally {
      clearTimeout(timer);
    }
  }

  /** The server's file name (plain characters only), or a default. */
  function attachmentName(header) {
    const match = /filename="([A-Za-z0-9._-]{1,120})"/.exec(str(header));
    return match ? match[1] : "tandem-data.json";
  }

  /** Saves a Blob as a file: a temporary link with `download`, clicked, then let go. */
  function saveFile(blob, name) {
    const href = URL.createObjectURL(blob);
    const link = el("a");
    link.href = href;
    link.download = name;
    link.hidden = true;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(href), 30000);
  }

  /** "4 – Good", or "4" when the option has no other title. */
  function csatLabel(option) {
    const score = String(option.score);
    return option.title && option.title !== score ? score + " – " + option.title : score;
  }

  /** Arrow keys move the focus among the buttons of a group (Tab still works too). */
  function moveAmongButtons(event, group) {
    const step = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[event.key];
    if (!step) return;
    const buttons = Array.from(group.querySelectorAll("button:not(:disabled)"));
    const i = buttons.indexOf(document.activeElement);
    if (i < 0) return;
    event.preventDefault();
    buttons[(i + step + buttons.length) % buttons.length].focus();
  }

  function renderStatus(entry, bubbleId) {
    const line = el("p", "tandem-msg__status");
    const again = button("tandem-retry", TEXT.retry, () => retry(entry));
    again.setAttribute("aria-describedby", bubbleId); // which message: there may be several
    line.append(el("span", "", TEXT.notSent + " "), again);
    return line;
  }

  /** The node of one transcript entry (quick replies are added by refreshQuickReplies). */
  function renderEntry(entry) {
    const type = entry.custom ? entry.custom.type : "";
    const render = Object.prototype.hasOwnProperty.call(CUSTOM_RENDERERS, type) ? CUSTOM_RENDERERS[type] : null;
    const custom = render ? render(entry.custom, entry) : null;
    const notice = entry.custom && entry.custom.type === "handoff" && !entry.text;
    const node = el("div", "tandem-msg " + (notice ? "tandem-msg--notice" : "tandem-msg--" + entry.from));
    if (entry.custom && entry.custom.type === "product_cards") node.classList.add("tandem-msg--wide");
    if (entry.from === "agent") {
      const name = el("p", "tandem-msg__name", TEXT.agentLabel(entry.agent_name));
      name.setAttribute("aria-hidden", "true"); // the bubble starts with the same words for screen readers
      node.append(name);
    }
    const bubble = entry.text ? renderText(entry) : null;
    if (bubble) node.append(bubble);
    if (entry.image) node.append(renderImage(entry.image));
    if (custom) node.append(custom);
    if (entry.status === "sending") node.classList.add("tandem-msg--pending");
    if (entry.status === "failed" && bubble) {
      node.classList.add("tandem-msg--failed");
      bubble.id = uid("tandem-bubble");
      node.append(renderStatus(entry, bubble.id));
    }
    return node.childNodes.length ? node : null;
  }

  function renderWelcome() {
    return renderEntry({ id: "welcome", from: "bot", text: TEXT.welcome, ts: null });
  }

  function renderTranscript() {
    if (!ui.log) return;
    ui.nodes.clear();
    ui.log.replaceChildren(renderWelcome());
    for (const entry of state.transcript) {
      const node = renderEntry(entry);
      if (node) {
        ui.nodes.set(entry.id, node);
        ui.log.append(node);
      }
    }
    refreshQuickReplies();
    updateTyping();
    scrollToBottom();
  }

  /** Shows `entry`, which sits at `index` of the transcript. */
  function showEntry(entry, index) {
    const node = ui.log ? renderEntry(entry) : null;
    if (!node) return;
    ui.nodes.set(entry.id, node);
    const next = state.transcript.slice(index + 1).map((e) => ui.nodes.get(e.id)).find(Boolean);
    const typing = ui.typing.parentNode === ui.log ? ui.typing : null;
    ui.log.insertBefore(node, next || typing);
    scrollToBottom();
  }

  function rerenderEntry(entry) {
    persist();
    const old = ui.nodes.get(entry.id);
    if (!old) return;
    const node = renderEntry(entry);
    if (!node) return;
    old.replaceWith(node);
    ui.nodes.set(entry.id, node);
    refreshQuickReplies();
  }

  /** Only the newest entry offers its quick replies. */
  function refreshQuickReplies() {
    if (!ui.log) return;
    const focused = document.activeElement && document.activeElement.classList.contains("tandem-quick-reply");
    ui.log.querySelectorAll(".tandem-quick-replies").forEach((node) => node.remove());
    const last = state.transcript[state.transcript.length - 1];
    const node = last && last.buttons && ui.nodes.get(last.id);
    const atBottom = nearBottom();
    if (node) node.append(renderQuickReplies(last.buttons));
    // The newest question's answers must be seen: below the fold they look like a dead end.
    if (node && atBottom) scrollToBottom();
    if (focused && !ui.log.contains(document.activeElement)) ui.input.focus();
  }

  function scrollToBottom() {
    if (ui.log) ui.log.scrollTop = ui.log.scrollHeight;
  }

  /** Whether the customer is reading the newest messages (not scrolled up into the history). */
  function nearBottom() {
    return !ui.log || ui.log.scrollHeight - ui.log.scrollTop - ui.log.clientHeight < 160;
  }

  /** Errors are shown in the chat but not kept in the transcript; the node, or null. */
  function showError(text) {
    if (!ui.log) return null;
    const node = el("div", "tandem-msg tandem-msg--error");
    node.append(el("p", "tandem-bubble", text));
    ui.log.insertBefore(node, ui.typing.parentNode === ui.log ? ui.typing : null);
    scrollToBottom();
    return node;
  }

  function updateTyping() {
    if (!ui.log) return;
    const typing = state.serverTyping || (state.awaitingReply && !handoffActive() ? { from: "bot" } : null);
    if (!typing) {
      ui.typing.remove();
      return;
    }
    const agentName = state.handoff && state.handoff.agent_name;
    ui.typingText.textContent = typing.from === "agent" ? TEXT.agentTyping(agentName) : TEXT.typing;
    if (ui.typing.parentNode !== ui.log || ui.log.lastChild !== ui.typing) ui.log.append(ui.typing);
    scrollToBottom();
  }

  function setAwaitingReply(on) {
    clearTimeout(state.replyTimer);
    state.awaitingReply = on;
    if (on) state.replyTimer = setTimeout(() => setAwaitingReply(false), REPLY_WAIT_MS);
    updateTyping();
  }

  function setServerTyping(typing) {
    clearTimeout(state.serverTypingTimer);
    state.serverTyping = typing;
    if (typing) state.serverTypingTimer = setTimeout(() => setServerTyping(null), SERVER_TYPING_MAX_MS);
    updateTyping();
  }

  function setConnectionStatus(text) {
    if (!ui.connection) return;
    ui.connection.textContent = text || "";
    ui.connection.hidden = !text;
  }

  /** The handoff banner; an "ended" handoff is only worth a banner when it just happened. */
  function applyHandoff(raw, live) {
    state.handoff = cleanHandoff(raw);
    if (ui.handoff) {
      const show = state.handoff && (live || state.handoff.status !== "ended");
      ui.handoff.textContent = show ? handoffText(state.handoff) : "";
      ui.handoff.className = "tandem-handoff" + (show ? " tandem-handoff--" + state.handoff.status : "");
      ui.handoff.hidden = !show;
    }
    if (handoffActive()) setAwaitingReply(false);
    updateTyping();
  }

  function showHint(text) {
    if (ui.hint) ui.hint.textContent = text || "";
  }

  function updateStatus() {
    if (!ui.status) return;
    const customer = state.session && state.session.customer;
    ui.status.textContent = customer ? TEXT.signedIn(customer.name || customer.external_id) : TEXT.guest;
  }

  function setUnread(on) {
    if (!ui.launcher) return;
    ui.launcher.classList.toggle("tandem-launcher--unread", on);
    ui.unread.textContent = on ? TEXT.unread : "";
  }

  // ---------------------------------------------------------------- the transcript

  function persist() {
    saveTranscript();
  }

  function appendEntry(entry) {
    state.transcript.push(entry);
    showEntry(entry, state.transcript.length - 1);
    refreshQuickReplies();
    persist();
  }

  /** History goes before the visitor's own messages that still wait for the server. */
  function insertHistoryEntry(entry) {
    let i = state.transcript.length;
    while (i > 0) {
      const e = state.transcript[i - 1];
      if (e.from === "user" && e.ts === null && e.status) i -= 1;
      else break;
    }
    state.transcript.splice(i, 0, entry);
    showEntry(entry, i);
    refreshQuickReplies();
    persist();
  }

  function isShown(entry) {
    const text = entry.text || "";
    return state.transcript.some((e) => e.ts === entry.ts && e.from === entry.from && (e.text || "") === text);
  }

  /**
   * The visitor's own message coming back in the history: the local copy (which has no server timestamp)
   * gets the server's, and one that was not acknowledged counts as delivered. True when it was matched.
   */
  function matchOwnMessage(entry) {
    if (isShown(entry)) return true;
    let start = 0;
    if (state.sinceSent !== null) {
      state.transcript.forEach((e, i) => {
        if (e.ts !== null && e.ts <= state.sinceSent) start = i + 1;
      });
    }
    for (let i = start; i < state.transcript.length; i++) {
      const local = state.transcript[i];
      if (local.from === "user" && local.ts === null && (local.payload || local.text) === entry.text) {
        local.ts = entry.ts;
        if (local.status) markSent(local);
        else persist();
        return true;
      }
    }
    return false;
  }

  /** A Message from the server, live (bot_uttered) or from the history (conversation_state). */
  function receive(message, live) {
    const entry = toEntry(message);
    if (!entry) return;
    // History from before `since` is shown already (or was dropped from the capped transcript).
    if (!live && entry.ts !== null && state.sinceSent !== null && entry.ts <= state.sinceSent) return;
    if (entry.from === "user") {
      if (!matchOwnMessage(entry)) insertHistoryEntry(entry);
      return;
    }
    if (entry.ts !== null && isShown(entry)) return;
    if (live) appendEntry(entry);
    else insertHistoryEntry(entry);
    if (state.serverTyping && state.serverTyping.from === entry.from) setServerTyping(null);
    setAwaitingReply(false);
    if (ui.panel && ui.panel.hidden) setUnread(true);
    if (live && entry.custom && entry.custom.type === "handoff") applyHandoff(entry.custom, true);
  }

  // ---------------------------------------------------------------- the socket

  let libPromise = null;

  /**
   * The vendored socket.io client, loaded once, without leaving (or replacing) a global `io`. Its UMD
   * bundle calls an AMD `define` when the page has one (RequireJS, as on Magento), so there the page's
   * loader loads it.
   */
  function loadSocketIo() {
    if (libPromise) return libPromise;
    libPromise = new Promise((resolve, reject) => {
      const amd = typeof window.define === "function" && window.define.amd && typeof window.require === "function";
      if (amd) {
        const loaded = (lib) => (typeof lib === "function" ? resolve(lib) : reject(new Error("TandemWidget: no io")));
        window.require([config.socketIoUrl], loaded, reject);
        return;
      }
      const had = Object.prototype.hasOwnProperty.call(window, "io");
      const previous = window.io;
      const tag = el("script");
      tag.src = config.socketIoUrl;
      tag.async = true;
      tag.addEventListener("load", () => {
        const lib = window.io;
        try {
          if (had) window.io = previous;
          else delete window.io;
        } catch (err) {
          // a page-defined, read-only `io`: leave it
        }
        if (typeof lib === "function" && lib !== previous) resolve(lib);
        else reject(new Error("TandemWidget: the socket.io client did not load"));
      });
      tag.addEventListener("error", () => reject(new Error("TandemWidget: could not load " + config.socketIoUrl)));
      document.head.appendChild(tag);
    });
    libPromise.catch(() => {
      libPromise = null; // try again with the next message
    });
    return libPromise;
  }

  function connect() {
    if (state.socket) return Promise.resolve();
    if (state.connecting) return state.connecting;
    const gen = state.gen;
    state.connecting = (async () => {
      try {
        const target = socketTarget(await getRasaUrl());
        const io = await loadSocketIo();
        if (gen !== state.gen) return; // the conversation changed meanwhile
        const socket = io(target.origin, {
          path: target.path,
          forceNew: true,
          // Tandem's channel serves long-polling only (docs/widget-protocol.md): asking for a websocket upgrade
          // would only earn a refused request on every load.
          transports: ["polling"],
          // Names this connection for a load balancer: every request of one engine.io session must reach the
          // Rasa instance that holds it (the production profile's nginx hashes on it; docs/deploy.md).
          query: { tandem_route: randomId() },
          reconnection: true,
          reconnectionDelay: 1000,
          reconnectionDelayMax: 5000,
          timeout: 10000,
        });
        state.socket = socket;
        bindSocket(socket, gen);
      } catch (err) {
        if (window.console) console.warn("TandemWidget:", err);
        if (gen === state.gen) failOutbox(TEXT.unreachable);
      } finally {
        if (gen === state.gen) state.connecting = null;
      }
    })();
    return state.connecting;
  }

  function disconnect() {
    state.gen += 1;
    state.connecting = null;
    if (state.socket) {
      state.socket.removeAllListeners();
      state.socket.disconnect();
    }
    state.socket = null;
    state.confirmed = false;
    state.ready = false;
    state.inFlight = null;
    clearTimeout(state.readyTimer);
    setConnectionStatus(null);
  }

  function bindSocket(socket, gen) {
    const on = (event, handler) => socket.on(event, (data) => {
      if (gen === state.gen) handler(data);
    });
    on("connect", () => {
      state.everConnected = true;
      setConnectionStatus(null);
      requestSession();
    });
    on("disconnect", (reason) => {
      state.confirmed = false;
      state.ready = false;
      state.inFlight = null; // sent again after the reconnect
      clearTimeout(state.readyTimer);
      setServerTyping(null);
      setAwaitingReply(false);
      setConnectionStatus(TEXT.reconnecting);
      // socket.io does not come back by itself after the server closed the socket on purpose.
      if (reason === "io server disconnect") setTimeout(() => gen === state.gen && socket.connect(), 3000);
    });
    on("connect_error", () => setConnectionStatus(state.everConnected ? TEXT.reconnecting : TEXT.connecting));
    on("session_confirm", onSessionConfirm);
    on("session_error", onSessionError);
    on("conversation_state", onConversationState);
    on("bot_uttered", (message) => receive(message, true));
    // The server may have sent messages this socket never got (its Redis subscription was lost): ask for them.
    on("resync", () => requestSession());
    on("typing", (data) => {
      if (!isObject(data)) return;
      setServerTyping(data.on === true ? { from: data.from === "agent" ? "agent" : "bot" } : null);
    });
    on("handoff", (data) => applyHandoff(data, true));
  }

  function currentToken() {
    return state.session ? state.session.token : null;
  }

  function requestSession() {
    const socket = state.socket;
    if (!socket || !socket.connected) return;
    state.confirmed = false;
    state.ready = false;
    state.sinceSent = newestTimestamp();
    socket.emit("session_request", {
      session_id: state.sessionId,
      customer_token: currentToken(),
      since: state.sinceSent,
    });
  }

  function onSessionConfirm(data) {
    let id = typeof data === "string" ? data : "";
    if (isObject(data) && typeof data.session_id === "string") id = data.session_id;
    const sessionId = id || state.sessionId;
    if (!sessionId) return;
    adoptSessionId(sessionId);
    setConnectionStatus(null);
    state.confirmed = true;
    state.renewTried = false;
    state.refused = null;
    clearTimeout(state.readyTimer);
    state.readyTimer = setTimeout(becomeReady, STATE_WAIT_MS);
  }

  function onConversationState(data) {
    if (!isObject(data) || !state.confirmed) return;
    if (typeof data.session_id === "string" && data.session_id !== state.sessionId) return;
    applyHandoff(data.handoff, false);
    if (Array.isArray(data.messages)) data.messages.forEach((message) => receive(message, false));
    setAwaitingReply(false);
    becomeReady();
  }

  function becomeReady() {
    clearTimeout(state.readyTimer);
    if (!state.confirmed) return;
    state.ready = true;
    pump();
  }

  function onSessionError(data) {
    const status = isObject(data) && typeof data.status === "number" ? data.status : 0;
    const detail = isObject(data) ? str(data.error) : "";
    if (status === 401 && state.session && config.tokenEndpoint && !state.renewTried) {
      state.renewTried = true;
      const gen = state.gen;
      renewToken(state.session.customer.external_id).then((token) => {
        if (gen !== state.gen) return;
        if (token) requestSession();
        else refuseSession(TEXT.expired);
      });
      return;
    }
    if (status === 403 && state.sessionId && !state.forbiddenReset) {
      state.forbiddenReset = true; // this id is not the customer's: start a new conversation, once
      forgetConversation();
      requestSession();
      return;
    }
    if (status === 503) {
      // The conversation could not be loaded right now: ask again rather than show it with a gap.
      const gen = state.gen;
      const wait = isObject(data) && typeof data.retry_after === "number" ? data.retry_after : 2;
      setConnectionStatus(TEXT.reconnecting);
      setTimeout(() => gen === state.gen && requestSession(), Math.min(Math.max(wait, 1), 30) * 1000);
      return;
    }
    if (status === 401) refuseSession(state.session ? TEXT.expired : TEXT.rejected(detail));
    else if (status === 403) refuseSession(TEXT.forbidden);
    else refuseSession(TEXT.rejected(detail));
  }

  function refuseSession(text) {
    state.refused = text;
    const hadMessages = state.outbox.length > 0;
    failOutbox(text);
    if (!hadMessages) showError(text);
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

  // ---------------------------------------------------------------- sending

  function runtimeOf(entry) {
    let info = runtime.get(entry.id);
    if (!info) {
      info = { timer: null, renewed: false, error: null };
      runtime.set(entry.id, info);
    }
    return info;
  }

  function enqueue(entry) {
    entry.status = "sending";
    const info = runtimeOf(entry);
    info.renewed = false;
    clearTimeout(info.timer);
    info.timer = setTimeout(() => onDeadline(entry), ACK_TIMEOUT_MS);
    state.outbox.push(entry);
    if (state.refused) {
      failEntry(entry, state.refused);
      return;
    }
    if (!state.socket) connect();
    pump();
  }

  /** Sends the oldest waiting message, one at a time so that they arrive in order. */
  function pump() {
    const socket = state.socket;
    if (state.inFlight || !state.ready || !socket || !socket.connected) return;
    const entry = state.outbox[0];
    if (!entry) return;
    const attempt = { entry: entry, gen: state.gen };
    state.inFlight = attempt;
    const token = currentToken();
    const data = {
      session_id: state.sessionId,
      message: entry.payload || entry.text,
      // The same id on every try: a retry of a message that was stored (its acknowledgement lost) is not
      // stored or answered twice.
      message_id: entry.id,
      metadata: token ? { customer_token: token } : {},
    };
    socket.emit("user_uttered", data, (ack) => onAck(attempt, ack));
    if (!handoffActive()) setAwaitingReply(true);
  }

  function onAck(attempt, ack) {
    if (attempt.gen !== state.gen) return;
    const entry = attempt.entry;
    const ok = isObject(ack) && ack.ok === true;
    if (state.inFlight !== attempt) {
      if (ok && entry.status === "failed") markSent(entry); // it made it after all
      return;
    }
    state.inFlight = null;
    if (ok) {
      markSent(entry);
      pump();
      return;
    }
    const status = isObject(ack) && typeof ack.status === "number" ? ack.status : 0;
    const detail = isObject(ack) ? str(ack.error) : "";
    const info = runtimeOf(entry);
    if (status === 401 && state.session && config.tokenEndpoint && !info.renewed) {
      info.renewed = true; // once; a second 401 is reported
      const hold = { entry: entry, gen: state.gen };
      state.inFlight = hold; // the next messages wait for this one
      renewToken(state.session.customer.external_id).then((token) => {
        if (state.inFlight !== hold) return;
        state.inFlight = null;
        if (!token) failEntry(entry, TEXT.expired);
        pump();
      });
      return;
    }
    const wait = isObject(ack) && typeof ack.retry_after === "number" ? Math.ceil(ack.retry_after) : 0;
    if (status === 429 && wait > 0 && wait <= MAX_RETRY_AFTER_S) {
      // Rate limited: this message and the ones after it wait, then go by themselves, still in order.
      const hold = { entry: entry, gen: state.gen };
      state.inFlight = hold;
      clearTimeout(info.timer);
      info.timer = setTimeout(() => onDeadline(entry), wait * 1000 + ACK_TIMEOUT_MS);
      if (info.error) info.error.remove();
      info.error = showError(TEXT.slowDown(wait));
      setTimeout(() => {
        if (state.inFlight !== hold) return;
        state.inFlight = null;
        pump();
      }, wait * 1000);
      return;
    }
    let text = TEXT.unreachable;
    if (status === 401) text = state.session ? TEXT.expired : TEXT.rejected(detail);
    else if (status >= 400 && status < 500) text = TEXT.rejected(detail);
    failEntry(entry, text);
    pump();
  }

  function onDeadline(entry) {
    if (state.outbox.indexOf(entry) < 0) return;
    if (state.inFlight && state.inFlight.entry === entry) state.inFlight = null; // a late ack still counts
    failEntry(entry, TEXT.unreachable);
    pump();
  }

  function dropFromOutbox(entry) {
    const i = state.outbox.indexOf(entry);
    if (i >= 0) state.outbox.splice(i, 1);
    const info = runtime.get(entry.id);
    if (info) clearTimeout(info.timer);
  }

  function markSent(entry) {
    dropFromOutbox(entry);
    delete entry.status;
    const info = runtime.get(entry.id);
    if (info && info.error) info.error.remove(); // it failed by the clock, then made it after all
    rerenderEntry(entry);
  }

  function failEntry(entry, text) {
    dropFromOutbox(entry);
    entry.status = "failed";
    rerenderEntry(entry);
    if (!state.outbox.length) setAwaitingReply(false);
    runtimeOf(entry).error = showError(text);
  }

  function failOutbox(text) {
    const entries = state.outbox.slice();
    state.inFlight = null;
    entries.forEach((entry) => failEntry(entry, text));
  }

  function retry(entry) {
    if (entry.status !== "failed") return;
    rerenderEntry(Object.assign(entry, { status: "sending" }));
    enqueue(entry);
    if (ui.input) ui.input.focus();
  }

  /** Shows `display` (defaults to the message) as the visitor's message and sends `message`. */
  function sendMessage(message, display) {
    const text = String(message == null ? "" : message).trim().slice(0, config.maxChars);
    if (!text) return false;
    const shown = display ? String(display).trim().slice(0, config.maxChars) || text : text;
    const entry = { id: "u" + randomId(), from: "user", text: shown, ts: null, status: "sending" };
    if (shown !== text) entry.payload = text;
    appendEntry(entry);
    enqueue(entry);
    return true;
  }

  function sendFromButton(payload, display) {
    sendMessage(payload, display);
    if (ui.input) ui.input.focus();
  }

  // ---------------------------------------------------------------- conversations

  /** Makes the conversation of `key` (a customer id or "anonymous") the one on screen. */
  function enterConversation(key) {
    state.convKey = key;
    const stored = load(stores.local, "sender:" + key);
    state.sessionId = typeof stored === "string" && stored ? stored : null;
    state.transcript = loadTranscript(state.sessionId);
    state.outbox = [];
    state.inFlight = null;
    state.sinceSent = null;
    state.renewTried = false;
    state.forbiddenReset = false;
    state.refused = null;
    state.awaitingReply = false;
    state.serverTyping = null;
    state.handoff = null;
  }

  function adoptSessionId(sessionId) {
    if (sessionId === state.sessionId) return;
    if (state.sessionId !== null) {
      // The server moved us to another conversation: its transcript, plus what still waits to be sent.
      const waiting = state.transcript.filter((e) => e.status);
      state.sessionId = sessionId;
      state.transcript = loadTranscript(sessionId).concat(waiting);
      renderTranscript();
    }
    state.sessionId = sessionId;
    save(stores.local, "sender:" + state.convKey, sessionId);
    persist();
  }

  function forgetConversation() {
    if (state.sessionId) save(stores.local, "transcript:" + state.sessionId, null);
    save(stores.local, "sender:" + state.convKey, null);
    state.sessionId = null;
    state.transcript = state.transcript.filter((e) => e.status);
    renderTranscript();
  }

  function switchConversation() {
    const key = convKeyFor(state.session);
    updateStatus();
    if (key === state.convKey) {
      // The same customer with a new token: ask again if the old one was refused.
      if (state.refused || !state.confirmed) {
        state.refused = null;
        state.renewTried = false;
        requestSession();
      }
      return;
    }
    failOutboxQuietly();
    disconnect();
    enterConversation(key);
    setUnread(false);
    applyHandoff(null, false);
    renderTranscript();
    if (state.sessionId || (ui.panel && !ui.panel.hidden)) connect();
  }

  /** The messages of a conversation left behind stay in its transcript, as not sent. */
  function failOutboxQuietly() {
    for (const entry of state.outbox.slice()) {
      dropFromOutbox(entry);
      entry.status = "failed";
    }
    persist();
  }

  // ---------------------------------------------------------------- UI events

  function openPanel(focusInput) {
    if (!ui.panel) return;
    ui.panel.hidden = false;
    ui.root.classList.add("tandem-widget--open");
    ui.launcher.setAttribute("aria-expanded", "true");
    setUnread(false);
    save(stores.session, "open", true);
    scrollToBottom();
    if (focusInput) ui.input.focus();
    connect();
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
    const wasOpen = load(stores.session, "open");
    if (wasOpen) openPanel(false);
    // Connect at once only for a conversation that exists, so that replies sent meanwhile show up.
    else if (state.sessionId) connect();
    injectStylesheet(() => {
      ui.root.hidden = false;
    });
  }

  // ---------------------------------------------------------------- public API

  function setCustomer(token, customer) {
    if (typeof token !== "string" || !token) throw new TypeError("TandemWidget.setCustomer: token is required");
    if (!customer || typeof customer.external_id !== "string" || !customer.external_id) {
      throw new TypeError("TandemWidget.setCustomer: customer.external_id is required");
    }
    state.session = {
      token: token,
      customer: {
        external_id: customer.external_id,
        name: typeof customer.name === "string" ? customer.name : "",
        email: typeof customer.email === "string" ? customer.email : "",
      },
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
