/**
 * `fluxrun init` on wrangler configs as users write them: TOML with comments, JSON with tabs,
 * JSONC with trailing commas, environments, and entries it must not break. Every edited config
 * is read back with wrangler's reader (through readWorkerConfig) as the proof that it means what
 * init intended.
 */
import { mkdir, mkdtemp, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { initApp, wrapEntry, type InitOptions } from "../src/harness/init.js";
import { readWorkerConfig } from "../src/harness/config.js";
import { generateTraceKeys } from "../src/trace/keys.js";

const HONO = `import { Hono } from "hono";

const app = new Hono();
app.get("/", (c) => c.text("hi"));

export default app;
`;

async function appDir(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "fluxrun-init-"));
  for (const [name, text] of Object.entries(files)) {
    await mkdir(join(dir, name, ".."), { recursive: true });
    await writeFile(join(dir, name), text);
  }
  return dir;
}

async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of await readdir(dir, { recursive: true })) {
    const s = await stat(join(dir, f));
    if (s.isFile()) out[f] = await readFile(join(dir, f), "utf8");
  }
  return out;
}

const run = (dir: string, options: Omit<InitOptions, "cwd"> = {}) =>
  initApp({ cwd: dir, ...options });

describe("wrapEntry", () => {
  const cases: [string, string, string | "already" | "manual"][] = [
    ["an identifier", HONO, 'export default withFlux(app, { app: "a" });'],
    [
      "an identifier without semicolon",
      "const app = {};\nexport default app\n",
      "export default withFlux(app",
    ],
    [
      "an object literal with satisfies",
      "export default {\n  async fetch() {\n    return new Response('x');\n  },\n} satisfies ExportedHandler;\n",
      'export default withFlux(fluxrunHandler, { app: "a" });',
    ],
    [
      "an already wrapped export",
      'import { withFlux } from "fluxrun";\nexport default withFlux(app);\n',
      "already",
    ],
    ["an expression", "export default new Hono().get('/', (c) => c.text('x'));\n", "manual"],
    ["a class", "export default class extends WorkerEntrypoint {}\n", "manual"],
    ["two default exports", "export default a;\nexport default b;\n", "manual"],
    ["a name clash", "const fluxrunHandler = 1;\nexport default { fetch() {} };\n", "manual"],
    ["no default export", "export const x = 1;\n", "manual"],
  ];
  it.each(cases)("handles %s", (_name, source, want) => {
    const r = wrapEntry(source, "a");
    if (want === "already") expect(r).toEqual({ already: true });
    else if (want === "manual") expect(r).toHaveProperty("manual");
    else {
      expect(r).toHaveProperty("source");
      const out = (r as { source: string }).source;
      expect(out).toContain(want);
      expect(out).toMatch(/^import { withFlux } from "fluxrun";$/m);
      expect(out.match(/^export default/gm)).toHaveLength(1);
    }
  });

  it("keeps the object's code untouched and puts the import before the first import", () => {
    const source = `// header comment
import { helper } from "./helper";

export default {
  fetch(request) {
    return helper(request);
  },
};
`;
    const out = (wrapEntry(source, undefined) as { source: string }).source;
    expect(out).toBe(`// header comment
import { withFlux } from "fluxrun";
import { helper } from "./helper";

const fluxrunHandler = {
  fetch(request) {
    return helper(request);
  },
};

export default withFlux(fluxrunHandler);
`);
  });
});

