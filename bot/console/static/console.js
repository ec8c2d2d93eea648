/* Tandem agent console: what every page shares (JSON calls with the CSRF token, building DOM as text,
 * times, the live connection). Everything customers or agents wrote goes into the page as text
 * (textContent, text nodes), never as HTML. */
(function () {
  "use strict";

  function csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function pageData() {
    const node = document.getElementById("page-data");
    if (!node) return {};
    try {
      return JSON.parse(node.textContent);
    } catch (e) {
      return {};
    }
  }

  /** fetch() for the console's JSON API: {ok, status, data}; never throws. */
  async function api(method, url, body) {
    const options = { method: method, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (method !== "GET") {
      options.headers["Content-Type"] = "application/json";
      options.headers["X-CSRF-Token"] = csrfToken();
      options.body = JSON.stringify(body || {});
    }
    let response;
    try {
      response = await fetch(url, options);
    } catch (e) {
      return { ok: false, status: 0, data: { error: "The console cannot be reached. Check your connection and try again." } };
    }
    let data = {};
    try {
      data = await response.json();
    } catch (e) {
      data = {};
    }
    if (response.status === 401) {
      window.location.assign("/login?next=" + encodeURIComponent(window.location.pathname));
    }
    if (!response.ok && !data.error) data.error = "Something went wrong (HTTP " + response.status + ").";
    return { ok: response.ok, status: response.status, data: data };
  }

  /** el("td", {className: "x", "data-id": 3}, ["text", otherNode]): strings become text nodes. */
  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(function (pair) {
      const key = pair[0];
      const value = pair[1];
      if (value === null || value === undefined || value === false) return;
      if (key === "className") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key === "hidden") node.hidden = true;
      else if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    });
    (children || []).forEach(function (child) {
      if (child === null || child === undefined || child === false) return;
      node.append(typeof child === "string" || typeof child === "number" ? document.createTextNode(String(child)) : child);
    });
    return node;
  }

  // --- time ----------------------------------------------------------------------------------------------
  let offset = 0; // server clock minus browser clock

  function syncClock(serverIso) {
    const server = Date.parse(serverIso);
    if (!Number.isNaN(server)) offset = server - Date.now();
  }

  function now() {
    return Date.now() + offset;
  }

  function parseTime(value) {
    if (value === null || value === undefined) return NaN;
    if (typeof value === "number") return value * 1000; // seconds since the epoch (Rasa)
    return Date.parse(value);
  }

  function duration(ms) {
    const seconds = Math.max(0, Math.floor(ms / 1000));
    if (seconds < 60) return seconds + " s";
    const minutes = Math.floor(seconds / 60);
    if (minutes < 60) return minutes + " min";
    const hours = Math.floor(minutes / 60);
    if (hours < 48) return hours + " h " + String(minutes % 60).padStart(2, "0") + " min";
    return Math.floor(hours / 24) + " days";
  }

  function clockTime(ms) {
    if (Number.isNaN(ms)) return "";
    return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function dateTime(ms) {
    if (Number.isNaN(ms)) return "—";
    return new Date(ms).toLocaleString([], { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
  }

  /** A -1..1 score as words, with a CSS modifier. */
  function mood(score) {
    if (score === null || score === undefined) return { label: "unknown", tone: "unknown" };
    if (score <= -0.5) return { label: "very negative", tone: "negative" };
    if (score < -0.15) return { label: "negative", tone: "negative" };
    if (score <= 0.15) return { label: "neutral", tone: "neutral" };
    return { label: "positive", tone: "positive" };
  }

  function signed(score) {
    return (score > 0 ? "+" : score < 0 ? "−" : "") + Math.abs(score).toFixed(2);
  }

  // --- the live connection ---------------------------------------------------------------------------------
  function setStatus(state, text) {
    const node = document.getElementById("live-status");
    if (!node) return;
    node.dataset.state = state;
    node.textContent = text;
  }

  /** Connects to /ws, reconnecting with backoff; onMessage(json), onOpen(isReconnect). */
  function connectLive(onMessage, onOpen) {
    let attempt = 0;
    let opened = false;
    function open() {
      const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
      const socket = new WebSocket(scheme + window.location.host + "/ws");
      socket.addEventListener("open", function () {
        attempt = 0;
        setStatus("live", "Live");
        if (onOpen) onOpen(opened);
        opened = true;
      });
      socket.addEventListener("message", function (event) {
        let message;
        try {
          message = JSON.parse(event.data);
        } catch (e) {
          return;
        }
        onMessage(message);
      });
      socket.addEventListener("close", function (event) {
        if (event.code === 4401) {
          window.location.assign("/login");
          return;
        }
        attempt += 1;
        const wait = Math.min(10000, 500 * Math.pow(2, attempt));
        setStatus("offline", "Reconnecting…");
        window.setTimeout(open, wait);
      });
    }
    open();
  }

  function announce(id, text) {
    const node = document.getElementById(id);
    if (!node) return;
    node.textContent = "";
    window.setTimeout(function () {
      node.textContent = text;
    }, 50);
  }

  window.Console = {
    api: api, el: el, pageData: pageData, syncClock: syncClock, now: now, parseTime: parseTime,
    duration: duration, clockTime: clockTime, dateTime: dateTime, mood: mood, signed: signed,
    connectLive: connectLive, announce: announce,
  };
})();
