/**
 * `fluxrun pull`: from wrangler dev's local R2 state (read through Miniflare, as wrangler does)
 * and from a deployed bucket over R2's S3 API. The S3 side runs against a stand-in on 127.0.0.1
 * written here, because Cloudflare's network cannot be reached from tests: it checks every
 * request's AWS Signature V4 with its own implementation, pages its listings, and serves custom
 * metadata as `x-amz-meta-*` headers the way R2 does.
 */
import { createHash, createHmac } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { mkdtemp, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRecorder, startUpstream, type Recorder, type Upstream } from "./_helpers.js";
import { parseFilters, pullTraces, s3FromEnvironment } from "../src/harness/pull.js";
import { signRequest } from "../src/harness/s3.js";
import { main } from "../src/harness/cli.js";
import { readTrace } from "../src/trace/seal.js";
import { nodeR2, watchThreads, withNodeBindings } from "./_miniflare.js";

interface Stored {
  key: string;
  bytes: Uint8Array;
  meta: Record<string, string>;
}

let upstream: Upstream;
let rec: Recorder;
let stored: Stored[];

beforeAll(async () => {
  upstream = await startUpstream();
  rec = await startRecorder("basic/index.ts", { UPSTREAM: upstream.url, SECRET_TOKEN: "pull-t" });
  for (const path of ["/hello", "/boom", "/hello", "/boom"]) await (await rec.fetch(path)).text();
  stored = await rec.traces(4);
});

afterAll(async () => {
  await rec?.dispose();
  await upstream?.close();
});

async function listTraces(dir: string): Promise<string[]> {
  const all = await readdir(dir, { recursive: true });
  return all
    .filter((f) => f.endsWith(".cbor"))
    .map((f) => f.split("\\").join("/"))
    .sort();
}

/** An app folder whose wrangler dev local state holds `objects` in bucket `bucket`. */
async function localApp(objects: Stored[], bucket = "fluxrun-traces"): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "fluxrun-pull-"));
  await writeFile(
    join(dir, "wrangler.toml"),
    `name = "pull-app"\nmain = "src/index.ts"\ncompatibility_date = "2026-04-20"\ncompatibility_flags = ["nodejs_compat"]\n\n[[r2_buckets]]\nbinding = "FLUX_TRACES"\nbucket_name = "${bucket}"\n\n[env.staging]\n[[env.staging.r2_buckets]]\nbinding = "FLUX_TRACES"\nbucket_name = "staging-traces"\n`,
  );
  const mf = new Miniflare(
    await withNodeBindings({
      modules: true,
      script: "export default { fetch() { return new Response(null); } };",
      r2Buckets: { B: bucket },
      r2Persist: join(dir, ".wrangler/state/v3/r2"),
    }),
  );
  const b = nodeR2(mf, "B");
  for (const o of objects) await b.put(o.key, o.bytes, { customMetadata: o.meta });
  await mf.dispose();
  return dir;
}

/**
 * Runs `fn` and checks it never started Miniflare's synchronous proxy (a worker thread started on
 * its first blocking call), which can lose step with its thread on a loaded machine.
 */
async function withoutSyncProxy<T>(fn: () => Promise<T>): Promise<T> {
  const threads = watchThreads();
  try {
    const value = await fn();
    expect(threads.started, "a call went through Miniflare's synchronous proxy").toBe(0);
    return value;
  } finally {
    threads.restore();
  }
}

