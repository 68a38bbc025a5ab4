/**
 * The `fluxrun` binary end to end: replay exit codes 0/1/2, one clear line for bad input, JSON
 * output, a directory of traces in one instance, and keygen.
 */
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  FIXTURES,
  startRecorder,
  startUpstream,
  writeConfig,
  type Recorder,
  type Upstream,
} from "./_helpers.js";
import { cat, cborHead, fill, HOSTILE_HEADS } from "./_hostile.js";
import { main } from "../src/harness/cli.js";
import { openTrace, readTrace, sealEncoded, sealTrace } from "../src/trace/seal.js";
import { generateSigningKeys } from "../src/trace/_sign.js";

const BIN = new URL("../bin/fluxrun.js", import.meta.url).pathname;

function run(
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd,
      env: { ...process.env, FLUX_PRIVATE_KEY: "", ...env },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

let upstream: Upstream;
let rec: Recorder;
let dir: string;
let config: string;

beforeAll(async () => {
  upstream = await startUpstream();
  rec = await startRecorder("basic/index.ts", {
    UPSTREAM: upstream.url,
    SECRET_TOKEN: "cli-test-token",
  });
  await (await rec.fetch("/hello", { method: "POST", body: "cli body" })).text();
  await (await rec.fetch("/boom")).text();
  const traces = await rec.traces(2);
  dir = await mkdtemp(join(tmpdir(), "fluxrun-cli-"));
  await mkdir(join(dir, "traces"));
  for (const [i, t] of traces.entries()) await writeFile(join(dir, "traces", `${i}.cbor`), t.bytes);
  await writeFile(join(dir, "key.jwk"), JSON.stringify(rec.keys.privateJwk));
  config = await writeConfig("basic/index.ts", { UPSTREAM: upstream.url });
});

afterAll(async () => {
  await rec?.dispose();
  await upstream?.close();
});

describe("fluxrun replay", () => {
  it("exits 0 on a match and prints the verdict, with no live request", async () => {
    const before = upstream.hits();
    const r = await run(["replay", "traces/0.cbor", "--config", config, "--key", "key.jwk"], dir);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("MATCH");
    expect(upstream.hits()).toBe(before);
    // The next replay skips wrangler's config reader (about a second to load): read once, kept.
    const cached = await readdir(join(dirname(config), ".fluxrun", "cache"));
    expect(cached.filter((f) => f.startsWith("config-"))).toHaveLength(1);
  });

  it("replays a directory in one run and prints JSON with --json", async () => {
    const r = await run(
      ["replay", "traces", "--config", config, "--key", "key.jwk", "--json"],
      dir,
    );
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as {
      exitCode: number;
      traces: { report: { verdict: string } }[];
    };
    expect(out.exitCode).toBe(0);
    expect(out.traces.map((t) => t.report.verdict)).toEqual(["match", "match"]);
  });

  it("exits 1 naming the first divergent boundary after a code change", async () => {
    const changed = join(dir, "changed");
    await mkdir(changed, { recursive: true });
    await writeFile(join(changed, "variant.mjs"), 'globalThis.__VARIANT__ = "changed-url";\n');
    await writeFile(
      join(changed, "entry.mjs"),
      `import "./variant.mjs";\nexport { default } from ${JSON.stringify(join(FIXTURES, "basic/index.ts"))};\n`,
    );
    const toml = (await readFile(config, "utf8")).replace(
      /^main = .*$/m,
      `main = ${JSON.stringify(join(changed, "entry.mjs"))}`,
    );
    await writeFile(join(changed, "wrangler.toml"), toml);
    const r = await run(["replay", "../traces/0.cbor", "--key", "../key.jwk"], changed);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/DIVERGED/);
    expect(r.stdout).toMatch(
      /1\. changed_request at event #\d+ \[fetch GET 127\.0\.0\.1:\d+\/data\]/,
    );
    expect(r.stdout).not.toContain("cli-test-token");
  });

  const bad: [string, (d: string) => Promise<string[]>, RegExp][] = [
    [
      "a corrupt trace",
      async (d) => (
        await writeFile(join(d, "bad.cbor"), "not a trace"),
        ["replay", "bad.cbor", "--key", "key.jwk"]
      ),
      /ERR_TRACE_CORRUPT/,
    ],
    [
      "a truncated trace",
      async (d) => {
        const b = await readFile(join(d, "traces/0.cbor"));
        await writeFile(join(d, "cut.cbor"), b.subarray(0, b.length - 30));
        return ["replay", "cut.cbor", "--key", "key.jwk"];
      },
      /ERR_TRACE_TRUNCATED/,
    ],
    [
      "a tampered trace",
      async (d) => {
        const b = Buffer.from(await readFile(join(d, "traces/0.cbor")));
        b[b.length - 3]! ^= 0xff;
        await writeFile(join(d, "tampered.cbor"), b);
        return ["replay", "tampered.cbor", "--key", "key.jwk"];
      },
      /ERR_TRACE_TAMPERED/,
    ],
    [
      "the wrong key",
      async (d) => {
        const { generateTraceKeys } = await import("../src/trace/keys.js");
        await writeFile(
          join(d, "other.jwk"),
          JSON.stringify((await generateTraceKeys()).privateJwk),
        );
        return ["replay", "traces/0.cbor", "--key", "other.jwk"];
      },
      /ERR_TRACE_KEY/,
    ],
    ["a missing key", async () => ["replay", "traces/0.cbor"], /ERR_KEY_INVALID/],
    ["no trace argument", async () => ["replay"], /Usage/],
  ];
  it.each(bad)("exits 2 with one clear line for %s", async (_name, setup, pattern) => {
    const args = await setup(dir);
    const r = await run([...args, "--config", config], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(pattern);
    expect(r.stdout).toBe("");
    expect(r.stderr).not.toMatch(/"d"\s*:|cli-test-token|at .*\.js:\d+/);
  });

  it("exits 2 for a directory holding any unreadable trace", async () => {
    const mixed = join(dir, "mixed");
    await mkdir(mixed);
    await writeFile(join(mixed, "a.cbor"), await readFile(join(dir, "traces/0.cbor")));
    await writeFile(join(mixed, "b.cbor"), "junk");
    const r = await run(["replay", "mixed", "--config", config, "--key", "key.jwk"], dir);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain("MATCH");
    expect(r.stderr).toMatch(/b\.cbor: ERR_TRACE_CORRUPT/);
  });
});

describe("hostile traces through the CLI", () => {
  /** One line naming the code; no stack trace, no usage, nothing on stdout. */
  function expectOneCodeLine(r: { code: number; stdout: string; stderr: string }, code: string) {
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr.trim().split("\n")).toEqual([expect.stringMatching(new RegExp(`${code}: `))]);
    expect(r.stderr).not.toMatch(/\bat .*:\d+|cli-test-token/);
  }

  const hostile: [string, () => Uint8Array | Promise<Uint8Array>, string][] = [
    ["a head of 4 M small integers", HOSTILE_HEADS.millionsOfInts, "ERR_TRACE_LIMIT"],
    ["a head of 1 M empty maps", HOSTILE_HEADS.millionsOfEmptyMaps, "ERR_TRACE_LIMIT"],
    ["an indefinite array of 8 M integers", HOSTILE_HEADS.indefiniteArray, "ERR_TRACE_CORRUPT"],
    ["a shared-reference DAG of 2^48 nodes", HOSTILE_HEADS.sharedDag, "ERR_TRACE_CORRUPT"],
    [
      "payloads of 2 M empty maps sealed with the public key",
      async () => {
        const { head } = readTrace(await readFile(join(dir, "traces/0.cbor")));
        const { recipient: _, ...clear } = head;
        const payloads = cat(cborHead(4, 2_000_000), fill(2_000_000, 0xa0));
        return sealEncoded(clear, payloads, rec.keys.publicJwk);
      },
      "ERR_TRACE_LIMIT",
    ],
  ];

  it.each(hostile)("replay of %s exits 2 with its code", async (_name, build, code) => {
    await writeFile(join(dir, "hostile.cbor"), await build());
    const r = await run(["replay", "hostile.cbor", "--config", config, "--key", "key.jwk"], dir);
    expectOneCodeLine(r, code);
  });

  it.each(hostile.slice(1, 4))("preflight of %s exits 2 with its code", async (_n, build, code) => {
    await writeFile(join(dir, "hostile.cbor"), await build());
    expectOneCodeLine(await run(["preflight", "hostile.cbor", "--config", config], dir), code);
  });

  it.each(hostile.slice(1, 4))("guard of %s exits 2 with its code", async (_n, build, code) => {
    await writeFile(join(dir, "hostile.cbor"), await build());
    const args = [
      "guard",
      "hostile.cbor",
      "--out",
      "guards",
      "--config",
      config,
      "--key",
      "key.jwk",
    ];
    expectOneCodeLine(await run(args, dir), code);
  });

  it("reports a hostile trace in a batch with its code and exits 2, not 1", async () => {
    const batch = join(dir, "batch");
    await mkdir(batch);
    await writeFile(join(batch, "a.cbor"), await readFile(join(dir, "traces/0.cbor")));
    await writeFile(join(batch, "b.cbor"), HOSTILE_HEADS.millionsOfEmptyMaps());
    const r = await run(["replay", "batch", "--config", config, "--key", "key.jwk"], dir);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain("MATCH");
    expect(r.stderr.trim()).toMatch(/^\S*b\.cbor: ERR_TRACE_LIMIT: [^\n]+$/);
  });
});

