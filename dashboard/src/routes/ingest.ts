/**
 * `POST /v1/ingest`: the HTTP sink's endpoint (runtimes without R2), implementing the ingest
 * contract of `fluxrun/contract`: a batch of `{ key, bytes, summary }` items answered with a result
 * per trace. `Authorization: Bearer fxi_…` is a per-app ingest token; the traces it delivers
 * belong to its app's workspace. Each item is checked against its own clear head (no key needed):
 * the sent key and summary must be the trace's, the trace must be for the token's app. Accepted
 * traces are stored in the trace bucket under the contract's key layout (so the agent can unlock
 * and replay them) and indexed. Idempotent by trace id.
 *
 * The drop counts a sink reports with a batch (traces it lost on the way) are added to `sink_drops`.
 *
 * Limits: an address is locked out after repeated failed authentications, each token has a request
 * rate, and the body is counted while it streams in (whatever `content-length` says). Refusals are
 * audited once per burst in the token owner's workspace and counted per app and reason for
 * Diagnostics.
 * @module
 */
import {
  decodeIngestRequest,
  INGEST_LIMITS,
  INGEST_PATH,
  INGEST_VERSION,
  INGEST_VERSION_HEADER,
  summaryMetadata,
  TRACE_CONTENT_TYPE,
  traceKey,
  type DecodedEntry,
  type IngestRejectReason,
  type IngestResponse,
  type IngestResult,
  type SinkDrops,
} from "fluxrun/contract";
import { readTrace, type OriginKeys, type TraceHead } from "fluxrun/trace";
import { Hono, type Context } from "hono";
import type { AppEnv } from "../env.js";
import type { Clock } from "../deps.js";
import { DashboardError } from "../errors.js";
import { ingestTokenOwner, type IngestTokenOwner } from "../db/workspaces.js";
import { audit } from "../db/audit.js";
import {
  countRefusals,
  failedAuth,
  firstOfBurst,
  lockedOut,
  takeRequest,
  type RefusalCount,
  type RequestRefusal,
} from "../db/ingest-limits.js";
import { rowFromHead } from "../db/executions.js";
import { storeRows } from "../indexer/store.js";
import { originOf, registeredKeys, type OriginStatus } from "../indexer/origin.js";
import { recordSinkDrops } from "../db/sink-drops.js";

/** JSON with object keys sorted: two summaries are the same when these strings are. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/** An item checked against its own head: accepted, or rejected with a reason. */
type Verdict =
  | {
      traceId: string;
      ok: true;
      head: TraceHead;
      bytes: Uint8Array;
      key: string;
      origin: OriginStatus;
    }
  | { traceId: string; ok: false; reason: IngestRejectReason };

async function verify(entry: DecodedEntry, app: string, keys: OriginKeys): Promise<Verdict> {
  if (!entry.ok) return { traceId: entry.traceId ?? "", ok: false, reason: entry.reason };
  const { item } = entry;
  const traceId = item.summary.traceId;
  const reject = (reason: IngestRejectReason): Verdict => ({ traceId, ok: false, reason });
  if (item.bytes.length > INGEST_LIMITS.maxTraceBytes) return reject("too_large");
  let head: TraceHead;
  try {
    head = readTrace(item.bytes).head;
  } catch {
    return reject("unreadable");
  }
  if (head.id !== traceId || canonical(head.summary) !== canonical(item.summary))
    return reject("summary_mismatch");
  if (head.summary.app !== app) return reject("app_mismatch");
  const key = traceKey(head.summary);
  if (item.key !== key) return reject("key_mismatch");
  const origin = await originOf(item.bytes, keys);
  if (!origin.ok) return reject(origin.code === "ERR_TRACE_UNSIGNED" ? "unsigned" : "forged");
  return { traceId, ok: true, head, bytes: item.bytes, key, origin: origin.status };
}

function traceBucket(c: Context<AppEnv>): R2Bucket {
  if (!c.env.FLUX_TRACES) {
    throw new DashboardError(
      "ERR_BINDING_MISSING",
      "The trace bucket is not bound (FLUX_TRACES): ingested traces could not be unlocked or replayed",
      { fix: 'Add [[r2_buckets]] binding = "FLUX_TRACES" to dashboard/wrangler.toml' },
    );
  }
  return c.env.FLUX_TRACES;
}

/**
 * The request's items and the sink's reported drops, or a 400 when the body is not a batch
 * naming each of its traces.
 */
