/**
 * Reviewed replay policies through the dashboard's routes (`app.request()`, real D1 in
 * Miniflare): who may propose, review and read; the proposal checked with parsePolicy; the review
 * refused to the proposer, to a responder, twice, and when stale; every version kept; the signed
 * form (`GET /api/apps/:app/policy`, and the replay token's answer) verifying with the published
 * JWKS and never passing for an agent token; all of it audited without the policy text.
 */
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import {
  POLICY_TYPE,
  PolicyClaims,
  policyDigest,
  SignedPolicy,
  type ReplayPolicy,
} from "fluxrun/contract";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../src/app.js";
import { auditOf } from "../src/db/audit.js";
import { createApiToken, ensureUser, setMember } from "../src/db/users.js";
import { sweep } from "../src/indexer/sweep.js";
import { lineDiff } from "../src/views/policies.js";
import type { Env } from "../src/env.js";
import type { IssuedToken } from "../src/browser.js";
import {
  frozenClock,
  hexId,
  makeEnv,
  putTrace,
  seed,
  signingJwk,
  startStorage,
  T0,
  type Seeded,
  type TestEnv,
} from "./_helpers.js";

let t: TestEnv;
let env: Env;
let s: Seeded;
let secondAdmin: string;
const clock = frozenClock();
const app = createApp({ clock });
const TRACE = hexId(0x5011c7);

const RATES: ReplayPolicy = {
  version: 1,
  allow: [{ kind: "fetch", method: "GET", host: "rates.example.com", path: "/v1/eur" }],
  ignore: { headers: ["x-request-id"], jsonPaths: [] },
};

beforeAll(async () => {
  t = await startStorage();
  s = await seed(t.db, clock);
  env = makeEnv(t, { FLUX_DASHBOARD_SIGNING_KEY: await signingJwk() });
  const user = await ensureUser(t.db, "second-admin@acme.test", { now: T0, id: () => clock.id() });
  await setMember(t.db, "acme", user.id, "admin", T0);
  secondAdmin = await createApiToken(t.db, user.id, { name: "test", now: T0 });
  await putTrace(t.bucket, { id: TRACE, app: "shop-api", route: "/cart", start: T0 - 30_000 });
  await sweep(t.db, t.bucket, { now: T0 });
});
afterAll(async () => t?.dispose());

async function call(
  token: string | null,
  method: string,
  path: string,
  body?: unknown,
): Promise<Response> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  return app.request(
    path,
    { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) },
    env,
  );
}

async function code(res: Response): Promise<[number, string]> {
  return [res.status, ((await res.json()) as { error: { code: string } }).error.code];
}

const P = "/w/acme/policies/shop-api";

async function propose(token: string, policy: unknown, note = "rates for the EUR page") {
  return call(token, "POST", P, {
    policy: typeof policy === "string" ? policy : JSON.stringify(policy),
    note,
  });
}

async function jwks(): Promise<ReturnType<typeof createLocalJWKSet>> {
  const res = await app.request("/.well-known/jwks.json", {}, env);
  return createLocalJWKSet((await res.json()) as never);
}

describe("proposing", () => {
  it("a viewer cannot propose; the refusal is audited", async () => {
    expect(await code(await propose(s.tokens.acmeViewer, RATES))).toEqual([403, "ERR_FORBIDDEN"]);
    const [last] = await auditOf(t.db, "acme", { limit: 1 });
    expect(last).toMatchObject({ action: "policy.denied", allowed: false, target: "shop-api" });
  });

  it("a member of another workspace gets 404, not the app", async () => {
    expect(await code(await propose(s.tokens.globexAdmin, RATES))).toEqual([404, "ERR_NOT_FOUND"]);
  });

  it("an invalid policy is refused with where it is wrong, by the CLI's own rules", async () => {
    const post = { ...RATES, allow: [{ kind: "fetch", method: "POST", host: "api.stripe.com" }] };
    const res = await propose(s.tokens.acmeResponder, post);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect([res.status, body.error.code]).toEqual([400, "ERR_POLICY_INVALID"]);
    expect(body.error.message).toMatch(/allow\.0\.method/);
    expect(await code(await propose(s.tokens.acmeResponder, "{not json"))).toEqual([
      400,
      "ERR_POLICY_INVALID",
    ]);
    expect(await code(await propose(s.tokens.acmeResponder, { version: 1, deny: [] }))).toEqual([
      400,
      "ERR_POLICY_INVALID",
    ]);
  });

  it("a responder proposes v1, pending, with nothing approved yet", async () => {
    const res = await propose(s.tokens.acmeResponder, RATES);
    expect(res.status).toBe(201);
    expect(await res.json()).toEqual({
      app: "shop-api",
      version: 1,
      state: "proposed",
      digest: policyDigest(RATES),
      base: null,
    });
    expect(await code(await call(s.tokens.acmeViewer, "GET", "/api/apps/shop-api/policy"))).toEqual(
      [404, "ERR_POLICY_NONE"],
    );
    const [last] = await auditOf(t.db, "acme", { limit: 1 });
    expect(last).toMatchObject({
      action: "policy.proposed",
      actor: s.emails.acmeResponder,
      detail: { version: 1, digest: policyDigest(RATES) },
    });
    expect(JSON.stringify(last)).not.toContain("rates.example.com");
  });
});

