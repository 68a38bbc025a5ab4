/**
 * One config reader for every command (wrangler's own) and one option set: TOML, JSON and JSONC
 * with trailing commas read alike; environments; `--entry` for apps without `main`; errors with
 * file and position; no silent `nodejs_compat` in replay; options a command does not use are
 * noted, not refused. Replays and preflights run in real workerd.
 */
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  FIXTURES,
  startRecorder,
  startUpstream,
  type Recorder,
  type Upstream,
} from "./_helpers.js";
import { configBlockers, readWorkerConfig } from "../src/harness/config.js";
import { Replayer } from "../src/harness/replay.js";
import { main } from "../src/harness/cli.js";

async function dirWith(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "fluxrun-config-"));
  for (const [name, text] of Object.entries(files)) {
    await mkdir(join(dir, name, ".."), { recursive: true });
    await writeFile(join(dir, name), text);
  }
  return dir;
}

const ENTRY = { "src/index.ts": "export default { fetch() { return new Response('x'); } };\n" };

describe("readWorkerConfig", () => {
  const TOML = `# comment
name = "app"
main = "src/index.ts"
compatibility_date = "2026-04-20"
compatibility_flags = ["nodejs_compat"]
keep_names = false
minify = true

[vars]
A = "1"
N = 3

[[kv_namespaces]]
binding = "KV"
id = "kv"

[env.staging]
[env.staging.vars]
A = "staging"
[[env.staging.r2_buckets]]
binding = "FLUX_TRACES"
bucket_name = "staging-traces"
`;
  const JSONC = `{
  // comment
  "name": "app",
  "main": "src/index.ts",
  "compatibility_date": "2026-04-20",
  "compatibility_flags": ["nodejs_compat",],
  "keep_names": false,
  "minify": true,
  "vars": { "A": "1", "N": 3, },
  "kv_namespaces": [{ "binding": "KV", "id": "kv" },],
  "env": {
    "staging": {
      "vars": { "A": "staging" },
      "r2_buckets": [{ "binding": "FLUX_TRACES", "bucket_name": "staging-traces" }],
    },
  },
}
`;

  it("reads TOML, JSON and JSONC with trailing commas to the same config", async () => {
    const read = async (name: string, text: string) => {
      const dir = await dirWith({ [name]: text, ...ENTRY });
      const c = await readWorkerConfig(undefined, { cwd: dir });
      return { ...c, path: undefined, main: c.main.slice(dir.length), raw: undefined };
    };
    const toml = await read("wrangler.toml", TOML);
    expect(toml).toMatchObject({
      name: "app",
      main: "/src/index.ts",
      compatibilityFlags: ["nodejs_compat"],
      keepNames: false,
      minify: true,
      vars: { A: "1", N: "3" },
      bindings: { kv: ["KV"], r2: [] },
    });
    expect(await read("wrangler.jsonc", JSONC)).toEqual(toml);
    expect(
      await read("wrangler.json", JSONC.replace(/\/\/.*\n/, "").replace(/,(\s*[}\]])/g, "$1")),
    ).toEqual(toml);
  });

  it("applies --env as wrangler does, and refuses an environment the config lacks", async () => {
    const dir = await dirWith({ "wrangler.toml": TOML, ...ENTRY });
    const staging = await readWorkerConfig(undefined, { cwd: dir, env: "staging" });
    expect(staging.vars).toEqual({ A: "staging" });
    expect(staging.bindings.r2).toEqual(["FLUX_TRACES"]);
    expect(staging.bindings.kv).toEqual([]);
    expect(staging.env).toBe("staging");
    await expect(readWorkerConfig(undefined, { cwd: dir, env: "prod" })).rejects.toThrow(
      /No environment found in configuration with name "prod"/,
    );
    const flat = await dirWith({
      "wrangler.toml": 'name = "x"\nmain = "src/index.ts"\n',
      ...ENTRY,
    });
    await expect(readWorkerConfig(undefined, { cwd: flat, env: "prod" })).rejects.toThrow(
      /wrangler\.toml has no environment "prod"/,
    );
  });

  it("takes --entry when the config has no main, and says so when neither is there", async () => {
    const dir = await dirWith({ "wrangler.jsonc": '{ "name": "x", }\n', ...ENTRY });
    await expect(readWorkerConfig(undefined, { cwd: dir })).rejects.toThrow(
      /wrangler\.jsonc has no "main": pass --entry <file>/,
    );
    const c = await readWorkerConfig(undefined, { cwd: dir, entry: "src/index.ts" });
    expect(c.main).toBe(join(dir, "src/index.ts"));
    await expect(readWorkerConfig(undefined, { cwd: dir, entry: "src/nope.ts" })).rejects.toThrow(
      /No entry module at src\/nope\.ts/,
    );
  });

  it("finds the config in a parent folder, as wrangler does", async () => {
    const dir = await dirWith({ "wrangler.toml": TOML, ...ENTRY, "src/deep/x.txt": "" });
    const c = await readWorkerConfig(undefined, { cwd: join(dir, "src/deep") });
    expect(c.path).toBe(join(dir, "wrangler.toml"));
  });

  it.each([
    [
      "wrangler.jsonc",
      '{\n  "name": "x",\n  "vars": { "K": "value-on-bad-line" "B": 1 }\n}\n',
      /wrangler\.jsonc:3:\d+: CommaExpected/,
    ],
    [
      "wrangler.toml",
      'name = "x"\nmain = \nK = "value-on-bad-line"\n',
      /wrangler\.toml:2:\d+: Invalid TOML/,
    ],
  ])("reports a broken %s with file and position, not its text", async (name, text, pattern) => {
    const dir = await dirWith({ [name]: text });
    const err = (await readWorkerConfig(undefined, { cwd: dir }).catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(pattern);
    expect(err.message).not.toContain("value-on-bad-line");
    expect((err as { code?: string }).code).toBe("ERR_CONFIG");
  });

  it("names the missing flag instead of adding it, in the config's own syntax", async () => {
    const toml = await dirWith({
      "wrangler.toml": 'name = "x"\nmain = "src/index.ts"\n',
      ...ENTRY,
    });
    const c = await readWorkerConfig(undefined, { cwd: toml });
    expect(c.compatibilityFlags).toEqual([]);
    expect(configBlockers(c)).toEqual([
      {
        code: "BLOCK_COMPAT_FLAG",
        reason: expect.stringContaining('add compatibility_flags = ["nodejs_compat"]') as string,
      },
    ]);
    await expect(Replayer.start({ config: c })).rejects.toThrow(/lacks the nodejs_compat flag/);
    const json = await dirWith({ "wrangler.json": '{ "main": "src/index.ts" }', ...ENTRY });
    expect(configBlockers(await readWorkerConfig(undefined, { cwd: json }))[0]?.reason).toContain(
      '"compatibility_flags": ["nodejs_compat"]',
    );
    const als = await dirWith({
      "wrangler.toml": 'main = "src/index.ts"\ncompatibility_flags = ["nodejs_als"]\n',
      ...ENTRY,
    });
    expect(configBlockers(await readWorkerConfig(undefined, { cwd: als }))).toEqual([]);
  });
});

