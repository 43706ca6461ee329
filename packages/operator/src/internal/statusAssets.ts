/**
 * The status page's files, served from the package itself (no CDN, no framework): one HTML document, its
 * style sheet and its script. The script polls `status.json` (next to itself) and renders it with DOM
 * calls only — text goes in through `textContent`, never as markup, since much of it comes from providers.
 *
 * Kept as strings so that the compiled package and the one-file command bundle carry them as they are.
 *
 * @internal
 */

/** The page. No inline script or style: the content security policy allows only these files. */
export const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>Checkpointer status</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="status.css">
<script src="status.js" defer></script>
</head>
<body>
<header>
  <h1>Checkpointer</h1>
  <p id="summary" aria-live="polite">loading…</p>
  <p id="connection" class="muted"></p>
</header>
<main>
  <section aria-labelledby="buckets-title">
    <h2 id="buckets-title">Buckets</h2>
    <div id="buckets"></div>
  </section>
  <section aria-labelledby="providers-title">
    <h2 id="providers-title">Providers</h2>
    <div class="scroll"><table id="providers">
      <thead><tr><th>provider, endpoint</th><th>status</th><th>breaker</th><th>p50</th><th>p95</th><th>success</th><th>requests</th><th>last probe</th><th>last error</th></tr></thead>
      <tbody></tbody>
    </table></div>
  </section>
  <section aria-labelledby="events-title">
    <h2 id="events-title">Recent events</h2>
    <ol id="events" reversed></ol>
  </section>
