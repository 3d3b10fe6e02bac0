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
