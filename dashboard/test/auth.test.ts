/**
 * Authentication and agent tokens: API tokens (hashed at rest), Cloudflare Access JWTs checked
 * against a locally generated team JWKS (the documented stand-in for Cloudflare's certs URL),
 * sessions (opaque hashed ids, expiry, sign-out, login CSRF) and the same-origin check on writes, the dev login, and the EdDSA tokens
 * issued for the agent (claims, lifetime, audience, JWKS, audit without the token).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  jwtVerify,
  SignJWT,
  decodeProtectedHeader,
  type JWK,
} from "jose";
import { createApp } from "../src/app.js";
import { sweep } from "../src/indexer/sweep.js";
import { hashToken, tokenLabel } from "../src/auth/secrets.js";
import { createApiToken, revokeTokens, userByToken } from "../src/db/users.js";
import { pruneSessions } from "../src/auth/sessions.js";
import type { Env } from "../src/env.js";
import {
  frozenClock,
  hexId,
  jsonPost,
  makeEnv,
  putTrace,
  seed,
  signingJwk,
  startStorage,
  T0,
  traceKeys,
  type Seeded,
  type TestEnv,
} from "./_helpers.js";

let t: TestEnv;
let env: Env;
let s: Seeded;
const clock = frozenClock();
const app = createApp({ clock });
const A = hexId(0xa1);
let accessKey: CryptoKey;
let accessJwks: { keys: JWK[] };

beforeAll(async () => {
  t = await startStorage();
  s = await seed(t.db, clock);
  const kp = await generateKeyPair("RS256", { extractable: true });
  accessKey = kp.privateKey;
  accessJwks = { keys: [{ ...(await exportJWK(kp.publicKey)), kid: "team-key-1", alg: "RS256" }] };
  env = makeEnv(t, {
    FLUX_DASHBOARD_SIGNING_KEY: await signingJwk(),
    ACCESS_TEAM_DOMAIN: "acme.cloudflareaccess.com",
    ACCESS_AUD: "aud-tag-123",
    ACCESS_JWKS: JSON.stringify(accessJwks),
  });
  await putTrace(t.bucket, {
    id: A,
    app: "shop-api",
    route: "/checkout",
    method: "POST",
    status: 500,
    outcome: "exception",
    errorClass: "TypeError",
    start: T0 - 60_000,
  });
  await sweep(t.db, t.bucket, { now: T0 });
});
afterAll(async () => t?.dispose());

function accessJwt(
  claims: Record<string, unknown>,
  options: { aud?: string; iss?: string; key?: CryptoKey; exp?: number } = {},
) {
  return new SignJWT({ email: "viewer@acme.test", ...claims })
    .setProtectedHeader({ alg: "RS256", kid: "team-key-1" })
    .setIssuer(options.iss ?? "https://acme.cloudflareaccess.com")
    .setAudience(options.aud ?? "aud-tag-123")
    .setIssuedAt(Math.floor(Date.now() / 1000))
    .setExpirationTime(options.exp ?? Math.floor(Date.now() / 1000) + 300)
    .sign(options.key ?? accessKey);
}

describe("API tokens", () => {
  it("are stored only as SHA-256", async () => {
    const rows = await t.db
      .prepare("SELECT hash, prefix FROM api_tokens")
      .all<{ hash: string; prefix: string }>();
    const dump = JSON.stringify(rows.results);
    expect(dump).not.toContain(s.tokens.acmeAdmin);
    expect(rows.results.map((r) => r.hash)).toContain(await hashToken(s.tokens.acmeAdmin));
  });

  it("refuses unknown and revoked tokens with a specific code", async () => {
    const bad = await app.request(
      "/api/me",
      { headers: { authorization: "Bearer fxd_nope" } },
      env,
    );
    expect(bad.status).toBe(401);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe("ERR_AUTH_INVALID");
    await t.db
      .prepare("UPDATE api_tokens SET revoked_at = ? WHERE hash = ?")
      .bind(T0, await hashToken(s.tokens.loner))
      .run();
    const revoked = await app.request(
      "/api/me",
      { headers: { authorization: `Bearer ${s.tokens.loner}` } },
      env,
    );
    expect(revoked.status).toBe(401);
  });
});

describe("Cloudflare Access", () => {
  it("signs in with a valid Cf-Access-Jwt-Assertion", async () => {
    const res = await app.request(
      "/api/me",
      { headers: { "cf-access-jwt-assertion": await accessJwt({}) } },
      env,
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      email: "viewer@acme.test",
      via: "access",
      workspaces: [{ id: "acme", role: "viewer" }],
    });
  });

  it("refuses a wrong audience, a wrong issuer, another key, an expired token and alg none", async () => {
    const other = (await generateKeyPair("RS256")).privateKey;
    const now = Math.floor(Date.now() / 1000);
    const none = `${btoa(JSON.stringify({ alg: "none" })).replace(/=/g, "")}.${btoa(JSON.stringify({ email: "admin@acme.test", aud: "aud-tag-123", iss: "https://acme.cloudflareaccess.com", exp: now + 300 })).replace(/=/g, "")}.`;
    for (const jwt of [
      await accessJwt({}, { aud: "another-app" }),
      await accessJwt({}, { iss: "https://evil.cloudflareaccess.com" }),
      await accessJwt({}, { key: other }),
      await accessJwt({}, { exp: now - 3600 }),
      none,
    ]) {
      const res = await app.request(
        "/api/me",
        { headers: { "cf-access-jwt-assertion": jwt } },
        env,
      );
      expect(res.status).toBe(401);
    }
  });

  it("an Access user of no workspace sees nothing of acme", async () => {
    const jwt = await accessJwt({ email: "stranger@corp.test" });
    const res = await app.request(
      "/w/acme/executions",
      { headers: { "cf-access-jwt-assertion": jwt } },
      env,
    );
    expect(res.status).toBe(404);
  });
});

describe("sessions (issue 13, attack 4)", () => {
  const ORIGIN = "http://dash.test";
  const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

  /** The login page's nonce and its cookie, as a browser holds them after GET /login. */
  async function loginPage(): Promise<{ nonce: string; cookie: string }> {
    const res = await app.request(`${ORIGIN}/login`, {}, env);
    const nonce = /name="nonce" value="([^"]+)"/.exec(await res.text())?.[1] ?? "";
    const cookie = (res.headers.get("set-cookie") ?? "").split(";")[0]!;
    return { nonce, cookie };
  }

  async function signIn(
    token: string,
    over: { origin?: string | null; nonce?: string; cookie?: string } = {},
  ): Promise<Response> {
    const page = await loginPage();
    const headers: Record<string, string> = {
      "content-type": "application/x-www-form-urlencoded",
      cookie: over.cookie ?? page.cookie,
    };
    if (over.origin !== null) headers.origin = over.origin ?? ORIGIN;
    return app.request(
      `${ORIGIN}/login`,
      { method: "POST", headers, body: form({ token, nonce: over.nonce ?? page.nonce }) },
      env,
    );
  }

  const jarOf = (res: Response) =>
    res.headers
      .getSetCookie()
      .find((c) => c.startsWith("__Host-flux_session="))
      ?.split(";")[0];

  async function signedIn(jar: string): Promise<boolean> {
    const res = await app.request(`${ORIGIN}/w/acme/executions`, { headers: { cookie: jar } }, env);
    return res.status === 200;
  }

  it("a sign-in sets an opaque __Host- session id (Secure, HttpOnly, SameSite=Lax), stored hashed", async () => {
    const login = await signIn(s.tokens.acmeResponder);
    expect(login.status).toBe(303);
    const cookie = login.headers.getSetCookie().find((c) => c.startsWith("__Host-flux_session="))!;
    expect(cookie).toMatch(/^__Host-flux_session=fxs_[A-Za-z0-9_-]{43};/);
    expect(cookie).toMatch(/; Path=\/(;|$)/);
    expect(cookie).toMatch(/; Secure(;|$)/);
    expect(cookie).toMatch(/; HttpOnly(;|$)/);
    expect(cookie).toMatch(/; SameSite=Lax(;|$)/);
    expect(cookie).not.toMatch(/Domain=/i);
    expect(cookie).not.toContain(s.tokens.acmeResponder);
    const id = jarOf(login)!.split("=")[1]!;
    const stored = await t.db
      .prepare("SELECT hash FROM sessions WHERE hash = ?")
      .bind(await hashToken(id))
      .first();
    expect(stored).not.toBeNull();
    expect(await t.db.prepare("SELECT 1 FROM sessions WHERE hash = ?").bind(id).first()).toBeNull();
    expect(await signedIn(jarOf(login)!)).toBe(true);
  });

  it("an API token is never accepted as a cookie", async () => {
    for (const name of ["__Host-flux_session", "flux_session"]) {
      expect(await signedIn(`${name}=${s.tokens.acmeAdmin}`)).toBe(false);
    }
  });

  it("signing out revokes the session server-side: the old cookie no longer works", async () => {
    const jar = jarOf(await signIn(s.tokens.acmeViewer))!;
    expect(await signedIn(jar)).toBe(true);
    const out = await app.request(
      `${ORIGIN}/logout`,
      { method: "POST", headers: { cookie: jar, origin: ORIGIN } },
      env,
    );
    expect(out.status).toBe(303);
    expect(out.headers.getSetCookie().join("\n")).toMatch(/__Host-flux_session=;/);
    expect(await signedIn(jar)).toBe(false);
  });

  it("a session started with an API token ends when the token is revoked", async () => {
    const viewer = await userByToken(t.db, s.tokens.acmeViewer, clock.now());
    const token = await createApiToken(t.db, viewer!.id, { name: "laptop", now: clock.now() });
    const jar = jarOf(await signIn(token))!;
    expect(await signedIn(jar)).toBe(true);
    expect(
      await revokeTokens(t.db, viewer!.id, { prefix: tokenLabel(token), now: clock.now() }),
    ).toBe(1);
    expect(await signedIn(jar)).toBe(false);
    // The user's other sessions (started with other tokens) go on.
    expect(await signedIn(jarOf(await signIn(s.tokens.acmeViewer))!)).toBe(true);
  });

  it("a session expires after 24 hours, and the cron drops it a day later", async () => {
    const jar = jarOf(await signIn(s.tokens.acmeViewer))!;
    const hash = await hashToken(jar.split("=")[1]!);
    const held = () => t.db.prepare("SELECT 1 FROM sessions WHERE hash = ?").bind(hash).first();
    try {
      clock.set(T0 + 24 * 3_600_000 - 1);
      expect(await signedIn(jar)).toBe(true);
      clock.set(T0 + 24 * 3_600_000);
      expect(await signedIn(jar)).toBe(false);
      await pruneSessions(t.db, { now: T0 + 48 * 3_600_000 });
      expect(await held()).not.toBeNull();
      await pruneSessions(t.db, { now: T0 + 48 * 3_600_000 + 1 });
      expect(await held()).toBeNull();
    } finally {
      clock.set(T0);
    }
  });

  it("login CSRF: a sign-in from another site, without the page's nonce, or with another nonce is refused", async () => {
    const attempts: [string, Parameters<typeof signIn>[1]][] = [
      ["cross-site form", { origin: "https://evil.test" }],
      ["no origin, no fetch metadata", { origin: null }],
      ["no nonce", { nonce: "" }],
      ["another nonce", { nonce: "A".repeat(43) }],
      ["no nonce cookie", { cookie: "" }],
    ];
    for (const [what, over] of attempts) {
      const res = await signIn(s.tokens.acmeAdmin, over);
      expect([what, res.status]).toEqual([what, 403]);
      expect(await res.text()).toContain("ERR_CSRF");
      expect(jarOf(res)).toBeUndefined();
    }
    // A navigation from the page itself without an Origin header, as fetch metadata says.
    const page = await loginPage();
    const same = await app.request(
      `${ORIGIN}/login`,
      {
        method: "POST",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          cookie: page.cookie,
          "sec-fetch-site": "same-origin",
        },
        body: form({ token: s.tokens.acmeAdmin, nonce: page.nonce }),
      },
      env,
    );
    expect(same.status).toBe(303);
  });

  it("writes with a session need this origin", async () => {
    const jar = jarOf(await signIn(s.tokens.acmeResponder))!;
    const body = JSON.stringify({ trace: A, act: "replay" });
    const post = (headers: Record<string, string>) =>
      app.request(
        `${ORIGIN}/api/tokens`,
        {
          method: "POST",
          headers: { cookie: jar, "content-type": "application/json", ...headers },
          body,
        },
        env,
      );
    const cross = await post({ origin: "https://evil.test" });
    expect(cross.status).toBe(403);
    expect(((await cross.json()) as { error: { code: string } }).error.code).toBe("ERR_CSRF");
    expect((await post({})).status).toBe(403);
    expect((await post({ origin: ORIGIN })).status).toBe(200);
  });

  it("a wrong token at /login is a specific refusal", async () => {
    const res = await signIn("fxd_wrong");
    expect(res.status).toBe(401);
    expect(await res.text()).toContain("ERR_AUTH_INVALID");
  });

  it("the dev login exists only with FLUX_DEV and seeds the printed admin", async () => {
    const devEnv = {
      ...env,
      FLUX_DEV: "true",
      FLUX_DEV_ADMIN_TOKEN: "fxd_dev-token-for-tests-000000000000000000000",
      FLUX_DEFAULT_WORKSPACE: "default",
    };
    const res = await app.request(`/dev/login?token=${devEnv.FLUX_DEV_ADMIN_TOKEN}`, {}, devEnv);
    expect(res.status).toBe(302);
    const jar = res.headers.get("set-cookie")!.split(";")[0]!;
    expect(jar).toMatch(/^__Host-flux_session=fxs_/);
    const home = await app.request("/", { headers: { cookie: jar } }, devEnv);
    expect(home.headers.get("location")).toBe("/w/default/issues");
    const off = await app.request(`/dev/login?token=${devEnv.FLUX_DEV_ADMIN_TOKEN}`, {}, env);
    expect(off.status).toBe(404);
  });
});