describe("fluxrun init on wrangler.toml", () => {
  const TOML = `# The shop API: comments must survive
name = "shop"
main = "src/index.ts"
compatibility_date = "2026-04-20"
compatibility_flags = [
  "global_fetch_strictly_public", # keep this one
]

[vars]
# the greeting
GREETING = "hi"

[[kv_namespaces]]
binding = "KV"
id = "kv" # local id
`;

  it("adds the flag, binding and key, keeps every comment, and the result reads as intended", async () => {
    const dir = await appDir({ "wrangler.toml": TOML, "src/index.ts": HONO });
    const r = await run(dir);
    expect(r.manual).toEqual([]);
    const toml = await readFile(join(dir, "wrangler.toml"), "utf8");
    for (const line of TOML.split("\n").filter((l) => l.includes("#") && !l.includes("keep")))
      expect(toml).toContain(line);
    expect(toml).toContain('"global_fetch_strictly_public", "nodejs_compat" # keep this one');
    const config = await readWorkerConfig(undefined, { cwd: dir });
    expect(config.compatibilityFlags).toEqual(["global_fetch_strictly_public", "nodejs_compat"]);
    expect(config.bindings.r2).toEqual(["FLUX_TRACES"]);
    expect(config.bindings.kv).toEqual(["KV"]);
    const pub = JSON.parse(await readFile(join(dir, ".fluxrun/public.jwk"), "utf8")) as object;
    expect(JSON.parse(config.vars.FLUX_PUBLIC_KEY!)).toEqual(pub);
    expect(config.vars.GREETING).toBe("hi");
    expect((await stat(join(dir, ".fluxrun/agent-private.jwk"))).mode & 0o777).toBe(0o600);
    expect(await readFile(join(dir, ".gitignore"), "utf8")).toMatch(/^\.fluxrun\/$/m);
    expect(await readFile(join(dir, "src/index.ts"), "utf8")).toContain(
      'export default withFlux(app, { app: "shop" });',
    );
    expect(r.next).toEqual([
      "npx wrangler dev",
      "npx fluxrun pull",
      "npx fluxrun replay .fluxrun/traces",
    ]);
  });

  it("writes nothing on a dry run, and shows the diff", async () => {
    const dir = await appDir({ "wrangler.toml": TOML, "src/index.ts": HONO });
    const before = await snapshot(dir);
    const r = await run(dir, { dryRun: true });
    expect(await snapshot(dir)).toEqual(before);
    const diff = r.changes.map((c) => c.diff).join("\n");
    expect(diff).toContain('+  "global_fetch_strictly_public", "nodejs_compat" # keep this one');
    expect(diff).toContain("+[[r2_buckets]]");
    expect(diff).toContain("-export default app;");
    expect(diff).toContain('+export default withFlux(app, { app: "shop" });');
    expect(r.changes.map((c) => c.file)).toEqual([
      ".fluxrun",
      ".fluxrun",
      ".gitignore",
      ".dev.vars",
      "wrangler.toml",
      "src/index.ts",
    ]);
    expect(diff).toContain("+FLUX_SIGNING_KEY='<signing key>'");
  });

  it("changes nothing when run again", async () => {
    const dir = await appDir({ "wrangler.toml": TOML, "src/index.ts": HONO });
    await run(dir);
    const once = await snapshot(dir);
    const again = await run(dir);
    expect(again.changes).toEqual([]);
    expect(again.manual).toEqual([]);
    expect(await snapshot(dir)).toEqual(once);
  });

  it("sets up a wrangler environment's own bindings and vars with --env", async () => {
    const dir = await appDir({
      "wrangler.toml": `${TOML}\n[env.staging]\nname = "shop-staging"\n\n[env.staging.vars]\nGREETING = "hello staging"\n`,
      "src/index.ts": HONO,
    });
    const r = await run(dir, { env: "staging", bucket: "staging-traces" });
    expect(r.manual).toEqual([]);
    expect(r.next[0]).toBe("npx wrangler dev --env staging");
    const staging = await readWorkerConfig(undefined, { cwd: dir, env: "staging" });
    expect(staging.bindings.r2).toEqual(["FLUX_TRACES"]);
    expect(staging.vars.GREETING).toBe("hello staging");
    expect(staging.vars.FLUX_PUBLIC_KEY).toMatch(/"X25519"/);
    expect((staging.raw.r2_buckets as { bucket_name: string }[])[0]?.bucket_name).toBe(
      "staging-traces",
    );
    const top = await readWorkerConfig(undefined, { cwd: dir });
    expect(top.bindings.r2).toEqual([]);
    expect(top.compatibilityFlags).toContain("nodejs_compat");
  });

  it("prints the lines to add when an edit would not be safe (inline vars table)", async () => {
    const dir = await appDir({
      "wrangler.toml":
        'name = "x"\nmain = "src/index.ts"\ncompatibility_date = "2026-04-20"\nvars = { A = "1" }\n',
      "src/index.ts": HONO,
    });
    const before = await readFile(join(dir, "wrangler.toml"), "utf8");
    const r = await run(dir);
    expect(await readFile(join(dir, "wrangler.toml"), "utf8")).toBe(before);
    expect(r.manual.join("\n")).toMatch(/could not edit it safely/);
    expect(r.manual.join("\n")).toContain('compatibility_flags = ["nodejs_compat"]');
    expect(r.manual.join("\n")).toMatch(/\[\[r2_buckets\]\] binding = "FLUX_TRACES"/);
  });

  it("uses an existing key with --key and flags a FLUX_PUBLIC_KEY of another key", async () => {
    const keys = await generateTraceKeys();
    const other = await generateTraceKeys();
    const dir = await appDir({ "wrangler.toml": TOML, "src/index.ts": HONO });
    await writeFile(join(dir, "mine.private.jwk"), JSON.stringify(keys.privateJwk));
    const r = await run(dir, { key: join(dir, "mine.private.jwk") });
    expect(r.key).toMatchObject({ kid: keys.kid, created: false });
    expect(r.next[2]).toBe("npx fluxrun replay .fluxrun/traces --key mine.private.jwk");
    const config = await readWorkerConfig(undefined, { cwd: dir });
    expect(JSON.parse(config.vars.FLUX_PUBLIC_KEY!).x).toBe(keys.publicJwk.x);
    // The trace key stays where --key points; .fluxrun/ holds only the new signing pair.
    expect((await readdir(join(dir, ".fluxrun"))).sort()).toEqual([
      "signing-private.jwk",
      "signing-public.jwk",
    ]);

    const clash = await appDir({
      "wrangler.toml": `${TOML}`.replace(
        'GREETING = "hi"',
        `GREETING = "hi"\nFLUX_PUBLIC_KEY = '${JSON.stringify(other.publicJwk)}'`,
      ),
      "src/index.ts": HONO,
    });
    const c = await run(clash);
    expect(c.manual.join("\n")).toMatch(/FLUX_PUBLIC_KEY in wrangler.toml is not the public half/);
  });
});

