(function () {
  "use strict";
  var severity = document.getElementById("f-severity");
  var collection = document.getElementById("f-collection");
  var count = document.getElementById("f-count");
  var rows = Array.prototype.slice.call(document.querySelectorAll("tr.finding"));

  function apply() {
    var worst = severity.value === "" ? Infinity : Number(severity.value);
    var namespace = collection.value;
    var shown = 0;
    rows.forEach(function (row) {
      var visible = Number(row.getAttribute("data-rank")) <= worst &&
        (namespace === "" || JSON.parse(row.getAttribute("data-namespaces")).indexOf(namespace) >= 0);
      row.hidden = !visible;
      if (visible) { shown += 1; }
    });
    count.textContent = shown + " of " + rows.length + " findings";
  }

  severity.addEventListener("change", apply);
  collection.addEventListener("change", apply);
  Array.prototype.forEach.call(document.querySelectorAll("[data-filter-severity]"), function (button) {
    button.addEventListener("click", function () {
      severity.value = button.getAttribute("data-filter-severity");
      apply();
      document.getElementById("findings").scrollIntoView();
    });
  });
  apply();
})();
