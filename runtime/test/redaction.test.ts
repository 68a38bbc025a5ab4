/**
 * Redaction covers every copy of a secret (issue 13, item 7). The red team found a `--redacted`
 * guard fixture holding, in clear, a secret the app passed to `console.log`, a `maskFields` field
 * and a token in a query string. A real worker (workerd) spreads its secrets into console
 * arguments, an error message, URLs (outgoing and incoming query strings), D1 arguments, a host
 * call's arguments and result, an upstream's answer and its own response; the redacted fixture
 * is searched, raw and decoded, in every encoding, for each secret: zero hits. The guard written
 * with it still replays to a pass (each secret replays as its token, consistently).
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateGuard } from "../src/harness/guard.js";
import { decodeCbor } from "../src/trace/_cbor.js";
import {
  startRecorder,
  startUpstream,
  vitest,
  writeConfig,
  type Recorder,
  type Upstream,
} from "./_helpers.js";

const ROOT = new URL("../../", import.meta.url).pathname;
const SECRETS = {
  fluxENV: "api-secret-4f1c9e77d2",
  envVar: "payments-key-81be20c4",
  maskedField: "4242424242424242",
  queryToken: "incoming-session-tok-5a9d",
};

let upstream: Upstream;
let rec: Recorder;
let trace: Uint8Array;

beforeAll(async () => {
  upstream = await startUpstream();
  rec = await startRecorder("redact/index.ts", {
    UPSTREAM: upstream.url,
    API_SECRET: SECRETS.fluxENV,
    PAYMENTS_KEY: SECRETS.envVar,
  });
  const res = await rec.fetch(`/checkout?session_token=${SECRETS.queryToken}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ card: { number: SECRETS.maskedField }, name: "Ada" }),
  });
  expect(await res.json()).toMatchObject({ echoed: SECRETS.maskedField, host: SECRETS.fluxENV });
  const [first] = await rec.traces(1);
  trace = first!.bytes;
});

afterAll(async () => {
  await rec?.dispose();
  await upstream?.close();
});

/** Every form a secret could be found in. */
function forms(secret: string): string[] {
  const b64 = Buffer.from(secret).toString("base64");
  return [
    secret,
    encodeURIComponent(secret),
    encodeURIComponent(secret).replace(/%20/g, "+"),
    b64,
    b64.replace(/=+$/, ""),
    Buffer.from(secret).toString("hex"),
    JSON.stringify(secret).slice(1, -1),
  ];
}

/** Every string the fixture holds: its raw bytes, and each decoded string and byte string. */
function texts(fixture: Uint8Array): string[] {
  const out = [Buffer.from(fixture).toString("latin1"), Buffer.from(fixture).toString("utf8")];
  const walk = (v: unknown): void => {
    if (typeof v === "string") out.push(v);
    else if (v instanceof Uint8Array) {
      out.push(Buffer.from(v).toString("utf8"), Buffer.from(v).toString("latin1"));
    } else if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === "object") {
      for (const [k, x] of Object.entries(v)) {
        out.push(k);
        walk(x);
      }
    }
  };
  walk(decodeCbor(fixture));
  return out;
}

describe("a redacted guard fixture", () => {
  it("holds no copy of any secret in any encoding, and its guard still passes", async () => {
    // A project inside the repository, so the guard's `fluxrun/harness` import resolves.
    const dir = await mkdtemp(join(ROOT, ".tmp-redact-"));
    try {
      await writeFile(
        join(dir, "wrangler.toml"),
        await readFile(await writeConfig("redact/index.ts", { UPSTREAM: upstream.url }), "utf8"),
      );
      await writeFile(
        join(dir, "vitest.config.mjs"),
        'export default { test: { include: ["guards/**/*.test.ts"] } };\n',
      );
      const traceFile = join(dir, "checkout.cbor");
      await writeFile(traceFile, trace);
      // The sealed trace does hold each secret (opened): this test would catch a leak.
      const files = await generateGuard(traceFile, {
        out: join(dir, "guards"),
        config: join(dir, "wrangler.toml"),
        key: rec.keys.privateJwk,
        redacted: true,
      });
      // The fixture's own replay: each secret replays as its token, consistently, so nothing diverges.
      expect(files.report.replayed.status).toBe(200);
      expect(files.report.divergences).toEqual([]);
      const fixture = new Uint8Array(await readFile(files.fixture));
      const all = texts(fixture);
      const hits = Object.entries(SECRETS).flatMap(([where, secret]) =>
        forms(secret)
          .filter((form) => all.some((t) => t.includes(form)))
          .map((form) => `${where} as ${JSON.stringify(form)}`),
      );
      expect(hits).toEqual([]);
      expect(Buffer.from(fixture).toString("latin1")).toMatch(/REDACTED_[0-9a-f]{12}/);
      for (const f of [files.test, files.vitestConfig]) {
        const text = await readFile(f, "utf8");
        for (const secret of Object.values(SECRETS)) expect(text).not.toContain(secret);
      }
      const run = await vitest(dir);
      expect(run.out).toMatch(/1 passed/);
      expect(run.code).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