describe("fluxrun init on JSON configs", () => {
  it("edits wrangler.jsonc with comments and trailing commas in place", async () => {
    const text = `{
  // comment kept
  "name": "b",
  "main": "src/index.ts",
  "compatibility_date": "2026-04-20",
  "vars": { "A": "1", },
  "r2_buckets": [
    { "binding": "FILES", "bucket_name": "files" }, // files
  ],
}
`;
    const dir = await appDir({ "wrangler.jsonc": text, "src/index.ts": HONO });
    const r = await run(dir);
    expect(r.manual).toEqual([]);
    const out = await readFile(join(dir, "wrangler.jsonc"), "utf8");
    expect(out).toContain("// comment kept");
    expect(out).toContain("// files");
    const config = await readWorkerConfig(undefined, { cwd: dir });
    expect(config.bindings.r2).toEqual(["FILES", "FLUX_TRACES"]);
    expect(config.compatibilityFlags).toEqual(["nodejs_compat"]);
    expect(Object.keys(config.vars)).toEqual(["A", "FLUX_PUBLIC_KEY"]);
  });

  it("keeps a tab-indented wrangler.json tab-indented", async () => {
    const text =
      '{\n\t"name": "c",\n\t"main": "src/index.ts",\n\t"compatibility_date": "2026-04-20"\n}\n';
    const dir = await appDir({ "wrangler.json": text, "src/index.ts": HONO });
    await run(dir);
    const out = await readFile(join(dir, "wrangler.json"), "utf8");
    expect(out).toMatch(/^\t"name": "c",$/m);
    expect(out).not.toMatch(/^ {2}"/m);
    expect((await readWorkerConfig(undefined, { cwd: dir })).bindings.r2).toEqual(["FLUX_TRACES"]);
  });

  it("wraps the entry given with --entry when the config has no main, and asks for it otherwise", async () => {
    const text = '{ "name": "d", "compatibility_date": "2026-04-20" }\n';
    const worker = "export default {\n  fetch() {\n    return new Response('d');\n  },\n};\n";
    const dir = await appDir({ "wrangler.json": text, "src/worker.js": worker });
    const without = await run(dir, { dryRun: true });
    expect(without.manual.join("\n")).toMatch(/has no "main": run init again with --entry <file>/);
    expect(without.next[0]).toBe("npx wrangler dev <entry>");
    const r = await run(dir, { entry: "src/worker.js" });
    expect(r.manual).toEqual([]);
    expect(r.next).toEqual([
      "npx wrangler dev src/worker.js",
      "npx fluxrun pull",
      "npx fluxrun replay .fluxrun/traces --entry src/worker.js",
    ]);
    expect(await readFile(join(dir, "src/worker.js"), "utf8")).toContain(
      'export default withFlux(fluxrunHandler, { app: "d" });',
    );
  });

  it("reports a config wrangler cannot parse with its position", async () => {
    const dir = await appDir({ "wrangler.jsonc": '{\n  "name": "e"\n  "main": "x.ts"\n}\n' });
    await expect(run(dir)).rejects.toThrow(/Could not parse wrangler\.jsonc:3:3: CommaExpected/);
  });
});
