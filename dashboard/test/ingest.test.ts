/**
 * `POST /v1/ingest` against real D1/R2 (Miniflare), with batches built by the contract's own
 * encoder: per-trace results (stored, duplicate, rejected with a reason), idempotency, each item
 * checked against its own clear head, and whole-batch refusals. Each test seeds what it needs.
 * (The sink and this endpoint against each other: test/cross/ingest.cross.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  encodeIngestBatch,
  INGEST_LIMITS,
  traceKey,
  type IngestItem,
  type IngestResponse,
} from "fluxrun/contract";
import { generateSigningKeys } from "fluxrun/trace";
import { createApp } from "../src/app.js";
import { createIngestToken } from "../src/db/workspaces.js";
import type { Env } from "../src/env.js";
import {
  frozenClock,
  hexId,
  makeEnv,
  seed,
  sealedBytes,
  startStorage,
  T0,
  traceParts,
  type TestEnv,
  type TraceSpec,
} from "./_helpers.js";

let t: TestEnv;
let env: Env;
let token: string;
const clock = frozenClock();
const app = createApp({ clock });

beforeAll(async () => {
  t = await startStorage();
  await seed(t.db, clock);
  env = makeEnv(t);
  token = await createIngestToken(t.db, "shop-api", T0);
});
afterAll(async () => t?.dispose());

let next = 0x2000;
function spec(extra: Partial<TraceSpec> = {}): TraceSpec {
  return { id: hexId(next++), app: "shop-api", route: "/from-deno", start: T0 - 5000, ...extra };
}

async function item(s: TraceSpec): Promise<IngestItem> {
  const { summary } = traceParts(s).head;
  return { key: traceKey(summary), bytes: await sealedBytes(s), summary };
}

function send(
  items: readonly IngestItem[],
  options: { encoding?: "cbor" | "json"; token?: string; env?: Env } = {},
) {
  const { body, contentType } = encodeIngestBatch(items, options.encoding ?? "cbor");
  return sendRaw(body, contentType, options.token, options.env);
}

function sendRaw(body: Uint8Array | string, contentType: string, tok = token, to = env) {
  return app.request(
    "/v1/ingest",
    {
      method: "POST",
      headers: {
        authorization: `Bearer ${tok}`,
        "content-type": contentType,
        "x-fluxrun-ingest": "1",
      },
      body: body as BodyInit,
    },
    to,
  );
}

async function results(res: Response): Promise<IngestResponse["results"]> {
  expect(res.status).toBe(200);
  return ((await res.json()) as IngestResponse).results;
}

async function indexed(traceId: string) {
  return t.db
    .prepare("SELECT ws, route, status, r2_key AS key FROM executions WHERE trace_id = ?")
    .bind(traceId)
    .first<{ ws: string; route: string; status: number; key: string }>();
}

describe("POST /v1/ingest", () => {
  it("stores and indexes each trace of a batch once, and answers a repeat as duplicate", async () => {
    const a = await item(spec({ status: 503 }));
    const b = await item(spec({ route: "/other" }));
    expect(await results(await send([a, b]))).toEqual([
      { traceId: a.summary.traceId, status: "stored" },
      { traceId: b.summary.traceId, status: "stored" },
    ]);
    expect(await indexed(a.summary.traceId)).toEqual({
      ws: "acme",
      route: "/from-deno",
      status: 503,
      key: a.key,
    });
    const stored = await t.bucket.head(a.key);
    expect(stored?.customMetadata?.traceId).toBe(a.summary.traceId);
    expect(await results(await send([b, a, a]))).toEqual([
      { traceId: b.summary.traceId, status: "duplicate" },
      { traceId: a.summary.traceId, status: "duplicate" },
      { traceId: a.summary.traceId, status: "duplicate" },
    ]);
    const n = await t.db
      .prepare("SELECT count(*) AS n FROM executions WHERE trace_id IN (?, ?)")
      .bind(a.summary.traceId, b.summary.traceId)
      .first<{ n: number }>();
    expect(n?.n).toBe(2);
  });

  it("reads JSON batches with base64 bytes", async () => {
    const a = await item(spec());
    expect(await results(await send([a], { encoding: "json" }))).toEqual([
      { traceId: a.summary.traceId, status: "stored" },
    ]);
    expect(await indexed(a.summary.traceId)).not.toBeNull();
  });

  it("checks every item against its own head and rejects only the bad ones, with a reason", async () => {
    const good = await item(spec());
    const foreign = await item(spec({ app: "billing" }));
    const moved = { ...(await item(spec())), key: traceKey({ ...good.summary, app: "elsewhere" }) };
    const lying = await item(spec());
    lying.summary = { ...lying.summary, status: 200, route: "/not-what-happened" };
    const garbage = { ...(await item(spec())), bytes: new Uint8Array([1, 2, 3]) };
    const huge = {
      ...(await item(spec())),
      bytes: new Uint8Array(INGEST_LIMITS.maxTraceBytes + 1),
    };
    const got = await results(await send([good, foreign, moved, lying, garbage, huge]));
    expect(got.map((r) => [r.status, r.reason])).toEqual([
      ["stored", undefined],
      ["rejected", "app_mismatch"],
      ["rejected", "key_mismatch"],
      ["rejected", "summary_mismatch"],
      ["rejected", "unreadable"],
      ["rejected", "too_large"],
    ]);
    for (const bad of [foreign, moved, lying, garbage, huge]) {
      expect(await indexed(bad.summary.traceId)).toBeNull();
    }
    const denied = await t.db
      .prepare("SELECT actor, target FROM audit WHERE action = 'ingest.denied'")
      .all<{ actor: string; target: string }>();
    expect(denied.results).toContainEqual({
      actor: "ingest:shop-api",
      target: foreign.summary.traceId,
    });
  });

  it("rejects an item that is not a contract item but names its trace", async () => {
    const a = await item(spec());
    const { body, contentType } = encodeIngestBatch([a], "json");
    const broken = (JSON.parse(body as string) as Record<string, unknown>[]).map((x) => ({
      ...x,
      bytes: "not base64!",
    }));
    expect(await results(await sendRaw(JSON.stringify(broken), contentType))).toEqual([
      { traceId: a.summary.traceId, status: "rejected", reason: "schema" },
    ]);
  });

  it("refuses a whole request with a bad token, a body that is not a batch, or too many bytes", async () => {
    const a = await item(spec());
    const wrongToken = await send([a], { token: "fxi_unknown" });
    expect(wrongToken.status).toBe(401);
    expect(((await wrongToken.json()) as { error: { code: string } }).error.code).toBe(
      "ERR_INGEST_TOKEN",
    );
    expect(wrongToken.headers.get("content-type")).toContain("json");
    expect((await sendRaw(a.bytes, "application/cbor")).status).toBe(400);
    expect((await sendRaw("[]", "application/json")).status).toBe(400);
    expect((await sendRaw(JSON.stringify([{ key: "x" }]), "application/json")).status).toBe(400);
    const many = Array.from({ length: INGEST_LIMITS.maxItems + 1 }, () => a);
    expect((await send(many)).status).toBe(400);
    const tooBig = new Uint8Array(INGEST_LIMITS.maxBodyBytes + 1);
    expect((await sendRaw(tooBig, "application/cbor")).status).toBe(413);
    expect(await indexed(a.summary.traceId)).toBeNull();
  });
});

/**
 * The red team's forgery: anyone holding the public key can seal a trace. Once the app's
 * verification key is registered (FLUX_ORIGIN_KEYS), ingest stores only what the app signed.
 */
