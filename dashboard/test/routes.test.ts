/**
 * Every route × every role, with `app.request()` against real D1/R2 (Miniflare): anonymous,
 * viewer, responder, admin, an admin of another workspace, and a user in no workspace. Includes
 * cross-workspace attempts by id (another workspace's trace under this workspace's URL) and by
 * URL (this trace under another workspace's URL).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../src/app.js";
import { sweep } from "../src/indexer/sweep.js";
import type { Env } from "../src/env.js";
import {
  bearer,
  frozenClock,
  hexId,
  makeEnv,
  putTrace,
  seed,
  signingJwk,
  startStorage,
  T0,
  type Seeded,
  type TestEnv,
} from "./_helpers.js";

let t: TestEnv;
let env: Env;
let s: Seeded;
const clock = frozenClock();
const app = createApp({ clock });
const A = hexId(0xa1); // acme, exception
const B = hexId(0xb2); // acme, ok
const G = hexId(0x61); // globex
let memberIds: Record<string, string>;

beforeAll(async () => {
  t = await startStorage();
  s = await seed(t.db, clock);
  env = makeEnv(t, { FLUX_DASHBOARD_SIGNING_KEY: await signingJwk() });
  await putTrace(t.bucket, {
    id: A,
    app: "shop-api",
    route: "/checkout",
    method: "POST",
    status: 500,
    outcome: "exception",
    errorClass: "TypeError",
    start: T0 - 60_000,
    fetches: [{ target: "api.stripe.com/v1/charges", method: "POST", status: 402 }],
  });
  await putTrace(t.bucket, { id: B, app: "shop-api", route: "/cart", start: T0 - 30_000 });
  await putTrace(t.bucket, { id: G, app: "billing", route: "/invoice", start: T0 - 20_000 });
  await sweep(t.db, t.bucket, { now: T0 });
  const rows = await t.db
    .prepare("SELECT id, email FROM users")
    .all<{ id: string; email: string }>();
  memberIds = Object.fromEntries(rows.results.map((r) => [r.email, r.id]));
});
afterAll(async () => t?.dispose());

type Who = "anon" | "viewer" | "responder" | "admin" | "otherAdmin" | "loner";
const WHO: Who[] = ["anon", "viewer", "responder", "admin", "otherAdmin", "loner"];

function tokenOf(who: Who): string | null {
  return {
    anon: null,
    viewer: s.tokens.acmeViewer,
    responder: s.tokens.acmeResponder,
    admin: s.tokens.acmeAdmin,
    otherAdmin: s.tokens.globexAdmin,
    loner: s.tokens.loner,
  }[who];
}

async function call(who: Who, method: string, path: string, body?: unknown): Promise<Response> {
  const token = tokenOf(who);
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  let payload: string | undefined;
  if (body !== undefined) {
    if (path.startsWith("/api/")) {
      headers["content-type"] = "application/json";
      payload = JSON.stringify(body);
    } else {
      headers["content-type"] = "application/x-www-form-urlencoded";
      payload = new URLSearchParams(body as Record<string, string>).toString();
    }
  }
  return app.request(path, { method, headers, ...(payload ? { body: payload } : {}) }, env);
}

// Expected status per role: [anon, viewer, responder, admin, otherAdmin, loner]
type Row = [string, string, (() => unknown) | undefined, number[]];
const L = 302; // redirect to /login
const viewerPage = [L, 200, 200, 200, 404, 404];
const adminPage = [L, 403, 403, 200, 404, 404];
const adminPost = [401, 403, 403, 200, 404, 404];
const viewerApi = [401, 200, 200, 200, 404, 404];

const ROUTES: Row[] = [
  ["GET", "/", undefined, [302, 302, 302, 302, 302, 200]],
  ["GET", "/login", undefined, [200, 200, 200, 200, 200, 200]],
  ["GET", "/account", undefined, [L, 200, 200, 200, 200, 200]],
  ["POST", "/account/tokens", () => ({ name: "laptop" }), [401, 200, 200, 200, 200, 200]],
  [
    "POST",
    "/account/tokens/revoke",
    () => ({ prefix: "fxd_nope" }),
    [401, 303, 303, 303, 303, 303],
  ],
  // Without the login page's nonce: a forged sign-in (login CSRF), whoever sends it.
  ["POST", "/login", () => ({ token: "fxd_wrong" }), [403, 403, 403, 403, 403, 403]],
  ["POST", "/logout", () => ({}), [303, 303, 303, 303, 303, 303]],
  ["GET", "/w/acme", undefined, [L, 302, 302, 302, 404, 404]],
  ["GET", "/w/acme/executions", undefined, viewerPage],
  [
    "GET",
    "/w/acme/executions?app=shop-api&status=5xx&outcome=exception&range=24h",
    undefined,
    viewerPage,
  ],
  ["GET", `/w/acme/executions/${A}`, undefined, viewerPage],
  ["GET", `/w/acme/executions/${G}`, undefined, [L, 404, 404, 404, 404, 404]],
  ["GET", `/w/globex/executions/${A}`, undefined, [L, 404, 404, 404, 404, 404]],
  ["GET", "/w/acme/executions?app=billing", undefined, [L, 404, 404, 404, 404, 404]],
  ["GET", `/w/acme/executions/${A}/trace.cbor`, undefined, [L, 403, 200, 200, 404, 404]],
  ["GET", `/w/acme/executions/${G}/trace.cbor`, undefined, [L, 403, 404, 404, 404, 404]],
  ["GET", "/w/acme/overview", undefined, viewerPage],
  ["GET", "/w/acme/overview?app=billing", undefined, [L, 404, 404, 404, 404, 404]],
  ["GET", "/w/acme/guards", undefined, viewerPage],
  ["GET", "/w/acme/diagnostics", undefined, viewerPage],
  ["GET", "/w/acme/admin", undefined, adminPage],
  ["GET", "/w/acme/admin/audit.ndjson", undefined, adminPage],
  [
    "POST",
    "/w/acme/admin/agent",
    () => ({ origin: "http://127.0.0.1:8788", id: "test-agent" }),
    adminPost,
  ],
  ["POST", "/w/acme/admin/apps", () => ({ name: "shop-web" }), adminPost],
  ["POST", "/w/acme/admin/apps/shop-api/ingest-token", () => ({}), adminPost],
  ["POST", "/w/acme/admin/members", () => ({ email: "new@acme.test", role: "viewer" }), adminPost],
  ["POST", "/w/acme/admin/members/:viewer/role", () => ({ role: "viewer" }), adminPost],
  [
    "POST",
    "/w/acme/admin/members/:globexAdmin/role",
    () => ({ role: "admin" }),
    [401, 403, 403, 404, 404, 404],
  ],
  ["POST", "/admin/reindex", () => ({ ws: "acme" }), adminPost],
  ["POST", "/admin/reindex", () => ({ ws: "globex" }), [401, 404, 404, 404, 200, 404]],
  ["GET", "/api/me", undefined, [401, 200, 200, 200, 200, 200]],
  ["GET", "/api/w/acme/executions", undefined, viewerApi],
  ["GET", `/api/w/acme/executions/${A}`, undefined, viewerApi],
  ["GET", `/api/w/acme/executions/${G}`, undefined, [401, 404, 404, 404, 404, 404]],
  ["GET", `/api/w/globex/executions/${G}`, undefined, [401, 404, 404, 404, 200, 404]],
  ["GET", "/api/w/acme/overview", undefined, viewerApi],
  ["GET", "/api/w/acme/guards", undefined, viewerApi],
  ["GET", `/api/w/acme/guards/${A}`, undefined, [401, 404, 404, 404, 404, 404]],
  ["GET", `/api/guards/${A}`, undefined, [401, 404, 404, 404, 404, 404]],
  ["POST", "/api/tokens", () => ({ trace: A, act: "replay" }), [401, 403, 200, 200, 404, 404]],
  [
    "POST",
    "/api/tokens",
    () => ({ trace: A, act: "unlock", fields: ["0.body", "3.result.body"] }),
    [401, 403, 200, 200, 404, 404],
  ],
  ["POST", "/api/tokens", () => ({ trace: G, act: "replay" }), [401, 404, 404, 404, 200, 404]],
  ["POST", "/api/guards", () => ({ trace: A, report: {} }), [401, 403, 400, 400, 404, 404]],
  ["GET", "/.well-known/jwks.json", undefined, [200, 200, 200, 200, 200, 200]],
  ["GET", "/healthz", undefined, [200, 200, 200, 200, 200, 200]],
  ["GET", "/dev/login?token=x", undefined, [404, 404, 404, 404, 404, 404]],
  ["POST", "/v1/ingest", () => "x", [401, 401, 401, 401, 401, 401]],
  ["GET", "/nope", undefined, [404, 404, 404, 404, 404, 404]],
];

describe("route × role matrix", () => {
  for (const [method, rawPath, body, expected] of ROUTES) {
    it(`${method} ${rawPath}`, async () => {
      const got: number[] = [];
      for (const who of WHO) {
        const path = rawPath
          .replace(":viewer", memberIds[s.emails.acmeViewer]!)
          .replace(":globexAdmin", memberIds[s.emails.globexAdmin]!);
        const res = await call(who, method, path, body?.());
        got.push(res.status);
        if (res.status === 302 && expected[WHO.indexOf(who)] === L && who === "anon") {
          // Signing in returns to the page that asked for it.
          expect(res.headers.get("location")).toBe(
            path === "/" ? "/login" : `/login?next=${encodeURIComponent(path)}`,
          );
        }
      }
      expect(got).toEqual(expected);
    });
  }
});

describe("what each role sees", () => {
  it("the list and the execution page never show another workspace's traces", async () => {
    const html = await (await call("admin", "GET", "/w/acme/executions")).text();
    expect(html).toContain(A);
    expect(html).toContain(B);
    expect(html).not.toContain(G);
    const api = (await (await call("otherAdmin", "GET", "/api/w/globex/executions")).json()) as {
      executions: { traceId: string }[];
    };
    expect(api.executions.map((e) => e.traceId)).toEqual([G]);
  });

  it("viewers get the timeline but no unlock or replay controls", async () => {
    const html = await (await call("viewer", "GET", `/w/acme/executions/${A}`)).text();
    expect(html).toContain('id="waterfall"');
    expect(html).toContain("viewer-note");
    expect(html).not.toContain('id="unlock-btn"');
    const resp = await (await call("responder", "GET", `/w/acme/executions/${A}`)).text();
    expect(resp).toContain('id="unlock-btn"');
    expect(resp).toContain('id="replay-btn"');
  });

  it("no page or API answer carries a payload", async () => {
    for (const path of [
      `/w/acme/executions/${A}`,
      `/api/w/acme/executions/${A}`,
      "/w/acme/executions",
      "/w/acme/overview",
    ]) {
      const text = await (await call("admin", "GET", path)).text();
      for (const secret of [
        "secret-user-token",
        "sku-secret",
        "sk_live",
        "ch_secret",
        "resp-secret",
        "declined",
        "4242",
        "cached-cart-secret",
        "user@example.com",
      ]) {
        expect(text, `${path} leaks ${secret}`).not.toContain(secret);
      }
    }
  });

  it("pages for another workspace answer like pages that do not exist", async () => {
    const a = await call("admin", "GET", "/w/globex/executions");
    const b = await call("admin", "GET", "/w/does-not-exist/executions");
    expect(a.status).toBe(404);
    expect(b.status).toBe(404);
    const ta = (await a.text()).replace(/nonce-[^']+'|nonce="[^"]+"/g, "");
    const tb = (await b.text()).replace(/nonce-[^']+'|nonce="[^"]+"/g, "");
    expect(ta).toBe(tb);
  });
});