function readBatch(
  body: Uint8Array,
  contentType: string | null,
): { entries: DecodedEntry[]; dropped: SinkDrops } {
  const batch = decodeIngestRequest(body, contentType);
  if (!batch || batch.entries.some((e) => !e.ok && !e.traceId)) {
    throw new Refused(
      "not_a_batch",
      new DashboardError(
        "ERR_BAD_REQUEST",
        `The body is not an ingest batch: an array of 1 to ${INGEST_LIMITS.maxItems} { key, bytes, summary } items, each naming its trace id`,
        { fix: "Send traces with fluxrun's httpSink" },
      ),
    );
  }
  return batch;
}

/**
 * Reads a request body, counting bytes as they stream in: past `max` it stops reading (and
 * cancels the stream) at once, whether or not a `content-length` was sent.
 *
 * @example
 * ```ts
 * const bytes = await readLimited(c.req.raw, INGEST_LIMITS.maxBodyBytes);
 * ```
 */
export async function readLimited(request: Request, max: number): Promise<Uint8Array> {
  const tooLarge = () =>
    new Refused(
      "body_too_large",
      new DashboardError("ERR_TOO_LARGE", `An ingest request is at most ${max} bytes`, {
        fix: "Lower the HTTP sink's maxBatchBytes or batchSize",
      }),
    );
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > max) throw tooLarge();
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

/** A whole-request refusal: the error answered and the reason it is counted under. */
class Refused extends Error {
  constructor(
    readonly reason: RequestRefusal,
    readonly error: DashboardError,
  ) {
    super(error.message);
  }
}

/** Stores accepted traces not in the bucket yet and indexes them; returns the newly indexed ids. */
async function store(
  c: Context<AppEnv>,
  bucket: R2Bucket,
  accepted: readonly Extract<Verdict, { ok: true }>[],
  options: { now: number; workspace: string },
): Promise<Set<string>> {
  for (const v of accepted) {
    if (await bucket.head(v.key)) continue;
    await bucket.put(v.key, v.bytes, {
      httpMetadata: { contentType: TRACE_CONTENT_TYPE },
      customMetadata: summaryMetadata(v.head.summary),
    });
  }
  return storeRows(
    c.env.DB,
    accepted.map((v) => rowFromHead(v.head, v.key, v.origin)),
    { now: options.now, workspace: options.workspace },
  );
}

/** The request token's owner, live or revoked; null for a missing or unknown token. */
async function tokenOwner(c: Context<AppEnv>): Promise<IngestTokenOwner | null> {
  const m = /^Bearer\s+(\S+)$/i.exec(c.req.header("authorization") ?? "");
  return m ? ingestTokenOwner(c.env.DB, m[1]!) : null;
}

/** A live owner, or a refusal (counting failures towards the address's lockout). */
async function authenticate(
  c: Context<AppEnv>,
  owner: IngestTokenOwner | null,
  options: { address: string; now: number },
): Promise<IngestTokenOwner> {
  const { address, now } = options;
  const locked = await lockedOut(c.env.DB, address, { now });
  if (locked !== null) {
    throw new Refused(
      "locked",
      new DashboardError(
        "ERR_INGEST_LOCKED",
        "Too many failed ingest authentications from this address: it is locked out for a while",
        {
          fix: "Check the HTTP sink's ingest token, then retry after the Retry-After delay",
          retryAfter: locked,
        },
      ),
    );
  }
  if (owner?.live) return owner;
  if (await failedAuth(c.env.DB, address, { now })) {
    await audit(
      c.env.DB,
      {
        ws: owner?.ws ?? null,
        actor: `ingest:${owner?.app ?? "unknown token"}`,
        action: "ingest.denied",
        target: owner?.app ?? null,
        allowed: false,
        reason: "address locked out after repeated failed authentications",
      },
      now,
    );
  }
  throw new Refused(
    "auth",
    new DashboardError("ERR_INGEST_TOKEN", "The ingest token is missing, unknown or revoked", {
      fix: "Create one in Admin → Apps → New ingest token and configure the HTTP sink with it",
    }),
  );
}

function rateOptions(env: AppEnv["Bindings"], now: number): { now: number; maxRequests?: number } {
  const n = Number(env.FLUX_INGEST_RATE);
  return Number.isInteger(n) && n > 0 ? { now, maxRequests: n } : { now };
}

