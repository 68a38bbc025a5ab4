/**
 * The views with real data: filters, cursor pagination, counts, the execution page's sealed
 * evidence, the overview, diagnostics states, guards, admin actions (audited), and ingest tokens.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../src/app.js";
import { sweep } from "../src/indexer/sweep.js";
import { encodeCbor, decodeCbor } from "fluxrun/trace";
import { encodeIngestBatch, traceKey } from "fluxrun/contract";
import type { Env } from "../src/env.js";
import {
  bearer,
  frozenClock,
  hexId,
  jsonPost,
  makeEnv,
  putTrace,
  sealedBytes,
  seed,
  signingJwk,
  startStorage,
  T0,
  traceParts,
  type Seeded,
  type TestEnv,
} from "./_helpers.js";

let t: TestEnv;
let env: Env;
let s: Seeded;
const clock = frozenClock();
const app = createApp({ clock });
const FAIL = hexId(0xfa11);

beforeAll(async () => {
  t = await startStorage();
  s = await seed(t.db, clock);
  env = makeEnv(t, { FLUX_DASHBOARD_SIGNING_KEY: await signingJwk() });
  // 60 traces over the last 2 hours: every 5th is a 500 with an exception on /checkout.
  for (let i = 0; i < 60; i++) {
    const failing = i % 5 === 0;
    await putTrace(t.bucket, {
      id: i === 0 ? FAIL : hexId(0x1000 + i),
      app: "shop-api",
      route: failing ? "/checkout" : i % 2 ? "/cart" : "/products",
      method: failing ? "POST" : "GET",
      status: failing ? 500 : i % 7 === 0 ? 404 : 200,
      outcome: failing ? "exception" : "ok",
      ...(failing ? { errorClass: i % 10 === 0 ? "TypeError" : "RangeError" } : {}),
      start: T0 - 7_200_000 + i * 120_000,
      durationMs: 20 + i * 3,
      fetches: failing
        ? [{ target: "api.stripe.com/v1/charges", method: "POST", status: 402, dur: 80 }]
        : [
            {
              target: "inventory.internal/items",
              status: 200,
              dur: 5,
              ...(i === 1 ? { unread: true as const } : {}),
            },
          ],
      console: 2,
    });
  }
  await putTrace(t.bucket, {
    id: hexId(0x6100),
    app: "billing",
    route: "/invoice",
    start: T0 - 1000,
  });
  await sweep(t.db, t.bucket, { now: T0 });
});
afterAll(async () => t?.dispose());

const get = (path: string, token = s.tokens.acmeAdmin) => app.request(path, bearer(token), env);
const rowsOf = (html: string) =>
  [...html.matchAll(/data-trace="([0-9a-f]{32})"/g)].map((m) => m[1]);

describe("executions list", () => {
  it("lists newest first with counts and facets", async () => {
    const html = await (await get("/w/acme/executions")).text();
    const rows = rowsOf(html);
    expect(rows).toHaveLength(50);
    expect(rows[0]).toBe(hexId(0x1000 + 59));
    expect(html).toContain('data-count="60"');
    expect(html).toMatch(/<b>48<\/b> ok/);
    expect(html).not.toContain(hexId(0x6100));
  });

  it("filters by status class, outcome, error class, route and time", async () => {
    const count = async (qs: string) => {
      const res = (await (await get(`/api/w/acme/executions?${qs}&limit=200`)).json()) as {
        executions: unknown[];
        count: { count: number };
      };
      expect(res.executions.length).toBe(res.count.count);
      return res.count.count;
    };
    expect(await count("status=5xx")).toBe(12);
    expect(await count("status=4xx")).toBe(await count("status=4xx&outcome=ok"));
    expect(await count("outcome=exception&app=shop-api")).toBe(12);
    expect(await count("error=TypeError")).toBe(6);
    expect(await count("route=/checkout")).toBe(12);
    expect(await count("range=1h")).toBe(30);
    const from = new Date(T0 - 3_600_000).toISOString().slice(0, 19);
    const to = new Date(T0 - 1_800_000).toISOString().slice(0, 19);
    expect(await count(`range=custom&from=${from}&to=${to}`)).toBe(15);
    expect(await count("status=9xx")).toBe(60);
  });

  it("pages with a cursor, without gaps or repeats", async () => {
    const seen: string[] = [];
    let cursor = "";
    for (let i = 0; i < 10; i++) {
      const res = (await (
        await get(`/api/w/acme/executions?limit=7${cursor ? `&cursor=${cursor}` : ""}`)
      ).json()) as { executions: { traceId: string }[]; next: string | null };
      seen.push(...res.executions.map((e) => e.traceId));
      if (!res.next) break;
      cursor = res.next;
    }
    expect(seen).toHaveLength(60);
    expect(new Set(seen).size).toBe(60);
    const html = await (await get("/w/acme/executions")).text();
    const older = /id="older" href="([^"]+)"/.exec(html)![1]!.replace(/&amp;/g, "&");
    const page2 = rowsOf(await (await get(older)).text());
    expect(page2).toHaveLength(10);
    expect(page2[0]).toBe(seen[50]);
  });

  it("a cursor never reaches into another workspace", async () => {
    const cursor = `${(T0 + 1).toString(36)}.${"f".repeat(32)}`;
    const res = (await (await get(`/api/w/acme/executions?cursor=${cursor}&limit=200`)).json()) as {
      executions: { app: string }[];
    };
    expect(new Set(res.executions.map((e) => e.app))).toEqual(new Set(["shop-api"]));
  });
});

describe("execution page", () => {
  it("shows summary, waterfall, network evidence, error and console with payloads sealed", async () => {
    const html = await (await get(`/w/acme/executions/${FAIL}`, s.tokens.acmeResponder)).text();
    expect(html).toContain("/checkout");
    expect(html).toMatch(/class="badge st-5" id="status">500/);
    expect(html).toContain('id="waterfall"');
    expect(html).toContain("api.stripe.com/v1/charges");
    expect(html).toMatch(/id="network"/);
    expect(html).toMatch(/masked: authorization/);
    expect(html).toContain('data-sealed="7.message"');
    expect(html).toContain('data-sealed="5"');
    expect(html).toMatch(/sealed — unlock to view/);
    expect(html).toContain("PAYMENTS_API_KEY");
    expect(html).toContain('value="3.result.body"');
    expect(html).toContain('value="0.headers"');
    // Seeded traces are unsigned and no key is registered: the page says so.
    expect(html).toContain('id="origin-unverified"');
    expect(html).toMatch(/id="origin">unverified: the trace is unsigned/);
  });

  it("tags a response body the app never read (unreadBodies) in the waterfall", async () => {
    const html = await (await get(`/w/acme/executions/${hexId(0x1001)}`)).text();
    expect(html).toContain(">body unread</span>");
    const other = await (await get(`/w/acme/executions/${hexId(0x1003)}`)).text();
    expect(other).not.toContain(">body unread</span>");
  });

  it("sends a CSP that allows only this origin and the agent", async () => {
    const res = await get(`/w/acme/executions/${FAIL}`, s.tokens.acmeResponder);
    const csp = res.headers.get("content-security-policy")!;
    expect(csp).toContain("connect-src 'self' http://127.0.0.1:8788");
    expect(csp).toMatch(/script-src 'nonce-[A-Za-z0-9+/]+=*'/);
    expect(csp).toContain("frame-ancestors 'none'");
  });

  it("explains a missing binding, a vanished object and a future trace version", async () => {
    const { FLUX_TRACES: _b, ...noBucket } = env;
    const a = await app.request(
      `/w/acme/executions/${FAIL}`,
      bearer(s.tokens.acmeAdmin),
      noBucket as Env,
    );
    expect(await a.text()).toContain("state-binding-missing");
    const gone = hexId(0x1000 + 1);
    const key = (await t.db
      .prepare("SELECT r2_key AS k FROM executions WHERE trace_id = ?")
      .bind(gone)
      .first<{ k: string }>())!.k;
    const saved = await t.bucket.get(key);
    const bytes = new Uint8Array(await saved!.arrayBuffer());
    await t.bucket.delete(key);
    expect(await (await get(`/w/acme/executions/${gone}`)).text()).toContain("state-trace-gone");
    const file = decodeCbor(bytes) as Record<string, unknown>;
    await t.bucket.put(key, encodeCbor({ ...file, version: 99 }));
    const v2 = await (await get(`/w/acme/executions/${gone}`)).text();
    expect(v2).toContain("state-version-mismatch");
    expect(v2).toContain("ERR_TRACE_VERSION");
    await t.bucket.put(key, bytes);
  });
});

describe("overview and diagnostics", () => {
  it("charts requests, errors and p50/p95", async () => {
    const html = await (await get("/w/acme/overview?app=shop-api&range=24h")).text();
    expect(html).toContain('id="chart-requests"');
    expect(html).toContain('id="chart-duration"');
    expect(html).toMatch(/<b>60<\/b><span>requests/);
    const api = (await (await get("/api/w/acme/overview?range=24h")).json()) as {
      totals: { requests: number; exception: number; p50: number; p95: number };
    };
    expect(api.totals).toMatchObject({ requests: 60, exception: 12 });
    expect(api.totals.p95).toBeGreaterThan(api.totals.p50);
  });

  it("shows the setup state of a workspace with no traces", async () => {
    await t.db
      .prepare("INSERT INTO workspaces (id, name, created_at) VALUES ('empty', 'Empty', 0)")
      .run();
    const u = await t.db
      .prepare("SELECT user_id AS id FROM members WHERE ws = 'acme' AND role = 'admin'")
      .first<{ id: string }>();
    await t.db
      .prepare(
        "INSERT INTO members (ws, user_id, role, created_at) VALUES ('empty', ?, 'admin', 0)",
      )
      .bind(u!.id)
      .run();
    const html = await (await get("/w/empty/executions")).text();
    expect(html).toContain("state-no-traces");
    const { FLUX_TRACES: _b, ...noBucket } = env;
    const nb = await app.request(
      "/w/empty/executions",
      bearer(s.tokens.acmeAdmin),
      noBucket as Env,
    );
    expect(await nb.text()).toContain("state-binding-missing");
  });

  it("diagnostics name each problem and its fix", async () => {
    const { FLUX_DASHBOARD_SIGNING_KEY: _k, FLUX_AGENT_ID: _a, ...broken } = env;
    const html = await (
      await app.request("/w/acme/diagnostics", bearer(s.tokens.acmeViewer), broken as Env)
    ).text();
    expect(html).toMatch(
      /data-check-id="signing-key"[\s\S]*?st-5[\s\S]*?wrangler secret put FLUX_DASHBOARD_SIGNING_KEY/,
    );
    expect(html).toMatch(/data-check-id="agent"[\s\S]*?Not configured/);
    const ok = await (await get("/w/acme/diagnostics")).text();
    expect(ok).toMatch(/data-check-id="signing-key"[\s\S]*?st-2/);
    expect(ok).toContain("traces/shop-api/");
  });
});

describe("regression guards", () => {
  const report = (status: number | null, error: { name: string } | null) => ({
    traceId: FAIL,
    app: "shop-api",
    route: "/checkout",
    method: "POST",
    recordedAt: new Date(T0).toISOString(),
    verdict: "diverged",
    recorded: { status: 500, headers: ["content-type"], body: null, error: { name: "TypeError" } },
    replayed: {
      status,
      headers: ["content-type"],
      body: "27 bytes sha256:0123456789abcdef",
      error,
    },
    divergences: [
      {
        code: "changed_outcome",
        seq: 6,
        kind: "exception",
        op: "throw",
        target: "/checkout",
        message: "The outcome changed: status, error",
        fields: ["status", "error"],
        expected: {},
        actual: {},
      },
    ],
    unconsumed: [],
    served: 5,
    liveNetworkAttempts: 0,
    boundaries: ["fetch POST api.stripe.com/v1/charges", "binding get KV"],
    liveAllowed: [],
  });

  it("refuses a replay that still fails, stores a repaired one and offers the command", async () => {
    const still = await app.request(
      "/api/guards",
      jsonPost(s.tokens.acmeResponder, { trace: FAIL, report: report(500, null) }),
      env,
    );
    expect(still.status).toBe(409);
    expect(((await still.json()) as { error: { code: string } }).error.code).toBe(
      "ERR_GUARD_NOT_REPAIRED",
    );
    const ok = await app.request(
      "/api/guards",
      jsonPost(s.tokens.acmeResponder, { trace: FAIL, report: report(200, null) }),
      env,
    );
    expect(ok.status).toBe(201);
    expect(await ok.json()).toMatchObject({
      command: expect.stringContaining(`npx fluxrun guard ${FAIL}.cbor --out test/guards`),
      status: 200,
      boundaries: ["fetch POST api.stripe.com/v1/charges", "binding get KV"],
    });
    const g = (await (await get(`/api/w/acme/guards/${FAIL}`, s.tokens.acmeViewer)).json()) as {
      status: number;
      bodyDigest: string;
    };
    expect(g).toMatchObject({ status: 200, bodyDigest: "27 bytes sha256:0123456789abcdef" });
    expect(await (await get("/w/acme/guards")).text()).toContain(FAIL);
    const other = await app.request(`/api/guards/${FAIL}`, bearer(s.tokens.globexAdmin), env);
    expect(other.status).toBe(404);
    const mismatched = await app.request(
      "/api/guards",
      jsonPost(s.tokens.acmeResponder, {
        trace: FAIL,
        report: { ...report(200, null), traceId: hexId(1) },
      }),
      env,
    );
    expect(mismatched.status).toBe(400);
    const audit = await t.db
      .prepare("SELECT count(*) AS n FROM audit WHERE action = 'guard.saved' AND ws = 'acme'")
      .first<{ n: number }>();
    expect(audit?.n).toBe(1);
  });
});

describe("admin actions", () => {
  const form = (token: string, path: string, body: Record<string, string>) =>
    app.request(
      path,
      {
        method: "POST",
        headers: {
          authorization: `Bearer ${token}`,
          "content-type": "application/x-www-form-urlencoded",
        },
        body: new URLSearchParams(body).toString(),
      },
      env,
    );

  it("adds a member with a one-time token, changes roles, keeps the last admin, and audits it all", async () => {
    const add = await form(s.tokens.acmeAdmin, "/w/acme/admin/members", {
      email: "new.hire@acme.test",
      role: "viewer",
    });
    const html = await add.text();
    const token = /id="new-token">(fxd_[A-Za-z0-9_-]+)</.exec(html)![1]!;
    expect((await app.request("/w/acme/executions", bearer(token), env)).status).toBe(200);
    const id = (await t.db
      .prepare("SELECT id FROM users WHERE email = 'new.hire@acme.test'")
      .first<{ id: string }>())!.id;
    await form(s.tokens.acmeAdmin, `/w/acme/admin/members/${id}/role`, { role: "responder" });
    expect(
      (await app.request("/api/tokens", jsonPost(token, { trace: FAIL, act: "replay" }), env))
        .status,
    ).toBe(200);
    const adminId = (await t.db
      .prepare("SELECT id FROM users WHERE email = 'admin@acme.test'")
      .first<{ id: string }>())!.id;
    const demote = await form(s.tokens.acmeAdmin, `/w/acme/admin/members/${adminId}/role`, {
      role: "viewer",
    });
    expect(demote.status).toBe(409);
    await form(s.tokens.acmeAdmin, `/w/acme/admin/members/${id}/remove`, {});
    expect((await app.request("/w/acme/executions", bearer(token), env)).status).toBe(404);
    const log = await (await get("/w/acme/admin/audit.ndjson")).text();
    const lines = log
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l.action)).toEqual(
      expect.arrayContaining([
        "member.added",
        "role.changed",
        "member.removed",
        "api_token.created",
      ]),
    );
    expect(lines.find((l) => l.action === "role.changed" && l.allowed === false)).toMatchObject({
      reason: "last admin",
    });
    expect(log).not.toContain(token);
  });

  it("sets the agent (https or loopback only) and reindexes from R2", async () => {
    const bad = await form(s.tokens.acmeAdmin, "/w/acme/admin/agent", {
      origin: "http://agent.example.com",
      id: "x",
    });
    expect(bad.status).toBe(400);
    const ok = await form(s.tokens.acmeAdmin, "/w/acme/admin/agent", {
      origin: "https://agent.acme.example/some/path",
      id: "acme-prod",
    });
    expect(ok.status).toBe(200);
    const ws = await t.db
      .prepare("SELECT agent_origin AS o, agent_id AS i FROM workspaces WHERE id = 'acme'")
      .first();
    expect(ws).toEqual({ o: "https://agent.acme.example", i: "acme-prod" });
    await putTrace(t.bucket, {
      id: hexId(0x9999),
      app: "shop-api",
      route: "/late",
      start: T0 - 50_000_000,
    });
    const r = await app.request(
      "/admin/reindex",
      {
        method: "POST",
        headers: {
          authorization: `Bearer ${s.tokens.acmeAdmin}`,
          accept: "application/json",
          "content-type": "application/json",
        },
        body: JSON.stringify({ ws: "acme" }),
      },
      env,
    );
    expect(await r.json()).toMatchObject({ inserted: 1, done: true });
    await form(s.tokens.acmeAdmin, "/w/acme/admin/agent", { origin: "", id: "" });
  });
});

describe("ingest tokens", () => {
  it("creates an app's ingest token, shown once, which the ingest endpoint then accepts", async () => {
    const page = await (
      await app.request(
        "/w/acme/admin/apps/shop-api/ingest-token",
        { method: "POST", headers: { authorization: `Bearer ${s.tokens.acmeAdmin}` } },
        env,
      )
    ).text();
    const token = /id="new-token">(fxi_[A-Za-z0-9_-]+)</.exec(page)?.[1];
    expect(token, "the admin page shows the new token").toBeDefined();
    expect(page).toContain("/v1/ingest");
    const spec = { id: hexId(0x1a1a), app: "shop-api", route: "/from-deno", start: T0 - 5000 };
    const { summary } = traceParts(spec).head;
    const { body, contentType } = encodeIngestBatch(
      [{ key: traceKey(summary), bytes: await sealedBytes(spec), summary }],
      "cbor",
    );
    const res = await app.request(
      "/v1/ingest",
      {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": contentType },
        body: body as BodyInit,
      },
      env,
    );
    expect(await res.json()).toEqual({ results: [{ traceId: spec.id, status: "stored" }] });
    const log = await (await get("/w/acme/admin/audit.ndjson")).text();
    expect(log).toContain('"action":"ingest_token.created"');
    expect(log).not.toContain(token!);
  });
});
