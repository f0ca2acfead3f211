// signalscope report: pan/zoom and search over Graphviz's SVG, cascade highlighting.
// Plain JavaScript, no library: the layout is Graphviz's; this only moves the view
// and toggles classes. The data is the JSON in #signalscope-data.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("signalscope-data").textContent);
  var box = document.getElementById("graph");
  var svg = box ? box.querySelector("svg") : null;
  var nodes = {};  // dot id -> <g class="node">
  if (svg) {
    svg.querySelectorAll("g.node").forEach(function (g) {
      var title = g.querySelector("title");
      if (title) { nodes[title.textContent] = g; }
    });
    svg.removeAttribute("width");
    svg.removeAttribute("height");
    var view = svg.viewBox.baseVal;
    var start = null;
    box.addEventListener("wheel", function (event) {
      event.preventDefault();
      var factor = event.deltaY > 0 ? 1.15 : 1 / 1.15;
      var rect = svg.getBoundingClientRect();
      var x = view.x + (event.clientX - rect.left) / rect.width * view.width;
      var y = view.y + (event.clientY - rect.top) / rect.height * view.height;
      view.x = x - (x - view.x) * factor;
      view.y = y - (y - view.y) * factor;
      view.width *= factor;
      view.height *= factor;
    }, { passive: false });
    box.addEventListener("mousedown", function (event) { start = [event.clientX, event.clientY, view.x, view.y]; });
    window.addEventListener("mouseup", function () { start = null; });
    window.addEventListener("mousemove", function (event) {
      if (!start) { return; }
      var rect = svg.getBoundingClientRect();
      view.x = start[2] - (event.clientX - start[0]) / rect.width * view.width;
      view.y = start[3] - (event.clientY - start[1]) / rect.height * view.height;
    });
    Object.keys(nodes).forEach(function (id) {
      nodes[id].addEventListener("click", function (event) { event.stopPropagation(); focus(id); });
    });
    box.addEventListener("dblclick", function () { focus(null); });
  }

  function walk(id, edges) {  // every node reachable from id along edges (id -> [ids])
    var seen = {}, todo = [id];
    while (todo.length) {
      var next = todo.pop();
      (edges[next] || []).forEach(function (n) { if (!seen[n]) { seen[n] = true; todo.push(n); } });
    }
    delete seen[id];
    return Object.keys(seen);
  }

  function focus(id) {
    Object.keys(nodes).forEach(function (n) { nodes[n].classList.remove("focus", "up", "down"); });
    box.classList.toggle("focused", id !== null);
    document.getElementById("focus-label").textContent = id === null ? "" : data.nodes[id].label;
    if (id === null) { return; }
    nodes[id].classList.add("focus");
    walk(id, data.downstream).forEach(function (n) { if (nodes[n]) { nodes[n].classList.add("down"); } });
    walk(id, data.upstream).forEach(function (n) { if (nodes[n]) { nodes[n].classList.add("up"); } });
  }
  window.signalscopeFocus = focus;

  var search = document.getElementById("search");
  var app = document.getElementById("app");
  function filter() {
    var query = search.value.trim().toLowerCase();
    var wanted = app.value;
    Object.keys(nodes).forEach(function (id) {
      var node = data.nodes[id];
      var hit = query && node.search.indexOf(query) !== -1;
      nodes[id].classList.toggle("hit", !!hit);
      nodes[id].style.display = wanted && node.app && node.app !== wanted ? "none" : "";
    });
    document.querySelectorAll("[data-search]").forEach(function (row) {
      var text = row.getAttribute("data-search");
      var inApp = !wanted || row.getAttribute("data-app") === wanted || !row.getAttribute("data-app");
      row.classList.toggle("hidden", !(inApp && (!query || text.indexOf(query) !== -1)));
    });
  }
  search.addEventListener("input", filter);
  app.addEventListener("change", filter);

  var model = document.getElementById("impact-model");
  var action = document.getElementById("impact-action");
  function showImpact() {
    document.querySelectorAll("pre.impact").forEach(function (pre) {
      pre.hidden = !(pre.getAttribute("data-model") === model.value && pre.getAttribute("data-action") === action.value);
    });
  }
  if (model && action) {
    model.addEventListener("change", showImpact);
    action.addEventListener("change", showImpact);
  }
})();
