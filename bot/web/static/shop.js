/* The demo shop page: signs in as a demo customer and hands the token to the chat widget. */
(function () {
  "use strict";

  const form = document.getElementById("demo-customer-form");
  const select = document.getElementById("demo-customer");
  const status = document.getElementById("demo-status");
  const signOut = document.getElementById("demo-sign-out");
  const tryLine = document.getElementById("demo-try");

  /** A first message worth typing for the customer picked (their own order number, their device). */
  function showSuggestion() {
    const option = select.options[select.selectedIndex];
    const suggestion = option ? option.dataset.try : "";
    tryLine.textContent = suggestion ? "Try asking the assistant: \u201c" + suggestion + "\u201d" : "";
  }

  function showCustomer(customer) {
    status.textContent = customer
      ? "Signed in as " + customer.name + " (" + customer.external_id + "). The assistant can now see this customer's orders."
      : "You are chatting anonymously.";
    signOut.hidden = !customer;
    if (customer && Array.from(select.options).some((o) => o.value === customer.external_id)) {
      select.value = customer.external_id;
    }
    showSuggestion();
  }

  async function signIn(event) {
    event.preventDefault();
    if (!select.value) return;
    status.textContent = "Signing in…";
    try {
      // A real shop does this on its server after its own login; see bot/web/shop_site.py.
      const res = await fetch("/api/session", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ customer_id: select.value }),
        credentials: "same-origin",
      });
      const data = await res.json().catch(() => ({}));
      if (!res.ok) throw new Error(data.error || "HTTP " + res.status);
      window.TandemWidget.setCustomer(data.token, data.customer);
      showCustomer(data.customer);
    } catch (err) {
      status.textContent = "Could not sign in: " + err.message;
    }
  }

  function start() {
    form.addEventListener("submit", signIn);
    select.addEventListener("change", showSuggestion);
    signOut.addEventListener("click", () => {
      window.TandemWidget.clearCustomer();
      showCustomer(null);
      select.focus();
    });
    showCustomer(window.TandemWidget.getCustomer());
  }

  if (window.TandemWidget) start();
  else window.addEventListener("tandem:ready", start, { once: true });
})();