describe("trace origin", () => {
  const keys = generateSigningKeys();
  const stranger = generateSigningKeys();
  async function signedItem(s: TraceSpec, signingKey?: Parameters<typeof sealedBytes>[1]) {
    const { summary } = traceParts(s).head;
    return { key: traceKey(summary), bytes: await sealedBytes(s, signingKey), summary };
  }
  const sendSigned = async (items: IngestItem[]) =>
    send(items, {
      env: { ...env, FLUX_ORIGIN_KEYS: JSON.stringify({ "shop-api": (await keys).verifyJwk }) },
    });
  const origin = (id: string) =>
    t.db
      .prepare("SELECT origin FROM executions WHERE trace_id = ?")
      .bind(id)
      .first<{ origin: string }>();

  it("stores a trace the app signed as verified, and refuses unsigned and foreign-signed ones", async () => {
    const good = await signedItem(spec(), (await keys).signingJwk);
    const unsigned = await signedItem(spec());
    const foreign = await signedItem(spec(), (await stranger).signingJwk);
    expect(await results(await sendSigned([good, unsigned, foreign]))).toEqual([
      { traceId: good.summary.traceId, status: "stored" },
      { traceId: unsigned.summary.traceId, status: "rejected", reason: "unsigned" },
      { traceId: foreign.summary.traceId, status: "rejected", reason: "forged" },
    ]);
    expect(await origin(good.summary.traceId)).toEqual({ origin: "verified" });
    expect(await origin(unsigned.summary.traceId)).toBeNull();
    expect(await t.bucket.head(unsigned.key)).toBeNull();
    expect(await t.bucket.head(foreign.key)).toBeNull();
  });

  it("indexes traces of an app without a registered key as unverified", async () => {
    const plain = await item(spec());
    expect(await results(await send([plain]))).toEqual([
      { traceId: plain.summary.traceId, status: "stored" },
    ]);
    expect(await origin(plain.summary.traceId)).toEqual({ origin: "unverified" });
  });
});
