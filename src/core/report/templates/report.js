// Filters the findings by severity and code. The state lives in the URL's fragment (#severity=HIGH&code=...), so
// a filtered view can be linked to and the page reads it when it opens. One pass over the findings per change,
// nothing per row of the matrix: the page stays quick with tens of thousands of identities.
(function () {
  "use strict";
  var form = document.getElementById("filters");
  var severity = document.getElementById("filter-severity");
  var code = document.getElementById("filter-code");
  var shown = document.getElementById("shown");
  var findings = document.querySelectorAll("#findings .finding");

  function offered(select, value) {
    for (var i = 0; i < select.options.length; i++) {
      if (select.options[i].value === value) return value;
    }
    return "";
  }

  function apply() {
    var wanted = severity.value, wantedCode = code.value, visible = 0;
    for (var i = 0; i < findings.length; i++) {
      var data = findings[i].dataset;
      var show = (!wanted || data.severity === wanted) && (!wantedCode || data.code === wantedCode);
      findings[i].hidden = !show;
      if (show) visible++;
    }
    shown.textContent = visible + " of " + findings.length + " findings shown";
  }

  function fromFragment() {
    var params = new URLSearchParams(location.hash.slice(1));
    if (!params.has("severity") && !params.has("code")) return;  // a plain anchor such as #errors
    severity.value = offered(severity, params.get("severity") || "");
    code.value = offered(code, params.get("code") || "");
    apply();
  }

  function toFragment() {
    var params = new URLSearchParams();
    if (severity.value) params.set("severity", severity.value);
    if (code.value) params.set("code", code.value);
    try {
      history.replaceState(null, "", "#" + params.toString());  // no history entry per change of a select
    } catch (refused) {
      location.hash = params.toString();  // where a file: page may not replace its own URL
    }
    apply();
  }

  severity.addEventListener("change", toFragment);
  code.addEventListener("change", toFragment);
  form.addEventListener("submit", function (event) { event.preventDefault(); });
  window.addEventListener("hashchange", function () {
    fromFragment();
    if (location.hash.indexOf("=") > 0) document.getElementById("findings").scrollIntoView();
  });
  fromFragment();
}());
