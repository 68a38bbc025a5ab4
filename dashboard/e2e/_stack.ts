/**
 * The e2e stack, all on 127.0.0.1: one Miniflare running the dashboard (bundled from
 * dashboard/src, real D1, migrations applied) and a withFlux-wrapped shop fixture sharing the
 * `fluxrun-traces` R2 bucket; a payments upstream the fixture calls; and an agent stand-in that
 * implements issue 3's contract (CORS for allowed origins, EdDSA token checks against the
 * dashboard's JWKS, single-use jti, unlock by opening the trace with the private key, replay with
 * fluxrun/harness's Replayer against the repaired fixture). Swap it for the real agent
 * (`fluxrun agent`) once agent/ lands.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Miniflare } from "miniflare";
import { createRemoteJWKSet, exportJWK, generateKeyPair, jwtVerify } from "jose";
import { bundleWorker, Replayer } from "fluxrun/harness";
import { generateTraceKeys, openTrace } from "fluxrun/trace";
import { migrate } from "../test/_helpers.js";

const HERE = new URL(".", import.meta.url).pathname;
export const DEV_TOKEN = "fxd_e2e-dev-admin-token-0123456789abcdefghijklmn";
export const AGENT_ID = "e2e-agent";

export interface Stack {
  dashboard: string;
  agent: AgentStub;
  record(path: string, init?: RequestInit): Promise<Response>;
  waitForTraces(n: number): Promise<void>;
  dispose(): Promise<void>;
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

function payments(): Server {
  return createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      const order = JSON.parse(body || "{}") as { card?: string };
      res.setHeader("content-type", "application/json");
      if (order.card === "4000000000000002") {
        res.statusCode = 402;
        res.end(
          JSON.stringify({ error: { code: "card_declined", decline_code: "insufficient_funds" } }),
        );
      } else {
        res.end(
          JSON.stringify({
            id: `ch_${Math.random().toString(36).slice(2, 10)}`,
            status: "succeeded",
          }),
        );
      }
    });
  });
}

export interface AgentStub {
  url: string;
  allowedOrigins: string[];
  requests: { path: string; code: string | null }[];
}

function toField(path: string, value: unknown): Record<string, unknown> {
  if (value === undefined) return { path, missing: true, encoding: "utf8" };
  if (value instanceof Uint8Array) {
    try {
      return {
        path,
        value: new TextDecoder("utf-8", { fatal: true }).decode(value),
        encoding: "utf8",
      };
    } catch {
      return { path, value: Buffer.from(value).toString("base64"), encoding: "base64" };
    }
  }
  if (typeof value === "string") return { path, value, encoding: "utf8" };
  return {
    path,
    value: JSON.parse(
      JSON.stringify(value, (_k, v: unknown) =>
        v instanceof Uint8Array ? new TextDecoder().decode(v) : v,
      ),
    ) as unknown,
    encoding: "json",
  };
}

async function agentStub(options: {
  dashboard: () => string;
  bucket: () => Promise<R2Bucket>;
  privateJwk: Record<string, unknown>;
  replayer: () => Promise<Replayer>;
}): Promise<{ stub: AgentStub; server: Server }> {
  const used = new Set<string>();
  const stub: AgentStub = { url: "", allowedOrigins: [], requests: [] };
  let jwks: ReturnType<typeof createRemoteJWKSet> | null = null;
  const send = (res: ServerResponse, origin: string | undefined, status: number, body: unknown) => {
    if (origin && stub.allowedOrigins.includes(origin)) {
      res.setHeader("access-control-allow-origin", origin);
      res.setHeader("vary", "origin");
    }
    res.setHeader("content-type", "application/json");
    res.setHeader("cache-control", "no-store");
    res.statusCode = status;
    res.end(JSON.stringify(body));
  };
  const fail = (code: string, message: string) => Object.assign(new Error(message), { code });
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const origin = req.headers.origin;
    const path = (req.url ?? "/").split("?")[0]!;
    if (req.method === "OPTIONS") {
      if (origin && stub.allowedOrigins.includes(origin)) {
        res.setHeader("access-control-allow-origin", origin);
        res.setHeader("access-control-allow-methods", "GET, POST");
        res.setHeader("access-control-allow-headers", "authorization, content-type");
        res.setHeader("access-control-max-age", "60");
      }
      res.statusCode = 204;
      return res.end();
    }
    if (origin && !stub.allowedOrigins.includes(origin)) {
      stub.requests.push({ path, code: "ERR_ORIGIN_NOT_ALLOWED" });
      return send(res, origin, 403, {
        error: { code: "ERR_ORIGIN_NOT_ALLOWED", message: `Origin ${origin} is not allowed` },
      });
    }
    if (path === "/v1/health") {
      return send(res, origin, 200, {
        ok: true,
        agentId: AGENT_ID,
        key: { loaded: true },
        bucket: { reachable: true },
        issuer: { configured: true },
        allowedOrigins: stub.allowedOrigins,
        versions: { trace: 1, fluxrun: "0.1.0" },
      });
    }
    let body = "";
    for await (const c of req) body += (c as Buffer).toString();
    try {
      const auth = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
      if (!auth) throw fail("ERR_TOKEN_MISSING", "No token");
      jwks ??= createRemoteJWKSet(new URL("/.well-known/jwks.json", options.dashboard()));
      let payload;
      try {
        ({ payload } = await jwtVerify(auth, jwks, {
          issuer: "fluxrun-dashboard",
          audience: AGENT_ID,
          algorithms: ["EdDSA"],
          clockTolerance: 5,
        }));
      } catch (e) {
        const c = (e as { code?: string }).code;
        throw fail(
          c === "ERR_JWT_EXPIRED"
            ? "ERR_TOKEN_EXPIRED"
            : c === "ERR_JWT_CLAIM_VALIDATION_FAILED"
              ? "ERR_TOKEN_AUDIENCE"
              : "ERR_TOKEN_SIGNATURE",
          "Token refused",
        );
      }
      if (used.has(payload.jti!)) throw fail("ERR_TOKEN_REUSED", "Token already used");
      used.add(payload.jti!);
      const req2 = JSON.parse(body) as { trace: string; fields?: string[] };
      const act = path === "/v1/unlock" ? "unlock" : path === "/v1/replay" ? "replay" : null;
      if (!act) throw fail("ERR_NOT_FOUND", "No such route");
      if (payload.act !== act) throw fail("ERR_TOKEN_ACTION", "Token is for another action");
      if (payload.trace !== req2.trace) throw fail("ERR_TOKEN_TRACE", "Token is for another trace");
      const bucket = await options.bucket();
      const list = await bucket.list({ prefix: `traces/${String(payload.app)}/` });
      const key = list.objects.find((o) => o.key.endsWith(`-${req2.trace}.cbor`))?.key;
      if (!key) throw fail("ERR_TRACE_NOT_FOUND", "Trace not in bucket");
      const bytes = new Uint8Array(await (await bucket.get(key))!.arrayBuffer());
      if (act === "unlock") {
        const opened = await openTrace(bytes, options.privateJwk as never);
        const fields = (req2.fields ?? []).map((p) => {
          const [seq, ...rest] = p.split(".");
          let v: unknown = opened.payloads[Number(seq)];
          for (const k of rest)
            v = v && typeof v === "object" ? (v as Record<string, unknown>)[k] : undefined;
          return toField(p, v);
        });
        stub.requests.push({ path, code: null });
        return send(res, origin, 200, { trace: req2.trace, fields });
      }
      const report = await (await options.replayer()).replay(bytes, options.privateJwk as never);
      stub.requests.push({ path, code: null });
      return send(res, origin, 200, report);
    } catch (e) {
      const code = (e as { code?: string }).code ?? "ERR_INTERNAL";
      stub.requests.push({ path, code });
      return send(
        res,
        origin,
        code.startsWith("ERR_TOKEN") ? 401 : code === "ERR_TRACE_NOT_FOUND" ? 404 : 500,
        { error: { code, message: (e as Error).message } },
      );
    }
  };
  const server = createServer((req, res) => void handle(req, res));
  stub.url = await listen(server);
  return { stub, server };
}

export async function startStack(): Promise<Stack> {
  const upstream = payments();
  const paymentsUrl = await listen(upstream);
  const keys = await generateTraceKeys();
  const signing = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  const signingJwk = JSON.stringify(await exportJWK(signing.privateKey));
  const fixture = join(HERE, "fixture/worker.ts");
  const [dashScript, appScript, fixedScript] = await Promise.all([
    bundleWorker(join(HERE, "../src/index.ts")),
    bundleWorker(fixture),
    bundleWorker(fixture, { define: { __FIXED__: "true" } }),
  ]);
  let mf: Miniflare | null = null;
  let replayer: Promise<Replayer> | null = null;
  let dashboardUrl = "";
  const { stub, server: agentServer } = await agentStub({
    dashboard: () => dashboardUrl,
    bucket: async () => (await mf!.getR2Bucket("FLUX_TRACES", "dashboard")) as unknown as R2Bucket,
    privateJwk: keys.privateJwk as unknown as Record<string, unknown>,
    replayer: () => {
      replayer ??= (async () => {
        const dir = await mkdtemp(join(tmpdir(), "fluxrun-e2e-"));
        const config = join(dir, "wrangler.toml");
        await writeFile(
          config,
          `name = "shop"\nmain = ${JSON.stringify(fixture)}\ncompatibility_date = "2026-04-20"\ncompatibility_flags = ["nodejs_compat"]\n\n[vars]\nPAYMENTS_URL = ${JSON.stringify(paymentsUrl)}\n\n[[kv_namespaces]]\nbinding = "KV"\nid = "kv"\n\n[[r2_buckets]]\nbinding = "FLUX_TRACES"\nbucket_name = "t"\n`,
        );
        return Replayer.start({ config, script: fixedScript });
      })();
      return replayer;
    },
  });
  mf = new Miniflare({
    host: "127.0.0.1",
    port: 0,
    workers: [
      {
        name: "dashboard",
        modules: [{ type: "ESModule", path: "dashboard.js", contents: dashScript }],
        compatibilityDate: "2026-04-20",
        compatibilityFlags: ["nodejs_compat"],
        d1Databases: { DB: "fluxrun-dashboard" },
        r2Buckets: { FLUX_TRACES: "fluxrun-traces" },
        bindings: {
          FLUX_DEV: "true",
          FLUX_DEV_ADMIN_TOKEN: DEV_TOKEN,
          FLUX_DEFAULT_WORKSPACE: "default",
          FLUX_AGENT_ORIGIN: stub.url,
          FLUX_AGENT_ID: AGENT_ID,
          FLUX_DASHBOARD_SIGNING_KEY: signingJwk,
        },
      },
      {
        name: "app",
        modules: [{ type: "ESModule", path: "app.js", contents: appScript }],
        compatibilityDate: "2026-04-20",
        compatibilityFlags: ["nodejs_compat"],
        kvNamespaces: ["KV"],
        r2Buckets: { FLUX_TRACES: "fluxrun-traces" },
        bindings: {
          FLUX_PUBLIC_KEY: JSON.stringify(keys.publicJwk),
          PAYMENTS_URL: paymentsUrl,
          PAYMENTS_API_KEY: "sk_test_e2e_secret_key",
        },
      },
    ],
  });
  dashboardUrl = (await mf.ready).toString().replace(/\/$/, "");
  stub.allowedOrigins = [dashboardUrl];
  await migrate((await mf.getD1Database("DB", "dashboard")) as unknown as D1Database);
  const appWorker = await mf.getWorker("app");
  const bucket = (await mf.getR2Bucket("FLUX_TRACES", "dashboard")) as unknown as R2Bucket;
  return {
    dashboard: dashboardUrl,
    agent: stub,
    async record(path, init) {
      try {
        const res = (await appWorker.fetch(
          `http://shop.test${path}`,
          init as never,
        )) as unknown as Response;
        await res.arrayBuffer();
        return res;
      } catch {
        // The handler threw: workerd answers an HTTP client with a 500.
        return new Response(null, { status: 500 });
      }
    },
    async waitForTraces(n) {
      for (let i = 0; i < 400; i++) {
        if ((await bucket.list({ prefix: "traces/" })).objects.length >= n) return;
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error(`expected ${n} traces in R2`);
    },
    async dispose() {
      await (await replayer)?.dispose();
      await mf?.dispose();
      await new Promise((r) => agentServer.close(r));
      await new Promise((r) => upstream.close(r));
    },
  };
}