/** Audits a refusal once per burst, in the token owner's own workspace. */
async function auditBurst(
  c: Context<AppEnv>,
  owner: IngestTokenOwner,
  refusal: { reason: string; text: string; count: number; target?: string },
  now: number,
): Promise<void> {
  if (
    !(await firstOfBurst(c.env.DB, { ws: owner.ws, who: owner.hash, reason: refusal.reason, now }))
  )
    return;
  await audit(
    c.env.DB,
    {
      ws: owner.ws,
      actor: `ingest:${owner.app}`,
      action: "ingest.denied",
      target: refusal.target ?? owner.app,
      allowed: false,
      reason: refusal.text,
      detail: {
        refusal: refusal.reason,
        count: refusal.count,
        burst: "first of a burst: later ones are counted in Diagnostics",
      },
    },
    now,
  );
}

async function ingest(c: Context<AppEnv>, clock: Clock): Promise<Response> {
  const now = clock.now();
  const address = c.req.header("cf-connecting-ip") ?? "unknown";
  const found = await tokenOwner(c);
  try {
    const owner = await authenticate(c, found, { address, now });
    const wait = await takeRequest(c.env.DB, owner.hash, rateOptions(c.env, now));
    if (wait !== null) {
      await auditBurst(
        c,
        owner,
        { reason: "rate_limited", text: "ingest rate limit reached", count: 1 },
        now,
      );
      throw new Refused(
        "rate_limited",
        new DashboardError("ERR_RATE_LIMITED", "This ingest token is over its request rate", {
          fix: "The HTTP sink retries after Retry-After; send larger batches, or raise FLUX_INGEST_RATE",
          retryAfter: wait,
        }),
      );
    }
    const version = c.req.header(INGEST_VERSION_HEADER);
    if (version !== undefined && version !== INGEST_VERSION) {
      throw new Refused(
        "version",
        new DashboardError(
          "ERR_BAD_REQUEST",
          `This dashboard speaks ingest version ${INGEST_VERSION}, not ${version}`,
          { fix: "Use a fluxrun release whose httpSink matches this dashboard" },
        ),
      );
    }
    const bucket = traceBucket(c);
    const body = await readLimited(c.req.raw, INGEST_LIMITS.maxBodyBytes);
    const keys = registeredKeys(c.env.FLUX_ORIGIN_KEYS);
    const batch = readBatch(body, c.req.header("content-type") ?? null);
    const verdicts = await Promise.all(batch.entries.map((e) => verify(e, owner.app, keys)));
    const denied = verdicts.filter((v) => !v.ok && v.reason === "app_mismatch");
    if (denied.length) {
      await auditBurst(
        c,
        owner,
        {
          reason: "app_mismatch",
          text: "trace is for another app",
          count: denied.length,
          target: denied[0]!.traceId,
        },
        now,
      );
    }
    const seen = new Set<string>();
    const accepted = verdicts.filter(
      (v): v is Extract<Verdict, { ok: true }> =>
        v.ok && !seen.has(v.traceId) && (seen.add(v.traceId), true),
    );
    const fresh = await store(c, bucket, accepted, { now, workspace: owner.ws });
    // Counts only; a database without the table yet never costs the traces their delivery.
    await recordSinkDrops(c.env.DB, owner.app, batch.dropped, now).catch(() => {
      console.error("fluxrun-dashboard: could not record the sink's drop counts");
    });
    const results = verdicts.map((v): IngestResult => {
      if (!v.ok) return { traceId: v.traceId, status: "rejected", reason: v.reason };
      return { traceId: v.traceId, status: fresh.delete(v.traceId) ? "stored" : "duplicate" };
    });
    const counts = new Map<string, number>();
    for (const r of results) {
      const reason =
        r.status === "rejected" ? r.reason! : r.status === "duplicate" ? "duplicate" : null;
      if (reason) counts.set(reason, (counts.get(reason) ?? 0) + 1);
    }
    const app = owner.app;
    await countRefusals(
      c.env.DB,
      [...counts].map(([reason, n]): RefusalCount => ({ app, reason, unit: "trace", n })),
      { now },
    );
    return c.json({ results } satisfies IngestResponse, 200);
  } catch (err) {
    if (!(err instanceof Refused)) throw err;
    const app = found?.app;
    if (app)
      await countRefusals(c.env.DB, [{ app, reason: err.reason, unit: "request", n: 1 }], { now });
    throw err.error;
  }
}

export function ingestRoutes(clock: Clock): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();
  routes.post(INGEST_PATH, (c) => ingest(c, clock));
  return routes;
}
