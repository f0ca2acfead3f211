// signalscope report: pan/zoom and search over Graphviz's SVG, cascade highlighting by (signal, sender) state.
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

  // The walks of graph.queries (walk_down, walk_up), over data.down: tail -> [[head, holds]]. A node is a
  // (signal, sender) state, a receiver, a sender or an unresolved write; a receiver is left only by the
  // edges that hold for the sender of the state it was entered from (holds null: every sender), so a
  // click never wanders from one sender's receivers into another's through a shared signal.
  var ANY = {};  // entered from no state: every edge holds
  var up = {};
  Object.keys(data.down).forEach(function (tail) {
    data.down[tail].forEach(function (edge) { (up[edge[0]] = up[edge[0]] || []).push([tail, edge[1]]); });
  });
  var specific = {};  // receivers with an edge that names a sender: where the walk came from matters
  Object.keys(data.down).forEach(function (tail) {
    specific[tail] = data.down[tail].some(function (edge) { return edge[1] !== null; });
  });
  function key(id, sender) { return id + "\n" + (sender === ANY ? "*" : sender === null ? "-" : "=" + sender); }
  function kind(id) { return data.nodes[id].kind; }

  function walkDown(start) {  // what start sets off
    var found = {}, done = {}, todo = [[start, ANY]];
    while (todo.length) {
      var item = todo.pop(), id = item[0], entered = kind(id) === "receiver" && specific[id] ? item[1] : ANY;
      if ((kind(id) === "sender" && id !== start) || done[key(id, entered)]) { continue; }
      done[key(id, entered)] = true;
      (data.down[id] || []).forEach(function (edge) {
        var holds = edge[1];
        if (kind(id) === "receiver" && entered !== ANY && holds !== null && holds !== entered) { return; }
        found[edge[0]] = true;
        todo.push([edge[0], kind(id) === "state" ? data.nodes[id].sender : ANY]);
      });
    }
    delete found[start];
    return Object.keys(found);
  }

  function walkUp(start) {  // what sets start off
    var found = {}, done = {}, todo = [[start, ANY]];
    while (todo.length) {
      var item = todo.pop(), id = item[0], needed = item[1];  // needed: the sender a state must have
      if ((kind(id) === "sender" && id !== start) || done[key(id, needed)]) { continue; }
      done[key(id, needed)] = true;
      (up[id] || []).forEach(function (edge) {
        var tail = edge[0], holds = edge[1];
        if (kind(tail) === "state" && kind(id) === "receiver") {
          if (needed !== ANY && data.nodes[tail].sender !== needed) { return; }
          todo.push([tail, ANY]);
        } else {
          todo.push([tail, kind(tail) === "receiver" && holds !== null ? holds : ANY]);
        }
        found[tail] = true;
      });
    }
    delete found[start];
    return Object.keys(found);
  }
  window.signalscopeWalk = { down: walkDown, up: walkUp };

  function focus(id) {
    Object.keys(nodes).forEach(function (n) { nodes[n].classList.remove("focus", "up", "down"); });
    box.classList.toggle("focused", id !== null);
    document.getElementById("focus-label").textContent = id === null ? "" : data.nodes[id].label;
    if (id === null) { return; }
    nodes[id].classList.add("focus");
    walkDown(id).forEach(function (n) { if (nodes[n]) { nodes[n].classList.add("down"); } });
    walkUp(id).forEach(function (n) { if (nodes[n]) { nodes[n].classList.add("up"); } });
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
