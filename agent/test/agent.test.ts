/**
 * The agent in real workerd, next to the app it replays (two workers in one Miniflare, the app
 * with every outbound request refused). The dashboard's token issuance is a small helper here,
 * signing with an Ed25519 key made at test time.
 */
import { nodeD1, nodeR2, withNodeBindings, workerFetch } from "../../runtime/test/_miniflare.js";
import { exportJWK, generateKeyPair, SignJWT, type JWK } from "jose";

type KeyLike = CryptoKey | Uint8Array;
import { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bundleWorker } from "../../runtime/src/harness/bundle.js";
import { generateSigningKeys } from "../../runtime/src/trace/_sign.js";
import { readTrace, sealTrace } from "../../runtime/src/trace/seal.js";
import { traceKey as keyOf } from "../../runtime/src/contract/storage.js";
import {
  FIXTURES,
  startRecorder,
  startUpstream,
  type Recorder,
  type Upstream,
} from "../../runtime/test/_helpers.js";

const ROOT = new URL("../../", import.meta.url).pathname;
const SECRET = "agent-test-secret-token";
const BODY = "agent-test-request-body";
const AGENT_ID = "agent-under-test";
const ORIGIN = "http://dash.test";

let upstream: Upstream;
let rec: Recorder;
let mf: Miniflare;
let dashKey: KeyLike;
let dashJwk: JWK;
let agentSigning: JWK;
let traceId: string;
let traceKey: string;
let fetchSeq: number;
let liveHits = 0;
const origin = await generateSigningKeys();

async function token(
  claims: Record<string, unknown> = {},
  options: {
    key?: KeyLike;
    alg?: string;
    kid?: string;
    typ?: string;
    lifetime?: number;
    iat?: number;
  } = {},
) {
  const iat = options.iat ?? Math.floor(Date.now() / 1000);
  const base = {
    iss: "fluxrun-dashboard",
    aud: AGENT_ID,
    sub: "user-1",
    ws: "ws-1",
    app: "basic",
    trace: traceId,
    act: "unlock",
    jti: crypto.randomUUID(),
    iat,
    exp: iat + (options.lifetime ?? 30),
  };
  return new SignJWT({ ...base, ...claims })
    .setProtectedHeader({
      alg: options.alg ?? "EdDSA",
      kid: options.kid ?? "dash-1",
      ...(options.typ ? { typ: options.typ } : {}),
    })
    .sign(options.key ?? dashKey);
}

