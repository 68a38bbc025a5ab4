/**
 * `fluxrun policy pull` against the real dashboard worker (workerd), and `fluxrun replay`'s
 * report of the policy it ran with: reviewed when the file is the pulled approved version,
 * unreviewed when edited since or never pulled, none without a file. The CLI runs in-process
 * (its `main`) in a checkout made in a temp dir; the trace is one the cross-part recorder wrote.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Miniflare } from "miniflare";
import { withNodeBindings, workerFetch } from "../../../runtime/test/_miniflare.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  POLICY_FILE,
  POLICY_SIGNED_FILE,
  policyDigest,
  type PolicyView,
  type ReplayPolicy,
} from "fluxrun/contract";
import { cli, pullPolicy } from "fluxrun/harness";
import { generateTraceKeys } from "fluxrun/trace";
import { createApiToken, ensureUser, setMember } from "../../src/db/users.js";
import { signingJwk } from "../_helpers.js";
import { dashboardDb, dashboardWorker, recorderWorker, traceBucket } from "./_parts.js";

const DEV_TOKEN = "fxd_cross-part-dev-admin-token-0123456789abcdef";
const POLICY: ReplayPolicy = {
  version: 1,
  allow: [{ kind: "fetch", method: "GET", host: "rates.example.com", path: "/v1/eur" }],
  ignore: { headers: ["x-request-id"], jsonPaths: [] },
};

let persist: string;
let mf: Miniflare;
let dashboard: string;
let checkout: string;
let responder: string;
let viewer: string;

async function call(token: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${dashboard}${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: {
      authorization: `Bearer ${token}`,
      accept: "application/json",
      "content-type": "application/json",
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

async function fluxrun(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await cli(args, {
    out: (l) => (out += `${l}\n`),
    err: (l) => (err += `${l}\n`),
    cwd: checkout,
    env: { FLUX_DASHBOARD_URL: dashboard, ...env },
  });
  return { code, out, err };
}

async function replayPolicy(): Promise<{ view: PolicyView; text: string }> {
  const json = await fluxrun(["replay", "trace.cbor", "--key", "key.jwk", "--json"]);
  expect(json.err).toBe("");
  const parsed = JSON.parse(json.out) as {
    policy: PolicyView;
    traces: { report: { policy: PolicyView } }[];
  };
  expect(parsed.traces[0]!.report.policy).toEqual(parsed.policy);
  const text = await fluxrun(["replay", "trace.cbor", "--key", "key.jwk"]);
  return { view: parsed.policy, text: text.out };
}

beforeAll(async () => {
  persist = await mkdtemp(join(tmpdir(), "fluxrun-cross-pull-"));
  checkout = await mkdtemp(join(tmpdir(), "fluxrun-checkout-"));
  const keys = await generateTraceKeys();
  mf = new Miniflare(
    await withNodeBindings({
      r2Persist: join(persist, "r2"),
      workers: [
        await dashboardWorker({
          FLUX_DEV: "true",
          FLUX_DEV_ADMIN_TOKEN: DEV_TOKEN,
          FLUX_DEFAULT_WORKSPACE: "default",
          FLUX_DASHBOARD_SIGNING_KEY: await signingJwk(),
        }),
        await recorderWorker("shop", {
          FLUX_APP: "shop-api",
          FLUX_PUBLIC_KEY: JSON.stringify(keys.publicJwk),
        }),
      ],
    }),
  );
  dashboard = (await mf.ready).toString().replace(/\/$/, "");
  const db = await dashboardDb(mf);
  await (await workerFetch(mf, "shop", "http://shop.test/products")).text();
  const bucket = await traceBucket(mf);
  let key: string | undefined;
  for (let i = 0; i < 400 && !key; i++) {
    key = (await bucket.list({ prefix: "traces/" })).objects[0]?.key;
    if (!key) await new Promise((r) => setTimeout(r, 25));
  }
  const bytes = new Uint8Array(await (await bucket.get(key!))!.arrayBuffer());
  await writeFile(join(checkout, "trace.cbor"), bytes);
  await writeFile(join(checkout, "key.jwk"), JSON.stringify(keys.privateJwk));
  await writeFile(
    join(checkout, "wrangler.toml"),
    `name = "shop"
main = ${JSON.stringify(new URL("./fixture/recorder.ts", import.meta.url).pathname)}
compatibility_date = "2026-04-20"
compatibility_flags = ["nodejs_compat"]

[vars]
FLUX_APP = "shop-api"

[[kv_namespaces]]
binding = "KV"
id = "kv"
`,
  );
  expect(await (await call(DEV_TOKEN, "/admin/reindex", { ws: "default" })).json()).toMatchObject({
    inserted: 1,
  });
  const now = Date.now();
  const id = () => crypto.randomUUID();
  const r = await ensureUser(db, "oncall@cross.test", { now, id });
  await setMember(db, "default", r.id, "responder", now);
  responder = await createApiToken(db, r.id, { name: "cross", now });
  const v = await ensureUser(db, "viewer@cross.test", { now, id });
  await setMember(db, "default", v.id, "viewer", now);
  viewer = await createApiToken(db, v.id, { name: "cross", now });
});

afterAll(async () => {
  await mf?.dispose();
  for (const d of [persist, checkout]) if (d) await rm(d, { recursive: true, force: true });
});

describe("fluxrun policy pull → fluxrun replay", () => {
  it("without a policy file the replay reports none (deny-all)", async () => {
    const { view, text } = await replayPolicy();
    expect(view).toEqual({ status: "none", source: "default" });
    expect(text).toContain("policy:   none (deny-all)");
  });

  it("pull before any approval is refused with the dashboard's code, and writes nothing", async () => {
    const r = await fluxrun(["policy", "pull"], { FLUX_DASHBOARD_TOKEN: viewer });
    expect(r.code).toBe(2);
    expect(r.err).toContain("ERR_POLICY_PULL");
    expect(r.err).toContain("ERR_POLICY_NONE");
    expect(r.err).not.toContain(viewer);
    await expect(readFile(join(checkout, POLICY_FILE))).rejects.toThrow();
  });

  it("a local file never pulled is unreviewed", async () => {
    await writeFile(join(checkout, POLICY_FILE), JSON.stringify(POLICY));
    const { view, text } = await replayPolicy();
    expect(view).toMatchObject({
      status: "unreviewed",
      source: "file",
      digest: policyDigest(POLICY),
      diagnostic: { code: "ERR_POLICY_NOT_PULLED" },
    });
    expect(text).toContain("UNREVIEWED local policy (ERR_POLICY_NOT_PULLED");
  });

  it("pull writes the approved version and its signed form; the replay reports it reviewed", async () => {
    const proposed = await call(responder, "/w/default/policies/shop-api", {
      policy: JSON.stringify(POLICY),
    });
    const { version } = (await proposed.json()) as { version: number };
    expect(
      (await call(DEV_TOKEN, `/w/default/policies/shop-api/v/${version}/approve`, {})).status,
    ).toBe(200);
    await writeFile(join(checkout, POLICY_FILE), '{"version": 1}');
    const r = await fluxrun(["policy", "pull", "--json"], { FLUX_DASHBOARD_TOKEN: viewer });
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({
      app: "shop-api",
      ws: "default",
      version,
      digest: policyDigest(POLICY),
      files: { policy: POLICY_FILE, signed: POLICY_SIGNED_FILE },
    });
    expect(JSON.parse(await readFile(join(checkout, POLICY_FILE), "utf8"))).toEqual(POLICY);
    expect((await readFile(join(checkout, POLICY_SIGNED_FILE), "utf8")).split(".")).toHaveLength(3);
    const { view, text } = await replayPolicy();
    expect(view).toEqual({
      status: "reviewed",
      source: "file",
      app: "shop-api",
      ws: "default",
      version,
      digest: policyDigest(POLICY),
    });
    expect(text).toContain(`policy:   reviewed v${version} of shop-api (as pulled)`);
  });

  it("a reformatted file is still the reviewed one; an edited one is unreviewed", async () => {
    await writeFile(join(checkout, POLICY_FILE), JSON.stringify(POLICY));
    expect((await replayPolicy()).view.status).toBe("reviewed");
    const edited = {
      ...POLICY,
      allow: [...POLICY.allow, { kind: "fetch", method: "GET", host: "evil.example.com" }],
    };
    await writeFile(join(checkout, POLICY_FILE), JSON.stringify(edited, null, 2));
    const { view, text } = await replayPolicy();
    expect(view).toMatchObject({
      status: "unreviewed",
      source: "file",
      app: "shop-api",
      diagnostic: { code: "ERR_POLICY_EDITED" },
    });
    expect(text).toContain("UNREVIEWED local policy (ERR_POLICY_EDITED");
  });

  it("pull with a bad token or another workspace's app is refused with the dashboard's code", async () => {
    const bad = await fluxrun(["policy", "pull", "--token", "fxd_not-a-token"]);
    expect([bad.code, bad.err]).toEqual([2, expect.stringContaining("ERR_AUTH_INVALID")]);
    expect(bad.err).not.toContain("fxd_not-a-token");
    const other = await fluxrun(["policy", "pull", "--app", "billing"], {
      FLUX_DASHBOARD_TOKEN: viewer,
    });
    expect([other.code, other.err]).toEqual([2, expect.stringContaining("ERR_NOT_FOUND")]);
    const none = await fluxrun(["policy", "pull"], { FLUX_DASHBOARD_URL: "" });
    expect(none.err).toContain("ERR_CONFIG");
  });

  it("pull never sends the token over plain http off loopback", async () => {
    let sent = 0;
    await expect(
      pullPolicy({
        dashboard: "http://fluxrun.example.com",
        token: "fxd_test-only-token",
        app: "shop",
        dir: checkout,
        fetch: async () => {
          sent++;
          return new Response("{}");
        },
      }),
    ).rejects.toMatchObject({ code: "ERR_CONFIG" });
    expect(sent).toBe(0);
  });
});
