/* The mood of the customer over the conversation: an inline SVG, one point per customer message on a -1..1
 * axis with the zero line, plus the same data as a table and a one-sentence summary (for screen readers and
 * for anyone who prefers numbers). */
(function () {
  "use strict";
  const C = window.Console;
  const SVG = "http://www.w3.org/2000/svg";
  const W = 320;
  const H = 150;
  const PAD = { left: 30, right: 10, top: 10, bottom: 22 };

  function svg(tag, attrs, children) {
    const node = document.createElementNS(SVG, tag);
    Object.entries(attrs || {}).forEach(function (pair) { node.setAttribute(pair[0], String(pair[1])); });
    (children || []).forEach(function (child) {
      node.append(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function y(score) {
    const clamped = Math.max(-1, Math.min(1, score));
    return PAD.top + ((1 - clamped) / 2) * (H - PAD.top - PAD.bottom);
  }

  function x(i, n) {
    const width = W - PAD.left - PAD.right;
    return n <= 1 ? PAD.left + width / 2 : PAD.left + (i * width) / (n - 1);
  }

  function summary(points) {
    if (!points.length) return "No customer messages with a mood yet.";
    const scores = points.map(function (p) { return p.score; });
    const last = scores[scores.length - 1];
    const worst = Math.min.apply(null, scores);
    let text = points.length + " customer message" + (points.length === 1 ? "" : "s") + ". Latest: " +
      C.mood(last).label + " (" + C.signed(last) + "). Lowest: " + C.signed(worst) + ".";
    if (points.length >= 2) {
      const half = Math.ceil(points.length / 2);
      const mean = function (list) { return list.reduce(function (a, b) { return a + b; }, 0) / list.length; };
      const change = mean(scores.slice(-half)) - mean(scores.slice(0, half));
      text += change < -0.15 ? " Trend: getting worse." : change > 0.15 ? " Trend: improving." : " Trend: steady.";
    }
    return text;
  }

  function chart(points, labelId) {
    const root = svg("svg", {
      viewBox: "0 0 " + W + " " + H, class: "sentiment-svg", role: "img", "aria-labelledby": labelId,
      preserveAspectRatio: "xMidYMid meet",
    });
    [1, 0.5, 0, -0.5, -1].forEach(function (v) {
      root.append(svg("line", {
        x1: PAD.left, x2: W - PAD.right, y1: y(v), y2: y(v),
        class: v === 0 ? "sentiment-zero" : "sentiment-grid",
      }));
    });
    [[1, "+1"], [0, "0"], [-1, "−1"]].forEach(function (pair) {
      root.append(svg("text", { x: PAD.left - 6, y: y(pair[0]) + 4, class: "sentiment-axis", "text-anchor": "end" }, [pair[1]]));
    });
    root.append(svg("text", { x: PAD.left, y: H - 5, class: "sentiment-axis" }, ["oldest"]));
    root.append(svg("text", { x: W - PAD.right, y: H - 5, class: "sentiment-axis", "text-anchor": "end" }, ["latest"]));
    if (points.length > 1) {
      const line = points.map(function (p, i) { return x(i, points.length).toFixed(1) + "," + y(p.score).toFixed(1); });
      root.append(svg("polyline", { points: line.join(" "), class: "sentiment-line" }));
    }
    points.forEach(function (p, i) {
      const m = C.mood(p.score);
      const when = C.clockTime(C.parseTime(p.ts));
      const title = "Message " + (i + 1) + (when ? " at " + when : "") + ": " + m.label + " (" + C.signed(p.score) + ")" +
        (p.text ? ". “" + p.text.slice(0, 80) + "”" : "");
      root.append(svg("circle", {
        cx: x(i, points.length), cy: y(p.score), r: 4.5, class: "sentiment-point sentiment-point--" + m.tone,
        "data-score": p.score,
      }, [svg("title", {}, [title])]));
    });
    return root;
  }

  function table(tbody, points) {
    tbody.replaceChildren.apply(tbody, points.map(function (p, i) {
      return C.el("tr", {}, [
        C.el("td", {}, [String(i + 1)]),
        C.el("td", {}, [C.clockTime(C.parseTime(p.ts)) || "—"]),
        C.el("td", {}, [C.mood(p.score).label]),
        C.el("td", {}, [C.signed(p.score)]),
        C.el("td", { className: "small" }, [p.text || ""]),
      ]);
    }));
  }

  /** Draws `points` ([{score, label, ts, text}]) into the page's chart, summary and table. */
  function render(points, unavailable) {
    const holder = document.getElementById("sentiment-chart");
    const caption = document.getElementById("sentiment-summary");
    const tbody = document.querySelector("#sentiment-table tbody");
    if (unavailable) {
      holder.replaceChildren();
      caption.textContent = "The mood chart needs the bot's transcript, which is unavailable right now.";
      tbody.replaceChildren();
      return;
    }
    holder.replaceChildren(chart(points, "sentiment-summary"));
    caption.textContent = summary(points);
    table(tbody, points);
  }

  window.SentimentChart = { render: render, summary: summary };
})();
