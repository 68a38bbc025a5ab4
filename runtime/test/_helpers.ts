/**
 * Test helpers: a counting upstream on 127.0.0.1, a recording Miniflare around a fixture worker,
 * and a wrangler config for replaying it. Everything runs in real workerd.
 */
import { spawn } from "node:child_process";
import { createServer, type Server } from "node:http";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Miniflare } from "miniflare";
import { nodeR2, withNodeBindings } from "./_miniflare.js";
import { bundleWorker } from "../src/harness/bundle.js";
import { generateTraceKeys } from "../src/trace/keys.js";

export const FIXTURES = new URL("./fixtures/", import.meta.url).pathname;

export interface Upstream {
  url: string;
  hits: () => number;
  paths: string[];
  close(): Promise<void>;
}

/** A live HTTP server on 127.0.0.1 that counts every request it receives. */
export async function startUpstream(delayMs = 0): Promise<Upstream> {
  const paths: string[] = [];
  const server: Server = createServer((req, res) => {
    paths.push(`${req.method} ${req.url}`);
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      setTimeout(() => {
        res.setHeader("content-type", "application/json");
        res.setHeader("x-upstream", "1");
        res.end(
          JSON.stringify({ path: req.url, method: req.method, len: body.length, n: paths.length }),
        );
      }, delayMs);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    hits: () => paths.length,
    paths,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

export type Keys = Awaited<ReturnType<typeof generateTraceKeys>>;

export interface Recorder {
  mf: Miniflare;
  keys: Keys;
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** Every stored trace, oldest first, waiting until at least `n` exist. */
  traces(n?: number): Promise<{ key: string; bytes: Uint8Array; meta: Record<string, string> }[]>;
  dispose(): Promise<void>;
}

const BINDINGS = {
  kvNamespaces: ["KV"],
  d1Databases: ["DB"],
  r2Buckets: ["FLUX_TRACES", "FILES"],
  queueProducers: { JOBS: { queueName: "jobs" } },
  serviceBindings: {
    SVC: async (req: { text(): Promise<string> }) => new Response(`svc got ${await req.text()}`),
  },
};

/** Runs a fixture worker in Miniflare with an in-memory trace bucket. */
export async function startRecorder(
  fixture: string,
  vars: Record<string, string>,
  options: {
    keys?: Keys;
    define?: Record<string, string>;
    script?: string;
    /** More bindings of any kind Miniflare takes (JSON values, say). */
    bindings?: Record<string, unknown>;
  } = {},
): Promise<Recorder> {
  const keys = options.keys ?? (await generateTraceKeys());
  const script =
    options.script ??
    (await bundleWorker(join(FIXTURES, fixture), { define: options.define ?? {} }));
  const mf = new Miniflare(
    await withNodeBindings({
      modules: [{ type: "ESModule", path: "worker.js", contents: script }],
      compatibilityDate: "2026-04-20",
      compatibilityFlags: ["nodejs_compat"],
      bindings: { FLUX_PUBLIC_KEY: JSON.stringify(keys.publicJwk), ...vars, ...options.bindings },
      ...BINDINGS,
    }),
  );
  await mf.ready;
  return {
    mf,
    keys,
    fetch: async (path, init) => {
      const res = await mf.dispatchFetch(`http://app.test${path}`, init as never);
      return res as unknown as Response;
    },
    async traces(n = 1) {
      const bucket = nodeR2(mf, "FLUX_TRACES");
      for (let i = 0; i < 200; i++) {
        // `include` is a real R2 option that @cloudflare/workers-types does not list.
        const list = await bucket.list({ include: ["customMetadata"] } as R2ListOptions);
        if (list.objects.length >= n) {
          return Promise.all(
            list.objects.map(async (o) => {
              const obj = await bucket.get(o.key);
              return {
                key: o.key,
                bytes: new Uint8Array(await obj!.arrayBuffer()),
                meta: o.customMetadata ?? {},
              };
            }),
          );
        }
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error(`Expected ${n} traces in R2`);
    },
    dispose: () => mf.dispose(),
  };
}

/** Writes a wrangler.toml for a fixture into a fresh temp dir and returns its path. */
export async function writeConfig(
  fixture: string,
  vars: Record<string, string> = {},
): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "fluxrun-test-"));
  const varLines = Object.entries(vars)
    .map(([k, v]) => `${k} = ${JSON.stringify(v)}`)
    .join("\n");
  const toml = `name = "fixture"
main = ${JSON.stringify(join(FIXTURES, fixture))}
compatibility_date = "2026-04-20"
compatibility_flags = ["nodejs_compat"]

[vars]
${varLines}

[[kv_namespaces]]
binding = "KV"
id = "kv"

[[d1_databases]]
binding = "DB"
database_name = "db"
database_id = "db"

[[r2_buckets]]
binding = "FLUX_TRACES"
bucket_name = "traces"

[[r2_buckets]]
binding = "FILES"
bucket_name = "files"

[[queues.producers]]
binding = "JOBS"
queue = "jobs"

[[services]]
binding = "SVC"
service = "svc"
`;
  const path = join(dir, "wrangler.toml");
  await writeFile(path, toml);
  return path;
}

/**
 * Runs the repository's vitest in `cwd` (a generated guard's project), without a private key in
 * the environment unless `env` gives one; resolves with its exit code and output.
 */
export function vitest(
  cwd: string,
  env: Record<string, string> = {},
): Promise<{ code: number; out: string }> {
  const root = new URL("../../", import.meta.url).pathname;
  return new Promise((resolve) => {
    const child = spawn(join(root, "node_modules/.bin/vitest"), ["run"], {
      cwd,
      env: { ...process.env, FLUX_PRIVATE_KEY: "", ...env },
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    child.on("close", (code) => resolve({ code: code ?? -1, out }));
  });
}
