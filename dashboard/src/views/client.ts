/**
 * The browser side of Unlock, Replay, Save-as-guard and the agent health check. The browser calls
 * the agent directly with a token the dashboard issued for that one action; payloads go from the
 * agent to this page and nowhere else (never to the dashboard). Every failure maps to a specific
 * state: dashboard refusals, agent error codes, and network errors told apart as CORS or
 * unreachable by a no-cors probe of the agent.
 * @module
 */
import { raw, type Html } from "./html.js";

/** Shared helpers: token issuance, agent calls, error-to-state mapping. Plain ES2020, no backticks. */
const COMMON = String.raw`
var cfg = JSON.parse(document.getElementById("flux-config").textContent);
function el(tag, attrs, kids) {
  var n = document.createElement(tag);
  if (attrs) for (var k in attrs) { if (k === "text") n.textContent = attrs[k]; else if (k === "cls") n.className = attrs[k]; else n.setAttribute(k, attrs[k]); }
  (kids || []).forEach(function (c) { if (c != null) n.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
  return n;
}
function FluxState(kind, code, title, detail, fix) { this.kind = kind; this.code = code; this.title = title; this.detail = detail; this.fix = fix; }
function showState(box, s) {
  box.replaceChildren(el("div", { cls: "state " + s.kind, "data-code": s.code }, [
    el("h2", { text: s.title }),
    s.detail ? el("p", { text: s.detail }) : null,
    s.fix ? el("p", {}, [el("b", { text: "Fix: " }), s.fix]) : null,
    el("p", { cls: "small muted", text: "code " + s.code })
  ]));
}
var ORIGIN = location.origin;
var JWKS = ORIGIN + "/.well-known/jwks.json";
function fromDashboard(status, body) {
  var e = (body && body.error) || {};
  var code = e.code || "HTTP_" + status;
  var fix = e.fix || "";
  switch (code) {
    case "ERR_FORBIDDEN": return new FluxState("warn", code, "Your role cannot do this", e.message, fix || "Ask a workspace admin for the responder role.");
    case "ERR_AGENT_NOT_CONFIGURED": return new FluxState("warn", code, "No agent configured for this workspace", e.message, fix);
    case "ERR_SIGNING_KEY_MISSING": return new FluxState("bad", code, "The dashboard cannot sign agent tokens", e.message, fix);
    case "ERR_SIGNING_KEY_INVALID": return new FluxState("bad", code, "The dashboard's signing key is unusable", e.message, fix);
    case "ERR_AUTH_REQUIRED": case "ERR_AUTH_INVALID": return new FluxState("warn", code, "Your session ended", e.message, "Sign in again, then retry.");
    case "ERR_GUARD_NOT_REPAIRED": return new FluxState("warn", code, "This replay is not a repaired one", e.message, fix);
    case "ERR_NOT_FOUND": return new FluxState("bad", code, "Trace not found in this workspace", e.message, fix);
    default: return new FluxState("bad", code, "The dashboard refused the request", e.message || ("HTTP " + status), fix);
  }
}
function fromAgent(status, body, origin) {
  var e = (body && body.error) || {};
  var code = e.code || ("HTTP_" + status);
  var msg = e.message || "";
  var C = code.toUpperCase();
  if (/ORIGIN/.test(C)) return new FluxState("bad", code, "The agent refuses this dashboard's origin", msg, "Add " + ORIGIN + " to the agent's FLUX_ALLOWED_ORIGINS (comma-separated) and restart or redeploy it.");
  if (/EXPIRED/.test(C)) return new FluxState("warn", code, "The token expired before the agent checked it", msg, "Tokens live 60 seconds. Check that the clocks of the dashboard and the agent agree, then try again.");
  if (/REUSED|REPLAY(ED)?_TOKEN|ALREADY_USED|JTI/.test(C)) return new FluxState("warn", code, "The agent refused a token that was already used", msg, "Every token is single use. Click again: the dashboard issues a fresh one.");
  if (/AUD/.test(C)) return new FluxState("bad", code, "The token was issued for another agent", msg, "Admin → Agent: set the agent id to this agent's FLUX_AGENT_ID (the dashboard used " + (cfg.agentId || "none") + ").");
  if (/ISSUER_NOT_CONFIGURED|JWKS|PUBLIC_KEY|NO_ISSUER/.test(C)) return new FluxState("bad", code, "The agent has no dashboard public key", msg, "Set the agent's FLUX_DASHBOARD_JWKS to the JSON at " + JWKS + ".");
  if (/SIGNATURE|KID|ALG|ISSUER|MALFORMED|TOKEN_INVALID|TOKEN_TOO_LARGE/.test(C)) return new FluxState("bad", code, "The agent refused the dashboard's token", msg, "Make the agent trust this dashboard: FLUX_DASHBOARD_JWKS must hold the keys at " + JWKS + ".");
  if (/ACTION|TRACE_MISMATCH|WRONG_TRACE|CLAIM/.test(C)) return new FluxState("bad", code, "The token does not cover this action", msg, "Reload the page and retry; if it persists the dashboard and agent disagree on the token contract (check both versions).");
  if (/TOKEN/.test(C)) return new FluxState("bad", code, "The agent refused the token", msg, "Reload the page and retry.");
  if (/KEY_MISSING|NO_KEY|PRIVATE_KEY/.test(C)) return new FluxState("bad", code, "The agent has no private key", msg, "Run wrangler secret put FLUX_PRIVATE_KEY with the JWK from npx fluxrun keygen (or start fluxrun agent with --key).");
  if (/TRACE_KEY|KEY_MISMATCH/.test(C)) return new FluxState("bad", code, "The trace is sealed to a key the agent does not hold", msg, "Give the agent the private key whose public half the recorded worker has in FLUX_PUBLIC_KEY.");
  if (/NOT_FOUND/.test(C)) return new FluxState("bad", code, "The agent cannot find this trace", msg, "Bind the agent's FLUX_TRACES to the bucket the worker writes (fluxrun-traces).");
  if (/VERSION/.test(C)) return new FluxState("bad", code, "Version mismatch between the trace and the agent", msg, "Upgrade the agent to a fluxrun release that reads this trace's format version, then retry.");
  if (/TRACE_(CORRUPT|TRUNCATED|TAMPERED|SCHEMA)/.test(C)) return new FluxState("bad", code, "The agent could not open this trace", msg, "The stored object is damaged or was changed after sealing; it cannot be unlocked or replayed.");
  if (/REPLAY|BUNDLE|ENVELOPE/.test(C)) return new FluxState("bad", code, "Replay failed", msg, /BUNDLE/.test(C) ? "Fix the build error in your worker and replay again." : "See the message; the agent never falls back to live calls.");
  if (status === 429) return new FluxState("warn", code, "The agent is rate limiting", msg, "Wait a moment and retry.");
  return new FluxState("bad", code, "The agent answered " + status, msg || "No error body.", "Open Diagnostics → Check agent for its health report.");
}
function networkState(origin) {
  return fetch(origin + "/v1/health", { mode: "no-cors", credentials: "omit", cache: "no-store" }).then(function () {
    return new FluxState("bad", "CORS", "The agent refuses this dashboard's origin (CORS)", "The agent at " + origin + " answered, but not to " + ORIGIN + ".", "Add " + ORIGIN + " to the agent's FLUX_ALLOWED_ORIGINS and restart or redeploy it.");
  }, function () {
    return new FluxState("bad", "UNREACHABLE", "The agent is unreachable", "Nothing answered at " + origin + ".", "Start it (npx fluxrun agent binds 127.0.0.1:8788) or fix the agent endpoint in Admin → Agent.");
  });
}
function issue(act, fields) {
  return fetch("/api/tokens", { method: "POST", credentials: "same-origin", headers: { "content-type": "application/json" },
    body: JSON.stringify(fields ? { trace: cfg.trace, act: act, fields: fields } : { trace: cfg.trace, act: act }) })
    .then(function (res) { return res.json().catch(function () { return null; }).then(function (b) { if (!res.ok) throw fromDashboard(res.status, b); return b; }); },
          function () { throw new FluxState("bad", "DASHBOARD_UNREACHABLE", "The dashboard did not answer", "", "Check your connection and reload."); });
}
function callAgent(origin, path, token, payload) {
  return fetch(origin + path, { method: "POST", mode: "cors", credentials: "omit", cache: "no-store",
    headers: { authorization: "Bearer " + token, "content-type": "application/json" }, body: JSON.stringify(payload) })
    .then(function (res) { return res.json().catch(function () { return null; }).then(function (b) { if (!res.ok) throw fromAgent(res.status, b, origin); return b; }); },
          function () { return networkState(origin).then(function (s) { throw s; }); });
}
function asState(err) {
  return err instanceof FluxState ? err : new FluxState("bad", "CLIENT_ERROR", "Something failed in the page", String(err && err.message || err), "Reload and retry.");
}
`;

