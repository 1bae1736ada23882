/* privatelink-scanner report: renders the embedded findings (no library, no network).
 * Every value from the data reaches the page through textContent or a DOM property, never
 * as markup; nothing here sets innerHTML, inline styles or event-handler attributes. */
(function () {
  "use strict";

  var STATUS_RANK = { ERROR: 0, FAIL: 1, PASS: 2, NOT_APPLICABLE: 3 };
  var SEV_RANK = { critical: 0, high: 1, medium: 2, low: 3, info: 4 };
  var STATUSES = ["ERROR", "FAIL", "PASS", "NOT_APPLICABLE"];
  var VERDICT_RULES = {
    "notebook-no-public-access-path": "notebook instance",
    "studio-domain-no-public-access-path": "Studio domain"
  };
  var KIND_LABELS = {
    iam_inbound: "inbound through IAM",
    internet_outbound: "outbound to the internet",
    public_internet: "over the public internet"
  };
  var ROWS_PAGE = 100;
  var TARGETS_PAGE = 50;
  var PATHS_PAGE = 100;
  var TARGETS_OPEN = 1;

  var data = JSON.parse(document.getElementById("data").textContent);
  var hasOwn = Object.prototype.hasOwnProperty;
  var PH = data.placeholder;
  var rules = data.rules || [];
  var strings = data.strings || [];
  var values = data.values || [];
  var paths = data.paths || {};
  var targetSets = data.target_sets || {};
  var TARGET_LISTS = ["notebooks", "user_profiles"];

  // -- helpers ----------------------------------------------------------------------------
  function own(obj, key) { return obj != null && hasOwn.call(obj, key) ? obj[key] : undefined; }
  function put(obj, key, value) {
    // A plain data property even for a key such as "__proto__" (keys come from AWS data).
    Object.defineProperty(obj, key, { value: value, enumerable: true, writable: true, configurable: true });
  }
  function fill(template, rid) { return template.indexOf(PH) < 0 ? template : template.split(PH).join(rid); }
  // A templated string cell: an index into ``strings`` (resource id as PH), or the text.
  function cellText(cell, rid) { return typeof cell === "string" ? cell : fill(strings[cell], rid); }

  // The packed rows (see htmlout.page_data) as finding objects; evidence and remediation
  // are unpacked on first use.
  var findings = (data.findings || []).map(function (row) {
    var rule = rules[row[0]];
    var extra = row[11] || {};
    var rid = row[6];
    return {
      rule_id: rule.id,
      status: data.statuses[row[1]],
      severity: data.severities[row[2]],
      account_id: strings[row[3]],
      region: strings[row[4]],
      resource_type: strings[row[5]],
      resource_id: rid,
      fingerprint: row[7],
      message: cellText(row[8], rid),
      resource_arn: row[9] === -1 ? null : cellText(row[9], rid),
      title: hasOwn.call(extra, "title") ? extra.title : rule.title,
      frameworks: (hasOwn.call(extra, "frameworks") ? extra.frameworks : rule.frameworks) || {},
      waiver: extra.waiver || null,
      waived: !!extra.waiver,
      rule: rule,
      packedEvidence: row[10] || {},
      extra: extra,
      unpacked: null
    };
  });

  function evidenceOf(f) {
    if (f.unpacked === null) {
      var refs = new Set(f.extra.evidence_refs || []);
      var out = {};
      Object.keys(f.packedEvidence).forEach(function (k) {
        var v = f.packedEvidence[k];
        put(out, k, refs.has(k) ? values[v] : v);
      });
      f.unpacked = out;
    }
    return f.unpacked;
  }

  function remediationOf(f) {
    if (hasOwn.call(f.extra, "remediation")) { return f.extra.remediation || {}; }
    var base = f.rule.remediation || {};
    var out = {};
    Object.keys(base).forEach(function (k) {
      var v = base[k];
      put(out, k, k === "cli" && f.rule.cli_templated && typeof v === "string" ? fill(v, f.resource_id) : v);
    });
    var diff = f.extra.remediation_diff || {};
    Object.keys(diff).forEach(function (k) { put(out, k, diff[k]); });
    return out;
  }

  // A path as its finding had it: the id looked up in ``paths``, and a shared notebook or
  // user-profile list (``<key>_set``) looked up in ``target_sets`` (see findings.json).
  function pathOf(ref) {
    var p = typeof ref === "string" ? own(paths, ref) : ref;
    if (p === undefined || p === null || typeof p !== "object") { return { missing_path_id: String(ref) }; }
    var sets = TARGET_LISTS.filter(function (k) { return hasOwn.call(p, k + "_set"); });
    if (!sets.length) { return p; }
    var out = {};
    Object.keys(p).forEach(function (k) { put(out, k, p[k]); });
    sets.forEach(function (k) {
      var arns = own(targetSets, p[k + "_set"]);
      delete out[k + "_set"];
      put(out, k, arns === undefined ? [] : arns);
    });
    return out;
  }
  function pathsOf(f) {
    var ev = evidenceOf(f);
    return Array.isArray(ev.paths) ? ev.paths.map(pathOf) : [];
  }
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }
  function add(parent, child) { parent.appendChild(child); return child; }
  function byId(id) { return document.getElementById(id); }
  function all(selector) { return Array.prototype.slice.call(document.querySelectorAll(selector)); }
  function lastSegment(arn) { var s = String(arn); return s.slice(s.lastIndexOf("/") + 1); }
  function dl(parent, rows) {
    var list = add(parent, el("dl"));
    rows.forEach(function (row) {
      if (row[1] === undefined || row[1] === null || row[1] === "") { return; }
      add(list, el("dt", null, row[0]));
      var dd = add(list, el("dd"));
      if (row[1] instanceof Node) { dd.appendChild(row[1]); } else { dd.textContent = String(row[1]); }
    });
    return list;
  }
  function codeNode(text) { return el("code", null, text); }
  function moreButton(box, left, page, onClick) {
    var button = add(box, el("button", "more", "Show " + Math.min(left, page) + " more (" + left + " left)"));
    button.type = "button";
    button.addEventListener("click", function () { button.remove(); onClick(); });
    return button;
  }

  // -- the verdict: public access paths ---------------------------------------------------
  function grantText(p) {
    var g = p.grant || {};
    var stmt = g.sid ? "statement " + g.sid + " (#" + g.statement_index + ")" : "statement #" + g.statement_index;
    var via = String(g.via || "");
    var through = via.indexOf("group:") === 0 ? "group " + via.slice(6) : "the " + (via || "principal") + "'s own policies";
    return stmt + " of " + (g.policy_kind || "") + " policy " + (g.policy || "?") + ", through " + through;
  }

  function pathNode(p, f) {
    var kind = p.kind || (p.principal ? "iam_inbound" : "unknown");
    var box = el("div", "path kind-" + kind);
    var chain = add(box, el("div", "chain"));
    add(chain, el("span", "badge kind kind-" + kind, p.kind_label || own(KIND_LABELS, kind) || kind));
    if (p.principal) {
      add(chain, codeNode(p.principal));
      add(chain, el("span", "arrow", "\u2192"));
      add(chain, codeNode(p.action));
      add(chain, el("span", "arrow", "\u2192"));
      add(chain, codeNode(f.resource_id));
      var profiles = Array.isArray(p.user_profiles) ? p.user_profiles : [];
      if (profiles.length) {
        add(chain, el("span", "muted", "user profile " + profiles.map(lastSegment).join(", ")));
      }
      var fix = el("div");
      add(fix, el("div", null, p.remediation));
      if (p.fix_cli) { add(fix, el("pre", "cli", p.fix_cli)); }
      dl(box, [
        ["Granted by", p.grant ? grantText(p) : ""],
        ["Context that gets through", p.description],
        ["Not modelled", (p.unmodelled_keys || []).join(", ")],
        ["Fix", fix]
      ]);
    } else {
      add(chain, el("span", null, p.summary || p.missing_path_id || ""));
      dl(box, [["What closes it", p.close]]);
    }
    return box;
  }

  function renderPaths(list, items, f, start) {
    var end = Math.min(start + PATHS_PAGE, items.length);
    for (var i = start; i < end; i++) { list.appendChild(pathNode(items[i], f)); }
    if (end < items.length) {
      moreButton(list, items.length - end, PATHS_PAGE, function () { renderPaths(list, items, f, end); });
    }
  }

  function targetNode(f, open) {
    var d = el("details", "target");
    d.setAttribute("data-fingerprint", f.fingerprint);
    var s = add(d, el("summary"));
    var ev = evidenceOf(f);
    add(s, el("span", "muted", VERDICT_RULES[f.rule_id]));
    add(s, el("code", "res", f.resource_id));
    add(s, el("span", "where", f.account_id + " / " + f.region));
    var total = ev.paths_total !== undefined ? ev.paths_total : pathsOf(f).length;
    add(s, el("b", "status-FAIL", total + " path(s)"));
    var byKind = ev.paths_by_kind || {};
    Object.keys(byKind).forEach(function (kind) {
      if (byKind[kind]) { add(s, el("span", "chip kind-" + kind, byKind[kind] + " " + (own(KIND_LABELS, kind) || kind))); }
    });
    if (f.waived) { add(s, el("span", "badge waived", "WAIVED")); }
    var built = false;
    function build() {
      if (built) { return; }
      built = true;
      var body = add(d, el("div", "target-body"));
      renderPaths(add(body, el("div", "path-list")), pathsOf(f), f, 0);
      if (ev.paths_not_listed) { add(body, el("p", "muted", String(ev.paths_not_listed))); }
      if (Array.isArray(ev.undecided) && ev.undecided.length) {
        add(body, el("p", "muted", "Undecided: " + ev.undecided.join("; ")));
      }
    }
    d.addEventListener("toggle", function () { if (d.open) { build(); } });
    if (open) { build(); d.open = true; }
    return d;
  }

  function renderTargets(box, targets, start) {
    var end = Math.min(start + TARGETS_PAGE, targets.length);
    var frag = document.createDocumentFragment();
    for (var i = start; i < end; i++) { frag.appendChild(targetNode(targets[i], i < TARGETS_OPEN)); }
    box.appendChild(frag);
    if (end < targets.length) {
      moreButton(box, targets.length - end, TARGETS_PAGE, function () { renderTargets(box, targets, end); });
    }
  }

  function renderVerdict() {
    var box = byId("verdict-list");
    if (!box) { return; }
    var targets = findings.filter(function (f) {
      return f.status === "FAIL" && hasOwn.call(VERDICT_RULES, f.rule_id);
    });
    renderTargets(box, targets, 0);
  }

  // -- findings: filter, sort, search -----------------------------------------------------
  var controls = {
    status: all(".status-filter"),
    severity: all(".severity-filter"),
    framework: byId("f-framework"),
    account: byId("f-account"),
    region: byId("f-region"),
    waived: byId("f-waived"),
    sort: byId("sort"),
    search: byId("search")
  };
  var groupsBox = byId("groups");
  var countBox = byId("visible-count");
  var openGroups = new Set();
  var orders = {};
  var haystacks = new Array(findings.length);
  var totals = new Map();
  findings.forEach(function (f) { totals.set(f.rule_id, (totals.get(f.rule_id) || 0) + 1); });

  function cmp(a, b) { return a < b ? -1 : (a > b ? 1 : 0); }
  var SORTS = {
    status: null, // the page's own order (ERROR, FAIL by severity, then the rest)
    severity: function (a, b) {
      return (SEV_RANK[a.severity] - SEV_RANK[b.severity]) || (STATUS_RANK[a.status] - STATUS_RANK[b.status]) ||
        cmp(a.rule_id, b.rule_id) || cmp(a.resource_id, b.resource_id);
    },
    resource: function (a, b) {
      return cmp(a.resource_id, b.resource_id) || cmp(a.rule_id, b.rule_id) || cmp(a.account_id, b.account_id);
    },
    location: function (a, b) {
      return cmp(a.account_id, b.account_id) || cmp(a.region, b.region) ||
        (STATUS_RANK[a.status] - STATUS_RANK[b.status]) || cmp(a.resource_id, b.resource_id);
    }
  };

  function order(key) {
    if (!orders[key]) {
      var idx = findings.map(function (_, i) { return i; });
      var fn = own(SORTS, key);
      if (fn) { idx.sort(function (i, j) { return fn(findings[i], findings[j]) || (i - j); }); }
      orders[key] = idx;
    }
    return orders[key];
  }

  function haystack(i) {
    var h = haystacks[i];
    if (h === undefined) {
      var f = findings[i];
      var fw = f.frameworks;
      var parts = [f.rule_id, f.title, f.resource_id, f.resource_arn, f.resource_type,
        f.message, f.account_id, f.region, f.fingerprint, f.status, f.severity];
      Object.keys(fw).forEach(function (k) { parts.push(k, (fw[k] || []).join(" ")); });
      if (f.waiver) { parts.push("waived", f.waiver.owner, f.waiver.reason, f.waiver.ticket); }
      h = haystacks[i] = parts.filter(function (x) { return x !== undefined && x !== null; }).join("\n").toLowerCase();
    }
    return h;
  }

  function checkedSet(boxes) {
    var out = {};
    boxes.forEach(function (b) { out[b.value] = b.checked; });
    return out;
  }

  function readState() {
    var q = controls.search ? controls.search.value.trim().toLowerCase() : "";
    return {
      status: checkedSet(controls.status),
      severity: checkedSet(controls.severity),
      framework: controls.framework ? controls.framework.value : "",
      account: controls.account ? controls.account.value : "",
      region: controls.region ? controls.region.value : "",
      waived: controls.waived ? controls.waived.value : "",
      sort: controls.sort ? controls.sort.value : "status",
      terms: q ? q.split(/\s+/) : []
    };
  }

  function matches(f, i, st) {
    if (!own(st.status, f.status) || !own(st.severity, f.severity)) { return false; }
    if (st.account && f.account_id !== st.account) { return false; }
    if (st.region && f.region !== st.region) { return false; }
    if (st.framework && !hasOwn.call(f.frameworks, st.framework)) { return false; }
    if (st.waived === "waived" && !f.waived) { return false; }
    if (st.waived === "unwaived" && f.waived) { return false; }
    if (st.terms.length) {
      var h = haystack(i);
      for (var t = 0; t < st.terms.length; t++) { if (h.indexOf(st.terms[t]) < 0) { return false; } }
    }
    return true;
  }

  function jsonText(f) {
    var ev = evidenceOf(f);
    return JSON.stringify(ev, function (key, value) {
      return key === "paths" && this === ev && Array.isArray(value) ? value.map(pathOf) : value;
    }, 2);
  }

  function detailNode(f) {
    var box = el("div", "detail");
    var fw = f.frameworks;
    var fwBox = el("div");
    Object.keys(fw).forEach(function (k) {
      var line = add(fwBox, el("div"));
      add(line, el("b", null, own(data.frameworks, k) || k));
      add(line, document.createTextNode(" " + (fw[k] || []).join(", ")));
    });
    var waiver = null;
    if (f.waiver) {
      var w = f.waiver;
      waiver = el("span", null, "waived by " + w.owner + " until " + w.expires + (w.ticket ? " (" + w.ticket + ")" : "") + ": " + w.reason);
    }
    dl(box, [
      ["Rule", f.title ? f.rule_id + ": " + f.title : f.rule_id],
      ["Severity", f.severity],
      ["Resource", f.resource_id + " (" + f.resource_type + ")"],
      ["ARN", f.resource_arn],
      ["Account / region", f.account_id + " / " + f.region],
      ["Message", f.message],
      ["Frameworks", Object.keys(fw).length ? fwBox : ""],
      ["Waiver", waiver],
      ["Fingerprint", f.fingerprint]
    ]);
    var rem = remediationOf(f);
    if (Object.keys(rem).length) {
      add(box, el("h4", null, "Remediation"));
      if (rem.text) { add(box, el("p", null, rem.text)); }
      if (rem.cli) { add(box, el("pre", "cli", rem.cli)); }
      Object.keys(rem).forEach(function (k) {
        if (k === "text" || k === "cli" || k === "references") { return; }
        var v = rem[k];
        add(box, el("div", null, k + ": " + (typeof v === "string" ? v : JSON.stringify(v))));
      });
      var refs = Array.isArray(rem.references) ? rem.references : [];
      if (refs.length) {
        add(box, el("h4", null, "References"));
        var ul = add(box, el("ul"));
        refs.forEach(function (ref) {
          var li = add(ul, el("li"));
          var text = String(ref);
          if (/^https:\/\/[^\s]+$/i.test(text)) {
            var a = add(li, el("a", null, text));
            a.href = text;
            a.rel = "noopener noreferrer";
            a.target = "_blank";
          } else {
            li.textContent = text;
          }
        });
      }
    }
    add(box, el("h4", null, "Evidence"));
    add(box, el("pre", "evidence", jsonText(f)));
    return box;
  }

  function rowNode(f) {
    var d = el("details", "finding");
    d.setAttribute("data-status", f.status);
    d.setAttribute("data-fingerprint", f.fingerprint);
    var s = add(d, el("summary"));
    var head = add(s, el("span"));
    add(head, el("span", "badge status-" + f.status, f.status));
    if (f.waived) { add(head, document.createTextNode(" ")); add(head, el("span", "badge waived", "WAIVED")); }
    add(head, el("span", "sev sev-" + f.severity, " " + f.severity));
    add(s, el("code", "res", f.resource_id));
    add(s, el("span", "where", f.account_id + " / " + f.region));
    add(s, el("span", "msg", f.message));
    var built = false;
    d.addEventListener("toggle", function () {
      if (d.open && !built) { built = true; d.appendChild(detailNode(f)); }
    });
    return d;
  }

  function renderRows(g, list, start) {
    var end = Math.min(start + ROWS_PAGE, g.items.length);
    var frag = document.createDocumentFragment();
    for (var k = start; k < end; k++) { frag.appendChild(rowNode(findings[g.items[k]])); }
    list.appendChild(frag);
    if (end < g.items.length) {
      moreButton(list, g.items.length - end, ROWS_PAGE, function () { renderRows(g, list, end); });
    }
  }

  function groupNode(g) {
    var first = findings[g.items[0]];
    var d = el("details", "group");
    d.setAttribute("data-rule", g.rule);
    var s = add(d, el("summary"));
    add(s, el("span", "sev sev-" + first.severity, first.severity));
    add(s, el("code", "rule-id", g.rule));
    add(s, el("span", "rule-title", first.title || ""));
    var counts = add(s, el("span", "counts"));
    STATUSES.forEach(function (st) {
      if (g.counts[st]) { add(counts, el("span", "badge status-" + st, g.counts[st] + " " + st)); }
    });
    if (g.waived) { add(counts, el("span", "badge waived", g.waived + " WAIVED")); }
    add(s, el("span", "muted", g.items.length + " of " + totals.get(g.rule) + " shown"));
    var built = false;
    function build() {
      if (built) { return; }
      built = true;
      var body = add(d, el("div", "group-body"));
      var fw = first.frameworks;
      var names = Object.keys(fw).map(function (k) { return (own(data.frameworks, k) || k) + " " + (fw[k] || []).join(", "); });
      if (names.length) { add(body, el("div", "rule-info", names.join(" \u00b7 "))); }
      renderRows(g, add(body, el("div", "rows")), 0);
    }
    d.addEventListener("toggle", function () {
      if (d.open) { openGroups.add(g.rule); build(); } else { openGroups.delete(g.rule); }
    });
    if (openGroups.has(g.rule)) { build(); d.open = true; }
    return d;
  }

  var current = [];
  function apply() {
    var st = readState();
    var idx = order(st.sort);
    var groups = new Map();
    var shown = 0;
    for (var j = 0; j < idx.length; j++) {
      var i = idx[j];
      var f = findings[i];
      if (!matches(f, i, st)) { continue; }
      shown += 1;
      var g = groups.get(f.rule_id);
      if (!g) { g = { rule: f.rule_id, items: [], counts: {}, waived: 0 }; groups.set(f.rule_id, g); }
      g.items.push(i);
      g.counts[f.status] = (g.counts[f.status] || 0) + 1;
      if (f.waived) { g.waived += 1; }
    }
    current = Array.from(groups.values());
    var frag = document.createDocumentFragment();
    current.forEach(function (grp) { frag.appendChild(groupNode(grp)); });
    if (!current.length) { frag.appendChild(el("div", "empty", "No finding matches these filters.")); }
    groupsBox.textContent = "";
    groupsBox.appendChild(frag);
    groupsBox.setAttribute("data-search", st.terms.join(" "));
    countBox.textContent = shown + " of " + findings.length + " findings shown" +
      (current.length ? " in " + current.length + " rule group(s)" : "");
  }

  var timer = null;
  function later() {
    if (timer !== null) { clearTimeout(timer); }
    timer = setTimeout(function () { timer = null; apply(); }, 120);
  }

  controls.status.concat(controls.severity).forEach(function (b) { b.addEventListener("change", apply); });
  [controls.framework, controls.account, controls.region, controls.waived, controls.sort].forEach(function (c) {
    if (c) { c.addEventListener("change", apply); }
  });
  if (controls.search) { controls.search.addEventListener("input", later); }
  byId("reset").addEventListener("click", function () {
    controls.status.forEach(function (b) { b.checked = b.value === "ERROR" || b.value === "FAIL"; });
    controls.severity.forEach(function (b) { b.checked = true; });
    [controls.framework, controls.account, controls.region, controls.waived].forEach(function (c) { if (c) { c.value = ""; } });
    if (controls.sort) { controls.sort.value = "status"; }
    if (controls.search) { controls.search.value = ""; }
    openGroups.clear();
    apply();
  });
  byId("expand-all").addEventListener("click", function () {
    all("#groups > details.group").forEach(function (d) { d.open = true; });
  });
  byId("collapse-all").addEventListener("click", function () {
    all("#groups > details.group").forEach(function (d) { d.open = false; });
  });

  renderVerdict();
  apply();
  document.documentElement.setAttribute("data-ready", String(performance.now()));
})();
