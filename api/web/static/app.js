// Show the justification field only when the chosen decision departs from the recommendation.
"use strict";
document.querySelectorAll("form.decide").forEach(function (form) {
  var box = form.querySelector("[data-hide-unless-departure]");
  var select = form.querySelector("select[name=outcome]");
  if (!box || !select) { return; }
  var recommended = form.dataset.recommended === "true";
  function update() {
    var departs = (select.value === "approve") !== recommended;
    box.hidden = !departs;
  }
  select.addEventListener("change", update);
  update();
});

// Knock-on effects (issue 17): with the decision chosen, show only what it would change.
document.querySelectorAll("form.decide select[name=outcome]").forEach(function (select) {
  var section = document.getElementById("knock-on");
  if (!section) { return; }
  function update() {
    section.querySelectorAll(".knock[data-outcome]").forEach(function (box) {
      box.hidden = box.dataset.outcome !== select.value;
    });
  }
  select.addEventListener("change", update);
  update();
});

// What-if budget (issue 17): the range and the amount box follow each other as they move;
// the form is still submitted to see the frontier there (it works without this script).
(function () {
  var range = document.getElementById("level");
  var box = document.getElementById("budget");
  var out = document.getElementById("level-out");
  if (!range || !box) { return; }
  function dollars(n) { return "$" + Math.round(n).toLocaleString("en-US"); }
  function millions(n) { return "$" + (n / 1e6).toFixed(1) + "M"; }
  range.addEventListener("input", function () {
    var n = Number(range.value);
    box.value = dollars(n);
    range.setAttribute("aria-valuetext", millions(n));
    if (out) { out.textContent = millions(n); }
  });
  box.addEventListener("input", function () {
    var m = /^\s*\$?\s*([0-9][0-9,]*(?:\.[0-9]+)?)\s*(k|m|mm|million|b|bn|billion)?\s*$/i.exec(box.value);
    if (!m) { return; }
    var scale = { k: 1e3, m: 1e6, mm: 1e6, million: 1e6, b: 1e9, bn: 1e9, billion: 1e9 };
    var n = Number(m[1].replace(/,/g, "")) * (m[2] ? scale[m[2].toLowerCase()] : 1);
    if (n >= Number(range.min) && n <= Number(range.max)) {
      range.value = String(n);
      if (out) { out.textContent = millions(n); }
    }
  });
}());

// The nav (issue 17, decision 265): on a phone it is one row that scrolls sideways; bring the
// current page's link into that row's view (without this script the row starts at its first).
(function () {
  var here = document.querySelector(".top nav a[aria-current=page]");
  var row = here && here.closest("ul");
  if (!row || row.scrollWidth <= row.clientWidth) { return; }
  var left = here.getBoundingClientRect().left - row.getBoundingClientRect().left;
  row.scrollLeft += left - (row.clientWidth - here.offsetWidth) / 2;
}());