describe("agent tokens", () => {
  it("are EdDSA JWTs for exactly one action, verifiable with the published JWKS", async () => {
    const res = await app.request(
      "/api/tokens",
      jsonPost(s.tokens.acmeResponder, { trace: A, act: "unlock", fields: ["0.body", "4.result"] }),
      env,
    );
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const body = (await res.json()) as {
      token: string;
      agent: { origin: string; id: string };
      jti: string;
    };
    expect(body.agent).toEqual({ origin: "http://127.0.0.1:8788", id: "test-agent" });
    const jwks = (await (await app.request("/.well-known/jwks.json", {}, env)).json()) as {
      keys: JWK[];
    };
    expect(jwks.keys[0]).not.toHaveProperty("d");
    const header = decodeProtectedHeader(body.token);
    expect(header).toMatchObject({ alg: "EdDSA", kid: jwks.keys[0]!.kid });
    const { payload } = await jwtVerify(body.token, createLocalJWKSet(jwks), {
      issuer: "fluxrun-dashboard",
      audience: "test-agent",
      algorithms: ["EdDSA"],
      currentDate: new Date(T0 + 1000),
    });
    expect(payload).toMatchObject({
      sub: "oncall@acme.test",
      ws: "acme",
      app: "shop-api",
      trace: A,
      act: "unlock",
      fields: ["0.body", "4.result"],
      jti: body.jti,
    });
    expect(payload.exp! - payload.iat!).toBeLessThanOrEqual(60);
    expect(payload.iat).toBe(Math.floor(T0 / 1000));
  });

  it("every token has a fresh jti", async () => {
    const jtis = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const r = (await (
        await app.request(
          "/api/tokens",
          jsonPost(s.tokens.acmeAdmin, { trace: A, act: "replay" }),
          env,
        )
      ).json()) as { jti: string };
      jtis.add(r.jti);
    }
    expect(jtis.size).toBe(3);
  });

  it("uses the workspace's own agent id as audience", async () => {
    await t.db
      .prepare(
        "UPDATE workspaces SET agent_origin = 'https://agent.acme.example', agent_id = 'acme-prod' WHERE id = 'acme'",
      )
      .run();
    const r = (await (
      await app.request(
        "/api/tokens",
        jsonPost(s.tokens.acmeAdmin, { trace: A, act: "replay" }),
        env,
      )
    ).json()) as { token: string; agent: unknown };
    expect(r.agent).toEqual({ origin: "https://agent.acme.example", id: "acme-prod" });
    const [, p] = r.token.split(".");
    expect(JSON.parse(Buffer.from(p!, "base64url").toString()).aud).toBe("acme-prod");
    await t.db
      .prepare("UPDATE workspaces SET agent_origin = NULL, agent_id = NULL WHERE id = 'acme'")
      .run();
  });

  it("refuses an unlock without fields, bad field paths and unknown actions", async () => {
    for (const body of [
      { trace: A, act: "unlock" },
      { trace: A, act: "unlock", fields: ["../etc"] },
      { trace: A, act: "delete" },
      { trace: "zz", act: "replay" },
    ]) {
      const res = await app.request("/api/tokens", jsonPost(s.tokens.acmeAdmin, body), env);
      expect(res.status).toBe(400);
    }
  });

  it("says exactly what is missing: signing key, a trace key by mistake, agent settings", async () => {
    const code = async (e: Env) => {
      const res = await app.request(
        "/api/tokens",
        jsonPost(s.tokens.acmeAdmin, { trace: A, act: "replay" }),
        e,
      );
      return [
        res.status,
        ((await res.json()) as { error: { code: string; message: string } }).error,
      ] as const;
    };
    const { FLUX_DASHBOARD_SIGNING_KEY: _k, ...noKey } = env;
    expect(await code(noKey as Env)).toMatchObject([503, { code: "ERR_SIGNING_KEY_MISSING" }]);
    const x25519 = JSON.stringify((await traceKeys()).privateJwk);
    const [status, err] = await code({ ...env, FLUX_DASHBOARD_SIGNING_KEY: x25519 });
    expect(status).toBe(503);
    expect(err.code).toBe("ERR_SIGNING_KEY_INVALID");
    expect(err.message).toMatch(/belongs to the agent only/);
    const { FLUX_AGENT_ID: _a, ...noAgent } = env;
    expect(await code(noAgent as Env)).toMatchObject([409, { code: "ERR_AGENT_NOT_CONFIGURED" }]);
  });

  it("audits issued and denied tokens without the token itself", async () => {
    await app.request(
      "/api/tokens",
      jsonPost(s.tokens.acmeViewer, { trace: A, act: "replay" }),
      env,
    );
    await app.request(
      "/api/tokens",
      jsonPost(s.tokens.globexAdmin, { trace: A, act: "replay" }),
      env,
    );
    const issued = (await (
      await app.request(
        "/api/tokens",
        jsonPost(s.tokens.acmeResponder, { trace: A, act: "replay" }),
        env,
      )
    ).json()) as { token: string; jti: string };
    const rows = await t.db
      .prepare(
        "SELECT actor, action, target, allowed, reason, detail FROM audit WHERE ws = 'acme' ORDER BY id",
      )
      .all<Record<string, unknown>>();
    const dump = JSON.stringify(rows.results);
    expect(dump).not.toContain(issued.token);
    expect(dump).not.toContain(issued.token.split(".")[2]);
    expect(rows.results).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          actor: "viewer@acme.test",
          action: "token.denied",
          allowed: 0,
          reason: "role viewer",
          target: A,
        }),
        expect.objectContaining({
          actor: "admin@globex.test",
          action: "token.denied",
          allowed: 0,
          reason: "not a member of the trace's workspace",
        }),
        expect.objectContaining({
          actor: "oncall@acme.test",
          action: "token.issued",
          allowed: 1,
          target: A,
        }),
      ]),
    );
    const last = rows.results.at(-1)!;
    expect(JSON.parse(last.detail as string)).toMatchObject({
      act: "replay",
      jti: issued.jti,
      aud: "test-agent",
    });
  });
});
