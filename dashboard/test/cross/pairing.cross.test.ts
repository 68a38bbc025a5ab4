/**
 * Issue 16.1 against the real parts: the local connector (`fluxrun agent`, the real Node module
 * running the real agent worker in Miniflare) paired by claim code with the real dashboard worker
 * (Miniflare, D1 migrated). This file plays the browser: it carries the exchange (hello → offer →
 * pair → confirm) between the two, as the "Pair a local agent" page does. Every attack case is
 * refused with its specific code: wrong/guessed (burnt after 5), expired, reused, raced, the
 * per-user limit, a foreign workspace's token, a revoked pairing on either side, a connector off
 * loopback.
 */
import { readdirSync, readFileSync, readlinkSync, statSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { exportJWK, generateKeyPair } from "jose";
import { Miniflare } from "miniflare";
import { withNodeBindings } from "../../../runtime/test/_miniflare.js";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  normalizeClaimCode,
  pairingKey,
  pairingMacs,
  type PairingConfirmation,
  type PairingHello,
  type PairingOfferEnvelope,
} from "fluxrun/contract";
import { generateTraceKeys } from "fluxrun/trace";
import type { Env } from "../../src/env.js";
import { issueAgentToken, signingKey } from "../../src/auth/issuer.js";
import { createApiToken, ensureUser, setMember } from "../../src/db/users.js";
import { createWorkspace } from "../../src/db/workspaces.js";
import { signingJwk } from "../_helpers.js";
import { writeConfig } from "../../../runtime/test/_helpers.js";
import { dashboardDb, dashboardWorker } from "./_parts.js";
// @ts-expect-error -- plain ESM module without types
import { agentCommand, startConnector } from "../../../agent/connector/index.mjs";

const ROOT = new URL("../../../", import.meta.url).pathname;

interface Connector {
  url: string;
  agentId: string;
  cwd: string;
  pairing: { newCode(): Promise<{ display: string; expiresAt: number }> };
  dispose(): Promise<void>;
}

let dashMf: Miniflare;
let dashboard: string;
let db: D1Database;
let dashboardKey: string;
let config: string;
const open: Connector[] = [];
let users = 0;
/** Added to the connector's clock: its claim codes expire without anyone waiting. */
let skew = 0;

/** A fresh connector in pairing mode (its own .fluxrun/, nothing paired yet). */
async function connector(): Promise<Connector> {
  const cwd = await mkdtemp(join(ROOT, ".tmp-pairing-"));
  await mkdir(join(cwd, ".fluxrun"));
  const keys = await generateTraceKeys();
  await writeFile(join(cwd, ".fluxrun/agent-private.jwk"), JSON.stringify(keys.privateJwk));
  const c = (await startConnector({
    host: "127.0.0.1",
    port: 0,
    cwd,
    env: {},
    config,
    allowedOrigins: dashboard,
    now: () => Date.now() + skew,
  })) as Omit<Connector, "cwd">;
  const handle = { ...c, url: c.url.replace(/\/$/, ""), cwd };
  open.push(handle);
  return handle;
}

/** A new responder of `default` with an API token. */
async function responder(): Promise<{ token: string; email: string }> {
  const email = `responder-${++users}@pairing.test`;
  const now = Date.now();
  const user = await ensureUser(db, email, { now, id: () => crypto.randomUUID() });
  await setMember(db, "default", user.id, "responder", now);
  return { token: await createApiToken(db, user.id, { name: "t", now }), email };
}

async function json<T>(res: Response): Promise<{ status: number; body: T & ErrorBody }> {
  return { status: res.status, body: (await res.json()) as T & ErrorBody };
}
interface ErrorBody {
  error?: { code: string; message: string };
}

