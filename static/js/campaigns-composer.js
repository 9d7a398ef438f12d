/* Campaign composer: message cards -> the hidden `messages` JSON, a live phone preview and LINE's limits
   checked as the marketer types (the server runs lineapi.limits and renders the preview). No framework.
   Stickers and LINE emoji are picked visually (campaigns-pickers.js). A field's errors appear once the
   marketer has typed in it or tried to save, never on a fresh form. */
(function () {
  "use strict";
  const form = document.getElementById("campaign-form");
  if (!form) return;
  const P = window.CampaignPickers;
  // Named gettext so that makemessages -d djangojs finds the strings (served by the campaigns-jsi18n view).
  const gettext = window.gettext || ((s) => s);
  const fmt = (s, values) => (window.interpolate ? window.interpolate(s, values, true) : s.replace(/%\((\w+)\)s/g, (_m, k) => values[k]));
  const hidden = form.querySelector("input[name=messages]");
  const list = document.getElementById("message-list");
  const status = document.getElementById("composer-status");
  const csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  const stickerCatalogue = JSON.parse(document.getElementById("sticker-catalogue").textContent);
  const emojiCatalogue = JSON.parse(document.getElementById("emoji-catalogue").textContent);
  const MAX = 5;

  const TYPE_NAMES = {
    text: gettext("Text"), textV2: gettext("Text with substitutions"), sticker: gettext("Sticker"), image: gettext("Image"), video: gettext("Video"),
    audio: gettext("Audio"), location: gettext("Location"), imagemap: gettext("Imagemap"), template: gettext("Template"), flex: gettext("Flex"), coupon: gettext("Coupon"),
  };
  const FIELDS = {
    text: [["text", gettext("Text"), "textarea"], ["emojis", gettext("LINE emoji"), "emoji"]],
    textV2: [["text", gettext("Text with {key} placeholders"), "textarea"], ["substitution", gettext("Substitutions (JSON object)"), "json", true], ["substitution", gettext("LINE emoji"), "emoji"]],
    sticker: [["stickerId", gettext("Sticker"), "sticker"]],
    image: [["upload", gettext("Upload a JPEG or PNG image"), "upload:image"], ["originalContentUrl", gettext("Image URL (HTTPS)"), "input"], ["previewImageUrl", gettext("Preview URL (HTTPS)"), "input"]],
    video: [["upload", gettext("Upload an MP4 video"), "upload:video"], ["originalContentUrl", gettext("Video URL (HTTPS)"), "input"], ["previewImageUrl", gettext("Preview image URL (HTTPS)"), "input"], ["trackingId", gettext("Tracking ID (optional)"), "input", true]],
    audio: [["upload", gettext("Upload an MP3 or M4A file"), "upload:audio"], ["originalContentUrl", gettext("Audio URL (HTTPS)"), "input"], ["duration", gettext("Length in milliseconds"), "number"]],
    location: [["title", gettext("Title"), "input"], ["address", gettext("Address"), "input"], ["latitude", gettext("Latitude"), "number"], ["longitude", gettext("Longitude"), "number"]],
    imagemap: [["*", gettext("Imagemap object (JSON: baseUrl, altText, baseSize, actions)"), "object"]],
    template: [["altText", gettext("Alternative text"), "input"], ["template", gettext("Template (JSON: buttons, confirm, carousel or image_carousel)"), "json"]],
    flex: [["altText", gettext("Alternative text"), "input"], ["contents", gettext("Flex contents (JSON bubble or carousel)"), "json"]],
    coupon: [["couponId", gettext("Coupon ID"), "input"], ["deliveryTag", gettext("Delivery tag (optional)"), "input", true]],
  };
  // Keys the pickers own: kept from the message itself, not read back from an input.
  const PICKED = { text: ["emojis"], sticker: ["packageId", "stickerId"] };
  const NUMERIC = new Set(["latitude", "longitude", "duration"]);

  function blank(type) {
    const m = { type: type };
    if (type === "text" || type === "textV2") m.text = "";
    if (type === "sticker") { m.packageId = stickerCatalogue[0].packageId; m.stickerId = String(stickerCatalogue[0].first); }
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
  if (senderName.value || senderIcon.value) senderName.closest("details").open = true;
  messages.forEach((m) => { delete m.sender; delete m.quickReply; });
  if (!messages.length) messages.push(blank("text"));

  // -- when errors may show ------------------------------------------------------------------------
  const touched = new Set();
  let attempted = form.dataset.bound === "1";
  let lastErrors = {};
  const touch = (path) => touched.add(path);
  function mayShow(target) {
    if (attempted) return true;
    if (target === "messages") return touched.size > 0;
    return Array.from(touched).some((p) => p === target || p.startsWith(target + ".") || p.startsWith(target + "[") || target.startsWith(p + "."));
  }

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => node.setAttribute(k, v));
    if (text !== undefined) node.textContent = text;
    return node;
  }
  const errorId = (path) => "err-" + path.replace(/[^\w-]/g, "_");
  function errorNode(path) {
    return el("p", { class: "error", role: "alert", "data-path": path, id: errorId(path), hidden: "" });
  }

  // -- the fields of one message card --------------------------------------------------------------
  const previous = new WeakMap(); // textarea -> its value before the current input event

  function textArea(m, i, key, id, path) {
    const input = el("textarea", { id: id, rows: "4", "aria-describedby": `${id}-help ${errorId(path)}` });
    input.value = m[key] || "";
    previous.set(input, input.value);
    if (m.type === "text") {
      // Keep every emoji on its "$" as the text changes around it.
      input.addEventListener("input", () => {
        const before = previous.get(input), after = input.value;
        const [start, end, inserted] = P.editRange(before, after, input.selectionEnd);
        const count = (messages[i].emojis || []).length;
        messages[i].emojis = P.shiftEmojis(messages[i].emojis, start, end, inserted);
        previous.set(input, after);
        if (messages[i].emojis.length !== count) refreshChips(i);
      });
    }
    return input;
  }

  function fieldInput(m, i, key, label, kind, optional) {
    const wrap = el("div", { class: "field" });
    const id = `m${i}-${key}`;
    const path = key === "*" ? `messages[${i}]` : `messages[${i}].${key}`;
    if (kind === "sticker") return stickerField(m, i, label, wrap);
    if (kind === "emoji") return emojiField(m, i, wrap);
    wrap.appendChild(el("label", { for: id }, label));
    let input;
    if (kind === "textarea") {
      input = textArea(m, i, key, id, path);
    } else if (kind === "json" || kind === "object") {
      input = el("textarea", { id: id, rows: "8", class: "json", spellcheck: "false" });
      const value = kind === "object" ? Object.fromEntries(Object.entries(m).filter(([k]) => k !== "type")) : m[key];
      input.value = value === undefined ? "" : JSON.stringify(value, null, 2);
    } else if (kind.startsWith("upload:")) {
      input = el("input", { id: id, type: "file", accept: { image: "image/jpeg,image/png", video: "video/mp4", audio: "audio/mpeg,audio/mp4,audio/x-m4a" }[kind.slice(7)] });
      input.addEventListener("change", () => upload(input, kind.slice(7), i));
      wrap.appendChild(input);
      wrap.appendChild(errorNode(`${path}:upload`));
      return wrap;
    } else {
      input = el("input", { id: id, type: NUMERIC.has(key) ? "number" : "text", step: "any" });
      input.value = m[key] === undefined ? "" : m[key];
    }
    input.dataset.key = key; input.dataset.kind = kind; input.dataset.index = i;
    if (!input.hasAttribute("aria-describedby")) input.setAttribute("aria-describedby", errorId(path));
    if (optional) input.dataset.optional = "1";
    const edited = () => { touch(path); readCard(i); changed(); };
    input.addEventListener("input", edited);
    input.addEventListener("change", edited);
    wrap.appendChild(input);
    if (kind === "textarea" && m.type === "text") {
      wrap.appendChild(el("small", { class: "help", id: `${id}-help` }, gettext("LINE emoji show as $ here and as pictures in the preview. Type {name} for the friend's name when personalising.")));
    }
    wrap.appendChild(errorNode(path));
    return wrap;
  }

  function stickerField(m, i, label, wrap) {
    wrap.classList.add("picker-field");
    wrap.appendChild(el("p", { class: "help" }, gettext("LINE lets bots send only these stickers. Pick a package, then a sticker (arrow keys move between them).")));
    wrap.appendChild(P.stickerPicker({
      catalogue: stickerCatalogue, message: m, index: i,
      onPick: (packageId, stickerId) => {
        messages[i].packageId = packageId; messages[i].stickerId = stickerId;
        touch(`messages[${i}].stickerId`);
        status.textContent = fmt(gettext("Sticker %(id)s chosen."), { id: `${packageId}/${stickerId}` });
        changed();
      },
    }));
    wrap.appendChild(errorNode(`messages[${i}].stickerId`));
    return wrap;
  }

  const chipHolders = {};
  const emojiPickers = {};
  function emojiField(m, i, wrap) {
    wrap.classList.add("picker-field");
    const picker = P.emojiPicker({
      catalogue: emojiCatalogue, index: i,
      onPick: (productId, emojiId) => insertEmoji(i, productId, emojiId),
      countNow: () => (messages[i].type === "text" ? (messages[i].emojis || []).length
        : Object.values(messages[i].substitution || {}).filter((v) => v && v.type === "emoji").length),
    });
    emojiPickers[i] = picker;
    wrap.appendChild(picker.node);
    if (m.type === "text") {
      const holder = el("div", { class: "chips-holder" });
      chipHolders[i] = holder;
      wrap.appendChild(holder);
      refreshChips(i);
      wrap.appendChild(errorNode(`messages[${i}].emojis`));
    }
    return wrap;
  }

  function refreshChips(i) {
    const holder = chipHolders[i];
    if (!holder) return;
    holder.textContent = "";
    if ((messages[i].emojis || []).length) holder.appendChild(P.emojiChips(messages[i], (e) => removeEmoji(i, e)));
    if (emojiPickers[i]) emojiPickers[i].refresh();
  }

  function textareaOf(i) { return document.getElementById(`m${i}-text`); }

  /* Put "$" (text) or "{eN}" (textV2) at the caret, replacing any selection, and record the emoji. */
  function insertEmoji(i, productId, emojiId) {
    const m = messages[i], area = textareaOf(i);
    const value = area.value;
    const start = area.selectionStart ?? value.length, end = area.selectionEnd ?? start;
    let token = "$";
    if (m.type === "text") {
      if ((m.emojis || []).length >= P.MAX_EMOJIS) return;
      m.emojis = P.shiftEmojis(m.emojis, start, end, 1);
      m.emojis.push({ index: start, productId: productId, emojiId: emojiId });
      m.emojis.sort((a, b) => a.index - b.index);
    } else {
      const subs = Object.assign({}, m.substitution || {});
      let n = 1;
      while (subs[`e${n}`] || value.includes(`{e${n}}`)) n++;
      token = `{e${n}}`;
      subs[`e${n}`] = { type: "emoji", productId: productId, emojiId: emojiId };
      m.substitution = subs;
      const json = document.getElementById(`m${i}-substitution`);
      if (json) json.value = JSON.stringify(subs, null, 2);
    }
    area.value = value.slice(0, start) + token + value.slice(end);
    previous.set(area, area.value);
    area.setSelectionRange(start + token.length, start + token.length);
    m.text = area.value;
    touch(`messages[${i}].text`);
    status.textContent = gettext("LINE emoji inserted.");
    refreshChips(i);
    changed();
  }

  function removeEmoji(i, emoji) {
    const m = messages[i], area = textareaOf(i);
    const value = area.value;
    if (value[emoji.index] !== "$") return;
    area.value = value.slice(0, emoji.index) + value.slice(emoji.index + 1);
    previous.set(area, area.value);
    m.emojis = P.shiftEmojis(m.emojis, emoji.index, emoji.index + 1, 0);
    m.text = area.value;
    status.textContent = gettext("LINE emoji removed.");
    refreshChips(i);
    changed();
    area.focus();
  }

  function toolButton(label, text, disabled, action) {
    const b = el("button", { type: "button", "aria-label": label, title: label }, text);
    b.disabled = disabled;
    b.addEventListener("click", action);
    return b;
  }

  function render() {
    list.textContent = "";
    Object.keys(chipHolders).forEach((k) => delete chipHolders[k]);
    Object.keys(emojiPickers).forEach((k) => delete emojiPickers[k]);
    messages.forEach((m, i) => {
      const card = el("fieldset", { class: "message-card", "data-index": i, "data-testid": `message-${i}` });
      card.appendChild(el("legend", {}, fmt(gettext("Message %(n)s: %(type)s"), { n: i + 1, type: TYPE_NAMES[m.type] || m.type })));
      const tools = el("div", { class: "card-tools" });
      const move = (j) => () => { [messages[j], messages[j + 1]] = [messages[j + 1], messages[j]]; render(); changed(); };
      tools.append(
        toolButton(fmt(gettext("Move message %(n)s up"), { n: i + 1 }), "↑", i === 0, move(i - 1)),
        toolButton(fmt(gettext("Move message %(n)s down"), { n: i + 1 }), "↓", i === messages.length - 1, move(i)),
      );
      const remove = toolButton(fmt(gettext("Remove message %(n)s"), { n: i + 1 }), "✕", false, () => { messages.splice(i, 1); render(); changed(); });
      remove.classList.add("danger");
      tools.appendChild(remove);
      card.appendChild(tools);
      (FIELDS[m.type] || [["*", gettext("Message (JSON)"), "object"]]).forEach(([key, label, kind, optional]) => card.appendChild(fieldInput(m, i, key, label, kind, optional)));
      card.appendChild(errorNode(`messages[${i}]`));
      list.appendChild(card);
    });
    document.getElementById("add-message").disabled = messages.length >= MAX;
  }

  function readCard(i) {
    const m = { type: messages[i].type };
    (PICKED[m.type] || []).forEach((k) => { if (messages[i][k] !== undefined) m[k] = messages[i][k]; });
    list.querySelectorAll(`[data-index="${i}"][data-key]`).forEach((input) => {
      const key = input.dataset.key, kind = input.dataset.kind, raw = input.value;
      const local = input.parentNode.querySelector(".error");
      if (kind === "json" || kind === "object") {
        local.hidden = true;
        delete local.dataset.parse;
        if (!raw.trim()) return;
        try {
          const value = JSON.parse(raw);
          if (kind === "object") Object.assign(m, value, { type: messages[i].type }); else m[key] = value;
        } catch (e) {
          // Kept until the JSON parses again (the live check only sees the last good value).
          local.textContent = fmt(gettext("This is not valid JSON (%(error)s)."), {error: e.message}); local.hidden = false; local.dataset.parse = "1";
          if (kind === "object") Object.assign(m, messages[i]); else m[key] = messages[i][key];
        }
        return;
      }
      if (raw === "" && input.dataset.optional) return;
      m[key] = NUMERIC.has(key) && raw !== "" ? Number(raw) : raw;
    });
    if (m.type === "text") {
      m.emojis = P.validEmojis(m.text || "", m.emojis);
      if (!m.emojis.length) delete m.emojis;
    }
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
      try { out[out.length - 1].quickReply = JSON.parse(quick.value); } catch (e) { q.textContent = fmt(gettext("This is not valid JSON (%(error)s)."), {error: e.message}); q.hidden = false; }
    }
    out.forEach((m) => { if (m.type === "text" && m.emojis && !m.emojis.length) delete m.emojis; });
    return out;
  }

  /* Put each error at the closest field for its LINE path. Only nodes whose text changes are touched, so a
     screen reader announces an error once, not again on every keystroke's live check. */
  function showErrors(errors) {
    lastErrors = errors || {};
    const nodes = Array.from(form.querySelectorAll("[data-path]")).filter((p) => !p.dataset.path.endsWith(":upload") && !p.dataset.parse);
    const targets = Array.from(form.querySelectorAll("[data-path]")).map((p) => p.dataset.path);
    const texts = new Map();
    Object.entries(lastErrors).forEach(([path, msgs]) => {
      let best = "messages";
      targets.forEach((candidate) => { if ((path === candidate || path.startsWith(candidate + ".") || path.startsWith(candidate + "[")) && candidate.length > best.length) best = candidate; });
      if (/\.sender\./.test(path)) best = "messages";
      if (!mayShow(best) && !mayShow(path)) return;
      const prefix = best === path ? "" : path.replace(best, "").replace(/^[.]/, "") + ": ";
      texts.set(best, (texts.has(best) ? texts.get(best) + " " : "") + prefix + msgs.join(" "));
    });
    nodes.forEach((node) => {
      const text = texts.get(node.dataset.path) || "";
      if (node.textContent !== text) node.textContent = text;
      node.hidden = !text;
      const field = node.closest(".field");
      if (field && (text || field.dataset.live)) {
        field.classList.toggle("invalid", Boolean(text)); field.dataset.live = "1";
        const input = field.querySelector("textarea, input:not([type=radio]), select");
        if (input) { if (text) input.setAttribute("aria-invalid", "true"); else input.removeAttribute("aria-invalid"); }
      }
    });
    const count = Object.keys(lastErrors).length;
    const summary = !attempted && !touched.size ? "" : count ? gettext("Some messages need attention before they can be sent.") : gettext("All LINE limits are met.");
    // A changed verdict replaces whatever the status line says; an unchanged one leaves a fresh notice
    // ("LINE emoji inserted.") in place.
    if (summary !== status.dataset.summary || !status.textContent) status.textContent = summary;
    status.dataset.summary = summary;
    return texts.size;
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
  }

  async function upload(input, kind, i) {
    const file = input.files[0];
    if (!file) return;
    const err = input.parentNode.querySelector(".error");
    err.hidden = true;
    const body = new FormData();
    body.append("kind", kind); body.append("file", file);
    status.textContent = gettext("Uploading…");
    const response = await fetch(form.dataset.mediaUrl, { method: "POST", body: body, headers: { "X-CSRFToken": csrf } });
    const data = await response.json();
    if (!data.ok) {
      err.textContent = Object.values(data.errors || {}).flat().map((e) => (typeof e === "string" ? e : e.message)).join(" ");
      err.hidden = false; status.textContent = ""; return;
    }
    messages[i].originalContentUrl = data.originalContentUrl;
    if (data.previewImageUrl) messages[i].previewImageUrl = data.previewImageUrl;
    touch(`messages[${i}]`);
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
    const card = list.querySelector(`[data-index="${messages.length - 1}"]`);
    const first = card && card.querySelector("textarea, input, button.picker-toggle");
    if (first) first.focus();
  });
  document.getElementById("send-test").addEventListener("click", async () => {
    attempted = true;
    const personalize = form.querySelector("input[name=personalize]");
    const data = await postJSON(form.dataset.testUrl, { personalize: personalize && personalize.checked ? "on" : "" });
    showErrors(lastErrors);
    status.textContent = data.ok ? data.message : Object.values(data.errors || {}).flat().join(" ");
  });
  document.getElementById("save-template").addEventListener("click", async () => {
    const name = window.prompt(gettext("Template name"));
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
  [senderName, senderIcon, quick].forEach((node) => node.addEventListener("input", () => { touch("messages"); changed(); }));
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
  // Trying to save shows every error, also those of fields not touched yet.
  form.querySelectorAll("button[type=submit]").forEach((b) => b.addEventListener("click", () => { attempted = true; showErrors(lastErrors); }));
  form.addEventListener("submit", () => { hidden.value = JSON.stringify(assembled()); });

  render(); audience(); when();
  hidden.value = JSON.stringify(assembled());
  const initial = JSON.parse(document.getElementById("initial-errors").textContent || "{}");
  refresh().then(() => { if (Object.keys(initial).length) showErrors(Object.assign({}, lastErrors, initial)); });
})();
