/**
 * `POST /v1/ingest`: the HTTP sink's endpoint (runtimes without R2), implementing the ingest
 * contract of `fluxrun/contract`: a batch of `{ key, bytes, summary }` items answered with a result
 * per trace. `Authorization: Bearer fxi_…` is a per-app ingest token. Each item is checked against
 * its own clear head (no key needed): the sent key and summary must be the trace's, the trace must
 * be for the token's app. Accepted traces are stored in the trace bucket under the contract's key
 * layout (so the agent can unlock and replay them) and indexed. Idempotent by trace id.
 * @module
 */
import {
  decodeIngestBatch,
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
} from "fluxrun/contract";
import { readTrace, type TraceHead } from "fluxrun/trace";
import { Hono, type Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { AppEnv } from "../env.js";
import type { Clock } from "../deps.js";
import { DashboardError } from "../errors.js";
import { appByIngestToken, type IngestTokenOwner } from "../db/workspaces.js";
import { audit } from "../db/audit.js";
import { rowFromHead } from "../db/executions.js";
import { storeRows } from "../indexer/store.js";

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
  | { traceId: string; ok: true; head: TraceHead; bytes: Uint8Array; key: string }
  | { traceId: string; ok: false; reason: IngestRejectReason };

function verify(entry: DecodedEntry, app: string): Verdict {
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
  return { traceId, ok: true, head, bytes: item.bytes, key };
}

async function tokenOwner(c: Context<AppEnv>): Promise<IngestTokenOwner> {
  const m = /^Bearer\s+(\S+)$/i.exec(c.req.header("authorization") ?? "");
  const owner = m ? await appByIngestToken(c.env.DB, m[1]!) : null;
  if (!owner) {
    throw new DashboardError(
      "ERR_INGEST_TOKEN",
      "The ingest token is missing, unknown or revoked",
      {
        fix: "Create one in Admin → Apps → New ingest token and configure the HTTP sink with it",
      },
    );
  }
  return owner;
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

function checkVersion(c: Context<AppEnv>): void {
  const version = c.req.header(INGEST_VERSION_HEADER);
  if (version !== undefined && version !== INGEST_VERSION) {
    throw new DashboardError(
      "ERR_BAD_REQUEST",
      `This dashboard speaks ingest version ${INGEST_VERSION}, not ${version}`,
      { fix: "Use a fluxrun release whose httpSink matches this dashboard" },
    );
  }
}

/** The request's items, or a 400 when the body is not a batch naming each of its traces. */
async function readBatch(c: Context<AppEnv>): Promise<DecodedEntry[]> {
  const entries = decodeIngestBatch(
    new Uint8Array(await c.req.arrayBuffer()),
    c.req.header("content-type") ?? null,
  );
  if (!entries || entries.some((e) => !e.ok && !e.traceId)) {
    throw new DashboardError(
      "ERR_BAD_REQUEST",
      `The body is not an ingest batch: an array of 1 to ${INGEST_LIMITS.maxItems} { key, bytes, summary } items, each naming its trace id`,
      { fix: "Send traces with fluxrun's httpSink" },
    );
  }
  return entries;
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
    accepted.map((v) => rowFromHead(v.head, v.key)),
    { now: options.now, workspace: options.workspace },
  );
}

export function ingestRoutes(clock: Clock): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();
  const limit = bodyLimit({
    maxSize: INGEST_LIMITS.maxBodyBytes,
    onError: () => {
      throw new DashboardError(
        "ERR_TOO_LARGE",
        `An ingest request is at most ${INGEST_LIMITS.maxBodyBytes} bytes`,
        { fix: "Lower the HTTP sink's maxBatchBytes or batchSize" },
      );
    },
  });
  routes.post(INGEST_PATH, limit, async (c) => {
    checkVersion(c);
    const owner = await tokenOwner(c);
    const appName = owner.app;
    const bucket = traceBucket(c);
    const verdicts = (await readBatch(c)).map((e) => verify(e, appName));
    const now = clock.now();
    const denied = verdicts.filter((v) => !v.ok && v.reason === "app_mismatch");
    if (denied.length) {
      const ws = owner.ws;
      for (const v of denied) {
        await audit(
          c.env.DB,
          {
            ws,
            actor: `ingest:${appName}`,
            action: "ingest.denied",
            target: v.traceId,
            allowed: false,
            reason: "trace is for another app",
          },
          now,
        );
      }
    }
    const seen = new Set<string>();
    const accepted = verdicts.filter(
      (v): v is Extract<Verdict, { ok: true }> =>
        v.ok && !seen.has(v.traceId) && (seen.add(v.traceId), true),
    );
    const fresh = await store(c, bucket, accepted, { now, workspace: owner.ws });
    const results = verdicts.map((v): IngestResult => {
      if (!v.ok) return { traceId: v.traceId, status: "rejected", reason: v.reason };
      return { traceId: v.traceId, status: fresh.delete(v.traceId) ? "stored" : "duplicate" };
    });
    return c.json({ results } satisfies IngestResponse, 200);
  });
  return routes;
}
