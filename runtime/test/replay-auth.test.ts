/**
 * Entering replay mode: only the harness's per-run secret or an envelope signed by the agent's
 * Ed25519 key opens it; anything else is refused or handled as ordinary (recorded) traffic.
 */
import { exportJWK, generateKeyPair, type JWK } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  REPLAY_AUTH_HEADER,
  encodeEnvelope,
  replayThrough,
  signReplay,
} from "../src/replay/index.js";
import { REPLAY_HEADER } from "../src/replay/envelope.js";
import { openTrace, type PlainTrace } from "../src/trace/seal.js";
import { startRecorder, startUpstream, type Recorder, type Upstream } from "./_helpers.js";

let upstream: Upstream;
let rec: Recorder;
let agentPublic: JWK;
let agentPrivate: JWK;
let opened: PlainTrace;

beforeAll(async () => {
  const pair = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  agentPublic = await exportJWK(pair.publicKey);
  agentPrivate = await exportJWK(pair.privateKey);
  upstream = await startUpstream();
  rec = await startRecorder("basic/index.ts", {
    UPSTREAM: upstream.url,
    SECRET_TOKEN: "auth-test-token",
    FLUX_AGENT_KEY: JSON.stringify(agentPublic),
  });
  await (await rec.fetch("/hello")).text();
  const [t] = await rec.traces(1);
  opened = await openTrace(t!.bytes, rec.keys.privateJwk);
});

afterAll(async () => {
  await rec?.dispose();
  await upstream?.close();
});

const dispatch = (r: Request) =>
  rec.fetch(new URL(r.url).pathname, {
    method: r.method,
    headers: r.headers,
    body: r.body,
    duplex: "half",
  } as RequestInit);

describe("agent-signed replay", () => {
  it("replays an envelope signed by the agent key, with no live request", async () => {
    const before = upstream.hits();
    const report = await replayThrough(dispatch, opened, { signingKey: agentPrivate });
    expect(report.verdict).toBe("match");
    expect(upstream.hits()).toBe(before);
  });

  async function send(body: Uint8Array, auth: string) {
    const res = await rec.fetch("/", {
      method: "POST",
      headers: { [REPLAY_AUTH_HEADER]: auth },
      body,
    });
    return {
      status: res.status,
      body: (await res.json()) as { error: { code: string; message: string } },
    };
  }

  const cases: [string, () => Promise<{ body: Uint8Array; auth: string }>, RegExp][] = [
    [
      "a tampered envelope",
      async () => {
        const body = encodeEnvelope(opened);
        const auth = await signReplay(body, agentPrivate, { traceId: opened.head.id });
        const copy = body.slice();
        copy[copy.length - 1]! ^= 1;
        return { body: copy, auth };
      },
      /does not match its signature/,
    ],
    [
      "an expired signature",
      async () => {
        const body = encodeEnvelope(opened);
        return {
          body,
          auth: await signReplay(body, agentPrivate, {
            traceId: opened.head.id,
            now: () => Date.now() - 120_000,
          }),
        };
      },
      /expired/,
    ],
    [
      "a foreign key",
      async () => {
        const other = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
        const body = encodeEnvelope(opened);
        return {
          body,
          auth: await signReplay(body, await exportJWK(other.privateKey), {
            traceId: opened.head.id,
          }),
        };
      },
      /bad signature/,
    ],
    [
      "a signature for another trace",
      async () => {
        const body = encodeEnvelope(opened);
        return { body, auth: await signReplay(body, agentPrivate, { traceId: "f".repeat(32) }) };
      },
      /another trace/,
    ],
    ["garbage", async () => ({ body: encodeEnvelope(opened), auth: "not.a.jws" }), /bad signature/],
  ];
  it.each(cases)("refuses %s with 403 and no live request", async (_n, make, why) => {
    const before = upstream.hits();
    const { body, auth } = await make();
    const res = await send(body, auth);
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe("ERR_REPLAY_ENVELOPE");
    expect(res.body.error.message).toMatch(why);
    expect(upstream.hits()).toBe(before);
  });
});

describe("public requests", () => {
  it("treat a replay header without the harness secret as ordinary traffic", async () => {
    const res = await rec.fetch("/hello", { headers: { [REPLAY_HEADER]: "x".repeat(64) } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { id: string }).id).toMatch(/^[0-9a-f-]{36}$/);
  });
});
