/**
 * `fluxrun pull`: copies traces out of R2 into the layout every other command reads
 * (`<out>/traces/<app>/<day>/<hour>/<time>-<id>.cbor`, as `fsSink` writes), from the app's local
 * wrangler state (`wrangler dev`) or from a deployed bucket over R2's S3 API. Filters read the
 * key layout and the summary metadata first, then the trace's clear head, which decides.
 * @module
 */
import { existsSync } from "node:fs";
import { mkdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { randomBytes } from "node:crypto";
import { startMiniflare, type Miniflare } from "./_miniflare.js";
import { asFluxError, FluxError } from "../errors.js";
import { appPrefix, OUTCOMES, parseTraceKey, TRACE_ROOT } from "../contract/storage.js";
import { readSummaryMetadata } from "../contract/summary.js";
import { readTrace, type TraceSummary } from "../trace/index.js";
import { readWranglerConfig } from "./config.js";
import { S3Bucket, type S3Credentials } from "./s3.js";
import { isLoopback } from "./_loopback.js";

/** The binding withFlux writes traces through. */
const TRACE_BINDING = "FLUX_TRACES";

/** Which traces to pull. Every field narrows; none means all. */
export interface PullFilters {
  app?: string;
  /** Exact route label, or a pattern with `*` (`/orders*`). */
  route?: string;
  method?: string;
  /** Status classes (`5`) or exact statuses (`500`). */
  status?: { classes: number[]; exact: number[] };
  outcome?: (typeof OUTCOMES)[number];
  /** Epoch milliseconds, inclusive. */
  since?: number;
  until?: number;
  /** The most recent N matches. */
  limit?: number;
}

const DURATION = /^(\d+)\s*(s|m|h|d)$/;
const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

function parseTime(name: string, value: string, now: number): number {
  const d = DURATION.exec(value.trim());
  if (d) return now - Number(d[1]) * UNIT_MS[d[2] as keyof typeof UNIT_MS];
  const t = Date.parse(value);
  if (Number.isNaN(t)) {
    throw new FluxError(
      "ERR_CONFIG",
      `--${name} takes a duration back from now (30m, 2h, 7d) or a date (2026-04-20, 2026-04-20T12:00Z)`,
    );
  }
  return t;
}

/**
 * Filters from command-line strings; `now` anchors relative times (`--since 2h`).
 *
 * @example
 * ```ts
 * parseFilters({ status: "5xx", since: "2h" }, Date.now());
 * ```
 */
export function parseFilters(
  raw: Partial<Record<keyof PullFilters, string | undefined>>,
  now: number,
): PullFilters {
  const out: PullFilters = {};
  if (raw.app) out.app = raw.app;
  if (raw.route) out.route = raw.route;
  if (raw.method) out.method = raw.method.toUpperCase();
  if (raw.status) {
    const classes: number[] = [];
    const exact: number[] = [];
    for (const part of raw.status.split(",").map((s) => s.trim().toLowerCase())) {
      if (/^[1-5]xx$/.test(part)) classes.push(Number(part[0]));
      else if (/^[1-5]\d\d$/.test(part)) exact.push(Number(part));
      else
        throw new FluxError(
          "ERR_CONFIG",
          "--status takes classes or codes: 5xx, 4xx, 500, 2xx,3xx",
        );
    }
    out.status = { classes, exact };
  }
  if (raw.outcome) {
    if (!(OUTCOMES as readonly string[]).includes(raw.outcome)) {
      throw new FluxError("ERR_CONFIG", `--outcome is one of ${OUTCOMES.join(", ")}`);
    }
    out.outcome = raw.outcome as PullFilters["outcome"] & string;
  }
  if (raw.since) out.since = parseTime("since", raw.since, now);
  if (raw.until) out.until = parseTime("until", raw.until, now);
  if (raw.limit) {
    const n = Number(raw.limit);
    if (!Number.isInteger(n) || n < 1) throw new FluxError("ERR_CONFIG", "--limit takes a count");
    out.limit = n;
  }
  return out;
}

function routeMatches(pattern: string, route: string): boolean {
  if (!pattern.includes("*")) return pattern === route;
  const re = new RegExp(
    `^${pattern
      .split("*")
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
      .join(".*")}$`,
  );
  return re.test(route);
}

/** The summary fields filters read, from R2 metadata or a decoded summary. */
type Facts = Partial<
  Pick<TraceSummary, "app" | "route" | "method" | "status" | "outcome" | "start">
>;

/** The facts R2 metadata gives (any key case: the S3 API lowercases), or none. */
function factsFromMetadata(meta: Record<string, string>): Facts {
  return readSummaryMetadata(meta) ?? {};
}

/** False when a known fact rules the trace out; unknown facts pass (the head decides later). */
function admits(f: PullFilters, facts: Facts): boolean {
  if (f.app !== undefined && facts.app !== undefined && facts.app !== f.app) return false;
  if (f.route !== undefined && facts.route !== undefined && !routeMatches(f.route, facts.route))
    return false;
  if (
    f.method !== undefined &&
    facts.method !== undefined &&
    facts.method.toUpperCase() !== f.method
  )
    return false;
  if (f.status && facts.status !== undefined) {
    const s = facts.status;
    if (!f.status.exact.includes(s) && !f.status.classes.includes(Math.floor(s / 100)))
      return false;
  }
  if (f.outcome !== undefined && facts.outcome !== undefined && facts.outcome !== f.outcome)
    return false;
  if (f.since !== undefined && facts.start !== undefined && facts.start < f.since) return false;
  if (f.until !== undefined && facts.start !== undefined && facts.start > f.until) return false;
  return true;
}

/** Filters that need the summary (metadata or head), beyond what the key says. */
function needsSummary(f: PullFilters): boolean {
  return (
    f.route !== undefined ||
    f.method !== undefined ||
    f.status !== undefined ||
    f.outcome !== undefined
  );
}

/** Where traces come from. */
interface TraceSource {
  readonly name: "local" | "r2";
  list(prefix: string): AsyncIterable<{ key: string; size: number; meta?: Record<string, string> }>;
  metadata?(key: string): Promise<Record<string, string>>;
  get(key: string): Promise<Uint8Array>;
  close(): Promise<void>;
}

/** wrangler dev's local R2 for `bucket`, read through Miniflare as wrangler itself does. */
async function localSource(persistTo: string, bucket: string): Promise<TraceSource> {
  const r2 = join(persistTo, "v3", "r2");
  if (!existsSync(r2)) {
    throw new FluxError(
      "ERR_CONFIG",
      `No local R2 state at ${r2}: run wrangler dev and send a request first, or pass --persist-to (or --remote for a deployed bucket)`,
    );
  }
  const mf = startMiniflare({
    modules: true,
    script: LOCAL_READER,
    r2Buckets: { BUCKET: bucket },
    r2Persist: r2,
  });
  const call = async (path: string, params: Record<string, string>): Promise<Response> => {
    const res = await mf.dispatchFetch(
      `http://local-r2.invalid${path}?${new URLSearchParams(params)}`,
    );
    return res as unknown as Response;
  };
  return {
    name: "local",
    async *list(prefix) {
      let cursor: string | null = null;
      do {
        const res = await call("/list", { prefix, ...(cursor ? { cursor } : {}) });
        if (!res.ok)
          throw new FluxError("ERR_CONFIG", `Could not list the local bucket (${res.status})`);
        const page = (await res.json()) as {
          objects: { key: string; size: number; meta: Record<string, string> }[];
          cursor: string | null;
        };
        yield* page.objects;
        cursor = page.cursor;
      } while (cursor);
    },
    async get(key) {
      const res = await call("/get", { key });
      if (res.status === 404) {
        await res.body?.cancel();
        throw new FluxError("ERR_CONFIG", `The local bucket lost ${key} while reading`);
      }
      if (!res.ok)
        throw new FluxError(
          "ERR_CONFIG",
          `Could not read ${key} from the local bucket (${res.status})`,
        );
      return new Uint8Array(await res.arrayBuffer());
    },
    close: () => mf.dispose(),
  };
}

/**
 * The worker that reads the local bucket for {@link localSource}, called with `dispatchFetch`:
 * Miniflare's Node-side bucket stub blocks on a helper thread for every field it reads, and that
 * proxy can lose step with its thread on a loaded machine.
 */
const LOCAL_READER = `export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const q = url.searchParams;
    if (url.pathname === "/list") {
      const cursor = q.get("cursor");
      const page = await env.BUCKET.list({
        prefix: q.get("prefix") ?? "",
        include: ["customMetadata"],
        ...(cursor ? { cursor } : {}),
      });
      return Response.json({
        objects: page.objects.map((o) => ({ key: o.key, size: o.size, meta: o.customMetadata ?? {} })),
        cursor: page.truncated ? page.cursor : null,
      });
    }
    if (url.pathname === "/get") {
      const obj = await env.BUCKET.get(q.get("key") ?? "");
      return obj ? new Response(obj.body) : new Response(null, { status: 404 });
    }
    return new Response(null, { status: 404 });
  },
};`;

function remoteSource(credentials: S3Credentials, bucket: string): TraceSource {
  const b = new S3Bucket(credentials, bucket);
  return {
    name: "r2",
    list: (prefix) => b.list(prefix),
    metadata: (key) => b.metadata(key),
    get: (key) => b.get(key),
    close: async () => {},
  };
}

/**
 * R2 S3 credentials from the environment: `R2_ACCESS_KEY_ID`, `R2_SECRET_ACCESS_KEY` and
 * `R2_ENDPOINT` (or `CLOUDFLARE_ACCOUNT_ID`), falling back to the `AWS_*` names S3 tools use.
 *
 * @example
 * ```ts
 * const s3 = s3FromEnvironment(process.env);
 * ```
 */
export function s3FromEnvironment(
  env: Record<string, string | undefined>,
  endpoint?: string,
): S3Credentials {
  const accessKeyId = env.R2_ACCESS_KEY_ID ?? env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.R2_SECRET_ACCESS_KEY ?? env.AWS_SECRET_ACCESS_KEY;
  const account = env.CLOUDFLARE_ACCOUNT_ID;
  const url =
    endpoint ??
    env.R2_ENDPOINT ??
    env.AWS_ENDPOINT_URL_S3 ??
    (account ? `https://${account}.r2.cloudflarestorage.com` : undefined);
  const missing = [
    accessKeyId ? "" : "R2_ACCESS_KEY_ID",
    secretAccessKey ? "" : "R2_SECRET_ACCESS_KEY",
    url ? "" : "R2_ENDPOINT (or CLOUDFLARE_ACCOUNT_ID)",
  ].filter(Boolean);
  if (missing.length || !accessKeyId || !secretAccessKey || !url) {
    throw new FluxError(
      "ERR_CONFIG",
      `pull --remote reads R2 over its S3 API and needs ${missing.join(", ")} in the environment (an R2 API token with read access)`,
    );
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw new FluxError("ERR_CONFIG", "The R2 endpoint is not a URL", { cause });
  }
  if (parsed.protocol !== "https:" && !isLoopback(parsed.hostname)) {
    throw new FluxError(
      "ERR_CONFIG",
      "The R2 endpoint must be https (plain http only on loopback)",
    );
  }
  return {
    endpoint: parsed.origin,
    accessKeyId,
    secretAccessKey,
    region: env.R2_REGION ?? env.AWS_REGION ?? "auto",
    ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
  };
}

/** Options of {@link pullTraces}. */
export interface PullOptions {
  /** Where the app is (its wrangler config, `.wrangler/state`). */
  cwd: string;
  /** Output root: traces land in `<out>/traces/...`. */
  out: string;
  filters?: PullFilters;
  config?: string;
  env?: string;
  /** Bucket name; default: the config's `FLUX_TRACES` R2 binding. */
  bucket?: string;
  /** wrangler dev's `--persist-to`; default `.wrangler/state` next to the config. */
  persistTo?: string;
  /** Read a deployed bucket over R2's S3 API instead of the local state. */
  s3?: S3Credentials;
  /** Receives progress lines on large pulls. */
  progress?: (line: string) => void;
}

export interface PullResult {
  source: "local" | "r2";
  bucket: string;
  out: string;
  /** `<out>/traces`: what to give `fluxrun replay`. */
  tracesDir: string;
  listed: number;
  matched: number;
  written: number;
  /** Matches already in `out` (same key and size): not downloaded again. */
  present: number;
  /** Objects that are not readable traces: left out, with the reader's error code. */
  skipped: { key: string; code: string; message: string }[];
  files: string[];
  /** False when the config read has no `main`: replay needs `--entry`. */
  hasMain?: boolean;
}

async function resolveBucket(
  options: PullOptions,
): Promise<{ bucket: string; root: string; hasMain?: boolean }> {
  let root = options.cwd;
  let bucket = options.bucket;
  let hasMain: boolean | undefined;
  const needConfig = !bucket || (!options.s3 && !options.persistTo);
  if (needConfig) {
    const config = await readWranglerConfig(options.config, {
      cwd: options.cwd,
      ...(options.env ? { env: options.env } : {}),
    }).catch((err: unknown) => {
      if (bucket) return undefined;
      throw err;
    });
    if (config) {
      root = dirname(config.path);
      hasMain = typeof config.raw.main === "string";
      if (!bucket) {
        const entries = Array.isArray(config.raw.r2_buckets)
          ? (config.raw.r2_buckets as { binding?: unknown; bucket_name?: unknown }[])
          : [];
        const entry = entries.find((b) => b.binding === TRACE_BINDING);
        if (!entry) {
          throw new FluxError(
            "ERR_CONFIG",
            `${config.path} has no R2 binding ${TRACE_BINDING}${options.env ? ` in environment ${options.env}` : ""}: run fluxrun init, or pass --bucket`,
          );
        }
        bucket = typeof entry.bucket_name === "string" ? entry.bucket_name : TRACE_BINDING;
      }
    }
  }
  return { bucket: bucket!, root, ...(hasMain === undefined ? {} : { hasMain }) };
}

function safeKey(key: string): boolean {
  return key.split("/").every((p) => p.length > 0 && p !== "." && p !== ".." && !/[\\\0:]/.test(p));
}

async function writeAtomic(file: string, bytes: Uint8Array): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.${randomBytes(6).toString("hex")}.tmp`;
  try {
    await writeFile(tmp, bytes, { mode: 0o600 });
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/**
 * Pulls traces into `<out>/traces/...`: lists by key, narrows by key and metadata, downloads
 * what is not already there, checks each is a readable trace (bounded reader, clear head only;
 * no key needed) and that its summary passes the filters.
 *
 * @example
 * ```ts
 * const r = await pullTraces({ cwd: "my-app", out: "my-app/.fluxrun", filters: { status: { classes: [5], exact: [] } } });
 * console.log(`${r.written} traces in ${r.tracesDir}`);
 * ```
 */
export async function pullTraces(options: PullOptions): Promise<PullResult> {
  const filters = options.filters ?? {};
  const { bucket, root, hasMain } = await resolveBucket(options);
  const source = options.s3
    ? remoteSource(options.s3, bucket)
    : await localSource(options.persistTo ?? join(root, ".wrangler", "state"), bucket);
  const out = resolve(options.out);
  const result: PullResult = {
    source: source.name,
    bucket,
    out,
    tracesDir: join(out, "traces"),
    listed: 0,
    matched: 0,
    written: 0,
    present: 0,
    skipped: [],
    files: [],
    ...(hasMain === undefined ? {} : { hasMain }),
  };
  try {
    const prefix = filters.app ? appPrefix(filters.app) : TRACE_ROOT;
    const candidates: { key: string; size: number; meta?: Record<string, string> }[] = [];
    for await (const o of source.list(prefix)) {
      result.listed++;
      const fromKey = parseTraceKey(o.key);
      if (!fromKey || !safeKey(o.key)) continue;
      if (!admits(filters, { start: fromKey.start, ...(o.meta ? factsFromMetadata(o.meta) : {}) }))
        continue;
      candidates.push(o);
    }
    // The remote list has no metadata: read it (HEAD) only when a filter needs it.
    if (needsSummary(filters) && source.metadata) {
      const kept: typeof candidates = [];
      for (const c of candidates) {
        if (admits(filters, factsFromMetadata(await source.metadata(c.key)))) kept.push(c);
      }
      candidates.splice(0, candidates.length, ...kept);
    }
    const chosen = filters.limit ? candidates.slice(-filters.limit) : candidates;
    const step = chosen.length >= 50 ? Math.ceil(chosen.length / 10) : 0;
    for (const [i, c] of chosen.entries()) {
      if (step && i > 0 && i % step === 0)
        options.progress?.(`pull: ${i}/${chosen.length} traces from ${source.name} ${bucket}`);
      const file = join(out, ...c.key.split("/"));
      const existing = await stat(file).catch(() => undefined);
      if (existing?.isFile() && existing.size === c.size) {
        result.present++;
        result.matched++;
        result.files.push(file);
        continue;
      }
      const bytes = await source.get(c.key);
      let summary: TraceSummary;
      try {
        summary = readTrace(bytes).head.summary;
      } catch (err) {
        const { code, message } = asFluxError(err, "ERR_TRACE_CORRUPT", "Could not read the trace");
        result.skipped.push({ key: c.key, code, message });
        continue;
      }
      if (!admits(filters, summary)) continue;
      await writeAtomic(file, bytes);
      result.matched++;
      result.written++;
      result.files.push(file);
    }
    if (step)
      options.progress?.(
        `pull: ${chosen.length}/${chosen.length} traces from ${source.name} ${bucket}`,
      );
  } finally {
    await source.close();
  }
  return result;
}
