/* Sticker and LINE emoji pickers for the campaign composer (window.CampaignPickers). No framework.

   Images come from LINE's CDN, loaded by this browser; every image has its IDs as alt text, and
   campaigns-media.js swaps a broken image for those IDs, so the pickers work offline too.

   LINE emoji in a text message are "$" characters in `text` plus `emojis[]` entries whose `index` is that
   "$"'s position in UTF-16 code units. A JavaScript string index is a UTF-16 index, so the arithmetic below
   is exact for any text (CJK, Thai, emoji outside the BMP). */
(function () {
  "use strict";
  // Named gettext so that makemessages -d djangojs finds the strings (served by the campaigns-jsi18n view).
  const gettext = window.gettext || ((s) => s);
  const fmt = (s, values) => (window.interpolate ? window.interpolate(s, values, true) : s.replace(/%\((\w+)\)s/g, (_m, k) => values[k]));
  const STICKER_URL = "https://stickershop.line-scdn.net/stickershop/v1/sticker/{id}/android/sticker.png";
  const EMOJI_URL = "https://stickershop.line-scdn.net/sticonshop/v1/sticon/{product}/android/{emoji}.png";
  const MAX_EMOJIS = 20;
  let uid = 0;

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => { if (v !== null && v !== undefined) node.setAttribute(k, v); });
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function image(src, alt, fallback) {
    return el("img", { src: src, alt: alt, loading: "lazy", decoding: "async", "data-fallback": fallback, draggable: "false" });
  }
  const stickerUrl = (id) => STICKER_URL.replace("{id}", id);
  const emojiUrl = (product, emoji) => EMOJI_URL.replace("{product}", product).replace("{emoji}", emoji);
  const pad3 = (n) => String(n).padStart(3, "0");

  // -- emoji index bookkeeping ------------------------------------------------------------------------

  /* Which part of `before` was replaced to give `after`: [start, endInBefore, insertedLength].
     The caret (selectionEnd after the edit) settles the ambiguity of repeated characters: typing "$" right
     before an emoji's "$" must shift the emoji, not take its place. */
  function editRange(before, after, caret) {
    const delta = after.length - before.length;
    const endBefore = caret - delta;
    if (Number.isInteger(caret) && caret <= after.length && endBefore >= 0 && endBefore <= before.length &&
        before.slice(endBefore) === after.slice(caret)) {
      let p = 0;
      const max = Math.min(caret, endBefore);
      while (p < max && before[p] === after[p]) p++;
      return [p, endBefore, caret - p];
    }
    let p = 0;
    while (p < before.length && p < after.length && before[p] === after[p]) p++;
    let s = 0;
    while (s < before.length - p && s < after.length - p && before[before.length - 1 - s] === after[after.length - 1 - s]) s++;
    return [p, before.length - s, after.length - s - p];
  }

  /* Emojis after an edit: those whose "$" was replaced go, those after it move. */
  function shiftEmojis(emojis, start, endBefore, inserted) {
    const delta = inserted - (endBefore - start);
    return (emojis || [])
      .filter((e) => e.index < start || e.index >= endBefore)
      .map((e) => (e.index >= endBefore ? Object.assign({}, e, { index: e.index + delta }) : e));
  }

  /* Keep only emojis that still sit on a "$" (a template or pasted JSON may be off). */
  function validEmojis(text, emojis) {
    return (emojis || []).filter((e) => Number.isInteger(e.index) && text[e.index] === "$").sort((a, b) => a.index - b.index);
  }

  // -- roving focus for a grid of buttons (one Tab stop, arrow keys inside) --------------------------

  function rovingGrid(container) {
    container.addEventListener("keydown", (event) => {
      const buttons = Array.from(container.querySelectorAll("button"));
      const i = buttons.indexOf(document.activeElement);
      if (i < 0) return;
      const top = buttons[0].offsetTop;
      const columns = Math.max(1, buttons.filter((b) => b.offsetTop === top).length);
      const moves = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: columns, ArrowUp: -columns, Home: -i, End: buttons.length - 1 - i };
      if (!(event.key in moves)) return;
      event.preventDefault();
      const next = buttons[Math.min(buttons.length - 1, Math.max(0, i + moves[event.key]))];
      buttons.forEach((b) => { b.tabIndex = b === next ? 0 : -1; });
      next.focus();
    });
  }

  // -- sticker picker ---------------------------------------------------------------------------------

  /* A radio group of packages and a radio group of that package's stickers: native radios give arrow keys,
     labels and form semantics for free; the images are the labels' content. */
  function stickerPicker({ catalogue, message, index, onPick }) {
    const id = `sp${index}-${++uid}`;
    const wrap = el("div", { class: "picker sticker-picker", "data-testid": `sticker-picker-${index}` });
    const packs = el("fieldset", { class: "picker-sets" });
    packs.appendChild(el("legend", {}, gettext("Sticker package")));
    const packRow = el("div", { class: "set-row" });
    packs.appendChild(packRow);
    const grid = el("fieldset", { class: "picker-grid sticker-grid" });
    const gridLegend = el("legend", {});
    grid.appendChild(gridLegend);
    const cells = el("div", { class: "cells" });
    grid.appendChild(cells);
    let current = catalogue.find((p) => p.packageId === String(message.packageId)) || catalogue[0];

    function showPackage(pack) {
      current = pack;
      gridLegend.textContent = fmt(gettext("Stickers in package %(package)s"), { package: pack.packageId });
      cells.textContent = "";
      for (let s = pack.first; s <= pack.last; s++) {
        const rid = `${id}-s${s}`;
        const radio = el("input", { type: "radio", name: `${id}-sticker`, id: rid, value: String(s), class: "sr-only" });
        radio.checked = String(message.packageId) === pack.packageId && String(message.stickerId) === String(s);
        radio.addEventListener("change", () => { if (radio.checked) onPick(pack.packageId, String(s)); });
        const label = el("label", { for: rid, class: "cell", title: `${pack.packageId}/${s}` });
        label.appendChild(image(stickerUrl(s), fmt(gettext("Sticker %(id)s"), { id: s }), String(s)));
        cells.append(radio, label);
      }
    }
    catalogue.forEach((pack) => {
      const rid = `${id}-p${pack.packageId}`;
      const radio = el("input", { type: "radio", name: `${id}-package`, id: rid, value: pack.packageId, class: "sr-only" });
      radio.checked = pack === current;
      radio.addEventListener("change", () => { if (radio.checked) showPackage(pack); });
      const label = el("label", { for: rid, class: "set", title: fmt(gettext("Package %(package)s"), { package: pack.packageId }) });
      label.appendChild(image(stickerUrl(pack.first), fmt(gettext("Package %(package)s"), { package: pack.packageId }), pack.packageId));
      packRow.append(radio, label);
    });
    showPackage(current);
    wrap.append(packs, grid);
    return wrap;
  }

  // -- emoji picker -----------------------------------------------------------------------------------

  /* A disclosure button, a radio group of emoji sets and a grid of emoji buttons; a click (or Enter/Space)
     calls onPick(productId, emojiId). Built when first opened: a set has up to ~250 emoji. */
  function emojiPicker({ catalogue, index, onPick, countNow }) {
    const id = `ep${index}-${++uid}`;
    const wrap = el("div", { class: "picker emoji-picker", "data-testid": `emoji-picker-${index}` });
    const toggle = el("button", { type: "button", class: "picker-toggle", "aria-expanded": "false", "aria-controls": id, "data-testid": `emoji-toggle-${index}` });
    toggle.append(image(emojiUrl(catalogue[0].productId, "001"), "", ""), el("span", {}, gettext("Insert LINE emoji")));
    const panel = el("div", { id: id, class: "picker-panel", hidden: "" });
    const count = el("p", { class: "help", "aria-live": "polite" });
    wrap.append(toggle, panel);
    let built = false;

    function updateCount() {
      const n = countNow();
      count.textContent = fmt(gettext("%(n)s of %(max)s LINE emoji used in this message. Each is a $ in the text."), { n: n, max: MAX_EMOJIS });
      panel.querySelectorAll(".emoji-grid button").forEach((b) => { b.disabled = n >= MAX_EMOJIS; });
    }
    function build() {
      const sets = el("fieldset", { class: "picker-sets" });
      sets.appendChild(el("legend", {}, gettext("Emoji set")));
      const setRow = el("div", { class: "set-row" });
      sets.appendChild(setRow);
      const grid = el("div", { class: "picker-grid emoji-grid", role: "group" });
      catalogue.forEach((set, n) => {
        const rid = `${id}-set${n}`;
        const radio = el("input", { type: "radio", name: `${id}-set`, id: rid, value: set.productId, class: "sr-only" });
        radio.checked = n === 0;
        radio.addEventListener("change", () => { if (radio.checked) showSet(set, n); });
        const label = el("label", { for: rid, class: "set", title: fmt(gettext("Emoji set %(n)s"), { n: n + 1 }) });
        label.appendChild(image(emojiUrl(set.productId, "001"), fmt(gettext("Emoji set %(n)s"), { n: n + 1 }), String(n + 1)));
        setRow.append(radio, label);
      });
      function showSet(set, n) {
        grid.textContent = "";
        grid.setAttribute("aria-label", fmt(gettext("Emoji in set %(n)s"), { n: n + 1 }));
        for (let e = 1; e <= set.count; e++) {
          const emoji = pad3(e);
          const button = el("button", { type: "button", class: "cell", tabindex: e === 1 ? "0" : "-1", title: `${set.productId}/${emoji}`, "data-emoji": `${set.productId}/${emoji}` });
          button.appendChild(image(emojiUrl(set.productId, emoji), fmt(gettext("Insert LINE emoji %(id)s"), { id: `${n + 1}-${emoji}` }), emoji));
          button.addEventListener("click", () => { onPick(set.productId, emoji); updateCount(); });
          grid.appendChild(button);
        }
        updateCount();
      }
      rovingGrid(grid);
      panel.append(sets, grid, count);
      showSet(catalogue[0], 0);
      built = true;
    }
    toggle.addEventListener("click", () => {
      const open = toggle.getAttribute("aria-expanded") !== "true";
      if (open && !built) build();
      toggle.setAttribute("aria-expanded", String(open));
      panel.hidden = !open;
      if (open) updateCount();
    });
    panel.addEventListener("keydown", (event) => {
      if (event.key === "Escape") { event.preventDefault(); toggle.click(); toggle.focus(); }
    });
    return { node: wrap, refresh: () => { if (built) updateCount(); } };
  }

  /* The emoji already in a text message, each with a remove button (the textarea shows them as "$"). */
  function emojiChips(message, onRemove) {
    const list = el("ul", { class: "emoji-chips", "aria-label": gettext("LINE emoji in this message") });
    validEmojis(message.text || "", message.emojis).forEach((e) => {
      const item = el("li", {});
      item.appendChild(image(emojiUrl(e.productId, e.emojiId), "", e.emojiId));
      item.title = `${e.productId}/${e.emojiId}`;
      const remove = el("button", { type: "button", class: "chip-remove", "aria-label": fmt(gettext("Remove the LINE emoji at character %(n)s"), { n: e.index + 1 }) }, "✕");
      remove.addEventListener("click", () => onRemove(e));
      item.appendChild(remove);
      list.appendChild(item);
    });
    return list;
  }

  window.CampaignPickers = { stickerPicker, emojiPicker, emojiChips, editRange, shiftEmojis, validEmojis, MAX_EMOJIS };
})();