const dash = (token: string, path: string, body: unknown) =>
  fetch(`${dashboard}${path}`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${token}`,
      "content-type": "application/json",
      accept: "application/json",
    },
    body: JSON.stringify(body),
  }).then((r) => json<Record<string, unknown>>(r));

const atAgent = (c: Connector, path: string, init: RequestInit = {}) =>
  fetch(`${c.url}${path}`, {
    ...init,
    headers: { origin: dashboard, "content-type": "application/json", ...init.headers },
  });

async function hello(c: Connector): Promise<PairingHello> {
  return (await atAgent(c, "/v1/pair")).json() as Promise<PairingHello>;
}

/** Step 2, at the dashboard: the offer for `code`. */
async function offer(
  c: Connector,
  token: string,
  code: string,
  h?: PairingHello,
): Promise<{ status: number; body: PairingOfferEnvelope & ErrorBody }> {
  const hi = h ?? (await hello(c));
  return dash(token, "/api/pairings", {
    ws: "default",
    code,
    agent: { origin: c.url, id: hi.agentId, signingKey: hi.signingKey, nonce: hi.nonce },
  }) as never;
}

const pairAt = (c: Connector, envelope: unknown) =>
  atAgent(c, "/v1/pair", { method: "POST", body: JSON.stringify(envelope) }).then((r) =>
    json<PairingConfirmation>(r),
  );

/** The whole exchange; returns the pairing id. */
async function pair(c: Connector, user: { token: string }): Promise<string> {
  const code = (await c.pairing.newCode()).display;
  const o = await offer(c, user.token, code);
  expect(o.status).toBe(200);
  const p = await pairAt(c, o.body);
  expect(p.status).toBe(200);
  const done = await dash(user.token, `/api/pairings/${o.body.pairing}/confirm`, {
    code,
    mac: p.body.mac,
  });
  expect(done.status, JSON.stringify(done.body)).toBe(200);
  return o.body.pairing;
}

/** An unlock token signed as the dashboard signs (or with `key`), for `ws`. */
async function token(c: Connector, ws: string, key = dashboardKey): Promise<string> {
  const k = await signingKey({ FLUX_DASHBOARD_SIGNING_KEY: key } as Env);
  const claims = { aud: c.agentId, sub: "someone@pairing.test", ws, app: "shop-api" };
  const trace = "ab".repeat(16);
  return (
    await issueAgentToken(
      k,
      { ...claims, trace, act: "unlock", fields: ["0.url"] },
      { now: Date.now(), jti: crypto.randomUUID() },
    )
  ).token;
}

async function unlock(c: Connector, bearer: string) {
  return json(
    await atAgent(c, "/v1/unlock", {
      method: "POST",
      headers: { authorization: `Bearer ${bearer}` },
      body: JSON.stringify({ trace: "ab".repeat(16), fields: ["0.url"] }),
    }),
  );
}

beforeAll(async () => {
  dashboardKey = await signingJwk();
  config = await writeConfig("basic/index.ts");
  dashMf = new Miniflare(
    await withNodeBindings({
      workers: [
        await dashboardWorker({
          FLUX_DEV: "true",
          FLUX_DEV_ADMIN_TOKEN: "fxd_pairing-dev-admin-token-0123456789abcdefghij",
          FLUX_DEFAULT_WORKSPACE: "default",
          FLUX_DASHBOARD_SIGNING_KEY: dashboardKey,
        }),
      ],
    }),
  );
  dashboard = (await dashMf.ready).toString().replace(/\/$/, "");
  db = await dashboardDb(dashMf);
  // The first request seeds the default workspace and its dev admin.
  await fetch(`${dashboard}/healthz`);
});

afterEach(async () => {
  skew = 0;
  for (const c of open.splice(0)) {
    await c.dispose();
    await rm(c.cwd, { recursive: true, force: true });
  }
});

afterAll(async () => {
  await dashMf?.dispose();
});

describe("claim-code pairing: connector ⇄ dashboard", () => {
  it("pairs once, binds the workspace and the dashboard key, and keeps only public material", async () => {
    const c = await connector();
    const user = await responder();
    // Before pairing the connector serves nobody.
    expect((await unlock(c, await token(c, "default"))).body.error?.code).toBe("ERR_NOT_PAIRED");
    const code = (await c.pairing.newCode()).display;
    expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/);
    const id = await (async () => {
      const o = await offer(c, user.token, code);
      const p = await pairAt(c, o.body);
      const done = await dash(user.token, `/api/pairings/${o.body.pairing}/confirm`, {
        code: code.toLowerCase(),
        mac: p.body.mac,
      });
      expect(done).toMatchObject({ status: 200, body: { state: "active", agentId: c.agentId } });
      return o.body.pairing;
    })();

    // The dashboard learned the connector: the workspace's agent is now this one.
    const ws = await db
      .prepare("SELECT agent_origin AS origin, agent_id AS id FROM workspaces WHERE id = 'default'")
      .first<{ origin: string; id: string }>();
    expect(ws).toEqual({ origin: c.url, id: c.agentId });
    const row = await db
      .prepare("SELECT state, actor, agent_key AS key FROM pairings WHERE id = ?")
      .bind(id)
      .first<{ state: string; actor: string; key: string }>();
    expect(row?.state).toBe("active");
    expect(row?.actor).toBe(user.email);
    expect(JSON.parse(row!.key)).not.toHaveProperty("d");

    // The connector accepts this dashboard's tokens for this workspace only.
    expect((await unlock(c, await token(c, "default"))).body.error?.code).toBe(
      "ERR_TRACE_NOT_FOUND",
    );
    expect((await unlock(c, await token(c, "other-ws"))).body.error?.code).toBe(
      "ERR_TOKEN_WORKSPACE",
    );
    expect((await unlock(c, await token(c, "default", await signingJwk()))).body.error?.code).toBe(
      "ERR_TOKEN_SIGNATURE",
    );

    // Its pairing file: 0600, ids and the dashboard's public keys, no private key, no code.
    const file = join(c.cwd, ".fluxrun/pairing.json");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const text = readFileSync(file, "utf8");
    expect(JSON.parse(text)).toMatchObject({
      agentId: c.agentId,
      pairings: [{ id, ws: "default", sub: user.email, dashboard, revokedAt: null }],
    });
    expect(text).not.toMatch(/"d"\s*:/);
    const normalized = normalizeClaimCode(code)!;
    expect(text).not.toContain(normalized);

    // Both audits record the pairing, neither the code.
    const audit = await db
      .prepare("SELECT action, allowed, detail FROM audit WHERE target = ? ORDER BY id")
      .bind(id)
      .all<{ action: string; allowed: number; detail: string | null }>();
    expect(audit.results.map((r) => r.action)).toEqual(["pairing.requested", "pairing.succeeded"]);
    const local = readFileSync(join(c.cwd, ".fluxrun/pairing-audit.ndjson"), "utf8");
    expect(local).toMatch(/"event":"paired"/);
    // The agent's own audit (its D1), exported with an audit token of the paired dashboard.
    const k = await signingKey({ FLUX_DASHBOARD_SIGNING_KEY: dashboardKey } as Env);
    const auditToken = (
      await issueAgentToken(
        k,
        {
          aud: c.agentId,
          sub: user.email,
          ws: "default",
          app: "shop-api",
          trace: "*",
          act: "audit",
        },
        { now: Date.now(), jti: crypto.randomUUID() },
      )
    ).token;
    const agentLog = await (
      await atAgent(c, "/v1/audit", { headers: { authorization: `Bearer ${auditToken}` } })
    ).text();
    const rows = agentLog
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { action: string; outcome: string; code: string | null });
    expect(rows).toContainEqual(
      expect.objectContaining({ action: "pair", outcome: "allowed", code: null }),
    );
    expect(rows).toContainEqual(
      expect.objectContaining({ action: "unlock", outcome: "denied", code: "ERR_NOT_PAIRED" }),
    );
    for (const log of [JSON.stringify(audit.results), local, agentLog]) {
      expect(log).not.toContain(normalized);
      expect(log).not.toContain(code);
    }
  });

  it("refuses a wrong code and burns the claim code after 5 wrong tries", async () => {
    const c = await connector();
    const user = await responder();
    const right = (await c.pairing.newCode()).display;
    const h = await hello(c);
    const wrong = right.startsWith("Z") ? "YYYY-YYYY" : "ZZZZ-ZZZZ";
    const codes: string[] = [];
    for (let i = 0; i < 5; i++) {
      // Each offer is a new pairing at the dashboard; the guessing user hits its limit after 5.
      const o = await offer(c, i < 4 ? user.token : (await responder()).token, wrong, h);
      codes.push((await pairAt(c, o.body)).body.error?.code ?? "ok");
    }
    expect(codes).toEqual([
      "ERR_PAIR_CODE_WRONG",
      "ERR_PAIR_CODE_WRONG",
      "ERR_PAIR_CODE_WRONG",
      "ERR_PAIR_CODE_WRONG",
      "ERR_PAIR_CODE_BURNT",
    ]);
    // Burnt: even the right code no longer pairs.
    const o = await offer(c, (await responder()).token, right, h);
    expect((await pairAt(c, o.body)).body.error?.code).toBe("ERR_PAIR_CODE_BURNT");
    const local = readFileSync(join(c.cwd, ".fluxrun/pairing-audit.ndjson"), "utf8");
    expect(local).toMatch(/"code":"ERR_PAIR_CODE_WRONG"/);
    expect(local).not.toContain(normalizeClaimCode(right)!);
  });

  it("limits pairing attempts per dashboard user", async () => {
    const c = await connector();
    const user = await responder();
    await c.pairing.newCode();
    const h = await hello(c);
    const statuses: string[] = [];
    for (let i = 0; i < 6; i++)
      statuses.push((await offer(c, user.token, "ABCD-EFGH", h)).body.error?.code ?? "ok");
    expect(statuses).toEqual(["ok", "ok", "ok", "ok", "ok", "ERR_PAIRING_RATE_LIMITED"]);
    const refused = await db
      .prepare("SELECT reason FROM audit WHERE action = 'pairing.refused' AND actor = ?")
      .bind(user.email)
      .all<{ reason: string }>();
    expect(refused.results).toEqual([{ reason: "ERR_PAIRING_RATE_LIMITED" }]);
  });

  it("refuses an expired code at the connector and an expired pairing at the dashboard", async () => {
    const c = await connector();
    const user = await responder();
    const code = (await c.pairing.newCode()).display;
    const o = await offer(c, user.token, code);
    skew = 301_000; // the connector's clock, 5 min 1 s later
    expect((await pairAt(c, o.body)).body.error?.code).toBe("ERR_PAIR_CODE_EXPIRED");

    // The dashboard side: a pending pairing past its expiry (stored 5 minutes in the past).
    skew = 0;
    const code2 = (await c.pairing.newCode()).display;
    const o2 = await offer(c, user.token, code2);
    const p2 = await pairAt(c, o2.body);
    await db
      .prepare("UPDATE pairings SET expires_at = ? WHERE id = ?")
      .bind(Date.now() - 1, o2.body.pairing)
      .run();
    const late = await dash(user.token, `/api/pairings/${o2.body.pairing}/confirm`, {
      code: code2,
      mac: p2.body.mac,
    });
    expect(late.body.error?.code).toBe("ERR_PAIRING_EXPIRED");
  });

  it("refuses a reused exchange and a forged confirmation", async () => {
    const c = await connector();
    const user = await responder();
    const code = (await c.pairing.newCode()).display;
    const o = await offer(c, user.token, code);
    const p = await pairAt(c, o.body);
    expect(p.status).toBe(200);
    // The same offer again (a replay of the exchange) at the connector.
    expect((await pairAt(c, o.body)).body.error?.code).toBe("ERR_PAIR_CODE_USED");
    const confirm = (mac: string) =>
      dash(user.token, `/api/pairings/${o.body.pairing}/confirm`, { code, mac });
    expect((await confirm(p.body.mac)).status).toBe(200);
    expect((await confirm(p.body.mac)).body.error?.code).toBe("ERR_PAIRING_USED");

    // A confirmation not made with the code (someone else's connector answering): refused.
    const code2 = (await c.pairing.newCode()).display;
    const o2 = await offer(c, user.token, code2);
    await pairAt(c, o2.body);
    const forged = await pairingMacs.confirmation(await pairingKey("ZZZZZZZZ", "x".repeat(22)), {
      pairing: o2.body.pairing,
      agentId: c.agentId,
      thumbprint: "t",
      dashboardNonce: "n",
    });
    const bad = await dash(user.token, `/api/pairings/${o2.body.pairing}/confirm`, {
      code: code2,
      mac: forged,
    });
    expect(bad.body.error?.code).toBe("ERR_PAIRING_CODE_WRONG");
  });

  it("two browsers racing one code: exactly one wins", async () => {
    const c = await connector();
    const [alice, bob] = [await responder(), await responder()];
    const code = (await c.pairing.newCode()).display;
    const h = await hello(c);
    const [a, b] = [await offer(c, alice.token, code, h), await offer(c, bob.token, code, h)];
    const results = await Promise.all([pairAt(c, a.body), pairAt(c, b.body)]);
    const codes = results.map((r) => r.body.error?.code ?? "won").sort();
    expect(codes).toEqual(["ERR_PAIR_RACED", "won"]);
    const state = JSON.parse(readFileSync(join(c.cwd, ".fluxrun/pairing.json"), "utf8")) as {
      pairings: unknown[];
    };
    expect(state.pairings).toHaveLength(1);
  });

  it("revokes from the connector (fluxrun agent unpair) and from the dashboard (Admin → Agents)", async () => {
    const c = await connector();
    const user = await responder();
    const id = await pair(c, user);
    expect((await unlock(c, await token(c, "default"))).body.error?.code).toBe(
      "ERR_TRACE_NOT_FOUND",
    );

    const out: string[] = [];
    const io = { cwd: c.cwd, out: (s: string) => out.push(s), err: (s: string) => out.push(s) };
    expect(await agentCommand(["pairings"], io)).toBe(0);
    expect(out.join("\n")).toContain(`${id}  workspace default`);
    expect(await agentCommand(["unpair", id], io)).toBe(0);
    // At once, without a restart: the running connector reads its pairings per request.
    expect((await unlock(c, await token(c, "default"))).body.error?.code).toBe(
      "ERR_PAIRING_REVOKED",
    );
    expect(readFileSync(join(c.cwd, ".fluxrun/pairing-audit.ndjson"), "utf8")).toMatch(
      /"event":"revoked"/,
    );

    // The dashboard: an admin revokes; no more tokens for that agent, and the list shows it.
    const admin = "fxd_pairing-dev-admin-token-0123456789abcdefghij";
    const res = await fetch(`${dashboard}/w/default/admin/pairings/${id}/revoke`, {
      method: "POST",
      headers: { authorization: `Bearer ${admin}` },
    });
    expect(await res.text()).toContain('id="state-revoked"');
    const list = await (
      await fetch(`${dashboard}/w/default/admin/pairings`, {
        headers: { authorization: `Bearer ${admin}` },
      })
    ).text();
    expect(list).toMatch(new RegExp(`data-pairing="${id}" data-state="revoked"`));
    const trace = "cd".repeat(16);
    await db
      .prepare(
        `INSERT INTO executions (trace_id, app, ws, route, method, status, status_class, outcome,
           start, duration_ms, events, r2_key, indexed_at)
         VALUES (?, 'shop-api', 'default', '/x', 'GET', 200, 2, 'ok', ?, 1, 1, ?, ?)`,
      )
      .bind(trace, Date.now(), `traces/shop-api/${trace}`, Date.now())
      .run();
    const issued = await dash(user.token, "/api/tokens", {
      trace,
      act: "unlock",
      fields: ["0.url"],
    });
    expect(issued.body.error?.code).toBe("ERR_PAIRING_REVOKED");
    const revoked = await db
      .prepare("SELECT allowed FROM audit WHERE action = 'pairing.revoked' AND target = ?")
      .bind(id)
      .first<{ allowed: number }>();
    expect(revoked?.allowed).toBe(1);
  });

  it("lets only an admin replace a workspace's deployed agent with a local one", async () => {
    const now = Date.now();
    await createWorkspace(
      db,
      { id: "deployed", name: "Deployed", agentOrigin: "https://agent.example", agentId: "prod" },
      now,
    );
    const user = await responder();
    const who = await ensureUser(db, user.email, { now, id: () => crypto.randomUUID() });
    await setMember(db, "deployed", who.id, "responder", now);
    const c = await connector();
    await c.pairing.newCode();
    const h = await hello(c);
    const start = (token: string) =>
      dash(token, "/api/pairings", {
        ws: "deployed",
        code: "ABCD-EFGH",
        agent: { origin: c.url, id: h.agentId, signingKey: h.signingKey, nonce: h.nonce },
      });
    expect((await start(user.token)).body.error?.code).toBe("ERR_FORBIDDEN");
    const adminUser = await responder();
    const admin = await ensureUser(db, adminUser.email, { now, id: () => crypto.randomUUID() });
    await setMember(db, "deployed", admin.id, "admin", now);
    expect((await start(adminUser.token)).status).toBe(200);
  });

  it("stays on loopback: refuses a non-loopback connector, and listens on loopback only", async () => {
    const user = await responder();
    const c = await connector();
    await c.pairing.newCode();
    const h = await hello(c);
    const res = await dash(user.token, "/api/pairings", {
      ws: "default",
      code: "ABCD-EFGH",
      agent: {
        origin: "http://192.168.1.20:8788",
        id: h.agentId,
        signingKey: h.signingKey,
        nonce: h.nonce,
      },
    });
    expect(res.body.error?.code).toBe("ERR_PAIRING_AGENT");
    const short = await dash(user.token, "/api/pairings", {
      ws: "default",
      code: "ABCD-EFG",
      agent: { origin: c.url, id: h.agentId, signingKey: h.signingKey, nonce: h.nonce },
    });
    expect(short.body.error?.code).toBe("ERR_PAIRING_CODE_FORMAT");
    await expect(startConnector({ host: "0.0.0.0", cwd: c.cwd, pair: true })).rejects.toThrow(
      /loopback only/,
    );
    const addresses = listening();
    expect(addresses.length).toBeGreaterThan(0);
    expect(addresses.filter((a) => a !== "127.0.0.1" && a !== "::1")).toEqual([]);
  });
});

/**
 * The local addresses of every listening TCP socket of this process and its children (workerd,
 * Miniflare's loopback server), from /proc (Linux).
 */
function listening(): string[] {
  const pids = [String(process.pid)];
  for (let i = 0; i < pids.length; i++) {
    try {
      const kids = readFileSync(`/proc/${pids[i]}/task/${pids[i]}/children`, "utf8");
      pids.push(...kids.split(" ").filter(Boolean));
    } catch {
      // the child exited
    }
  }
  const inodes = new Set<string>();
  for (const pid of pids) {
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) inodes.add(m[1]!);
      } catch {
        // closed meanwhile
      }
    }
  }
  const out: string[] = [];
  for (const [file, v6] of [
    ["/proc/net/tcp", false],
    ["/proc/net/tcp6", true],
  ] as const) {
    for (const line of readFileSync(file, "utf8").trim().split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[3] !== "0A" || !inodes.has(cols[9]!)) continue;
      const hex = cols[1]!.split(":")[0]!;
      out.push(v6 ? ipv6(hex) : ipv4(hex));
    }
  }
  return out;
}

function ipv4(hex: string): string {
  return [3, 2, 1, 0].map((i) => parseInt(hex.slice(i * 2, i * 2 + 2), 16)).join(".");
}

function ipv6(hex: string): string {
  if (hex === "00000000000000000000000001000000") return "::1";
  if (hex === "0000000000000000FFFF00000100007F") return "127.0.0.1";
  return hex;
}