describe("the CLI's one option set", () => {
  let upstream: Upstream;
  let rec: Recorder;
  let dir: string;

  beforeAll(async () => {
    upstream = await startUpstream();
    rec = await startRecorder("basic/index.ts", { UPSTREAM: upstream.url, SECRET_TOKEN: "cfg-t" });
    for (const p of ["/hello", "/boom"]) await (await rec.fetch(p)).text();
    const traces = await rec.traces(2);
    // The app has no "main" (it runs as `wrangler dev entry.ts`), a JSONC config with trailing
    // commas, and traces in the layout fluxrun pull writes.
    dir = await dirWith({
      "wrangler.jsonc": `{
  "name": "cfg",
  "compatibility_date": "2026-04-20",
  "compatibility_flags": ["nodejs_compat",],
  "vars": { "UPSTREAM": ${JSON.stringify(upstream.url)}, },
  "kv_namespaces": [{ "binding": "KV", "id": "kv" }],
  "d1_databases": [{ "binding": "DB", "database_name": "db", "database_id": "db" }],
  "r2_buckets": [{ "binding": "FLUX_TRACES", "bucket_name": "traces" }, { "binding": "FILES", "bucket_name": "files" }],
  "queues": { "producers": [{ "binding": "JOBS", "queue": "jobs" }] },
  "services": [{ "binding": "SVC", "service": "svc" }],
}
`,
      "entry.ts": `export { default } from ${JSON.stringify(join(FIXTURES, "basic/index.ts"))};\n`,
      "key.jwk": JSON.stringify(rec.keys.privateJwk),
    });
    for (const t of traces) {
      await mkdir(join(dir, ".fluxrun", t.key, ".."), { recursive: true });
      await writeFile(join(dir, ".fluxrun", t.key), t.bytes);
    }
  });

  afterAll(async () => {
    await rec?.dispose();
    await upstream?.close();
  });

  async function cli(args: string[], env: Record<string, string> = {}) {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(args, {
      out: (l) => out.push(l),
      err: (l) => err.push(l),
      cwd: dir,
      env,
    });
    return { code, out: out.join("\n"), err: err.join("\n") };
  }

  it("replays a folder of pulled traces recursively with --entry, --key and --json", async () => {
    const r = await cli([
      "replay",
      ".fluxrun",
      "--entry",
      "entry.ts",
      "--key",
      "key.jwk",
      "--json",
    ]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const json = JSON.parse(r.out) as { traces: { file: string; report: { verdict: string } }[] };
    expect(json.traces.map((t) => t.report.verdict)).toEqual(["match", "match"]);
    expect(json.traces[0]!.file).toMatch(/^\.fluxrun\/traces\/basic\/\d{4}-\d{2}-\d{2}\/\d{2}\//);
  });

  it("preflights a folder, takes --key with a note, and refuses no option of the set", async () => {
    const r = await cli([
      "preflight",
      ".fluxrun/traces",
      "--entry",
      "entry.ts",
      "--key",
      "key.jwk",
    ]);
    expect(r.code).toBe(0);
    expect(r.out).toContain("2 of 2 traces ready to replay");
    expect(r.err).toBe(
      "fluxrun preflight: note: --key ignored: preflight reads only the clear head of a trace and needs no key",
    );
    const json = await cli(["preflight", ".fluxrun", "--entry", "entry.ts", "--json"]);
    expect(JSON.parse(json.out)).toMatchObject({ exitCode: 0, ready: 2 });
  });

  it("says which flag to add when the config lacks nodejs_compat (preflight 1, replay 2)", async () => {
    const bare = await dirWith({
      "wrangler.toml": `main = ${JSON.stringify(join(dir, "entry.ts"))}\ncompatibility_date = "2026-04-20"\n`,
    });
    const file = join(dir, ".fluxrun/traces");
    const lines: string[] = [];
    const io = {
      out: (l: string) => lines.push(l),
      err: (l: string) => lines.push(l),
      cwd: bare,
      env: {},
    };
    expect(await main(["preflight", file], io)).toBe(1);
    expect(lines.join("\n")).toMatch(
      /blocker BLOCK_COMPAT_FLAG: .*add compatibility_flags = \["nodejs_compat"\]/,
    );
    lines.length = 0;
    expect(await main(["replay", file, "--key", join(dir, "key.jwk")], io)).toBe(2);
    expect(lines.join("\n")).toMatch(/^fluxrun: ERR_CONFIG: .*lacks the nodejs_compat flag/);
  });

  it("notes options a command does not use", async () => {
    const k = await mkdtemp(join(tmpdir(), "fluxrun-keygen-"));
    const err: string[] = [];
    const code = await main(["keygen", "--out", "keys", "--entry", "x.ts", "--env", "prod"], {
      out: () => {},
      err: (l) => err.push(l),
      cwd: k,
      env: {},
    });
    expect(code).toBe(0);
    expect(err).toEqual([
      "fluxrun keygen: note: --entry ignored: keygen reads no worker config",
      "fluxrun keygen: note: --env ignored: keygen reads no worker config",
      'fluxrun keygen: WARNING: no .gitignore here ignores keys/agent-private.jwk; add "keys/" to .gitignore (fluxrun init does this)',
    ]);
    await writeFile(join(k, ".gitignore"), "other/\n/keys2/\n");
    const quiet: string[] = [];
    await main(["keygen", "--out", "keys2"], {
      out: () => {},
      err: (l) => quiet.push(l),
      cwd: k,
      env: {},
    });
    expect(quiet).toEqual([]);
  });

  it("refuses options outside the set, with the usage", async () => {
    const r = await cli(["replay", ".fluxrun", "--bogus"]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/Unknown option '--bogus'/);
  });
});