/** Execution page: unlock, replay, save guard. */
const EXECUTION = String.raw`
var out = document.getElementById("agent-state");
function busy(btn, on) { btn.disabled = on; btn.dataset.label = btn.dataset.label || btn.textContent; btn.textContent = on ? "Working…" : btn.dataset.label; }
function decodeB64(s) { var bin = atob(s); var u = new Uint8Array(bin.length); for (var i = 0; i < bin.length; i++) u[i] = bin.charCodeAt(i); return u; }
function show(f) {
  if (f.missing) return "(not in this trace)";
  if (f.truncated && f.value == null) return "(cut by the size budget: not recorded)";
  if (f.value == null) return "(empty)";
  if (f.encoding === "json") return JSON.stringify(f.value, null, 2);
  if (f.encoding === "base64") {
    var bytes = decodeB64(String(f.value));
    try { var t = new TextDecoder("utf-8", { fatal: true }).decode(bytes); try { return JSON.stringify(JSON.parse(t), null, 2); } catch (e) { return t; } }
    catch (e) { return bytes.length + " bytes (binary) " + Array.prototype.slice.call(bytes, 0, 64).map(function (b) { return ("0" + b.toString(16)).slice(-2); }).join(" ") + (bytes.length > 64 ? " …" : ""); }
  }
  var s = String(f.value);
  try { return JSON.stringify(JSON.parse(s), null, 2); } catch (e) { return s; }
}
function renderUnlocked(res) {
  var box = document.getElementById("unlocked");
  box.replaceChildren(el("h2", { text: "Unlocked payloads" }), el("p", { cls: "small muted", text: "Shown in this page only: not stored by the dashboard. Reloading hides them." }));
  (res.fields || []).forEach(function (f) {
    box.appendChild(el("div", { "data-path": f.path }, [
      el("div", {}, [el("code", { text: f.path }), f.masked ? el("span", { cls: "tag w", text: "masked field" }) : null, f.truncated ? el("span", { cls: "tag w", text: "truncated" }) : null]),
      el("pre", { cls: "val", text: show(f) })
    ]));
    document.querySelectorAll('[data-sealed="' + CSS.escape(f.path) + '"]').forEach(function (n) { n.classList.remove("sealed"); n.replaceChildren(el("pre", { cls: "val", text: show(f) })); });
  });
  box.hidden = false;
}
function outcomeLine(o) { if (!o) return "—"; if (o.error) return "threw " + o.error.name; if (o.status == null) return "no response"; return o.status + (o.body ? " · " + o.body : ""); }
function compact(v) { if (v === undefined) return ""; try { return JSON.stringify(v); } catch (e) { return String(v); } }
function repaired(r) { return r && r.replayed && !r.replayed.error && r.replayed.status != null && r.replayed.status < 500; }
function renderReport(r) {
  var box = document.getElementById("report");
  var match = r.verdict === "match";
  var rows = (r.divergences || []).map(function (d, i) {
    return el("tr", { "data-code": d.code }, [
      el("td", { cls: "num", text: String(i + 1) }), el("td", {}, [el("span", { cls: "badge st-" + (d.code === "changed_outcome" ? "5" : "4"), text: d.code })]),
      el("td", { cls: "mono", text: d.seq == null ? "—" : "#" + d.seq }), el("td", { cls: "mono", text: d.kind + " " + d.op + " " + d.target }),
      el("td", {}, [d.message, d.fields && d.fields.length ? el("div", { cls: "small muted", text: "fields: " + d.fields.join(", ") }) : null,
        d.expected !== undefined ? el("div", { cls: "small mono", text: "expected: " + compact(d.expected) }) : null,
        d.actual !== undefined ? el("div", { cls: "small mono", text: "actual: " + compact(d.actual) }) : null,
        d.closest ? el("div", { cls: "small muted", text: "closest recorded: #" + d.closest.seq + " " + d.closest.op + " " + d.closest.target }) : null])
    ]);
  });
  box.replaceChildren(
    el("div", { cls: "state " + (match ? "good" : "bad"), id: "verdict", "data-verdict": r.verdict }, [
      el("h2", { text: match ? "MATCH: the replay behaved like the recording" : "DIVERGED: " + r.divergences.length + " difference" + (r.divergences.length === 1 ? "" : "s") }),
      el("p", { text: "recorded: " + outcomeLine(r.recorded) + "   ·   replayed: " + outcomeLine(r.replayed) }),
      el("p", { cls: "small muted", text: r.served + " recorded events served · " + r.liveNetworkAttempts + " live network attempts (blocked)" })
    ]),
    rows.length ? el("table", {}, [el("thead", {}, [el("tr", {}, ["#", "code", "event", "call", "detail"].map(function (t) { return el("th", { text: t }); }))]), el("tbody", {}, rows)]) : el("span"),
    r.unconsumed && r.unconsumed.length ? el("p", { cls: "small muted", text: "Recorded but not consumed: " + r.unconsumed.map(function (u) { return "#" + u.seq + " " + u.kind + " " + u.op + " " + u.target; }).join("; ") }) : el("span")
  );
  box.hidden = false;
  var g = document.getElementById("guard");
  if (repaired(r)) {
    g.hidden = false;
    document.getElementById("guard-note").textContent = "The replay ends in " + outcomeLine(r.replayed) + ". Save it to keep this path from regressing.";
    g.dataset.report = JSON.stringify(r);
  } else {
    g.hidden = true;
  }
}
var unlockBtn = document.getElementById("unlock-btn");
if (unlockBtn) unlockBtn.addEventListener("click", function () {
  var fields = Array.prototype.map.call(document.querySelectorAll("input[name=field]:checked"), function (n) { return n.value; });
  if (!fields.length) { showState(out, new FluxState("info", "NO_FIELDS", "Choose what to unlock", "Tick the payloads you need; nothing is unlocked by default.", "")); return; }
  busy(unlockBtn, true); out.replaceChildren();
  issue("unlock", fields).then(function (t) { return callAgent(t.agent.origin, "/v1/unlock", t.token, { trace: cfg.trace, fields: fields }); })
    .then(renderUnlocked).catch(function (e) { showState(out, asState(e)); }).finally(function () { busy(unlockBtn, false); });
});
var replayBtn = document.getElementById("replay-btn");
if (replayBtn) replayBtn.addEventListener("click", function () {
  busy(replayBtn, true); out.replaceChildren();
  issue("replay").then(function (t) { return callAgent(t.agent.origin, "/v1/replay", t.token, { trace: cfg.trace }); })
    .then(renderReport).catch(function (e) { showState(out, asState(e)); }).finally(function () { busy(replayBtn, false); });
});
var guardBtn = document.getElementById("guard-btn");
if (guardBtn) guardBtn.addEventListener("click", function () {
  var g = document.getElementById("guard");
  busy(guardBtn, true);
  fetch("/api/guards", { method: "POST", credentials: "same-origin", headers: { "content-type": "application/json" }, body: JSON.stringify({ trace: cfg.trace, report: JSON.parse(g.dataset.report) }) })
    .then(function (res) { return res.json().catch(function () { return null; }).then(function (b) { if (!res.ok) throw fromDashboard(res.status, b); return b; }); })
    .then(function (b) {
      document.getElementById("guard-done").replaceChildren(
        el("div", { cls: "state good", id: "guard-saved" }, [el("h2", { text: "Regression guard saved" }),
          el("p", { text: "Run it locally next to your wrangler.toml:" }), el("code", { cls: "cmd", text: b.command })]));
      guardBtn.hidden = true;
    }).catch(function (e) { showState(document.getElementById("guard-done"), asState(e)); }).finally(function () { busy(guardBtn, false); });
});
document.querySelectorAll("[data-check]").forEach(function (n) { n.addEventListener("click", function (ev) { ev.preventDefault();
  var on = n.dataset.check === "all";
  document.querySelectorAll("input[name=field]").forEach(function (c) { c.checked = on; });
}); });
`;

