/* heapshape report: runs first, so that any error of the page (even a syntax error in
 * report.js) is counted on <html data-errors=N> and listed in window.__hsErrors. */
window.__hsErrors = [];
(function () {
  function note(msg) {
    window.__hsErrors.push(String(msg));
    document.documentElement.setAttribute("data-errors", String(window.__hsErrors.length));
  }
  window.addEventListener("error", function (e) { note(e.message || "error"); });
  window.addEventListener("unhandledrejection", function (e) { note(e.reason); });
  var orig = console.error;
  console.error = function () {
    note(Array.prototype.join.call(arguments, " "));
    return orig.apply(console, arguments);
  };
})();
