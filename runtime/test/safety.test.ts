/**
 * Replay safety (real workerd): fail-closed effect control with a live server that must see
 * nothing, the policy file letting exactly one read through, preflight, and regression guards
 * that pass on repaired code and fail when the bug returns.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readWorkerConfig } from "../src/harness/config.js";
import { generateGuard } from "../src/harness/guard.js";
import { Replayer } from "../src/harness/replay.js";
import { scanWorker } from "../src/harness/scan.js";
import { parsePolicy } from "../src/replay/policy.js";
import { preflight } from "../src/replay/preflight.js";
import { readTrace } from "../src/trace/seal.js";
import {
  FIXTURES,
  startRecorder,
  startUpstream,
  vitest,
  writeConfig,
  type Recorder,
  type Upstream,
} from "./_helpers.js";

const ROOT = new URL("../../", import.meta.url).pathname;
const SECRET = "safety-test-secret-value";
let upstream: Upstream;
let rec: Recorder;
const traces: Record<string, Uint8Array> = {};

beforeAll(async () => {
  upstream = await startUpstream();
  rec = await startRecorder("basic/index.ts", { UPSTREAM: upstream.url, SECRET_TOKEN: SECRET });
  for (const path of ["/hello", "/boom", "/ws"])
    await (
      await rec.fetch(path, {
        method: path === "/hello" ? "POST" : "GET",
        ...(path === "/hello" ? { body: "order body" } : {}),
      })
    ).text();
  for (const t of await rec.traces(3)) traces[t.meta.route!] = t.bytes;
});

afterAll(async () => {
  await rec?.dispose();
  await upstream?.close();
});

/** A project dir inside the repo (so `fluxrun` resolves) whose worker is the fixture in a variant. */
async function project(
  variant: string,
  policy?: unknown,
): Promise<{ dir: string; setVariant(v: string): Promise<void>; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(ROOT, ".tmp-guard-"));
  const setVariant = (v: string) =>
    writeFile(join(dir, "variant.mjs"), `globalThis.__VARIANT__ = ${JSON.stringify(v)};\n`);
  await setVariant(variant);
  await writeFile(
    join(dir, "entry.mjs"),
    `import "./variant.mjs";\nexport { default } from ${JSON.stringify(join(FIXTURES, "basic/index.ts"))};\n`,
  );
  const toml = (
    await readFile(await writeConfig("basic/index.ts", { UPSTREAM: upstream.url }), "utf8")
  ).replace(/^main = .*$/m, 'main = "entry.mjs"');
  await writeFile(join(dir, "wrangler.toml"), toml);
  if (policy) await writeFile(join(dir, "fluxrun.policy.json"), JSON.stringify(policy));
  // A project of its own: its vitest config, not the monorepo's.
  await writeFile(
    join(dir, "vitest.config.mjs"),
    'export default { test: { include: ["guards/**/*.test.ts"] } };\n',
  );
  return { dir, setVariant, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

describe("fail-closed effect control", () => {
  it("blocks an unrecorded GET and POST: the live server sees zero requests and the report names them", async () => {
    const p = await project("extra-post");
    try {
      const replayer = await Replayer.start({ config: join(p.dir, "wrangler.toml") });
      const before = upstream.hits();
      const report = await replayer.replay(traces["/hello"]!, rec.keys.privateJwk);
      await replayer.dispose();
      expect(upstream.hits()).toBe(before);
      expect(report.divergences[0]).toMatchObject({
        code: "extra_call",
        kind: "fetch",
        op: "GET",
        target: expect.stringMatching(/\/rates$/),
      });
      expect(report.divergences[0]?.closest).toMatchObject({
        op: "GET",
        target: expect.stringMatching(/\/data$/),
      });
    } finally {
      await p.cleanup();
    }
  });

  it("lets exactly the one GET a policy allows through, and still blocks the POST", async () => {
    const host = new URL(upstream.url).host;
    const p = await project("extra-post", {
      version: 1,
      allow: [{ kind: "fetch", method: "GET", host, path: "/rates" }],
    });
    try {
      const replayer = await Replayer.start({ config: join(p.dir, "wrangler.toml") });
      const before = upstream.paths.length;
      const report = await replayer.replay(traces["/hello"]!, rec.keys.privateJwk);
      await replayer.dispose();
      expect(upstream.paths.slice(before)).toEqual(["GET /rates"]);
      expect(report.liveAllowed).toEqual([{ op: "GET", target: `${host}/rates` }]);
      expect(report.divergences[0]).toMatchObject({
        code: "extra_call",
        op: "POST",
        target: `${host}/charge`,
      });
    } finally {
      await p.cleanup();
    }
  });

  const badPolicies: [string, unknown][] = [
    ["a write rule", { version: 1, allow: [{ kind: "fetch", method: "POST", host: "a.test" }] }],
    ["a wildcard host", { version: 1, allow: [{ kind: "fetch", method: "GET", host: "*.test" }] }],
    ["an unknown field", { version: 1, allow: [], live: true }],
    ["no version", { allow: [] }],
  ];
  it.each(badPolicies)("refuses a policy with %s", (_n, policy) => {
    expect(() => parsePolicy(JSON.stringify(policy))).toThrow(/fluxrun\.policy\.json is invalid/);
  });

  it("ignores named headers and JSON paths only when the policy says so", async () => {
    const p = await project("base", {
      version: 1,
      ignore: { headers: ["set-cookie"], jsonPaths: ["at"] },
    });
    try {
      const replayer = await Replayer.start({ config: join(p.dir, "wrangler.toml") });
      const report = await replayer.replay(traces["/hello"]!, rec.keys.privateJwk);
      await replayer.dispose();
      expect(report.verdict).toBe("match");
    } finally {
      await p.cleanup();
    }
  });
});

describe("preflight", () => {
  it("is ready for a trace of supported boundaries in scanned code", async () => {
    const config = await readWorkerConfig(await writeConfig("basic/index.ts"));
    const r = preflight(readTrace(traces["/hello"]!).head, { code: await scanWorker(config) });
    expect(r.readiness).toBe("ready");
    expect(r.blockers).toEqual([]);
    expect(r.boundaries.every((b) => b.replayable)).toBe(true);
  });

  it("is not ready when the trace used an unsupported API, naming the blocker", () => {
    const r = preflight(readTrace(traces["/ws"]!).head, { code: [] });
    expect(r.readiness).toBe("not_ready");
    expect(r.blockers[0]).toMatchObject({
      code: "BLOCK_UNSUPPORTED_API",
      reason: expect.stringMatching(/WebSocket/),
    });
  });

  it("flags a worker that opens a raw socket, with file and line", async () => {
    const config = await readWorkerConfig(await writeConfig("socket/index.ts"));
    const findings = await scanWorker(config);
    expect(findings).toEqual([
      expect.objectContaining({
        api: "raw_socket",
        where: expect.stringMatching(/socket\/index\.ts:2$/),
      }),
    ]);
    const r = preflight(readTrace(traces["/hello"]!).head, { code: findings });
    expect(r.warnings.map((w) => w.code)).toContain("WARN_UNSUPPORTED_IN_CODE");
  });

  it("says unknown when the code was not scanned", () => {
    expect(preflight(readTrace(traces["/hello"]!).head).readiness).toBe("unknown");
  });
});

describe("regression guards", () => {
  it("passes on the repaired code and fails when the bug is reintroduced", async () => {
    const p = await project("fixed-boom");
    const traceFile = join(p.dir, "boom.cbor");
    await writeFile(traceFile, traces["/boom"]!);
    try {
      const files = await generateGuard(traceFile, {
        out: join(p.dir, "guards"),
        config: join(p.dir, "wrangler.toml"),
        key: rec.keys.privateJwk,
      });
      expect(files.report.replayed.status).toBe(200);
      // Written into this repository, the guard and its vitest config pass its prettier check.
      const prettier = await import("prettier");
      for (const f of [files.test, files.vitestConfig]) {
        const options = { ...(await prettier.resolveConfig(f)), filepath: f };
        expect(await prettier.check(await readFile(f, "utf8"), options), f).toBe(true);
      }
      expect(files.command).toMatch(/^npx vitest run -c \S+\/guards\/vitest\.config\.mts$/);
      const key = JSON.stringify(rec.keys.privateJwk);
      const pass = await vitest(p.dir, { FLUX_PRIVATE_KEY: key });
      expect(pass.out).toMatch(/1 passed/);
      expect(pass.code).toBe(0);
      await p.setVariant("base");
      const fail = await vitest(p.dir, { FLUX_PRIVATE_KEY: key });
      expect(fail.code).not.toBe(0);
      expect(fail.out).toMatch(/1 failed/);
      const missingKey = await vitest(p.dir, {});
      expect(missingKey.out).toMatch(/FLUX_PRIVATE_KEY/);
      for (const f of await readdir(join(p.dir, "guards"))) {
        const text = await readFile(join(p.dir, "guards", f), "latin1");
        expect(text).not.toContain(SECRET);
        expect(text).not.toContain('"d":');
      }
    } finally {
      await p.cleanup();
    }
  });

  it("writes a redacted unsealed fixture on request: no key needed, no secret inside", async () => {
    const p = await project("base");
    const traceFile = join(p.dir, "hello.cbor");
    await writeFile(traceFile, traces["/hello"]!);
    try {
      await generateGuard(traceFile, {
        out: join(p.dir, "guards"),
        config: join(p.dir, "wrangler.toml"),
        key: rec.keys.privateJwk,
        redacted: true,
      });
      const files = await readdir(join(p.dir, "guards"));
      expect(files.some((f) => f.endsWith(".fixture.cbor"))).toBe(true);
      for (const f of files)
        expect(await readFile(join(p.dir, "guards", f), "latin1")).not.toContain(SECRET);
      const run = await vitest(p.dir, {});
      expect(run.out).toMatch(/1 passed/);
    } finally {
      await p.cleanup();
    }
  });

  it("refuses to write a guard when preflight is not ready", async () => {
    const p = await project("base");
    const traceFile = join(p.dir, "ws.cbor");
    await writeFile(traceFile, traces["/ws"]!);
    try {
      await expect(
        generateGuard(traceFile, {
          out: join(p.dir, "guards"),
          config: join(p.dir, "wrangler.toml"),
          key: rec.keys.privateJwk,
        }),
      ).rejects.toThrow(/preflight is not_ready \(BLOCK_UNSUPPORTED_API/);
    } finally {
      await p.cleanup();
    }
  });
});
