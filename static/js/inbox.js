// Inbox: keep the thread scrolled to the newest line, keep the reading position when older lines load,
// and let a saved reply fill the reply box. Everything else is htmx.
(function () {
  function list() { return document.getElementById("messages"); }
  function nearBottom(el) { return el.scrollHeight - el.scrollTop - el.clientHeight < 120; }
  var el = list();
  if (el) el.scrollTop = el.scrollHeight;
  var keepFromBottom = null, stick = false;
  document.body.addEventListener("htmx:beforeSwap", function (e) {
    var m = list();
    if (!m || !m.contains(e.detail.target)) return;
    if (e.detail.target.hasAttribute("data-older")) keepFromBottom = m.scrollHeight - m.scrollTop;
    else stick = nearBottom(m);
  });
  document.body.addEventListener("htmx:afterSwap", function () {
    var m = list();
    if (!m) return;
    if (keepFromBottom !== null) { m.scrollTop = m.scrollHeight - keepFromBottom; keepFromBottom = null; }
    else if (stick) { m.scrollTop = m.scrollHeight; stick = false; }
  });
  document.addEventListener("change", function (e) {
    var t = e.target;
    if (t.matches && t.matches("select[data-fills]") && t.value) {
      var box = document.querySelector(t.getAttribute("data-fills"));
      if (box) { box.value = t.value; box.focus(); }
      t.value = "";
    }
  });
})();