</main>
<noscript>This page updates itself with JavaScript; <a href="status.json">status.json</a> has the same data.</noscript>
</body>
</html>
`

/** The style sheet: readable on a phone, light or dark as the system prefers. */
export const css = `:root {
  --fg: #1b1f24; --muted: #5b6570; --bg: #ffffff; --card: #f4f6f8; --line: #d6dbe0;
  --ok: #137333; --warn: #a15c00; --bad: #b3261e; --info: #0b57d0;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
}
@media (prefers-color-scheme: dark) {
  :root { --fg: #e3e6ea; --muted: #9aa4ae; --bg: #111417; --card: #1b2026; --line: #2e353d;
    --ok: #5bd27a; --warn: #f0b44c; --bad: #ff7b72; --info: #7cacf8; }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); }
header, main { max-width: 72rem; margin: 0 auto; padding: 0 1rem; }
header { padding-top: 1rem; }
h1 { font-size: 1.4rem; margin: 0 0 .25rem; }
h2 { font-size: 1.1rem; margin: 1.5rem 0 .5rem; }
h3 { font-size: 1rem; margin: 0 0 .5rem; }
p { margin: .25rem 0; }
.muted { color: var(--muted); }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .9em; overflow-wrap: anywhere; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: .5rem; padding: .75rem; margin-bottom: .75rem; }
.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(11rem, 1fr)); gap: .25rem 1rem; margin: 0; }
.facts div { min-width: 0; }
.facts dt { color: var(--muted); font-size: .8rem; }
.facts dd { margin: 0; overflow-wrap: anywhere; }
.chip { display: inline-block; border-radius: 1rem; padding: 0 .5rem; font-size: .8rem; border: 1px solid currentColor; margin-right: .25rem; }
.ok { color: var(--ok); } .warn { color: var(--warn); } .bad { color: var(--bad); } .info { color: var(--info); }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 600; font-size: .8rem; }
td { white-space: nowrap; }
td.detail { white-space: normal; min-width: 14rem; max-width: 24rem; overflow-wrap: anywhere; }
.endpoint { font-size: .75rem; overflow-wrap: normal; }
details { margin-top: .5rem; }
summary { cursor: pointer; }
#events { padding-left: 0; list-style: none; margin: 0 0 2rem; }
#events li { padding: .3rem 0; border-bottom: 1px solid var(--line); overflow-wrap: anywhere; }
#events time { color: var(--muted); margin-right: .5rem; font-size: .85rem; }
#connection.bad { font-weight: 600; }
@media (max-width: 40rem) {
  :root { font-size: 14px; }
  .facts { grid-template-columns: repeat(2, minmax(0, 1fr)); }
  th, td { padding: .25rem .3rem; }
}
`

/**
 * The script. Plain ES2017 in the browser: no template literals here (this file is one), no markup built
 * from strings.
 */
export const js = `(function () {
  "use strict";
  var POLL_MILLIS = 2000;
  var script = document.currentScript;
  var endpoint = new URL("status.json", script && script.src ? script.src : window.location.href);
  var last = null;
  var receivedAt = 0;
  var failures = 0;
  var open = {};
  var units = null;

  function el(tag, attributes, children) {
    var node = document.createElement(tag);
    if (attributes) {
      Object.keys(attributes).forEach(function (name) {
        var value = attributes[name];
        if (value === null || value === undefined || value === false) return;
        if (name === "class") node.className = String(value);
        else node.setAttribute(name, String(value));
      });
    }
    (children || []).forEach(function (child) {
      if (child === null || child === undefined) return;
      node.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
    });
    return node;
  }
  function text(value) { return value === null || value === undefined ? "–" : String(value); }
  function short(value) {
    var s = String(value);
    return s.length > 14 ? s.slice(0, 6) + "…" + s.slice(-4) : s;
  }
  function full(value) { return el("span", { class: "mono", title: String(value) }, [short(value)]); }
  function grouped(digits) { return String(digits).replace(/\\B(?=(\\d{3})+(?!\\d))/g, ","); }
  // In the chain's token when the server knows it (exact: the amount is a decimal string), else in planck.
  function amount(planck) {
    if (!units) return grouped(planck) + " planck";
    var digits = String(planck).padStart(units.decimals + 1, "0");
    var whole = digits.slice(0, digits.length - units.decimals);
    var fraction = digits.slice(digits.length - units.decimals).replace(/0+$/, "");
    return whole + (fraction === "" ? "" : "." + fraction) + " " + units.symbol;
  }
  function now() { return last ? last.generatedAtMillis + (Date.now() - receivedAt) : Date.now(); }
  function duration(millis) {
    var s = Math.max(0, Math.round(millis / 1000));
    if (s < 90) return s + " s";
    var m = Math.round(s / 60);
    if (m < 90) return m + " min";
    var h = Math.floor(m / 60);
    if (h < 48) return h + " h " + (m % 60) + " min";
    return Math.floor(h / 24) + " d " + (h % 24) + " h";
  }
  function ago(millis) {
    return el("span", { "data-since": millis, title: new Date(millis).toISOString() }, [duration(now() - millis) + " ago"]);
  }
  function until(millis) {
    var left = millis - now();
    return left <= 0 ? "now" : "in " + duration(left);
  }
  function ms(value) { return value === null || value === undefined ? "–" : Math.round(value) + " ms"; }
  function fact(label, value, field) {
    return el("div", null, [el("dt", null, [label]), el("dd", field ? { "data-field": field } : null, [value])]);
  }
  function chip(label, tone) { return el("span", { class: "chip " + tone }, [label]); }
  var STATUS_TONE = { Healthy: "ok", Degraded: "warn", Unreachable: "bad", Unknown: "muted" };
  var BREAKER_TONE = { Closed: "ok", HalfOpen: "warn", Open: "bad" };

  function renderCheckpoint(bucket) {
    var c = bucket.lastCheckpoint;
    if (!c) return [fact("last checkpoint", "none yet", "block")];
    return [
      fact("last checkpoint", "#" + c.blockNumber, "block"),
      fact("age", ago(c.finalizedAtMillis), "age"),
      fact("leaves", text(c.commitment.leafCount), "leaves"),
      fact("root", full(c.commitment.mmrRoot), "root"),
      fact("signers", el("span", null, c.signers.map(function (s, i) {
        return el("span", null, [i > 0 ? ", " : null, full(s)]);
      })), "signers"),
      fact("fee", c.fee === null ? "not reported" : amount(c.fee), "fee")
    ];
  }
  function nextDue(bucket) {
    if (bucket.paused) return "paused";
    if (bucket.retryNotBeforeMillis !== null) return "retry " + until(bucket.retryNotBeforeMillis);
    if (bucket.nextDueBlock !== null) return "block #" + bucket.nextDueBlock;
    if (bucket.nextDueMillis !== null) return until(bucket.nextDueMillis);
    return "at the next pass";
  }
  function renderRound(bucket) {
    var round = bucket.lastRound;
    var key = "round-" + bucket.bucket;
    var verdict = el("p", { "data-field": "verdict", class: bucket.verdict.paid ? "ok" : bucket.verdict.result === null || bucket.verdict.result === "AlreadyCheckpointed" || bucket.verdict.result === "Submitted" ? "muted" : "warn" }, [
      bucket.verdict.result === null ? null : el("strong", null, [bucket.verdict.result + ": "]),
      bucket.verdict.text
    ]);
    if (!round) return [verdict];
    // The journal records a round's decision before it submits: while that round is in flight, the verdict
    // above is the previous round's.
    var current = bucket.inFlight && bucket.lastAttemptMillis !== null && round.atMillis >= bucket.lastAttemptMillis;
    if (current) verdict.insertBefore(document.createTextNode("previous round — "), verdict.firstChild);
    var conflicts = {};
    round.conflicts.forEach(function (c) { conflicts[c.provider] = c; });
    var rows = round.outcomes.map(function (o) {
      var c = conflicts[o.provider];
      var tone = o.outcome === "Answered" ? (c ? "warn" : "ok") : o.outcome === "NotAwaited" ? "muted" : "bad";
      return el("tr", { "data-provider": o.provider }, [
        el("td", null, [full(o.provider)]),
        el("td", null, [chip(o.outcome, tone)]),
        el("td", null, [String(o.attempts)]),
        el("td", null, [ms(o.latencyMillis)]),
        el("td", null, [text(o.leafCount)]),
        el("td", { class: "detail" }, [c ? c.conflict + ": " + c.detail : [o.reason, o.detail].filter(function (x) { return x; }).join(": ") || "–"])
      ]);
    });
    var details = el("details", { "data-key": key }, [
      el("summary", null, [
        current ? "round in flight, decided " : "last round ", ago(round.atMillis), ": ", round.agreeing + " agree, " + round.required + " required (" + round.totalProviders + " providers, " + round.thresholdPercent + " %) · " + round.resolution
      ]),
      el("p", { class: "muted" }, [round.action + ": " + round.reason + " — " + round.resolutionDetail]),
      round.majority ? el("p", null, ["majority: ", text(round.majority.leafCount), " leaves, root ", full(round.majority.mmrRoot)]) : null,
      el("div", { class: "scroll" }, [el("table", null, [
        el("thead", null, [el("tr", null, ["provider", "outcome", "tries", "latency", "leaves", "conflict / why"].map(function (h) { return el("th", null, [h]); }))]),
        el("tbody", null, rows)
      ])])
    ]);
    if (open[key]) details.open = true;
    details.addEventListener("toggle", function () { open[key] = details.open; });
    return [verdict, details];
  }
  function renderBucket(bucket) {
    var chips = [];
    if (bucket.inFlight) chips.push(chip("round in flight", "info"));
    if (bucket.dirty) chips.push(chip("new data", "info"));
    if (bucket.paused) chips.push(chip("paused", "bad"));
    if (bucket.overdue) chips.push(chip("overdue", "bad"));
    if (bucket.failureStreak > 0) chips.push(chip(bucket.failureStreak + " failed", "warn"));
    var facts = renderCheckpoint(bucket);
    facts.push(fact("next due", nextDue(bucket), "next"));
    return el("article", { class: "card", "data-bucket": bucket.bucket }, [
      el("h3", null, ["Bucket " + bucket.bucket + " "].concat(chips)),
      el("dl", { class: "facts" }, facts)
    ].concat(renderRound(bucket)));
  }
  function renderProvider(p) {
    var probe = p.lastProbe;
    return el("tr", {
      "data-provider": p.provider,
      "data-status": p.status,
      "data-breaker": p.breaker,
      "data-probe": probe ? (probe.ok ? "ok" : "failed") : null
    }, [
      el("td", null, [
        full(p.provider),
        p.endpoint === null ? null : el("div", { class: "muted mono endpoint", "data-endpoint": p.endpoint }, [p.endpoint])
      ]),
      el("td", null, [chip(p.status, STATUS_TONE[p.status] || "muted")]),
      el("td", null, [chip(p.breaker, BREAKER_TONE[p.breaker] || "muted")]),
      el("td", null, [ms(p.latencyP50Millis)]),
      el("td", null, [ms(p.latencyP95Millis)]),
      el("td", null, [p.requests === 0 ? "–" : Math.round(p.successRate * 100) + " %"]),
      el("td", null, [String(p.requests)]),
      el("td", null, probe ? [
        chip(probe.ok ? "ok" : "failed", probe.ok ? "ok" : "bad"),
        ago(probe.atMillis),
        probe.latencyMillis === null ? null : " " + ms(probe.latencyMillis),
        probe.detail === null ? null : el("div", { class: "muted detail" }, [probe.detail])
      ] : ["–"]),
      el("td", { class: "detail" }, [p.lastError === null ? "–" : p.lastError])
    ]);
  }
  function renderEvent(e) {
    var tone = e.type === "CheckpointSubmitted" ? "ok" : e.type === "CheckpointFailed" || e.type === "CheckpointOverdue" || e.type === "LoopPaused" ? "bad" : e.type === "ProviderConflict" || e.type === "ProviderStatusChanged" ? "warn" : "";
    return el("li", { "data-seq": e.seq, "data-type": e.type }, [
      el("time", { datetime: new Date(e.atMillis).toISOString() }, [new Date(e.atMillis).toLocaleTimeString()]),
      chip(e.type, tone),
      " ",
      e.text
    ]);
  }
  function summary(status) {
    var parts = [];
    parts.push(status.readiness.ready ? chip("ready", "ok") : chip("not ready", "bad"));
    status.readiness.reasons.forEach(function (r) {
      var why = r._tag === "ChainDisconnected" ? "chain disconnected: " + r.detail : r._tag === "LoopPaused" ? "loop paused: " + r.reason : r._tag === "BucketsOverdue" ? r.count + " bucket(s) overdue" : r._tag === "LoopStopped" ? "loop stopped" : r._tag;
      parts.push(el("span", { class: "bad" }, [why + " "]));
    });
    parts.push(status.buckets.length + " bucket(s), " + status.providers.length + " provider(s)");
    return parts;
  }
  function looksLikeStatus(value) {
    return value !== null && typeof value === "object" && typeof value.generatedAtMillis === "number" &&
      Array.isArray(value.buckets) && Array.isArray(value.providers) && Array.isArray(value.events) &&
      value.readiness !== null && typeof value.readiness === "object" && Array.isArray(value.readiness.reasons);
  }
  // What is on the page, as the data it was drawn from: with many buckets only what changed is redrawn.
  var drawn = { bucketKeys: null, buckets: [], providers: null, events: null };
  function renderBuckets(buckets) {
    var container = document.getElementById("buckets");
    var keys = buckets.map(function (b) { return String(b.bucket); }).join(",");
    var json = buckets.map(function (b) { return JSON.stringify(b); });
    if (keys === drawn.bucketKeys && container.children.length === buckets.length) {
      buckets.forEach(function (bucket, i) {
        if (json[i] !== drawn.buckets[i]) container.replaceChild(renderBucket(bucket), container.children[i]);
      });
    } else {
      container.replaceChildren.apply(container, buckets.length === 0 ? [el("p", { class: "muted" }, ["no buckets"])] : buckets.map(renderBucket));
    }
    drawn.bucketKeys = buckets.length === 0 ? null : keys;
    drawn.buckets = json;
  }
  function render(status) {
    units = status.units && typeof status.units.decimals === "number" && typeof status.units.symbol === "string" ? status.units : null;
    document.getElementById("summary").replaceChildren.apply(document.getElementById("summary"), summary(status));
    renderBuckets(status.buckets);
    var providersJson = JSON.stringify(status.providers);
    if (providersJson !== drawn.providers) {
      var providers = document.querySelector("#providers tbody");
      providers.replaceChildren.apply(providers, status.providers.map(renderProvider));
      drawn.providers = providersJson;
    }
    var newest = status.events.length === 0 ? 0 : status.events[status.events.length - 1].seq;
    if (newest !== drawn.events) {
      var events = document.getElementById("events");
      events.replaceChildren.apply(events, status.events.slice().reverse().map(renderEvent));
      drawn.events = newest;
    }
  }
  function connection(message, bad) {
    var node = document.getElementById("connection");
    node.textContent = message;
    node.className = bad ? "bad" : "muted";
  }
  function tick() {
    document.querySelectorAll("[data-since]").forEach(function (node) {
      node.textContent = duration(now() - Number(node.getAttribute("data-since"))) + " ago";
    });
    if (last && failures === 0) connection("updated " + duration(Date.now() - receivedAt) + " ago", false);
  }
  function poll() {
    var started = Date.now();
    var controller = new AbortController();
    var timer = setTimeout(function () { controller.abort(); }, 10000);
    fetch(endpoint, { cache: "no-store", signal: controller.signal, headers: { accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (status) {
        if (!looksLikeStatus(status)) throw new Error("not a status document");
        last = status;
        receivedAt = Date.now();
        failures = 0;
        render(status);
        document.body.setAttribute("data-generated", String(status.generatedAtMillis));
        tick();
      })
      .catch(function (error) {
        failures += 1;
        connection("no answer from the checkpointer (" + (error && error.message ? error.message : "error") + "); retrying" + (last ? " — showing the data of " + new Date(last.generatedAtMillis).toLocaleTimeString() : ""), true);
      })
      .then(function () {
        clearTimeout(timer);
        // A checkpointer with many buckets takes longer to answer: it is asked less often, not more.
        var busy = Math.max(POLL_MILLIS, 4 * (Date.now() - started));
        setTimeout(poll, failures === 0 ? Math.min(30000, busy) : Math.min(30000, POLL_MILLIS * Math.pow(2, failures)));
      });
  }
  setInterval(tick, 1000);
  poll();
})();
`