describe("fluxrun main", () => {
  it("turns an unexpected error into one ERR_INTERNAL line and exit 2, without its message", async () => {
    const lines: string[] = [];
    const code = await main(["help"], {
      out: () => {
        throw new TypeError("boom with cli-test-token inside");
      },
      err: (l) => lines.push(l),
      cwd: dir,
      env: {},
    });
    expect(code).toBe(2);
    expect(lines).toEqual(["fluxrun: ERR_INTERNAL: fluxrun help failed: unexpected TypeError"]);
  });
});

describe("fluxrun replay checks a trace's origin", () => {
  let d: string;
  let key: string;
  beforeAll(async () => {
    const signing = await generateSigningKeys();
    d = await mkdtemp(join(tmpdir(), "fluxrun-origin-"));
    const real = await readFile(join(dir, "traces/0.cbor"));
    const { head, payloads } = await openTrace(new Uint8Array(real), rec.keys.privateJwk);
    const { recipient: _r, version: _v, signer: _s, ...clear } = head;
    await writeFile(
      join(d, "signed.cbor"),
      await sealTrace({ head: clear, payloads }, rec.keys.publicJwk, {
        signingKey: signing.signingJwk,
      }),
    );
    await writeFile(
      join(d, "forged.cbor"),
      await sealTrace({ head: clear, payloads }, rec.keys.publicJwk),
    );
    await writeFile(join(d, "verify.jwk"), JSON.stringify(signing.verifyJwk));
    await writeFile(join(d, "signer"), signing.kid);
    key = join(dir, "key.jwk");
  });

  it("replays a signed trace as verified, and refuses one forged with the public key", async () => {
    const kid = await readFile(join(d, "signer"), "utf8");
    const ok = await run(
      ["replay", "signed.cbor", "--config", config, "--key", key, "--verify-key", "verify.jwk"],
      d,
    );
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain(`origin:   verified (signed by ${kid})`);
    const forged = await run(
      ["replay", "forged.cbor", "--config", config, "--key", key, "--verify-key", "verify.jwk"],
      d,
    );
    expect(forged.code).toBe(2);
    expect(forged.stderr).toContain("ERR_TRACE_UNSIGNED");
    // Without a verification key the same forgery replays, marked unverified.
    const unverified = await run(["replay", "forged.cbor", "--config", config, "--key", key], d);
    expect(unverified.stdout).toContain("origin:   UNVERIFIED (the trace is unsigned)");
  });

  it("makes no regression guard from a forged trace", async () => {
    const args = ["--config", config, "--key", key, "--verify-key", "verify.jwk"];
    const guard = await run(["guard", "forged.cbor", "--out", "g", ...args], d);
    expect(guard.code).toBe(2);
    expect(guard.stderr).toContain("ERR_TRACE_UNSIGNED");
  });
});

describe("fluxrun keygen", () => {
  it("writes a key pair, the private one 0600, and refuses to overwrite it", async () => {
    const d = await mkdtemp(join(tmpdir(), "fluxrun-keygen-"));
    const r = await run(["keygen", "--out", "keys"], d);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/never commit the private key/);
    const pub = JSON.parse(await readFile(join(d, "keys/public.jwk"), "utf8")) as Record<
      string,
      string
    >;
    expect(pub).toMatchObject({ kty: "OKP", crv: "X25519" });
    expect(pub.d).toBeUndefined();
    expect((await stat(join(d, "keys/agent-private.jwk"))).mode & 0o777).toBe(0o600);
    expect((await stat(join(d, "keys/signing-private.jwk"))).mode & 0o777).toBe(0o600);
    const verify = JSON.parse(await readFile(join(d, "keys/signing-public.jwk"), "utf8")) as Record<
      string,
      string
    >;
    expect(verify).toMatchObject({ kty: "OKP", crv: "Ed25519" });
    expect(verify.d).toBeUndefined();
    const again = await run(["keygen", "--out", "keys"], d);
    expect(again.code).toBe(2);
  });
});
