/* Campaign composer: message cards -> the hidden `messages` JSON, a live phone preview and LINE's limits
   checked as the marketer types (the server runs lineapi.limits and renders the preview). No framework. */
(function () {
  "use strict";
  const form = document.getElementById("campaign-form");
  if (!form) return;
  const t = window.gettext || ((s) => s);
  const hidden = form.querySelector("input[name=messages]");
  const list = document.getElementById("message-list");
  const status = document.getElementById("composer-status");
  const csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  const stickers = (form.dataset.stickers || "").split(",").filter(Boolean);
  const MAX = 5;

  const FIELDS = {
    text: [["text", t("Text"), "textarea"], ["emojis", t("LINE emoji (JSON list, optional)"), "json", true]],
    textV2: [["text", t("Text with {key} placeholders"), "textarea"], ["substitution", t("Substitutions (JSON object)"), "json", true]],
    sticker: [["packageId", t("Sticker package"), "package"], ["stickerId", t("Sticker ID"), "input"]],
    image: [["upload", t("Upload a JPEG or PNG image"), "upload:image"], ["originalContentUrl", t("Image URL (HTTPS)"), "input"], ["previewImageUrl", t("Preview URL (HTTPS)"), "input"]],
    video: [["upload", t("Upload an MP4 video"), "upload:video"], ["originalContentUrl", t("Video URL (HTTPS)"), "input"], ["previewImageUrl", t("Preview image URL (HTTPS)"), "input"], ["trackingId", t("Tracking ID (optional)"), "input", true]],
    audio: [["upload", t("Upload an MP3 or M4A file"), "upload:audio"], ["originalContentUrl", t("Audio URL (HTTPS)"), "input"], ["duration", t("Length in milliseconds"), "number"]],
    location: [["title", t("Title"), "input"], ["address", t("Address"), "input"], ["latitude", t("Latitude"), "number"], ["longitude", t("Longitude"), "number"]],
    imagemap: [["*", t("Imagemap object (JSON: baseUrl, altText, baseSize, actions)"), "object"]],
    template: [["altText", t("Alternative text"), "input"], ["template", t("Template (JSON: buttons, confirm, carousel or image_carousel)"), "json"]],
    flex: [["altText", t("Alternative text"), "input"], ["contents", t("Flex contents (JSON bubble or carousel)"), "json"]],
    coupon: [["couponId", t("Coupon ID"), "input"], ["deliveryTag", t("Delivery tag (optional)"), "input", true]],
  };
  const NUMERIC = new Set(["latitude", "longitude", "duration"]);

  function blank(type) {
    const m = { type: type };
    if (type === "text" || type === "textV2") m.text = "";
    if (type === "sticker") { m.packageId = stickers[0] || "446"; m.stickerId = "1988"; }
    if (type === "template") { m.altText = ""; m.template = { type: "buttons", text: "", actions: [{ type: "message", label: "OK", text: "OK" }] }; }
    if (type === "flex") { m.altText = ""; m.contents = { type: "bubble", body: { type: "box", layout: "vertical", contents: [{ type: "text", text: "Hello" }] } }; }
    if (type === "imagemap") { m.baseUrl = "https://"; m.altText = ""; m.baseSize = { width: 1040, height: 1040 }; m.actions = []; }
    return m;
  }

  let messages = [];
  try { messages = JSON.parse(hidden.value || "[]"); } catch (e) { messages = []; }
  if (!Array.isArray(messages)) messages = [];
  const senderName = document.getElementById("sender-name");
  const senderIcon = document.getElementById("sender-icon");
  const quick = document.getElementById("quick-replies");
  if (messages.length && messages[0].sender) { senderName.value = messages[0].sender.name || ""; senderIcon.value = messages[0].sender.iconUrl || ""; }
  if (messages.length && messages[messages.length - 1].quickReply) quick.value = JSON.stringify(messages[messages.length - 1].quickReply, null, 2);
  messages.forEach((m) => { delete m.sender; delete m.quickReply; });
  if (!messages.length) messages.push(blank("text"));

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => node.setAttribute(k, v));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function fieldInput(m, i, key, label, kind, optional) {
    const wrap = el("div", { class: "field" });
    const id = `m${i}-${key}`;
    const path = key === "*" ? `messages[${i}]` : `messages[${i}].${key}`;
    wrap.appendChild(el("label", { for: id }, label));
    let input;
    if (kind === "textarea") {
      input = el("textarea", { id: id, rows: "4" }); input.value = m[key] || "";
    } else if (kind === "package") {
      input = el("select", { id: id });
      stickers.forEach((p) => { const o = el("option", { value: p }, p); if (String(m[key]) === p) o.selected = true; input.appendChild(o); });
    } else if (kind === "json" || kind === "object") {
      input = el("textarea", { id: id, rows: "8", class: "json", spellcheck: "false" });
      const value = kind === "object" ? Object.fromEntries(Object.entries(m).filter(([k]) => k !== "type")) : m[key];
      input.value = value === undefined ? "" : JSON.stringify(value, null, 2);
    } else if (kind.startsWith("upload:")) {
      input = el("input", { id: id, type: "file", accept: { image: "image/jpeg,image/png", video: "video/mp4", audio: "audio/mpeg,audio/mp4,audio/x-m4a" }[kind.slice(7)] });
      input.addEventListener("change", () => upload(input, kind.slice(7), i));
      wrap.appendChild(input);
      wrap.appendChild(el("p", { class: "error", role: "alert", "data-path": `${path}:upload`, hidden: "" }));
      return wrap;
    } else {
      input = el("input", { id: id, type: NUMERIC.has(key) ? "number" : "text", step: "any" });
      input.value = m[key] === undefined ? "" : m[key];
    }
    input.dataset.key = key; input.dataset.kind = kind; input.dataset.index = i;
    if (optional) input.dataset.optional = "1";
    input.addEventListener("input", () => { readCard(i); changed(); });
    input.addEventListener("change", () => { readCard(i); changed(); });
    wrap.appendChild(input);
    wrap.appendChild(el("p", { class: "error", role: "alert", "data-path": path, hidden: "" }));
    return wrap;
  }

  function render() {
    list.textContent = "";
    messages.forEach((m, i) => {
      const card = el("fieldset", { class: "message-card", "data-index": i, "data-testid": `message-${i}` });
      const legend = el("legend", {}, `${t("Message")} ${i + 1}: ${m.type}`);
      card.appendChild(legend);
      const tools = el("div", { class: "card-tools" });
      const up = el("button", { type: "button", "aria-label": t("Move up") }, "↑");
      up.disabled = i === 0;
      up.addEventListener("click", () => { [messages[i - 1], messages[i]] = [messages[i], messages[i - 1]]; render(); changed(); });
      const remove = el("button", { type: "button", class: "danger", "aria-label": t("Remove message") }, "✕");
      remove.addEventListener("click", () => { messages.splice(i, 1); render(); changed(); });
      tools.append(up, remove);
      card.appendChild(tools);
      (FIELDS[m.type] || [["*", t("Message (JSON)"), "object"]]).forEach(([key, label, kind, optional]) => card.appendChild(fieldInput(m, i, key, label, kind, optional)));
      card.appendChild(el("p", { class: "error", role: "alert", "data-path": `messages[${i}]`, hidden: "" }));
      list.appendChild(card);
    });
    document.getElementById("add-message").disabled = messages.length >= MAX;
  }

  function readCard(i) {
    const m = { type: messages[i].type };
    list.querySelectorAll(`[data-index="${i}"][data-key]`).forEach((input) => {
      const key = input.dataset.key, kind = input.dataset.kind, raw = input.value;
      const local = input.parentNode.querySelector(".error");
      local.hidden = true;
      if (kind === "json" || kind === "object") {
        if (!raw.trim()) return;
        try {
          const value = JSON.parse(raw);
          if (kind === "object") Object.assign(m, value, { type: messages[i].type }); else m[key] = value;
        } catch (e) { local.textContent = t("This is not valid JSON: ") + e.message; local.hidden = false; m[key] = messages[i][key]; }
        return;
      }
      if (raw === "" && input.dataset.optional) return;
      m[key] = NUMERIC.has(key) && raw !== "" ? Number(raw) : raw;
    });
    messages[i] = m;
  }

  function assembled() {
    const out = messages.map((m) => JSON.parse(JSON.stringify(m)));
    const sender = {};
    if (senderName.value.trim()) sender.name = senderName.value.trim();
    if (senderIcon.value.trim()) sender.iconUrl = senderIcon.value.trim();
    if (Object.keys(sender).length) out.forEach((m) => { m.sender = sender; });
    const q = form.querySelector("[data-path-quick]");
    q.hidden = true;
    if (quick.value.trim() && out.length) {
      try { out[out.length - 1].quickReply = JSON.parse(quick.value); } catch (e) { q.textContent = t("This is not valid JSON: ") + e.message; q.hidden = false; }
    }
    return out;
  }

  function showErrors(errors) {
    form.querySelectorAll("[data-path]").forEach((p) => { if (!p.dataset.path.endsWith(":upload")) { p.hidden = true; p.textContent = ""; } });
    const targets = Array.from(form.querySelectorAll("[data-path]")).map((p) => p.dataset.path);
    Object.entries(errors || {}).forEach(([path, msgs]) => {
      let best = "messages";
      targets.forEach((candidate) => { if ((path === candidate || path.startsWith(candidate + ".") || path.startsWith(candidate + "[")) && candidate.length > best.length) best = candidate; });
      if (/\.sender\./.test(path)) best = "messages";
      const node = form.querySelector(`[data-path="${CSS.escape(best)}"]`);
      if (!node) return;
      const prefix = best === path ? "" : path.replace(best, "").replace(/^\./, "") + ": ";
      node.textContent = (node.textContent ? node.textContent + " " : "") + prefix + msgs.join(" ");
      node.hidden = false;
    });
  }

  let timer = null, seq = 0;
  function changed() {
    hidden.value = JSON.stringify(assembled());
    clearTimeout(timer);
    timer = setTimeout(refresh, 250);
  }

  async function refresh() {
    const mine = ++seq;
    const body = new FormData();
    body.append("messages", hidden.value);
    const personalize = form.querySelector("input[name=personalize]");
    if (personalize && personalize.checked) body.append("personalize", "on");
    const response = await fetch(form.dataset.previewUrl, { method: "POST", body: body, headers: { "X-CSRFToken": csrf } });
    if (!response.ok || mine !== seq) return;
    const data = await response.json();
    document.getElementById("phone-preview").innerHTML = data.html;
    showErrors(data.errors);
    const count = Object.keys(data.errors || {}).length;
    status.textContent = count ? t("Some messages need attention before they can be sent.") : t("All LINE limits are met.");
  }

  async function upload(input, kind, i) {
    const file = input.files[0];
    if (!file) return;
    const err = input.parentNode.querySelector(".error");
    err.hidden = true;
    const body = new FormData();
    body.append("kind", kind); body.append("file", file);
    status.textContent = t("Uploading…");
    const response = await fetch(form.dataset.mediaUrl, { method: "POST", body: body, headers: { "X-CSRFToken": csrf } });
    const data = await response.json();
    if (!data.ok) {
      err.textContent = Object.values(data.errors || {}).flat().map((e) => (typeof e === "string" ? e : e.message)).join(" ");
      err.hidden = false; status.textContent = ""; return;
    }
    messages[i].originalContentUrl = data.originalContentUrl;
    if (data.previewImageUrl) messages[i].previewImageUrl = data.previewImageUrl;
    render(); changed();
  }

  async function postJSON(url, extra) {
    const body = new FormData();
    body.append("messages", hidden.value);
    Object.entries(extra || {}).forEach(([k, v]) => body.append(k, v));
    const response = await fetch(url, { method: "POST", body: body, headers: { "X-CSRFToken": csrf } });
    return response.json();
  }

  document.getElementById("add-message").addEventListener("click", () => {
    if (messages.length >= MAX) return;
    messages.push(blank(document.getElementById("new-type").value)); render(); changed();
  });
  document.getElementById("send-test").addEventListener("click", async () => {
    const personalize = form.querySelector("input[name=personalize]");
    const data = await postJSON(form.dataset.testUrl, { personalize: personalize && personalize.checked ? "on" : "" });
    status.textContent = data.ok ? data.message : Object.values(data.errors || {}).flat().join(" ");
  });
  document.getElementById("save-template").addEventListener("click", async () => {
    const name = window.prompt(t("Template name"));
    if (!name) return;
    const data = await postJSON(form.dataset.templatesUrl, { name: name });
    status.textContent = data.ok ? data.message : Object.values(data.errors || {}).flat().join(" ");
  });
  const useTemplate = document.getElementById("use-template");
  if (useTemplate) useTemplate.addEventListener("change", async () => {
    const data = await (await fetch(form.dataset.templatesUrl)).json();
    const tpl = data.templates.find((x) => String(x.id) === useTemplate.value);
    if (!tpl) return;
    messages = tpl.messages.map((m) => { const c = Object.assign({}, m); delete c.sender; delete c.quickReply; return c; });
    render(); changed();
  });
  [senderName, senderIcon, quick].forEach((node) => node.addEventListener("input", changed));
  form.addEventListener("change", (e) => { if (e.target.name === "personalize") changed(); });

  // Show only the fieldset of the chosen audience.
  function audience() {
    const chosen = (form.querySelector("input[name=audience_kind]:checked") || {}).value || "segment";
    form.querySelectorAll("fieldset.aud").forEach((f) => { f.hidden = !f.classList.contains(`aud-${chosen}`); });
  }
  form.querySelectorAll("input[name=audience_kind]").forEach((r) => r.addEventListener("change", audience));
  function when() {
    const later = (form.querySelector("input[name=send_mode]:checked") || {}).value === "later";
    const input = form.querySelector("input[name=scheduled_at]");
    if (input) input.closest(".field").hidden = !later;
  }
  form.querySelectorAll("input[name=send_mode]").forEach((r) => r.addEventListener("change", when));
  form.addEventListener("submit", () => { hidden.value = JSON.stringify(assembled()); });

  render(); audience(); when();
  hidden.value = JSON.stringify(assembled());
  const initial = JSON.parse(document.getElementById("initial-errors").textContent || "{}");
  refresh().then(() => { if (Object.keys(initial).length) showErrors(initial); });
})();
