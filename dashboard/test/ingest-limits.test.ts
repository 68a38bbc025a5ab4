/**
 * Issue 13, attack 5, against `POST /v1/ingest` on real D1/R2 (Miniflare) with a frozen clock:
 * a per-token request rate, a lockout of an address after repeated failed authentications, one
 * audit row per burst of refusals in the token owner's own workspace (never in another one), and
 * a body limit counted while the body streams in, whatever `content-length` says.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeIngestBatch, INGEST_LIMITS, traceKey, type IngestItem } from "fluxrun/contract";
import { createApp } from "../src/app.js";
import { INGEST_LOCKOUT, INGEST_RATE } from "../src/db/ingest-limits.js";
import { createIngestToken } from "../src/db/workspaces.js";
import { hashToken } from "../src/auth/secrets.js";
import type { Env } from "../src/env.js";
import {
  frozenClock,
  hexId,
  makeEnv,
  seed,
  sealedBytes,
  startStorage,
  T0,
  bearer,
  traceParts,
  type Seeded,
  type TestEnv,
  type TraceSpec,
} from "./_helpers.js";

/** Requests per minute per token in these tests (FLUX_INGEST_RATE; the default is 120). */
const RATE = 5;
let t: TestEnv;
let env: Env;
let s: Seeded;
let shopToken: string;
let billingToken: string;
const clock = frozenClock();
const app = createApp({ clock });
/** Each test starts in fresh windows of its own, two days apart (past Diagnostics' 24 hours). */
let day = 0;

beforeAll(async () => {
  t = await startStorage();
  s = await seed(t.db, clock);
  env = makeEnv(t, { FLUX_INGEST_RATE: String(RATE) });
  shopToken = await createIngestToken(t.db, "shop-api", T0);
  billingToken = await createIngestToken(t.db, "billing", T0);
});
afterAll(async () => t?.dispose());

function freshWindow(): number {
  const now = T0 + ++day * 2 * 86_400_000;
  clock.set(now);
  return now;
}

let next = 0x5000;
async function item(extra: Partial<TraceSpec> = {}): Promise<IngestItem> {
  const s = { id: hexId(next++), app: "shop-api", route: "/x", start: T0 - 5000, ...extra };
  const { summary } = traceParts(s).head;
  return { key: traceKey(summary), bytes: await sealedBytes(s), summary };
}

function post(
  token: string,
  body: BodyInit,
  headers: Record<string, string> = {},
  init: RequestInit = {},
): Response | Promise<Response> {
  return app.request(
    "/v1/ingest",
    {
      method: "POST",
      headers: {
        authorization: `Bearer ${token}`,
        "content-type": "application/cbor",
        "x-fluxrun-ingest": "1",
        "cf-connecting-ip": "192.0.2.10",
        ...headers,
      },
      body,
      ...init,
    },
    env,
  );
}

async function code(res: Response): Promise<string | undefined> {
  return ((await res.json()) as { error?: { code: string } }).error?.code;
}

async function auditRows(where: string, ...args: unknown[]) {
  const { results } = await t.db
    .prepare(`SELECT ws, reason, detail FROM audit WHERE action = 'ingest.denied' AND ${where}`)
    .bind(...args)
    .all<{ ws: string | null; reason: string; detail: string }>();
  return results;
}