describe("reviewing", () => {
  it("a responder cannot approve", async () => {
    expect(await code(await call(s.tokens.acmeResponder, "POST", `${P}/v/1/approve`, {}))).toEqual([
      403,
      "ERR_FORBIDDEN",
    ]);
  });

  it("an admin cannot approve their own proposal", async () => {
    const own = await propose(s.tokens.acmeAdmin, { version: 1 }, "admin's own");
    const { version } = (await own.json()) as { version: number };
    expect(
      await code(await call(s.tokens.acmeAdmin, "POST", `${P}/v/${version}/approve`, {})),
    ).toEqual([403, "ERR_POLICY_SELF_REVIEW"]);
    const [last] = await auditOf(t.db, "acme", { limit: 1 });
    expect(last).toMatchObject({
      action: "policy.denied",
      allowed: false,
      reason: "approve: ERR_POLICY_SELF_REVIEW",
    });
    // Another admin rejects it, so it does not linger.
    expect(
      (await call(secondAdmin, "POST", `${P}/v/${version}/reject`, { note: "no" })).status,
    ).toBe(200);
  });

  it("another admin approves v1; approving it again is refused", async () => {
    const res = await call(s.tokens.acmeAdmin, "POST", `${P}/v/1/approve`, {});
    expect(await res.json()).toMatchObject({ version: 1, state: "approved" });
    expect(await code(await call(secondAdmin, "POST", `${P}/v/1/approve`, {}))).toEqual([
      409,
      "ERR_POLICY_NOT_PENDING",
    ]);
    const [last] = await auditOf(t.db, "acme", { limit: 2 });
    expect(last).toMatchObject({
      action: "policy.denied",
      reason: "approve: ERR_POLICY_NOT_PENDING",
    });
  });

  it("of two proposals against v1, approving one makes the other stale", async () => {
    const a = (await (await propose(s.tokens.acmeResponder, { ...RATES, allow: [] })).json()) as {
      version: number;
      base: number;
    };
    const b = (await (
      await propose(s.tokens.acmeResponder, {
        ...RATES,
        ignore: { headers: [], jsonPaths: ["id"] },
      })
    ).json()) as { version: number; base: number };
    expect([a.base, b.base]).toEqual([1, 1]);
    expect((await call(s.tokens.acmeAdmin, "POST", `${P}/v/${a.version}/approve`, {})).status).toBe(
      200,
    );
    expect(
      await code(await call(s.tokens.acmeAdmin, "POST", `${P}/v/${b.version}/approve`, {})),
    ).toEqual([409, "ERR_POLICY_STALE"]);
    // Back to the rates policy for the rest: proposed against the current version, approved.
    const c = (await (await propose(s.tokens.acmeResponder, RATES)).json()) as { version: number };
    expect((await call(secondAdmin, "POST", `${P}/v/${c.version}/approve`, {})).status).toBe(200);
    expect((await call(secondAdmin, "POST", `${P}/v/${b.version}/reject`, {})).status).toBe(200);
  });

  it("two admins approving one proposal at once: exactly one wins", async () => {
    const { version } = (await (
      await propose(s.tokens.acmeResponder, {
        ...RATES,
        ignore: { headers: ["x-b3"], jsonPaths: [] },
      })
    ).json()) as { version: number };
    const results = await Promise.all(
      [s.tokens.acmeAdmin, secondAdmin].map((tok) =>
        call(tok, "POST", `${P}/v/${version}/approve`, {}),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 409]);
    expect(await code(results.find((r) => r.status === 409)!)).toEqual([
      409,
      "ERR_POLICY_NOT_PENDING",
    ]);
    // Back to the rates policy, proposed against the one just approved.
    const again = (await (await propose(s.tokens.acmeResponder, RATES)).json()) as {
      version: number;
    };
    expect((await call(secondAdmin, "POST", `${P}/v/${again.version}/approve`, {})).status).toBe(
      200,
    );
  });

  it("every version is kept, newest first, with who proposed and reviewed it", async () => {
    const res = await call(s.tokens.acmeViewer, "GET", P);
    const body = (await res.json()) as {
      approved: number;
      versions: { version: number; state: string; proposedBy: string; reviewedBy: string | null }[];
    };
    expect(body.approved).toBe(7);
    expect(body.versions.map((v) => [v.version, v.state])).toEqual([
      [7, "approved"],
      [6, "approved"],
      [5, "approved"],
      [4, "rejected"],
      [3, "approved"],
      [2, "rejected"],
      [1, "approved"],
    ]);
    expect(body.versions[0]).toMatchObject({
      proposedBy: s.emails.acmeResponder,
      reviewedBy: "second-admin@acme.test",
    });
  });

  it("the pages render for each role: reviewers see the diff and the buttons, others do not", async () => {
    const asHtml = (token: string, path: string) =>
      app.request(path, { headers: { authorization: `Bearer ${token}` } }, env);
    const pending = (await (await propose(s.tokens.acmeResponder, { version: 1 })).json()) as {
      version: number;
    };
    const admin = await (await asHtml(s.tokens.acmeAdmin, `${P}/v/${pending.version}`)).text();
    expect(admin).toContain('id="approve-btn"');
    // The approved version's allow rule is what the proposal drops: a removed line of the diff.
    expect(admin).toMatch(/class="d-del"[^>]*>- +&quot;host&quot;: &quot;rates\.example\.com/);
    const responder = await (
      await asHtml(s.tokens.acmeResponder, `${P}/v/${pending.version}`)
    ).text();
    expect(responder).not.toContain('id="approve-btn"');
    expect(responder).toContain("Reviewing needs the admin role");
    const viewer = await (await asHtml(s.tokens.acmeViewer, P)).text();
    expect(viewer).toContain("Proposing needs the responder role");
    expect(viewer).toContain('id="policy-history"');
    await call(secondAdmin, "POST", `${P}/v/${pending.version}/reject`, {});
  });
});