/** Diagnostics page: probe the agent's health from the browser. */
const DIAGNOSTICS = String.raw`
var box = document.getElementById("agent-health");
function row(ok, label, detail) { return el("tr", {}, [el("td", {}, [el("span", { cls: "badge " + (ok === true ? "st-2" : ok === false ? "st-5" : "st-none"), text: ok === true ? "ok" : ok === false ? "fix" : "info" })]), el("td", { text: label }), el("td", { cls: "small", text: detail }) ]); }
function pick(o, names) { for (var i = 0; i < names.length; i++) { var v = names[i].split(".").reduce(function (a, k) { return a && typeof a === "object" ? a[k] : undefined; }, o); if (v !== undefined) return v; } return undefined; }
function check() {
  if (!cfg.agentOrigin) { showState(box, new FluxState("warn", "ERR_AGENT_NOT_CONFIGURED", "No agent configured for this workspace", "", cfg.isAdmin ? "Set the agent endpoint and id below." : "Ask a workspace admin to set the agent endpoint.")); return; }
  box.replaceChildren(el("p", { cls: "muted", text: "Checking " + cfg.agentOrigin + " …" }));
  fetch(cfg.agentOrigin + "/v1/health", { mode: "cors", credentials: "omit", cache: "no-store" })
    .then(function (res) { return res.json().catch(function () { return null; }).then(function (b) { if (!res.ok) throw fromAgent(res.status, b, cfg.agentOrigin); return b; }); },
          function () { return networkState(cfg.agentOrigin).then(function (s) { throw s; }); })
    .then(function (h) {
      var rows = [];
      var agentId = pick(h, ["agentId", "agent.id", "config.agentId", "audience"]);
      if (agentId !== undefined) rows.push(row(agentId === cfg.agentId, "Agent id", "agent: " + agentId + " · dashboard issues tokens for: " + (cfg.agentId || "none") + (agentId === cfg.agentId ? "" : " → set the same id in Admin → Agent")));
      var keyLoaded = pick(h, ["key.loaded", "privateKey.loaded", "keyLoaded", "key.ok"]);
      if (keyLoaded !== undefined) rows.push(row(!!keyLoaded, "Private key", keyLoaded ? "loaded" + (pick(h, ["key.kid", "privateKey.kid", "kid"]) ? " · kid " + pick(h, ["key.kid", "privateKey.kid", "kid"]) : "") : "missing → wrangler secret put FLUX_PRIVATE_KEY"));
      var matches = pick(h, ["key.matchesPublicKey", "key.matches", "privateKey.matches"]);
      if (matches !== undefined) rows.push(row(!!matches, "Key matches the public key", matches ? "yes" : "the private key does not match the recorded workers' FLUX_PUBLIC_KEY"));
      var bucket = pick(h, ["bucket.reachable", "traces.reachable", "bucket.ok", "bucketReachable"]);
      if (bucket !== undefined) rows.push(row(!!bucket, "Trace bucket", bucket ? "reachable" : "unreachable → bind FLUX_TRACES to fluxrun-traces"));
      var kids = pick(h, ["issuer.kids", "tokens.kids", "dashboard.kids", "jwks.kids"]);
      var issuer = pick(h, ["issuer.configured", "tokens.issuerConfigured", "issuerConfigured", "dashboard.configured", "jwks.configured"]);
      if (issuer !== undefined || kids !== undefined) {
        var trusts = Array.isArray(kids) ? kids.indexOf(cfg.kid) !== -1 : !!issuer;
        rows.push(row(trusts, "Dashboard public key", trusts ? "trusted" + (cfg.kid ? " (kid " + cfg.kid + ")" : "") : "missing → set FLUX_DASHBOARD_JWKS to the JSON at " + JWKS));
      }
      var origins = pick(h, ["allowedOrigins", "cors.allowedOrigins", "origins"]);
      if (Array.isArray(origins)) rows.push(row(origins.indexOf(ORIGIN) !== -1, "Allowed origins", origins.join(", ") + (origins.indexOf(ORIGIN) !== -1 ? "" : " → add " + ORIGIN)));
      var ver = pick(h, ["versions.trace", "version.trace", "traceVersion", "versions.traceFormat"]);
      if (ver !== undefined) rows.push(row(String(ver).split(",").indexOf(String(cfg.traceVersion)) !== -1 || Number(ver) === cfg.traceVersion, "Trace format", "agent reads v" + ver + " · dashboard indexes v" + cfg.traceVersion));
      var v = pick(h, ["versions.fluxrun", "version", "versions.agent"]);
      if (v !== undefined) rows.push(row(null, "Agent version", typeof v === "object" ? JSON.stringify(v) : String(v)));
      box.replaceChildren(el("div", { cls: "state good", "data-code": "AGENT_OK" }, [el("h2", { text: "The agent answers from " + cfg.agentOrigin })]),
        el("table", {}, [el("tbody", {}, rows.length ? rows : [row(null, "Health report", JSON.stringify(h))])]));
    }).catch(function (e) { showState(box, asState(e)); });
}
var b = document.getElementById("check-agent"); if (b) b.addEventListener("click", check);
if (cfg.autoCheck) check();
`;

export function executionScript(): Html {
  return raw(COMMON + EXECUTION);
}

export function diagnosticsScript(): Html {
  return raw(COMMON + DIAGNOSTICS);
}