describe("ingest limits (issue 13, attack 5)", () => {
  it("refuses a token past its request rate with 429 and Retry-After, per token, until the next window", async () => {
    const now = freshWindow();
    const empty = encodeIngestBatch([], "cbor").body as BodyInit;
    const statuses: number[] = [];
    for (let i = 0; i < RATE + 5; i++) statuses.push((await post(shopToken, empty)).status);
    expect(statuses.filter((s) => s === 400)).toHaveLength(RATE);
    expect(statuses.slice(RATE)).toEqual([429, 429, 429, 429, 429]);
    const limited = await post(
      shopToken,
      (await encodeIngestBatch([await item()], "cbor")).body as BodyInit,
    );
    expect([limited.status, limited.headers.get("retry-after"), await code(limited)]).toEqual([
      429,
      "60",
      "ERR_RATE_LIMITED",
    ]);
    // Another app's token has its own rate.
    const other = await post(
      billingToken,
      (await encodeIngestBatch([await item({ app: "billing" })], "cbor")).body as BodyInit,
    );
    expect(other.status).toBe(200);
    // Audited once for the burst, in the token owner's workspace.
    const rows = await auditRows("at = ? AND reason = ?", now, "ingest rate limit reached");
    expect(rows.map((r) => r.ws)).toEqual(["acme"]);
    clock.set(now + INGEST_RATE.windowMs);
    const later = await post(
      shopToken,
      (await encodeIngestBatch([await item()], "cbor")).body as BodyInit,
    );
    expect(later.status).toBe(200);
  });

  it("locks an address out after repeated wrong tokens, even for a valid token, then lets it back", async () => {
    const now = freshWindow();
    const batch = encodeIngestBatch([await item()], "cbor").body as BodyInit;
    const statuses: number[] = [];
    for (let i = 0; i < INGEST_LOCKOUT.maxFailures + 5; i++)
      statuses.push((await post(`fxi_guess-${i.toString().padStart(40, "0")}`, batch)).status);
    expect(statuses.slice(0, INGEST_LOCKOUT.maxFailures)).toEqual(
      Array(INGEST_LOCKOUT.maxFailures).fill(401),
    );
    expect(new Set(statuses.slice(INGEST_LOCKOUT.maxFailures))).toEqual(new Set([429]));
    const locked = await post(shopToken, batch);
    expect([locked.status, await code(locked)]).toEqual([429, "ERR_INGEST_LOCKED"]);
    expect(Number(locked.headers.get("retry-after"))).toBe(INGEST_LOCKOUT.lockMs / 1000);
    // Another address is not locked out.
    expect((await post(shopToken, batch, { "cf-connecting-ip": "192.0.2.99" })).status).toBe(200);
    // One audit row for the lockout, in no workspace: the guessed tokens belong to nobody.
    const rows = await auditRows("at >= ? AND reason LIKE 'address locked out%'", now);
    expect(rows.map((r) => r.ws)).toEqual([null]);
    clock.set(now + INGEST_LOCKOUT.lockMs);
    const again = encodeIngestBatch([await item()], "cbor").body as BodyInit;
    expect((await post(shopToken, again)).status).toBe(200);
  });

  it("audits 100 traces refused for another app once, in the sender's workspace, never in the other", async () => {
    const now = freshWindow();
    for (let r = 0; r < 4; r++) {
      const items = await Promise.all(Array.from({ length: 25 }, () => item({ app: "billing" })));
      const res = await post(shopToken, encodeIngestBatch(items, "cbor").body as BodyInit);
      expect(res.status).toBe(200);
    }
    expect(await auditRows("at >= ? AND ws = 'globex'", now)).toEqual([]);
    const own = await auditRows("at >= ? AND ws = 'acme'", now);
    expect(own).toHaveLength(1);
    expect(JSON.parse(own[0]!.detail)).toMatchObject({ refusal: "app_mismatch", count: 25 });
  });

  it("stops reading a chunked body at the limit, whatever content-length says", async () => {
    freshWindow();
    const chunk = new Uint8Array(256 * 1024);
    const total = 30 * 1024 * 1024;
    let pulled = 0;
    const body = new ReadableStream<Uint8Array>(
      {
        pull(controller) {
          if (pulled >= total) return controller.close();
          pulled += chunk.byteLength;
          controller.enqueue(chunk);
        },
      },
      { highWaterMark: 0 },
    );
    const res = await post(shopToken, body, {}, { duplex: "half" } as RequestInit);
    expect([res.status, await code(res)]).toEqual([413, "ERR_TOO_LARGE"]);
    expect(pulled).toBeLessThanOrEqual(INGEST_LIMITS.maxBodyBytes + 2 * chunk.byteLength);

    const lying = await post(shopToken, new Uint8Array(INGEST_LIMITS.maxBodyBytes + 1), {
      "content-length": "10",
    });
    expect(lying.status).toBe(413);
  });

  it("Diagnostics shows what ingest refused per app and reason, to the app's workspace only", async () => {
    freshWindow();
    const foreign = await Promise.all([1, 2, 3].map(() => item({ app: "billing" })));
    const mixed = [await item(), ...foreign];
    expect((await post(shopToken, encodeIngestBatch(mixed, "cbor").body as BodyInit)).status).toBe(
      200,
    );
    const revoked = await createIngestToken(t.db, "shop-api", T0);
    await t.db
      .prepare("UPDATE ingest_tokens SET revoked_at = ? WHERE hash = ?")
      .bind(T0, await hashToken(revoked))
      .run();
    expect(
      (
        await post(revoked, encodeIngestBatch([await item()], "cbor").body as BodyInit, {
          "cf-connecting-ip": "192.0.2.50",
        })
      ).status,
    ).toBe(401);
    const page = await app.request("/w/acme/diagnostics", bearer(s.tokens.acmeViewer), env);
    const html = await page.text();
    const row = (reason: string) =>
      new RegExp(
        `data-app="shop-api" data-reason="${reason}">.*?<td class="num">([^<]+)</td>`,
      ).exec(html)?.[1];
    expect(row("app_mismatch")).toBe("3 traces");
    expect(row("auth")).toBe("1 request");
    const globex = await app.request("/w/globex/diagnostics", bearer(s.tokens.globexAdmin), env);
    expect(await globex.text()).toContain('id="ingest-refusals-none"');
  });
});
