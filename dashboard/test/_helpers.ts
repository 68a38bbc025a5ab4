/**
 * Test helpers: a real D1 database and R2 bucket from Miniflare (workerd, reached from Node without
 * Miniflare's synchronous proxy: see runtime/test/_miniflare.ts), the dashboard's
 * migrations applied to it, sealed traces made with the runtime's own sealing and stored with its
 * key layout and metadata, seeded workspaces/users/tokens, and a frozen clock.
 */
import type { ListFilter } from "../src/db/executions.js";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Miniflare } from "miniflare";
import { nodeD1, nodeR2, withNodeBindings } from "../../runtime/test/_miniflare.js";
import { exportJWK, generateKeyPair } from "jose";
import { summaryMetadata, traceKey } from "fluxrun/contract";
import {
  generateTraceKeys,
  sealTrace,
  type SigningJwk,
  type TraceEvent,
  type TraceSummary,
} from "fluxrun/trace";
import type { Env } from "../src/env.js";
import type { Clock } from "../src/deps.js";
import { createApiToken, ensureUser, setMember } from "../src/db/users.js";
import { createWorkspace, registerApp } from "../src/db/workspaces.js";

export const MIGRATIONS = new URL("../migrations/", import.meta.url).pathname;
/** 2026-04-20 12:00:00 UTC: the frozen "now" of the tests. */
export const T0 = Date.UTC(2026, 3, 20, 12, 0, 0);

/** Splits a migration file into statements (no semicolons inside literals in our SQL). */
export function statements(sql: string): string[] {
  return sql
    .split("\n")
    .map((l) => l.replace(/--.*$/, ""))
    .join("\n")
    .split(/;\s*(?:\n|$)/)
    .map((s) => s.trim())
    .filter(Boolean);
}

export async function migrate(db: D1Database): Promise<void> {
  for (const file of readdirSync(MIGRATIONS)
    .filter((f) => f.endsWith(".sql"))
    .sort()) {
    const sql = readFileSync(join(MIGRATIONS, file), "utf8");
    await db.batch(statements(sql).map((s) => db.prepare(s)));
  }
}

export interface TestEnv {
  mf: Miniflare;
  db: D1Database;
  bucket: R2Bucket;
  dispose(): Promise<void>;
}

/** A fresh Miniflare with D1 `DB` and R2 `FLUX_TRACES`, migrated. */
export async function startStorage(): Promise<TestEnv> {
  const mf = new Miniflare(
    await withNodeBindings({
      modules: true,
      script: "export default { fetch() { return new Response('storage only') } }",
      compatibilityDate: "2026-04-20",
      d1Databases: { DB: "fluxrun-dashboard" },
      r2Buckets: { FLUX_TRACES: "fluxrun-traces" },
    }),
  );
  await mf.ready;
  const db = nodeD1(mf, "DB");
  const bucket = nodeR2(mf, "FLUX_TRACES");
  await migrate(db);
  return { mf, db, bucket, dispose: () => mf.dispose() };
}