async function agent(
  path: string,
  init: {
    token?: string;
    body?: unknown;
    origin?: string | null;
    method?: string;
    headers?: Record<string, string>;
  } = {},
) {
  const headers: Record<string, string> = { ...(init.headers ?? {}) };
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  if (init.origin !== null) headers.origin = init.origin ?? ORIGIN;
  if (init.body !== undefined) headers["content-type"] = "application/json";
  const res = await mf.dispatchFetch(`http://agent.test${path}`, {
    method: init.method ?? (init.body === undefined ? "GET" : "POST"),
    headers,
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // NDJSON or empty
  }
  return { status: res.status, text, json, headers: res.headers };
}

/** A dashboard-signed approval statement (a second person's) for unlocking `fields`. */
async function approval(fields: string[], claims: Record<string, unknown> = {}) {
  const iat = Math.floor(Date.now() / 1000);
  return new SignJWT({
    iss: "fluxrun-dashboard",
    aud: AGENT_ID,
    ws: "ws-1",
    app: "basic",
    trace: traceId,
    act: "unlock",
    risk: "unlock_secret",
    mode: "second_person",
    fields,
    req: "user-1",
    by: "user-2",
    iat,
    exp: iat + 300,
    jti: crypto.randomUUID(),
    ...claims,
  })
    .setProtectedHeader({ alg: "EdDSA", kid: "dash-1", typ: "fluxrun-approval+jwt" })
    .sign(dashKey);
}

function errorCode(r: { json: Record<string, unknown> }) {
  return (r.json.error as { code?: string } | undefined)?.code;
}

beforeAll(async () => {
  upstream = await startUpstream();
  rec = await startRecorder("basic/index.ts", {
    UPSTREAM: upstream.url,
    SECRET_TOKEN: SECRET,
    FLUX_SIGNING_KEY: JSON.stringify(origin.signingJwk),
  });
  await (await rec.fetch("/hello", { method: "POST", body: BODY })).text();
  const [t] = await rec.traces(1);
  traceKey = t!.key;
  traceId = t!.meta.traceId!;
  fetchSeq = readTrace(t!.bytes).head.events.findIndex((e) => e.kind === "fetch");

  const dash = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  dashKey = dash.privateKey;
  dashJwk = { ...(await exportJWK(dash.publicKey)), kid: "dash-1", alg: "EdDSA", use: "sig" };
  const signing = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  agentSigning = await exportJWK(signing.privateKey);

  const common = { compatibilityDate: "2026-04-20", compatibilityFlags: ["nodejs_compat"] };
  const agentScript = await bundleWorker(`${ROOT}agent/src/index.ts`);
  const agentBindings = {
    FLUX_PRIVATE_KEY: JSON.stringify(rec.keys.privateJwk),
    FLUX_AGENT_SIGNING_KEY: JSON.stringify(agentSigning),
    FLUX_DASHBOARD_JWKS: JSON.stringify({ keys: [dashJwk] }),
    FLUX_AGENT_ID: AGENT_ID,
    FLUX_ALLOWED_ORIGINS: ORIGIN,
    FLUX_PUBLIC_KEY: JSON.stringify(rec.keys.publicJwk),
    FLUX_WORKSPACES: "ws-1",
    FLUX_ORIGIN_KEYS: JSON.stringify({ basic: origin.verifyJwk }),
  };
  mf = new Miniflare(
    await withNodeBindings({
      workers: [
        {
          name: "agent",
          modules: [{ type: "ESModule", path: "agent.js", contents: agentScript }],
          ...common,
          bindings: agentBindings,
          r2Buckets: { FLUX_TRACES: "traces" },
          d1Databases: ["FLUX_AUDIT"],
          durableObjects: { FLUX_JTI: "JtiStore" },
          serviceBindings: { APP: "app" },
        },
        {
          name: "agent-nokey",
          modules: [{ type: "ESModule", path: "agent.js", contents: agentScript }],
          ...common,
          bindings: { ...agentBindings, FLUX_PRIVATE_KEY: "" },
          r2Buckets: { FLUX_TRACES: "traces" },
          durableObjects: { FLUX_JTI: { className: "JtiStore", scriptName: "agent" } },
        },
        ...(
          [
            ["agent-one-app", "ws-2, ws-1/other-app"],
            ["agent-unscoped", ""],
          ] as const
        ).map(([name, workspaces]) => ({
          name,
          modules: [{ type: "ESModule" as const, path: "agent.js", contents: agentScript }],
          ...common,
          bindings: { ...agentBindings, FLUX_WORKSPACES: workspaces },
          r2Buckets: { FLUX_TRACES: "traces" },
          durableObjects: { FLUX_JTI: { className: "JtiStore", scriptName: "agent" } },
        })),
        {
          name: "agent-legacy",
          modules: [{ type: "ESModule", path: "agent.js", contents: agentScript }],
          ...common,
          bindings: { ...agentBindings, FLUX_ORIGIN_KEYS: "" },
          r2Buckets: { FLUX_TRACES: "traces" },
          durableObjects: { FLUX_JTI: { className: "JtiStore", scriptName: "agent" } },
        },
        {
          name: "app",
          modules: [
            {
              type: "ESModule",
              path: "app.js",
              contents: await bundleWorker(`${FIXTURES}basic/index.ts`),
            },
          ],
          ...common,
          bindings: {
            UPSTREAM: upstream.url,
            FLUX_AGENT_KEY: JSON.stringify(await exportJWK(signing.publicKey)),
          },
          kvNamespaces: ["KV"],
          d1Databases: ["DB"],
          r2Buckets: { FLUX_TRACES: "app-traces", FILES: "files" },
          queueProducers: { JOBS: { queueName: "jobs" } },
          serviceBindings: { SVC: () => new Response("refused", { status: 599 }) },
          outboundService: () => {
            liveHits++;
            return new Response("refused", { status: 599 });
          },
        },
      ],
    }),
  );
  const bucket = nodeR2(mf, "FLUX_TRACES", "agent");
  await bucket.put(traceKey, t!.bytes);
});

afterAll(async () => {
  await mf?.dispose();
  await rec?.dispose();
  await upstream?.close();
});

describe("unlock", () => {
  it("decrypts named fields for a valid token, with no-store, and masks what was not named", async () => {
    const fields = [
      `${fetchSeq}.result.body`,
      "0.body",
      `${fetchSeq}.request.headers`,
      `${fetchSeq}.request.headers.authorization`,
      "99.body",
    ];
    const r = await agent("/v1/unlock", {
      token: await token({ fields, apr: await approval(fields) }),
      body: { trace: traceId, fields },
    });
    expect(r.status).toBe(200);
    expect(r.headers.get("cache-control")).toBe("no-store");
    expect(r.headers.get("access-control-allow-origin")).toBe(ORIGIN);
    const out = r.json.fields as {
      path: string;
      value?: string;
      masked?: boolean;
      missing?: boolean;
    }[];
    expect(JSON.parse(out[0]!.value!)).toMatchObject({ path: "/data?x=1" });
    expect(out[1]!.value).toBe(BODY);
    expect(out[2]).toMatchObject({ masked: true });
    expect(out[2]!.value).toMatch(/\[masked:[0-9a-f]{12}\]/);
    expect(out[2]!.value).not.toContain(SECRET);
    expect(out[3]!.value).toBe(`Bearer ${SECRET}`);
    expect(out[4]).toEqual({ path: "99.body", missing: true });
  });

  it("reveals a masked header only with an approval bound to the token's fields", async () => {
    const fields = [`${fetchSeq}.request.headers.authorization`];
    const bare = await agent("/v1/unlock", {
      token: await token({ fields }),
      body: { trace: traceId, fields },
    });
    expect([bare.status, errorCode(bare)]).toEqual([403, "ERR_APPROVAL_REQUIRED"]);
    expect(bare.text).not.toContain(SECRET);
    const unbound = await agent("/v1/unlock", {
      token: await token({ apr: await approval(fields) }),
      body: { trace: traceId, fields },
    });
    expect([unbound.status, errorCode(unbound)]).toEqual([403, "ERR_APPROVAL_MISMATCH"]);
    const asToken = await agent("/v1/unlock", {
      token: await approval(fields, { sub: "user-1" }),
      body: { trace: traceId, fields },
    });
    expect([asToken.status, errorCode(asToken)]).toEqual([401, "ERR_TOKEN_TYPE"]);
  });

  it("refuses to unlock everything by default", async () => {
    const r = await agent("/v1/unlock", {
      token: await token(),
      body: { trace: traceId, fields: [] },
    });
    expect(r.status).toBe(400);
    expect(errorCode(r)).toBe("ERR_BAD_REQUEST");
  });
});

describe("replay and preflight", () => {
  it("replays through the app in replay mode with nothing live", async () => {
    const before = upstream.hits();
    const r = await agent("/v1/replay", {
      token: await token({ act: "replay" }),
      body: { trace: traceId },
    });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ verdict: "match", traceId });
    expect(upstream.hits()).toBe(before);
    expect(liveHits).toBe(0);
  });

  it("answers preflight from the clear head", async () => {
    const r = await agent("/v1/preflight", {
      token: await token({ act: "preflight" }),
      body: { trace: traceId },
    });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ readiness: "unknown", blockers: [] });
  });
});