describe("the signed policy", () => {
  it("pull: the approved version, signed with the published key, of its own type", async () => {
    const res = await call(s.tokens.acmeViewer, "GET", "/api/apps/shop-api/policy");
    expect(res.status).toBe(200);
    const signed = SignedPolicy.parse(await res.json());
    expect(signed).toMatchObject({ app: "shop-api", ws: "acme", version: 7, policy: RATES });
    const { payload, protectedHeader } = await jwtVerify(signed.jws, await jwks(), {
      typ: POLICY_TYPE,
    });
    expect(protectedHeader.typ).toBe(POLICY_TYPE);
    expect(PolicyClaims.parse(payload)).toMatchObject({
      app: "shop-api",
      ws: "acme",
      version: 7,
      digest: policyDigest(RATES),
      iat: Math.floor(T0 / 1000),
    });
    expect(payload).not.toHaveProperty("iss");
    expect(payload).not.toHaveProperty("aud");
    const [last] = await auditOf(t.db, "acme", { limit: 1 });
    expect(last).toMatchObject({ action: "policy.signed", detail: { version: 7, use: "pull" } });
  });

  it("pull refuses another workspace's app and an unknown token alike", async () => {
    expect(
      await code(await call(s.tokens.globexAdmin, "GET", "/api/apps/shop-api/policy")),
    ).toEqual([404, "ERR_NOT_FOUND"]);
    expect(await code(await call(s.tokens.loner, "GET", "/api/apps/shop-api/policy"))).toEqual([
      404,
      "ERR_NOT_FOUND",
    ]);
    expect(await code(await call("fxd_nope", "GET", "/api/apps/shop-api/policy"))).toEqual([
      401,
      "ERR_AUTH_INVALID",
    ]);
  });

  it("a replay token's answer carries it; an unlock token's does not; the token is a JWT", async () => {
    const replay = await call(s.tokens.acmeResponder, "POST", "/api/tokens", {
      trace: TRACE,
      act: "replay",
    });
    const issued = (await replay.json()) as IssuedToken;
    expect(issued.policy).toBeDefined();
    expect(decodeProtectedHeader(issued.policy!).typ).toBe(POLICY_TYPE);
    expect(decodeProtectedHeader(issued.token).typ).toBe("JWT");
    await expect(jwtVerify(issued.token, await jwks(), { typ: POLICY_TYPE })).rejects.toThrow(
      /typ/,
    );
    const unlock = (await (
      await call(s.tokens.acmeResponder, "POST", "/api/tokens", {
        trace: TRACE,
        act: "unlock",
        fields: ["0.url"],
      })
    ).json()) as IssuedToken;
    expect(unlock.policy).toBeUndefined();
  });
});

describe("lineDiff", () => {
  it("marks removed and added lines around kept ones", () => {
    expect(lineDiff("a\nb\nc", "a\nx\nc")).toEqual([
      { op: " ", text: "a" },
      { op: "-", text: "b" },
      { op: "+", text: "x" },
      { op: " ", text: "c" },
    ]);
    expect(lineDiff("", "a")).toEqual([{ op: "+", text: "a" }]);
  });
});