export async function signingJwk(): Promise<string> {
  const { privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  return JSON.stringify(await exportJWK(privateKey));
}

let counter = 0;
/** A frozen clock with sequential ids. */
export function frozenClock(now = T0): Clock & { set(t: number): void } {
  let t = now;
  return {
    now: () => t,
    id: () =>
      `id-${(++counter).toString().padStart(6, "0")}-${Math.random().toString(16).slice(2, 10)}`,
    set(v: number) {
      t = v;
    },
  };
}

export function hexId(n: number): string {
  return n.toString(16).padStart(32, "0");
}

export interface TraceSpec {
  id: string;
  app: string;
  route: string;
  method?: string;
  status?: number;
  outcome?: TraceSummary["outcome"];
  start: number;
  durationMs?: number;
  errorClass?: string;
  /** Outbound fetches: host/path, status. */
  fetches?: {
    target: string;
    method?: string;
    status?: number;
    dur?: number;
    /** The app never read the response body (recorded under `unreadBodies: "digest"`). */
    unread?: true;
  }[];
  console?: number;
  /** The thrown error's frames (exception traces). */
  site?: TraceEvent["site"];
  /** Summary fields to add (release, cf-ray, colo, top frame…). */
  summary?: Partial<TraceSummary>;
}

/** A realistic clear head + payloads for a spec. */
export function traceParts(spec: TraceSpec): {
  head: Parameters<typeof sealTrace>[0]["head"];
  payloads: unknown[];
} {
  const events: TraceEvent[] = [];
  const payloads: unknown[] = [];
  const enc = new TextEncoder();
  const status = spec.status ?? 200;
  const outcome = spec.outcome ?? (status >= 500 ? "error" : "ok");
  const dur = spec.durationMs ?? 42;
  const push = (e: Omit<TraceEvent, "seq">, p: unknown) => {
    events.push({ seq: events.length, ...e } as TraceEvent);
    payloads.push(p);
  };
  push(
    {
      kind: "request",
      op: spec.method ?? "GET",
      target: `shop.example.com${spec.route}`,
      at: 0,
      info: { masked: ["authorization"] },
    },
    {
      method: spec.method ?? "GET",
      url: `https://shop.example.com${spec.route}?card=4242`,
      headers: [["authorization", "Bearer secret-user-token"]],
      body: enc.encode('{"item":"sku-secret-123"}'),
    },
  );
  push({ kind: "env", op: "get", target: "PAYMENTS_API_KEY", at: 120 }, "sk_live_secret_value");
  push({ kind: "clock", op: "now", target: "Date", at: 150 }, spec.start);
  let at = 200;
  for (const f of spec.fetches ?? []) {
    push(
      {
        kind: "fetch",
        op: f.method ?? "GET",
        target: f.target,
        at,
        dur: (f.dur ?? 10) * 1000,
        ...(f.status !== undefined ? { status: f.status } : {}),
        ...(f.method && f.method !== "GET" ? { write: true } : {}),
        info: {
          reqBytes: 0,
          resBytes: f.unread ? 24 : 27,
          masked: ["authorization"],
          ...(f.unread ? { unread: 1 } : {}),
        },
      },
      {
        request: {
          method: f.method ?? "GET",
          url: `https://${f.target}`,
          headers: [["authorization", "Bearer sk_live"]],
          body: null,
        },
        result: {
          status: f.status ?? 200,
          statusText: "",
          headers: [["content-type", "application/json"]],
          body: f.unread
            ? { unread: true, size: 24, sha256: "0".repeat(64) }
            : enc.encode('{"charge":"ch_secret_1"}'),
        },
      },
    );
    at += (f.dur ?? 10) * 1000 + 100;
  }
  push(
    { kind: "binding", op: "get", target: "KV", at, dur: 800 },
    { request: ["cart:1"], result: "cached-cart-secret" },
  );
  for (let i = 0; i < (spec.console ?? 1); i++)
    push({ kind: "console", op: "log", target: "console", at: at + 900 + i }, [
      "handled",
      "user@example.com",
    ]);
  if (outcome === "exception") {
    push(
      {
        kind: "exception",
        op: "throw",
        target: spec.route,
        at: dur * 1000 - 10,
        error: spec.errorClass ?? "TypeError",
        ...(spec.site ? { site: spec.site } : {}),
      },
      {
        name: spec.errorClass ?? "TypeError",
        message: "card 4242 declined: secret detail",
        stack: "at handler",
      },
    );
  } else {
    push(
      { kind: "response", op: "respond", target: spec.route, at: dur * 1000 - 10, status },
      {
        status,
        statusText: "",
        headers: [["content-type", "application/json"]],
        body: enc.encode('{"ok":true,"secret":"resp-secret"}'),
      },
    );
  }
  const eventCounts: Record<string, number> = {};
  for (const e of events) eventCounts[e.kind] = (eventCounts[e.kind] ?? 0) + 1;
  const summary: TraceSummary = {
    traceId: spec.id,
    app: spec.app,
    route: spec.route,
    method: spec.method ?? "GET",
    status,
    outcome,
    start: spec.start,
    durationMs: dur,
    eventCounts,
    fetches: (spec.fetches ?? []).map((f) => ({
      host: f.target.split("/")[0]!,
      method: f.method ?? "GET",
      ...(f.status !== undefined ? { status: f.status } : {}),
    })),
    ...(spec.errorClass ? { errorClass: spec.errorClass } : {}),
    truncated: false,
    runtime: "workerd",
    ...spec.summary,
  };
  return {
    head: {
      id: spec.id,
      version: 1,
      summary,
      events,
      masks: { headers: ["authorization"], fields: [] },
      stats: { droppedEvents: 0, truncatedPayloads: 0, payloadBytes: 0 },
    },
    payloads,
  };
}

let keysPromise: ReturnType<typeof generateTraceKeys> | null = null;
export function traceKeys(): ReturnType<typeof generateTraceKeys> {
  keysPromise ??= generateTraceKeys();
  return keysPromise;
}

/** Seals a trace and stores it like the runtime's R2 sink. Returns its key. */
export async function putTrace(
  bucket: R2Bucket,
  spec: TraceSpec,
  options: { metadata?: boolean; signingKey?: SigningJwk } = {},
): Promise<string> {
  const bytes = await sealedBytes(spec, options.signingKey);
  const { head } = traceParts(spec);
  const key = traceKey(head.summary);
  await bucket.put(key, bytes, {
    httpMetadata: { contentType: "application/cbor" },
    ...(options.metadata === false ? {} : { customMetadata: summaryMetadata(head.summary) }),
  });
  return key;
}

/** A sealed trace for `spec`; signed (its origin) when a signing key is given. */
export async function sealedBytes(spec: TraceSpec, signingKey?: SigningJwk): Promise<Uint8Array> {
  const { head, payloads } = traceParts(spec);
  return sealTrace(
    { head, payloads },
    (await traceKeys()).publicJwk,
    signingKey ? { signingKey } : {},
  );
}

export interface Seeded {
  tokens: Record<"acmeAdmin" | "acmeResponder" | "acmeViewer" | "globexAdmin" | "loner", string>;
  emails: Record<"acmeAdmin" | "acmeResponder" | "acmeViewer" | "globexAdmin" | "loner", string>;
}

/**
 * Two workspaces (acme with shop-api, globex with billing, registered a day before `clock`'s now,
 * so they own the traces tests record before now) and a user per role.
 */
export async function seed(db: D1Database, clock: Clock): Promise<Seeded> {
  const now = clock.now();
  await createWorkspace(db, { id: "acme", name: "Acme" }, now);
  await createWorkspace(
    db,
    {
      id: "globex",
      name: "Globex",
      agentOrigin: "https://agent.globex.example",
      agentId: "globex-agent",
    },
    now,
  );
  await registerApp(db, "acme", "shop-api", now - 86_400_000);
  await registerApp(db, "globex", "billing", now - 86_400_000);
  const emails = {
    acmeAdmin: "admin@acme.test",
    acmeResponder: "oncall@acme.test",
    acmeViewer: "viewer@acme.test",
    globexAdmin: "admin@globex.test",
    loner: "nobody@else.test",
  };
  const roles = {
    acmeAdmin: ["acme", "admin"],
    acmeResponder: ["acme", "responder"],
    acmeViewer: ["acme", "viewer"],
    globexAdmin: ["globex", "admin"],
    loner: null,
  } as const;
  const tokens = {} as Seeded["tokens"];
  for (const [k, email] of Object.entries(emails) as [keyof typeof emails, string][]) {
    const user = await ensureUser(db, email, { now, id: () => clock.id() });
    const r = roles[k];
    if (r) await setMember(db, r[0], user.id, r[1], now);
    tokens[k] = await createApiToken(db, user.id, { name: "test", now });
  }
  return { tokens, emails };
}

export function makeEnv(t: TestEnv, extra: Partial<Env> = {}): Env {
  return {
    DB: t.db,
    FLUX_TRACES: t.bucket,
    FLUX_AGENT_ORIGIN: "http://127.0.0.1:8788",
    FLUX_AGENT_ID: "test-agent",
    ...extra,
  };
}

export function bearer(token: string, init: RequestInit = {}): RequestInit {
  return {
    ...init,
    headers: {
      authorization: `Bearer ${token}`,
      ...(init.headers as Record<string, string> | undefined),
    },
  };
}

export function jsonPost(token: string, body: unknown): RequestInit {
  return bearer(token, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

/**
 * Fills `executions` with `rows` synthetic rows in one recursive INSERT per 250,000: three apps
 * (one in another workspace), ~2% exceptions, 5% 4xx, 8 routes, one row every 250 ms before T0.
 * Used by the scale test and by `npm run bench`.
 */
export async function fillExecutions(db: D1Database, rows: number): Promise<void> {
  const chunk = 250_000;
  for (let from = 0; from < rows; from += chunk) {
    await db
      .prepare(
        `WITH RECURSIVE n(i) AS (SELECT CAST(? AS INTEGER) UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?)
         INSERT INTO executions (trace_id, app, ws, route, method, status, status_class, outcome, start,
           duration_ms, events, hosts, error_class, truncated, runtime, version, r2_key, indexed_at)
         SELECT printf('%032x', i), CASE i % 3 WHEN 0 THEN 'shop-api' WHEN 1 THEN 'shop-web' ELSE 'billing' END,
           CASE i % 3 WHEN 2 THEN 'globex' ELSE 'acme' END,
           '/route/' || (i % 8), 'GET',
           CASE WHEN i % 50 = 0 THEN 500 WHEN i % 20 = 0 THEN 404 ELSE 200 END,
           CASE WHEN i % 50 = 0 THEN 5 WHEN i % 20 = 0 THEN 4 ELSE 2 END,
           CASE WHEN i % 50 = 0 THEN 'exception' ELSE 'ok' END,
           CAST(? AS INTEGER) - i * 250, (i % 97) + 0.5, 12, 'api.example.com',
           CASE WHEN i % 50 = 0 THEN (CASE WHEN i % 100 = 0 THEN 'TypeError' ELSE 'RangeError' END) END,
           0, 'workerd', '1', 'traces/x/' || i, ?
         FROM n`,
      )
      .bind(from, Math.min(rows, from + chunk), T0, T0)
      .run();
  }
}

/**
 * The executions-list shapes the scale test checks and `npm run bench` times, each with its
 * cursor for a table of `rows` rows filled by {@link fillExecutions} (deep ones start 60% in).
 */
export function listShapes(
  rows: number,
): { filter: ListFilter; cursor: { start: number; traceId: string } | null }[] {
  const deep = { start: T0 - Math.floor(rows * 0.6) * 250, traceId: "f".repeat(32) };
  const app = { ws: "acme", app: "shop-api" };
  return [
    { filter: app, cursor: null },
    { filter: { ws: "acme" }, cursor: null },
    { filter: { ...app, outcome: "exception" }, cursor: null },
    { filter: { ...app, statusClass: 5 }, cursor: null },
    { filter: { ...app, errorClass: "TypeError" }, cursor: null },
    { filter: { ...app, route: "/route/3" }, cursor: null },
    { filter: { ...app, from: T0 - 3_600_000 }, cursor: null },
    { filter: app, cursor: deep },
    { filter: { ...app, outcome: "exception" }, cursor: deep },
  ];
}