describe("refusals", () => {
  const unlockBody = () => ({ trace: traceId, fields: ["0.body"] });
  const cases: [
    string,
    () => Promise<Parameters<typeof agent>[1] & { path?: string }>,
    number,
    string,
  ][] = [
    ["no token", async () => ({ body: unlockBody() }), 401, "ERR_TOKEN_MISSING"],
    [
      "a malformed token",
      async () => ({ token: "abc", body: unlockBody() }),
      401,
      "ERR_TOKEN_MALFORMED",
    ],
    [
      "an oversized token",
      async () => ({ token: "a".repeat(5000), body: unlockBody() }),
      401,
      "ERR_TOKEN_TOO_LARGE",
    ],
    [
      "a token whose typ is not JWT",
      async () => ({ token: await token({}, { typ: "at+jwt" }), body: unlockBody() }),
      401,
      "ERR_TOKEN_TYPE",
    ],
    [
      "an expired token",
      async () => ({
        token: await token({}, { iat: Math.floor(Date.now() / 1000) - 120 }),
        body: unlockBody(),
      }),
      401,
      "ERR_TOKEN_EXPIRED",
    ],
    [
      "a token living over 60 s",
      async () => ({ token: await token({}, { lifetime: 600 }), body: unlockBody() }),
      401,
      "ERR_TOKEN_LIFETIME",
    ],
    [
      "another agent's token",
      async () => ({ token: await token({ aud: "other-agent" }), body: unlockBody() }),
      403,
      "ERR_TOKEN_AUDIENCE",
    ],
    [
      "a token for another action",
      async () => ({ token: await token({ act: "replay" }), body: unlockBody() }),
      403,
      "ERR_TOKEN_ACTION",
    ],
    [
      "a token for another trace",
      async () => ({ token: await token({ trace: "0".repeat(32) }), body: unlockBody() }),
      403,
      "ERR_TOKEN_TRACE",
    ],
    [
      "a foreign signature",
      async () => ({
        token: await token(
          {},
          { key: (await generateKeyPair("EdDSA", { crv: "Ed25519" })).privateKey },
        ),
        body: unlockBody(),
      }),
      401,
      "ERR_TOKEN_SIGNATURE",
    ],
    [
      "alg none",
      async () => {
        const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
        const iat = Math.floor(Date.now() / 1000);
        const t = `${enc({ alg: "none", kid: "dash-1" })}.${enc({ iss: "fluxrun-dashboard", aud: AGENT_ID, sub: "u", ws: "w", app: "basic", trace: traceId, act: "unlock", jti: "x", iat, exp: iat + 30 })}.`;
        return { token: t, body: unlockBody() };
      },
      401,
      "ERR_TOKEN_ALGORITHM",
    ],
    [
      "HS256 signed with the public key (confusion)",
      async () => ({
        token: await token(
          {},
          {
            alg: "HS256",
            key: new TextEncoder().encode(JSON.stringify(dashJwk)) as unknown as KeyLike,
          },
        ),
        body: unlockBody(),
      }),
      401,
      "ERR_TOKEN_ALGORITHM",
    ],
    [
      "a refused origin",
      async () => ({ token: await token(), body: unlockBody(), origin: "http://evil.test" }),
      403,
      "ERR_ORIGIN_NOT_ALLOWED",
    ],
    [
      "a trace that does not exist",
      async () => ({
        token: await token({ trace: "0".repeat(12) + "f".repeat(20) }),
        body: { trace: "0".repeat(12) + "f".repeat(20), fields: ["0.body"] },
      }),
      404,
      "ERR_TRACE_NOT_FOUND",
    ],
  ];
  it.each(cases)(
    "refuses %s with %i %s and decrypts nothing",
    async (_name, make, status, code) => {
      const { path, ...init } = await make();
      const r = await agent(path ?? "/v1/unlock", init);
      expect(r.status).toBe(status);
      expect(errorCode(r)).toBe(code);
      expect(r.text).not.toContain(BODY);
      expect(r.text).not.toContain(SECRET);
    },
  );

  it("refuses a token replayed after use", async () => {
    const t = await token();
    expect((await agent("/v1/unlock", { token: t, body: unlockBody() })).status).toBe(200);
    const again = await agent("/v1/unlock", { token: t, body: unlockBody() });
    expect(again.status).toBe(401);
    expect(errorCode(again)).toBe("ERR_TOKEN_REUSED");
  });

  it("lets exactly one of two simultaneous uses of one token through", async () => {
    const t = await token();
    const results = await Promise.all(
      Array.from({ length: 6 }, () => agent("/v1/unlock", { token: t, body: unlockBody() })),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => errorCode(r) === "ERR_TOKEN_REUSED")).toHaveLength(5);
  });

  it("spends a token even when the action is then refused", async () => {
    const t = await token({ trace: "0".repeat(32) });
    expect(errorCode(await agent("/v1/unlock", { token: t, body: unlockBody() }))).toBe(
      "ERR_TOKEN_TRACE",
    );
    expect(
      errorCode(
        await agent("/v1/unlock", {
          token: t,
          body: { trace: "0".repeat(32), fields: ["0.body"] },
        }),
      ),
    ).toBe("ERR_TOKEN_REUSED");
  });

  it("refuses a corrupt trace with ERR_TRACE_CORRUPT", async () => {
    const bad = `${traceId.slice(0, 12)}${"e".repeat(20)}`;
    const bucket = nodeR2(mf, "FLUX_TRACES", "agent");
    await bucket.put(traceKey.replace(traceId, bad), "not a trace");
    const r = await agent("/v1/unlock", {
      token: await token({ trace: bad }),
      body: { trace: bad, fields: ["0.body"] },
    });
    expect(r.status).toBe(422);
    expect(errorCode(r)).toBe("ERR_TRACE_CORRUPT");
  });

  it("refuses with ERR_KEY_MISSING when the agent has no private key", async () => {
    const res = await workerFetch(mf, "agent-nokey", "http://agent.test/v1/unlock", {
      method: "POST",
      headers: { authorization: `Bearer ${await token()}`, "content-type": "application/json" },
      body: JSON.stringify(unlockBody()),
    });
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("ERR_KEY_MISSING");
  });

  it("answers a CORS preflight only for allowed origins", async () => {
    const ok = await agent("/v1/unlock", { method: "OPTIONS" });
    expect(ok.status).toBe(204);
    expect(ok.headers.get("access-control-allow-headers")).toContain("authorization");
    const bad = await agent("/v1/unlock", { method: "OPTIONS", origin: "http://evil.test" });
    expect(bad.status).toBe(403);
    expect(bad.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("workspaces (FLUX_WORKSPACES)", () => {
  async function at(worker: string, tokenValue: string) {
    const res = await workerFetch(mf, worker, "http://agent.test/v1/preflight", {
      method: "POST",
      headers: { authorization: `Bearer ${tokenValue}`, "content-type": "application/json" },
      body: JSON.stringify({ trace: traceId }),
    });
    return { status: res.status, code: ((await res.json()) as { error?: { code: string } }).error };
  }

  it("refuses a validly signed token for a workspace it does not serve", async () => {
    const r = await agent("/v1/preflight", {
      token: await token({ ws: "ws-evil", act: "preflight" }),
      body: { trace: traceId },
    });
    expect([r.status, errorCode(r)]).toEqual([403, "ERR_TOKEN_WORKSPACE"]);
  });

  it("serves `ws/app` entries for that app only, and no token at all without FLUX_WORKSPACES", async () => {
    const preflightToken = (claims: Record<string, unknown> = {}) =>
      token({ act: "preflight", ...claims });
    expect(await at("agent-one-app", await preflightToken())).toEqual({
      status: 403,
      code: expect.objectContaining({ code: "ERR_TOKEN_WORKSPACE" }),
    });
    expect((await at("agent-one-app", await preflightToken({ ws: "ws-2" }))).status).toBe(200);
    expect(await at("agent-unscoped", await preflightToken())).toEqual({
      status: 503,
      code: expect.objectContaining({ code: "ERR_WORKSPACES_NOT_CONFIGURED" }),
    });
  });
});

describe("health and audit", () => {
  it("reports actionable diagnostics and no secret", async () => {
    const r = await agent("/v1/health", { origin: null });
    expect(r.json).toMatchObject({
      ok: true,
      agentId: AGENT_ID,
      key: { loaded: true, matchesPublicKey: true },
      signingKey: { loaded: true },
      issuer: { configured: true, kids: ["dash-1"] },
      bucket: { bound: true, reachable: true },
      replayBinding: { bound: true },
      workspaces: ["ws-1"],
    });
    expect(r.text).not.toContain(rec.keys.privateJwk.d);
    expect(r.text).not.toContain(agentSigning.d!);
  });

  it("audits every attempt, allowed or denied, and the log holds no secret", async () => {
    const r = await agent("/v1/audit", { token: await token({ act: "audit", trace: "*" }) });
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toContain("application/x-ndjson");
    const rows = r.text
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rows.length).toBeGreaterThan(15);
    expect(rows.some((x) => x.outcome === "allowed" && x.action === "unlock")).toBe(true);
    for (const code of [
      "ERR_TOKEN_EXPIRED",
      "ERR_TOKEN_REUSED",
      "ERR_ORIGIN_NOT_ALLOWED",
      "ERR_TOKEN_SIGNATURE",
      "ERR_TOKEN_TRACE",
    ]) {
      expect(
        rows.some((x) => x.outcome === "denied" && x.code === code),
        code,
      ).toBe(true);
    }
    expect(rows.find((x) => x.outcome === "allowed" && x.action === "unlock")?.fields).toContain(
      "0.body",
    );
    const db = nodeD1(mf, "FLUX_AUDIT", "agent");
    const dump = JSON.stringify((await db.prepare("SELECT * FROM audit").all()).results);
    for (const secret of [SECRET, BODY, rec.keys.privateJwk.d, agentSigning.d!, "eyJ"])
      expect(dump).not.toContain(secret);
  });
});

/**
 * The red team's forgeries. The public key is not a secret, so anyone can seal a trace to it: the
 * agent trusts only what the app signed (FLUX_SIGNING_KEY, checked against FLUX_ORIGIN_KEYS).
 */
describe("trace origin", () => {
  const unlock = async (trace: string, worker = "agent") => {
    const res = await workerFetch(mf, worker, "http://agent.test/v1/unlock", {
      method: "POST",
      headers: {
        authorization: `Bearer ${await token({ trace })}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({ trace, fields: ["0.body"] }),
    });
    return (await res.json()) as {
      error?: { code: string; message: string };
      fields?: { value?: string }[];
      origin?: { status: string };
    };
  };
  /** A trace for app "basic", forged with the public key alone (optionally signed by a stranger). */
  async function forged(id: string, body: string, signingKey?: string) {
    const real = readTrace((await rec.traces(1))[0]!.bytes).head;
    const { recipient: _recipient, version: _version, signer: _signer, ...head } = real;
    return sealTrace(
      {
        head: { ...head, id, summary: { ...head.summary, traceId: id } },
        payloads: real.events.map((_, i) => (i === 0 ? { ...FORGED_REQUEST, body } : null)),
      },
      rec.keys.publicJwk,
      signingKey ? { signingKey } : {},
    );
  }
  const FORGED_REQUEST = { method: "POST", url: "http://app.test/hello", headers: [] };

  it("serves a signed trace as verified", async () => {
    const r = await unlock(traceId);
    expect(r.fields?.[0]?.value).toBe(BODY);
    expect(r.origin).toEqual({ status: "verified", signer: origin.kid });
  });

  it("refuses a trace forged with the public key (unsigned, or signed by another key)", async () => {
    const bucket = nodeR2(mf, "FLUX_TRACES", "agent");
    const id = `${traceId.slice(0, 12)}${"f".repeat(20)}`;
    const at = traceKey.replace(traceId, id);
    await bucket.put(at, await forged(id, "forged"));
    expect((await unlock(id)).error?.code).toBe("ERR_TRACE_UNSIGNED");
    const stranger = await generateSigningKeys();
    await bucket.put(at, await forged(id, "forged", JSON.stringify(stranger.signingJwk)));
    expect((await unlock(id)).error?.code).toBe("ERR_TRACE_SIGNER");
    await bucket.delete(at);
  });

  it("never lets a forged object with a real trace's id shadow the real one", async () => {
    const bucket = nodeR2(mf, "FLUX_TRACES", "agent");
    const start = readTrace((await rec.traces(1))[0]!.bytes).head.summary.start;
    const hour = Math.floor(start / 3_600_000) * 3_600_000;
    // Listed before the real object (an earlier minute of the same hour), same id.
    const shadow = keyOf({ app: "basic", traceId, start: hour === start ? hour + 1 : hour });
    expect(shadow).not.toBe(traceKey);
    await bucket.put(shadow, await forged(traceId, "the forger's payload"));
    try {
      const r = await unlock(traceId);
      expect(r.fields?.[0]?.value).toBe(BODY);
      expect(r.origin?.status).toBe("verified");
      // Without registered keys the agent cannot tell them apart, so it serves neither.
      const legacy = await unlock(traceId, "agent-legacy");
      expect(legacy.error?.code).toBe("ERR_TRACE_DUPLICATE");
    } finally {
      await bucket.delete(shadow);
    }
  });

  it("detects a real trace re-sealed in R2 with other content", async () => {
    const bucket = nodeR2(mf, "FLUX_TRACES", "agent");
    const real = (await rec.traces(1))[0]!.bytes;
    const resealed = await forged(traceId, "other content");
    // The forger keeps the real head's signer and signature next to its own sealed block.
    const { decodeCbor, encodeCbor } = await import("../../runtime/src/trace/_cbor.js");
    const parts = decodeCbor(real) as Record<string, unknown>;
    const swapped = encodeCbor({
      ...parts,
      sealed: (decodeCbor(resealed) as { sealed: Uint8Array }).sealed,
    });
    await bucket.put(traceKey, swapped);
    try {
      const r = await unlock(traceId);
      expect(r.error?.code).toBe("ERR_TRACE_SIGNATURE");
      expect(JSON.stringify(r)).not.toContain("other content");
    } finally {
      await bucket.put(traceKey, real);
    }
    expect((await unlock(traceId)).origin?.status).toBe("verified");
  });

  it("serves unsigned traces of an app without a registered key as unverified", async () => {
    const r = await unlock(traceId, "agent-legacy");
    expect(r.fields?.[0]?.value).toBe(BODY);
    expect(r.origin).toEqual({ status: "unverified", reason: "no_key" });
  });
});
