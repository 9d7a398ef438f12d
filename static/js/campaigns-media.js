/* LINE's sticker and emoji images come from LINE's CDN. When one cannot load (offline, blocked, removed),
   show its IDs instead of a broken-image icon: every such <img> carries them in data-fallback. */
(function () {
  "use strict";
  function fallback(img) {
    const span = document.createElement("span");
    span.className = "img-fallback";
    span.textContent = img.dataset.fallback;
    if (img.alt) {
      span.title = img.alt;
      span.setAttribute("role", "img");
      span.setAttribute("aria-label", img.alt);
    }
    img.replaceWith(span);
  }
  document.addEventListener("error", (event) => {
    const img = event.target;
    if (img instanceof HTMLImageElement && img.dataset.fallback !== undefined) fallback(img);
  }, true);
  // Images that failed before this script ran.
  document.querySelectorAll("img[data-fallback]").forEach((img) => {
    if (img.complete && img.naturalWidth === 0 && img.getAttribute("src")) fallback(img);
  });
})();