describe("pull from wrangler dev's local state", () => {
  let app: string;
  beforeAll(async () => {
    app = await localApp(stored);
  });

  it("copies every trace into the layout replay reads, and skips what is already there", async () => {
    const out = join(app, ".fluxrun");
    const r = await withoutSyncProxy(() => pullTraces({ cwd: app, out }));
    expect(r).toMatchObject({ source: "local", bucket: "fluxrun-traces", listed: 4, written: 4 });
    const files = await listTraces(out);
    expect(files).toEqual(stored.map((s) => s.key).sort());
    for (const s of stored) {
      expect(new Uint8Array(await readFile(join(out, s.key)))).toEqual(s.bytes);
      expect((await stat(join(out, s.key))).mode & 0o777).toBe(0o600);
    }
    const again = await pullTraces({ cwd: app, out });
    expect(again).toMatchObject({ written: 0, present: 4, matched: 4 });
  });

  it("filters by status class, route, outcome, method, time and count", async () => {
    const now = Date.now();
    const cases: [Record<string, string>, string[]][] = [
      [{ status: "5xx" }, ["/boom", "/boom"]],
      [{ status: "200" }, ["/hello", "/hello"]],
      [{ route: "/hel*" }, ["/hello", "/hello"]],
      [{ outcome: "exception" }, ["/boom", "/boom"]],
      [{ method: "post" }, []],
      [{ since: "1h" }, ["/boom", "/boom", "/hello", "/hello"]],
      [{ until: "2000-01-01" }, []],
      [{ status: "5xx", limit: "1" }, ["/boom"]],
    ];
    for (const [raw, routes] of cases) {
      const out = await mkdtemp(join(tmpdir(), "fluxrun-pull-out-"));
      const r = await pullTraces({ cwd: app, out, filters: parseFilters(raw, now) });
      const got = await Promise.all(
        (await listTraces(out)).map(
          async (f) => readTrace(new Uint8Array(await readFile(join(out, f)))).head.summary.route,
        ),
      );
      expect(got.sort(), JSON.stringify(raw)).toEqual(routes);
      expect(r.written).toBe(routes.length);
    }
    const boom = stored.filter((s) => s.meta.route === "/boom").map((s) => s.meta.start);
    const newest = await mkdtemp(join(tmpdir(), "fluxrun-pull-out-"));
    await pullTraces({
      cwd: app,
      out: newest,
      filters: parseFilters({ status: "5xx", limit: "1" }, now),
    });
    const [only] = await listTraces(newest);
    expect(String(readTrace(await readFile(join(newest, only!))).head.summary.start)).toBe(
      boom.sort().at(-1),
    );
  });

  it("refuses bad filters with a specific message", () => {
    expect(() => parseFilters({ status: "5x" }, 0)).toThrow(/--status takes/);
    expect(() => parseFilters({ outcome: "fine" }, 0)).toThrow(/--outcome is one of/);
    expect(() => parseFilters({ since: "yesterday-ish" }, 0)).toThrow(/--since takes/);
    expect(() => parseFilters({ limit: "0" }, 0)).toThrow(/--limit/);
  });

  it("reads the bucket of the --env environment, and says when there is no local state", async () => {
    await expect(
      pullTraces({ cwd: app, out: join(app, "x"), env: "staging" }),
    ).resolves.toMatchObject({
      bucket: "staging-traces",
      listed: 0,
    });
    const empty = await mkdtemp(join(tmpdir(), "fluxrun-pull-"));
    await writeFile(
      join(empty, "wrangler.toml"),
      'name = "e"\n[[r2_buckets]]\nbinding = "FLUX_TRACES"\nbucket_name = "local-traces"\n',
    );
    await expect(pullTraces({ cwd: empty, out: join(empty, "o") })).rejects.toThrow(
      /No local R2 state .*run wrangler dev/,
    );
    await writeFile(join(empty, "wrangler.toml"), 'name = "e"\n');
    await expect(pullTraces({ cwd: empty, out: join(empty, "o") })).rejects.toThrow(
      /no R2 binding FLUX_TRACES: run fluxrun init, or pass --bucket/,
    );
  });

  it("leaves out objects that are not readable traces and says which (CLI exit 2)", async () => {
    const junk: Stored = {
      key: "traces/pull-app/2026-01-01/00/000000000-0123456789abcdef0123456789abcdef.cbor",
      bytes: new TextEncoder().encode("not a trace"),
      meta: {},
    };
    const dir = await localApp([...stored.slice(0, 1), junk]);
    const lines: string[] = [];
    const io = {
      out: (l: string) => lines.push(l),
      err: (l: string) => lines.push(l),
      cwd: dir,
      env: {},
    };
    const code = await main(["pull", "--entry", "x.ts"], io);
    expect(code).toBe(2);
    expect(lines.join("\n")).toMatch(/note: --entry ignored: pull reads no code/);
    expect(lines.join("\n")).toMatch(/skipped traces\/pull-app\/.*: ERR_TRACE_CORRUPT/);
    expect(lines.join("\n")).toMatch(/1 new trace \(/);
    expect(lines).toContain("Next: npx fluxrun replay .fluxrun/traces");
  });
});

// ---- the S3 stand-in ----------------------------------------------------------------------------

const CREDS = {
  accessKeyId: "test-only-access-key",
  secretAccessKey: "test-only-secret-key-0123456789abcdef",
  region: "auto",
};

/** SigV4 as the stand-in checks it, written apart from the client's implementation. */
function expectedSignature(req: IncomingMessage, secret: string): string | undefined {
  const auth = req.headers.authorization ?? "";
  const m =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(
      auth,
    );
  if (!m) return undefined;
  const [, , day, region, signed] = m;
  const url = new URL(req.url ?? "/", "http://x");
  const enc = (s: string) =>
    encodeURIComponent(s).replace(
      /[!'()*]/g,
      (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
    );
  const query = [...url.searchParams]
    .map(([k, v]) => `${enc(k)}=${enc(v)}`)
    .sort()
    .join("&");
  const headers = signed!
    .split(";")
    .map((h) => `${h}:${String(req.headers[h] ?? "").trim()}\n`)
    .join("");
  const canonical = [
    req.method,
    url.pathname,
    query,
    headers,
    signed,
    String(req.headers["x-amz-content-sha256"]),
  ].join("\n");
  const date = String(req.headers["x-amz-date"]);
  const toSign = [
    "AWS4-HMAC-SHA256",
    date,
    `${day}/${region}/s3/aws4_request`,
    createHash("sha256").update(canonical).digest("hex"),
  ].join("\n");
  let k: Buffer = createHmac("sha256", `AWS4${secret}`).update(day!).digest();
  for (const part of [region!, "s3", "aws4_request"])
    k = createHmac("sha256", k).update(part).digest();
  return createHmac("sha256", k).update(toSign).digest("hex");
}

interface StandIn {
  endpoint: string;
  requests: string[];
  close(): Promise<void>;
}

async function s3StandIn(bucket: string, objects: Stored[], pageSize = 2): Promise<StandIn> {
  const requests: string[] = [];
  const byKey = new Map(objects.map((o) => [o.key, o]));
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    requests.push(`${req.method} ${url.pathname}${url.search}`);
    const sig = /Signature=([0-9a-f]{64})$/.exec(req.headers.authorization ?? "")?.[1];
    const access = /Credential=([^/]+)\//.exec(req.headers.authorization ?? "")?.[1];
    if (access !== CREDS.accessKeyId) {
      res.writeHead(403).end("<Error><Code>InvalidAccessKeyId</Code></Error>");
      return;
    }
    if (!sig || sig !== expectedSignature(req, CREDS.secretAccessKey)) {
      res.writeHead(403).end("<Error><Code>SignatureDoesNotMatch</Code></Error>");
      return;
    }
    const [, b, ...rest] = url.pathname.split("/");
    if (b !== bucket) {
      res.writeHead(404).end("<Error><Code>NoSuchBucket</Code></Error>");
      return;
    }
    const key = rest.map(decodeURIComponent).join("/");
    if (!key && url.searchParams.get("list-type") === "2") {
      const prefix = url.searchParams.get("prefix") ?? "";
      const keys = [...byKey.keys()].filter((k) => k.startsWith(prefix)).sort();
      const from = Number(url.searchParams.get("continuation-token") ?? 0);
      const page = keys.slice(from, from + pageSize);
      const more = from + pageSize < keys.length;
      res.setHeader("content-type", "application/xml");
      res.end(
        `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>${bucket}</Name><IsTruncated>${more}</IsTruncated>${page
          .map(
            (k) => `<Contents><Key>${k}</Key><Size>${byKey.get(k)!.bytes.length}</Size></Contents>`,
          )
          .join(
            "",
          )}${more ? `<NextContinuationToken>${from + pageSize}</NextContinuationToken>` : ""}</ListBucketResult>`,
      );
      return;
    }
    const o = byKey.get(key);
    if (!o) {
      res.writeHead(404).end("<Error><Code>NoSuchKey</Code></Error>");
      return;
    }
    for (const [k, v] of Object.entries(o.meta)) res.setHeader(`x-amz-meta-${k}`, v);
    res.setHeader("content-length", o.bytes.length);
    res.end(req.method === "HEAD" ? undefined : Buffer.from(o.bytes));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

describe("pull from a deployed bucket over R2's S3 API (a stand-in on 127.0.0.1)", () => {
  it("signs requests as AWS's published SigV4 examples", () => {
    const creds = {
      accessKeyId: "AKIAIOSFODNN7EXAMPLE",
      secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
      region: "us-east-1",
    };
    const at = new Date("2013-05-24T00:00:00Z");
    const get = signRequest(
      {
        method: "GET",
        url: new URL("https://examplebucket.s3.amazonaws.com/test.txt"),
        headers: { range: "bytes=0-9" },
      },
      creds,
      at,
    );
    expect(get.authorization).toMatch(
      /Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41$/,
    );
    const list = signRequest(
      {
        method: "GET",
        url: new URL("https://examplebucket.s3.amazonaws.com/?max-keys=2&prefix=J"),
      },
      creds,
      at,
    );
    expect(list.authorization).toMatch(
      /Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7$/,
    );
  });

  it("lists page by page, reads metadata only when a filter needs it, and writes the same layout", async () => {
    const standIn = await s3StandIn("prod-traces", stored);
    try {
      const out = await mkdtemp(join(tmpdir(), "fluxrun-pull-r2-"));
      const s3 = s3FromEnvironment({
        R2_ACCESS_KEY_ID: CREDS.accessKeyId,
        R2_SECRET_ACCESS_KEY: CREDS.secretAccessKey,
        R2_ENDPOINT: standIn.endpoint,
      });
      const all = await pullTraces({ cwd: out, out, bucket: "prod-traces", s3 });
      expect(all).toMatchObject({ source: "r2", listed: 4, written: 4 });
      expect(await listTraces(out)).toEqual(stored.map((s) => s.key).sort());
      expect(standIn.requests.filter((r) => r.startsWith("GET /prod-traces?"))).toHaveLength(2);
      expect(standIn.requests.some((r) => r.startsWith("HEAD"))).toBe(false);

      standIn.requests.length = 0;
      const errors = await mkdtemp(join(tmpdir(), "fluxrun-pull-r2-"));
      const five = await pullTraces({
        cwd: errors,
        out: errors,
        bucket: "prod-traces",
        s3,
        filters: parseFilters({ status: "5xx" }, Date.now()),
      });
      expect(five.written).toBe(2);
      expect(standIn.requests.filter((r) => r.startsWith("HEAD"))).toHaveLength(4);
      // Only the matching objects were downloaded.
      expect(standIn.requests.filter((r) => /^GET \/prod-traces\/traces\//.test(r))).toHaveLength(
        2,
      );
    } finally {
      await standIn.close();
    }
  });

  it("reports progress on large pulls", async () => {
    const many: Stored[] = Array.from({ length: 60 }, (_, i) => {
      const s = stored[i % stored.length]!;
      const id = (BigInt(`0x${s.meta.traceId}`) + BigInt(i + 1)).toString(16).padStart(32, "0");
      return { ...s, key: s.key.replace(/-[0-9a-f]{32}\.cbor$/, `-${id}.cbor`) };
    });
    const standIn = await s3StandIn("big", many, 25);
    try {
      const out = await mkdtemp(join(tmpdir(), "fluxrun-pull-r2-"));
      const lines: string[] = [];
      const r = await pullTraces({
        cwd: out,
        out,
        bucket: "big",
        s3: { ...CREDS, endpoint: standIn.endpoint },
        progress: (l) => lines.push(l),
      });
      expect(r.written).toBe(60);
      expect(lines.length).toBeGreaterThanOrEqual(5);
      expect(lines.at(-1)).toBe("pull: 60/60 traces from r2 big");
    } finally {
      await standIn.close();
    }
  });

  it("refuses wrong credentials, missing settings and plain http off loopback, never echoing the secret", async () => {
    const standIn = await s3StandIn("prod-traces", stored);
    try {
      const out = await mkdtemp(join(tmpdir(), "fluxrun-pull-r2-"));
      const wrong = {
        ...CREDS,
        secretAccessKey: "test-only-wrong-secret",
        endpoint: standIn.endpoint,
      };
      const err = await pullTraces({ cwd: out, out, bucket: "prod-traces", s3: wrong }).catch(
        (e: Error) => e,
      );
      expect(String(err)).toMatch(
        /ERR_CONFIG|R2 refused to list prod-traces \(403 SignatureDoesNotMatch\)/,
      );
      expect((err as { code?: string }).code).toBe("ERR_CONFIG");
      expect(String((err as Error).message)).not.toContain("test-only-wrong-secret");
      const missing = await pullTraces({
        cwd: out,
        out,
        bucket: "nope",
        s3: { ...CREDS, endpoint: standIn.endpoint },
      }).catch((e: Error) => e.message);
      expect(missing).toMatch(/no bucket nope/);
    } finally {
      await standIn.close();
    }
    expect(() => s3FromEnvironment({})).toThrow(
      /needs R2_ACCESS_KEY_ID, R2_SECRET_ACCESS_KEY, R2_ENDPOINT \(or CLOUDFLARE_ACCOUNT_ID\)/,
    );
    expect(
      s3FromEnvironment({
        R2_ACCESS_KEY_ID: "a",
        R2_SECRET_ACCESS_KEY: "b",
        CLOUDFLARE_ACCOUNT_ID: "acc",
      }).endpoint,
    ).toBe("https://acc.r2.cloudflarestorage.com");
    expect(() =>
      s3FromEnvironment({
        R2_ACCESS_KEY_ID: "a",
        R2_SECRET_ACCESS_KEY: "b",
        R2_ENDPOINT: "http://r2.example",
      }),
    ).toThrow(/must be https/);
  });

  it("runs from the CLI with --remote, credentials from the environment", async () => {
    const standIn = await s3StandIn("fluxrun-traces", stored);
    try {
      const dir = await localApp([]);
      const lines: string[] = [];
      const code = await main(["pull", "--remote", "--status", "2xx", "--json"], {
        out: (l) => lines.push(l),
        err: (l) => lines.push(l),
        cwd: dir,
        env: {
          R2_ACCESS_KEY_ID: CREDS.accessKeyId,
          R2_SECRET_ACCESS_KEY: CREDS.secretAccessKey,
          R2_ENDPOINT: standIn.endpoint,
        },
      });
      expect(code).toBe(0);
      const r = JSON.parse(lines.join("\n")) as { written: number; out: string; bucket: string };
      expect(r).toMatchObject({ written: 2, out: ".fluxrun", bucket: "fluxrun-traces" });
      const files = await listTraces(join(dir, ".fluxrun"));
      expect(files.every((f) => f.startsWith("traces/"))).toBe(true);
      expect(relative(dir, join(dir, ".fluxrun", files[0]!))).toMatch(/^\.fluxrun\/traces\//);
    } finally {
      await standIn.close();
    }
  });
});
