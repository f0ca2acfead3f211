// signalscope report: lays out the chosen part of the graph with Graphviz (WebAssembly, inline), pan/zoom, search,
// cascade highlighting by (signal, sender) state. Plain JavaScript, no library but the vendored Graphviz: the
// graph comes as DOT statements (the same as `signalscope graph`'s), this composes the part to draw, and the
// module script after this one hands over Graphviz. The data is the JSON in #signalscope-data.
(function () {
  "use strict";
  // The data and the impact trees come gzipped, in base64 (a tenth of the size): the browser unpacks them.
  function unpack(id) {
    var text = atob(document.getElementById(id).textContent.trim());
    var bytes = new Uint8Array(text.length);
    for (var i = 0; i < text.length; i++) { bytes[i] = text.charCodeAt(i); }
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Response(stream).text().then(JSON.parse);
  }
  // Called by the module script after this one, with the vendored Graphviz class.
  var graphvizClass = new Promise(function (resolve) { window.signalscopeGraphvizLoaded = resolve; });
  unpack("signalscope-data").then(function (data) {
    window.signalscopeData = data;
    start(data);
  });
  unpack("signalscope-impacts").then(impacts);

  function start(data) {
    var box = document.getElementById("graph");
    var statusText = document.getElementById("graph-status");
    var viewChoice = document.getElementById("graph-view");
    var djangoChoice = document.getElementById("graph-django");
    var aroundButton = document.getElementById("graph-around");
    var FONT = 10;  // the DOT's node fontsize: a viewBox unit is a pt, so text is FONT * scale px high
    var LEGIBLE = 9;  // px: below this, the view is not fitted to the window but zoomed to READABLE
    var READABLE = 1.1;  // 11 px text
    var COLLAPSED = "ndjango";  // the one node Django's own receivers are drawn as (not an id of render.dot's)
    var graphviz = null;
    var svg = null;
    var nodes = {};  // dot id -> its <g class="node"> in the drawn SVG
    var members = {};  // drawn id -> the data ids it stands for (the collapsed node: many)
    var drawnCount = 0;
    var full = null;  // the drawn graph's own view box
    var focused = null;
    var around = null;  // the node whose cascade alone is drawn, or null
    var forced = false;  // draw a view larger than data.limit
    // n0, n1, ...: the order of render.dot's statements (the JSON's keys are sorted as text: n10 before n2)
    var ids = Object.keys(data.nodes).sort(function (a, b) { return a.slice(1) - b.slice(1); });
    ids.forEach(function (id) {
      var node = data.nodes[id];
      node.search = (node.label + " " + node.name).toLowerCase();
    });
    function status(text) { statusText.textContent = text; }

    // -- the walks of graph.queries (walk_down, walk_up), over data.down: tail -> [[head, holds]] ----------
    // A node is a (signal, sender) state, a receiver, a sender or an unresolved write; a receiver is left only
    // by the edges that hold for the sender of the state it was entered from (holds null: every sender), so a
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

    // -- which part is drawn -----------------------------------------------------------------------------
    var heads = {}, tails = {};  // every edge, dead ones too: what is drawn next to what
    data.edges.forEach(function (edge) {
      (heads[edge[0]] = heads[edge[0]] || []).push(edge[1]);
      (tails[edge[1]] = tails[edge[1]] || []).push(edge[0]);
    });

    function chosen() {  // the data ids of the view: everything, one app and its neighbours, or one cascade
      var keep = {};
      if (around !== null) {
        keep[around] = true;
        walkDown(around).concat(walkUp(around)).forEach(function (id) { keep[id] = true; });
        return keep;
      }
      var app = viewChoice.value;
      if (!app) {
        ids.forEach(function (id) { keep[id] = true; });
        return keep;
      }
      ids.forEach(function (id) {  // the app's nodes, and the sends and senders next to them (other apps'
        if (data.nodes[id].app !== app) { return; }  // receivers are in those apps' views)
        keep[id] = true;
        (heads[id] || []).concat(tails[id] || []).forEach(function (next) {
          if (kind(next) !== "receiver") { keep[next] = true; }
        });
      });
      Object.keys(keep).forEach(function (id) {  // the senders of the states drawn
        if (kind(id) === "state") {
          (tails[id] || []).forEach(function (tail) { if (kind(tail) === "sender") { keep[tail] = true; } });
        }
      });
      return keep;
    }

    function isCollapsed(id, app) {
      // Django's own receivers, and the states only they hear, are one node unless asked for one by one.
      if (djangoChoice.checked || id === around || (app && data.nodes[id].app === app)) { return false; }
      if (data.nodes[id].django) { return true; }
      if (kind(id) !== "state" || !(heads[id] || []).length) { return false; }
      return (heads[id] || []).every(function (head) { return !!data.nodes[head].django; });
    }

    function view() {  // {nodes: [[id, attrs]], edges: [[tail, head, attrs]], members}
      var keep = chosen(), app = around === null ? viewChoice.value : "";
      var shown = {}, groups = {}, hidden = 0;
      ids.forEach(function (id) {
        if (!keep[id]) { return; }
        var to = isCollapsed(id, app) ? COLLAPSED : id;
        shown[id] = to;
        (groups[to] = groups[to] || []).push(id);
        if (to === COLLAPSED && data.nodes[id].django) { hidden += 1; }
      });
      var out = [];
      ids.forEach(function (id) { if (shown[id] === id) { out.push([id, data.nodes[id].dot]); } });
      if (groups[COLLAPSED]) {
        var label = "Django's own receivers (" + hidden + ")\\nand the sends only they hear";
        out.push([COLLAPSED, 'label="' + label + '", shape=box, style="dashed,filled", fillcolor="#f3f4f6", color="#888888"']);
      }
      var edges = [], seen = {};
      data.edges.forEach(function (edge) {
        var tail = shown[edge[0]], head = shown[edge[1]];
        if (tail === undefined || head === undefined) { return; }
        if (tail === edge[0] && head === edge[1]) { edges.push(edge); return; }
        if (tail === head || seen[tail + ">" + head]) { return; }
        seen[tail + ">" + head] = true;
        edges.push([tail, head, 'style=dashed, color="#888888"']);
      });
      return { nodes: out, edges: edges, members: groups };
    }

    function dotText(v) {
      var lines = data.preamble.slice();
      v.nodes.forEach(function (n) { lines.push("  " + n[0] + " [" + n[1] + "];"); });
      v.edges.forEach(function (e) { lines.push("  " + e[0] + " -> " + e[1] + " [" + e[2] + "];"); });
      lines.push("}");
      return lines.join("\n") + "\n";
    }
    window.signalscopeDot = function () { return dotText(view()); };

    function draw() {
      if (graphviz === null) { return; }
      var v = view();
      focus(null);
      svg = null;
      nodes = {};
      members = v.members;
      drawnCount = 0;  // until the new layout is in the page
      if (!v.nodes.length) {
        box.innerHTML = '<p class="notice">Nothing to draw: no receiver here.</p>';
        status("");
        return;
      }
      if (v.nodes.length > data.limit && !forced) {
        box.innerHTML = "";
        var note = document.createElement("div");
        note.className = "notice";
        note.textContent = "This part of the graph has " + v.nodes.length.toLocaleString("en") + " nodes: too many to " +
          "read at once, and laying them out takes a while. Choose an app above, or click a node once drawn and " +
          "draw only its cascade. ";
        var anyway = document.createElement("button");
        anyway.type = "button";
        anyway.id = "graph-anyway";
        anyway.textContent = "Lay out all " + v.nodes.length.toLocaleString("en") + " nodes anyway";
        anyway.addEventListener("click", function () { forced = true; draw(); });
        note.appendChild(anyway);
        box.appendChild(note);
        status("");
        return;
      }
      status("Laying out " + v.nodes.length.toLocaleString("en") + " nodes with Graphviz…");
      // Two frames: the status is painted before the layout holds the page.
      requestAnimationFrame(function () {
        requestAnimationFrame(function () {
          var start = performance.now(), text;
          try {
            text = graphviz.dot(dotText(v));
          } catch (err) {
            status("Graphviz could not lay this out: " + err);
            return;
          }
          box.innerHTML = text.slice(text.indexOf("<svg"));
          svg = box.querySelector("svg");
          svg.removeAttribute("width");
          svg.removeAttribute("height");
          var vb = svg.viewBox.baseVal;
          full = { x: vb.x, y: vb.y, width: vb.width, height: vb.height };
          svg.querySelectorAll("g.node").forEach(function (g) {
            var title = g.querySelector("title");
            if (title) { nodes[title.textContent] = g; }
          });
          Object.keys(nodes).forEach(function (id) {
            nodes[id].addEventListener("click", function (event) { event.stopPropagation(); focus(id); });
          });
          drawnCount = v.nodes.length;
          var fitted = place(false);
          status("Laid out " + v.nodes.length.toLocaleString("en") + " nodes in " +
            ((performance.now() - start) / 1000).toFixed(1) + " s" +
            (fitted ? "." : "; shown at a readable size: drag to move, or fit it to the window."));
          filter();
          box.dispatchEvent(new CustomEvent("signalscope:drawn"));
        });
      });
    }

    function scale() {  // screen px per view box unit
      if (!svg) { return 0; }
      var rect = svg.getBoundingClientRect(), vb = svg.viewBox.baseVal;
      return Math.min(rect.width / vb.width, rect.height / vb.height);
    }

    function place(all) {
      // Fit the graph to the window if its text stays legible there (or `all`); else show it at a readable
      // size around its busiest node (the most edges), which is where a reader starts.
      var view = svg.viewBox.baseVal, rect = box.getBoundingClientRect();
      var fit = Math.min(rect.width / full.width, rect.height / full.height);
      var s = Math.min(fit, 1.5), fitted = all || s * FONT >= LEGIBLE;
      if (!fitted) { s = READABLE; }
      view.width = rect.width / s;
      view.height = rect.height / s;
      view.x = full.x - (view.width - full.width) / 2;
      view.y = full.y - (view.height - full.height) / 2;
      if (fitted) { return true; }
      var hub = busiest();
      if (hub) {  // the hub's centre, in view box units, from where it is on the screen now
        var at = hub.getBoundingClientRect(), origin = svg.getBoundingClientRect(), px = scale();
        var cx = view.x + (at.left + at.width / 2 - origin.left) / px;
        var cy = view.y + (at.top + at.height / 2 - origin.top) / px;
        view.x = clamp(cx - view.width / 2, full.x, full.x + full.width - view.width);
        view.y = clamp(cy - view.height / 2, full.y, full.y + full.height - view.height);
      }
      return false;
    }

    function clamp(value, low, high) { return high < low ? (low + high) / 2 : Math.min(Math.max(value, low), high); }

    function busiest() {
      var degree = {}, best = null;
      svg.querySelectorAll("g.edge title").forEach(function (title) {  // "n1->n2"
        title.textContent.split("->").forEach(function (end) { degree[end] = (degree[end] || 0) + 1; });
      });
      Object.keys(nodes).forEach(function (id) {
        if (best === null || (degree[id] || 0) > (degree[best] || 0)) { best = id; }
      });
      return best === null ? null : nodes[best];
    }

    window.signalscopeGraph = {
      scale: scale,
      drawn: function () { return drawnCount; },
      draw: function () { forced = true; draw(); },
    };

    var start = null;
    box.addEventListener("wheel", function (event) {
      if (!svg) { return; }
      event.preventDefault();
      var view = svg.viewBox.baseVal;
      var factor = event.deltaY > 0 ? 1.15 : 1 / 1.15;
      var rect = svg.getBoundingClientRect();
      var x = view.x + (event.clientX - rect.left) / rect.width * view.width;
      var y = view.y + (event.clientY - rect.top) / rect.height * view.height;
      view.x = x - (x - view.x) * factor;
      view.y = y - (y - view.y) * factor;
      view.width *= factor;
      view.height *= factor;
    }, { passive: false });
    box.addEventListener("mousedown", function (event) {
      if (svg) { start = [event.clientX, event.clientY, svg.viewBox.baseVal.x, svg.viewBox.baseVal.y]; }
    });
    window.addEventListener("mouseup", function () { start = null; });
    window.addEventListener("mousemove", function (event) {
      if (!start || !svg) { return; }
      var view = svg.viewBox.baseVal, rect = svg.getBoundingClientRect();
      view.x = start[2] - (event.clientX - start[0]) / rect.width * view.width;
      view.y = start[3] - (event.clientY - start[1]) / rect.height * view.height;
    });
    box.addEventListener("dblclick", function () { focus(null); });
    document.getElementById("graph-fit").addEventListener("click", function () { if (svg) { place(true); } });

    function light(found, name) {  // mark the drawn nodes that stand for any of `found`
      var set = {};
      found.forEach(function (id) { set[id] = true; });
      Object.keys(nodes).forEach(function (drawn) {
        if ((members[drawn] || [drawn]).some(function (id) { return set[id]; })) { nodes[drawn].classList.add(name); }
      });
    }

    function focus(id) {
      if (id === COLLAPSED) {  // many nodes: show them one by one instead
        djangoChoice.checked = true;
        draw();
        return;
      }
      Object.keys(nodes).forEach(function (n) { nodes[n].classList.remove("focus", "up", "down"); });
      box.classList.toggle("focused", id !== null);
      focused = id;
      aroundButton.disabled = id === null;
      document.getElementById("focus-label").textContent = id === null ? "" : data.nodes[id].label;
      if (id === null) { return; }
      if (nodes[id]) { nodes[id].classList.add("focus"); }
      light(walkDown(id), "down");
      light(walkUp(id), "up");
    }
    window.signalscopeFocus = focus;

    aroundButton.addEventListener("click", function () {
      if (focused === null) { return; }
      around = focused;
      var option = viewChoice.querySelector("option[data-around]") || document.createElement("option");
      option.setAttribute("data-around", "");
      option.value = "\u0000around";
      option.textContent = "the cascade of " + data.nodes[around].label;
      viewChoice.appendChild(option);
      viewChoice.value = option.value;
      draw();
    });
    viewChoice.addEventListener("change", function () {
      if (viewChoice.value !== "\u0000around") {
        around = null;
        var option = viewChoice.querySelector("option[data-around]");
        if (option) { option.remove(); }
      }
      forced = false;
      draw();
    });
    djangoChoice.addEventListener("change", draw);

    // -- search and the app filter (tables and graph) ----------------------------------------------------
    var search = document.getElementById("search");
    var app = document.getElementById("app");
    function filter() {
      var query = search.value.trim().toLowerCase();
      var wanted = app.value;
      Object.keys(nodes).forEach(function (drawn) {
        var hit = query && (members[drawn] || [drawn]).some(function (id) {
          return data.nodes[id].search.indexOf(query) !== -1;
        });
        nodes[drawn].classList.toggle("hit", !!hit);
      });
      document.querySelectorAll("[data-search]").forEach(function (row) {
        var text = row.getAttribute("data-search");
        var inApp = !wanted || row.getAttribute("data-app") === wanted || !row.getAttribute("data-app");
        var shown = inApp && (!query || text.indexOf(query) !== -1);
        row.classList.toggle("hidden", !shown);
        if (query && shown && row.tagName === "DETAILS") { row.open = true; }
      });
    }
    search.addEventListener("input", filter);
    app.addEventListener("change", function () {
      filter();
      if (viewChoice.value !== app.value) {
        viewChoice.value = app.value;
        viewChoice.dispatchEvent(new Event("change"));
      }
    });


    // -- the first view: everything if it is small enough to read, else the app with the most nodes that is ---
    function firstView() {
      if (view().nodes.length <= data.limit) { return; }
      var best = null, most = 0;
      Array.prototype.forEach.call(viewChoice.options, function (option) {
        if (!option.value) { return; }
        viewChoice.value = option.value;
        var count = view().nodes.length;
        if (count <= data.limit && count > most) { best = option.value; most = count; }
      });
      viewChoice.value = best || "";
    }

    graphvizClass.then(function (Graphviz) { return Graphviz.load(); }).then(function (loaded) {
      graphviz = loaded;
      firstView();
      draw();
    }, function (err) { status("Graphviz could not be loaded in this browser: " + err); });
  }

  // What a write sets off: model -> action -> the `impact` tree's text, one shown at a time.
  function impacts(trees) {
    var model = document.getElementById("impact-model");
    var action = document.getElementById("impact-action");
    var pre = document.getElementById("impact-tree");
    if (!model || !action || !pre) { return; }
    function show() {
      var text = (trees[model.value] || {})[action.value];
      pre.setAttribute("data-model", model.value);
      pre.setAttribute("data-action", action.value);
      pre.textContent = text === undefined ? "No receiver runs for a " + action.value + " of " + model.value + "." : text;
    }
    model.addEventListener("change", show);
    action.addEventListener("change", show);
    show();
  }
})();
