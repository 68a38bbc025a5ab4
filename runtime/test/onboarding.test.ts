/**
 * From an existing Workers app to its first replayed failure, by commands alone (issue 14).
 *
 * Two sample apps that are not this repository's example are created at test time: a Hono app
 * with a wrangler.toml full of comments and a secret in .dev.vars, and a module worker with a
 * wrangler.jsonc (comments, trailing commas, no "main": it runs as `wrangler dev src/worker.js`)
 * whose own tests run on the Workers vitest pool. For each, the test runs the README's quick
 * start: `fluxrun init`, `wrangler dev` on a free loopback port with real requests, `fluxrun pull`
 * from wrangler's local state, `fluxrun replay` (MATCH), `fluxrun preflight` on the folder, a
 * one-line change and a replay that diverges, `fluxrun guard` and the command it prints (passes,
 * then fails when the change is undone). No file is edited by hand except the app's code change.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = new URL("../../", import.meta.url).pathname;

/** The README's quick start for an existing app, in order (`<trace.cbor>`: one pulled trace). */
const QUICK_START = [
  "npx fluxrun init",
  "npx wrangler dev",
  "npx fluxrun pull",
  "npx fluxrun replay .fluxrun/traces",
  "npx fluxrun preflight .fluxrun/traces",
  "npx fluxrun replay <trace.cbor>",
  "npx fluxrun guard <trace.cbor> --out test/guards",
  "npx vitest run -c test/guards/vitest.config.mts",
] as const;

const ENV = {
  ...process.env,
  WRANGLER_SEND_METRICS: "false",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  FLUX_PRIVATE_KEY: "",
  NO_COLOR: "1",
  FORCE_COLOR: "0",
};

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command line through the shell in `cwd`, as a user would type it. */
function sh(command: string, cwd: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(command, { cwd, env: ENV, shell: true });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

/** `wrangler dev` in its own process group, so afterAll can end it and everything it started. */
interface Dev {
  url: string;
  log: () => string;
  stop(): Promise<void>;
}

const started: Dev[] = [];

async function wranglerDev(command: string, cwd: string): Promise<Dev> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    `${command} --ip 127.0.0.1 --port ${port} --inspector-port 0 --log-level warn`,
    { cwd, env: ENV, shell: true, detached: true },
  );
  let log = "";
  child.stdout!.on("data", (d: Buffer) => (log += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  let stopped = false;
  const dev: Dev = {
    url: `http://127.0.0.1:${port}`,
    log: () => log,
    async stop() {
      if (stopped || child.pid === undefined) return;
      stopped = true;
      const group = -child.pid;
      const signal = (s: NodeJS.Signals) => {
        try {
          process.kill(group, s);
        } catch {
          // the group has already exited
        }
      };
      signal("SIGTERM");
      const ended = await Promise.race([
        exited.then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), 15_000).unref()),
      ]);
      if (!ended) signal("SIGKILL");
    },
  };
  started.push(dev);
  return dev;
}

/** Polls `url` until it answers below 500, within `timeoutMs`. */
async function waitReady(dev: Dev, path: string, timeoutMs = 120_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    try {
      const res = await fetch(`${dev.url}${path}`);
      await res.arrayBuffer();
      if (res.status < 500) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`wrangler dev did not answer within ${timeoutMs / 1000}s:\n${dev.log()}`);
}

/** `fluxrun pull --json` until at least `n` traces are local (trace writes follow the response). */
async function pullAtLeast(cwd: string, n: number, command = "npx fluxrun pull"): Promise<Run> {
  let last: Run | undefined;
  for (let i = 0; i < 20; i++) {
    last = await sh(`${command} --json`, cwd);
    expect(last.code, last.stderr).toBe(0);
    const r = JSON.parse(last.stdout) as { matched: number };
    if (r.matched >= n) return last;
  }
  throw new Error(`fewer than ${n} traces after 20 pulls: ${last?.stdout}`);
}

interface ReplayJson {
  exitCode: number;
  traces: {
    file: string;
    report: {
      verdict: string;
      divergences: {
        code: string;
        kind: string;
        op: string;
        target: string;
        fields?: string[];
        diff?: { path: string; expected: unknown; actual: unknown }[];
      }[];
    };
  }[];
}

/**
 * The first divergence of a `fluxrun replay --json` run: its code, boundary, the fields that
 * differ, and the differing values by path (shown because the CLI holds the private key).
 */
function firstDivergence(stdout: string): {
  code: string;
  boundary: string;
  fields: string[];
  diff: { path: string; expected: unknown; actual: unknown }[];
} {
  const out = JSON.parse(stdout) as ReplayJson;
  const d = out.traces[0]?.report.divergences[0];
  if (!d) throw new Error(`no divergence in ${stdout.slice(0, 500)}`);
  return {
    code: d.code,
    boundary: `${d.kind} ${d.op} ${d.target}`,
    fields: d.fields ?? [],
    diff: d.diff ?? [],
  };
}

async function tracesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith(".cbor"))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

async function digest(files: string[]): Promise<string> {
  const h = createHash("sha256");
  for (const f of files) h.update(f).update(await readFile(f));
  return h.digest("hex");
}

/** The trace for a request, found by its clear summary (no key needed). */
async function traceFor(dir: string, method: string, route: string, status: number) {
  const { readTrace } = await import("../src/trace/seal.js");
  for (const file of await tracesUnder(dir)) {
    const s = readTrace(new Uint8Array(await readFile(file))).head.summary;
    if (s.method === method && s.route === route && s.status === status) return file;
  }
  throw new Error(`no trace for ${method} ${route} ${status}`);
}

/** A fresh app folder whose node_modules is the workspace's (fluxrun, wrangler, hono, vitest). */
async function app(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "fluxrun-onboarding-"));
  await symlink(join(ROOT, "node_modules"), join(dir, "node_modules"), "dir");
  for (const [name, text] of Object.entries(files)) {
    await mkdir(join(dir, name, ".."), { recursive: true });
    await writeFile(join(dir, name), text);
  }
  return dir;
}

const dirs: string[] = [];

afterAll(async () => {
  for (const dev of started) await dev.stop();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe("the README's quick start", () => {
  it.each(["README.md", "runtime/README.md"])(
    "in %s is exactly the commands this test runs",
    async (file) => {
      const readme = await readFile(join(ROOT, file), "utf8");
      const block = /<!-- quick-start -->\s*```[a-z]*\n([\s\S]*?)```/.exec(readme)?.[1];
      expect(block, "README.md has a quick-start block").toBeDefined();
      const commands = block!
        .split("\n")
        .map((l) => l.replace(/#.*$/, "").trim())
        .filter(Boolean);
      expect(commands).toEqual([...QUICK_START]);
    },
  );
});

describe("a Hono app with wrangler.toml and a secret in .dev.vars", () => {
  const secret = `test-only-${randomBytes(12).toString("hex")}`;
  const TOML = `# App A: a Hono API (wrangler.toml with comments)
name = "app-a"
main = "src/index.ts"
compatibility_date = "2026-04-20"

[vars]
GREETING = "Hello" # shown in every answer
`;
  const INDEX = `import { Hono } from "hono";

type Env = { API_KEY: string; GREETING: string };
const TAX_RATE = 0.2;

const app = new Hono<{ Bindings: Env }>();
app.get("/hello/:name", (c) =>
  c.json({ greeting: \`\${c.env.GREETING}, \${c.req.param("name")}\`, keyed: c.env.API_KEY.length > 0 }),
);
app.post("/total", async (c) => {
  const { items } = await c.req.json<{ items: { price: number; qty: number }[] }>();
  const net = items.reduce((sum, i) => sum + i.price * i.qty, 0);
  return c.json({ net, total: Math.round(net * (1 + TAX_RATE) * 100) / 100 });
});

export default app;
`;

  it("goes from init to a guard that catches the change, by commands alone", async () => {
    const dir = await app({
      "wrangler.toml": TOML,
      "src/index.ts": INDEX,
      ".dev.vars": `API_KEY="${secret}"\n`,
      ".gitignore": "node_modules/\n.wrangler/\n.dev.vars\n",
    });
    dirs.push(dir);
    const files = ["wrangler.toml", "src/index.ts", ".gitignore"].map((f) => join(dir, f));

    // A dry run shows the diff and writes nothing.
    const before = await digest(files);
    const dry = await sh("npx fluxrun init --dry-run", dir);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('+compatibility_flags = ["nodejs_compat"]');
    expect(dry.stdout).toContain('+export default withFlux(app, { app: "app-a" });');
    expect(await digest(files)).toBe(before);

    const init = await sh(QUICK_START[0], dir);
    expect(init.code, init.stderr).toBe(0);
    expect(init.stdout).toContain("npx fluxrun replay .fluxrun/traces");
    const toml = await readFile(join(dir, "wrangler.toml"), "utf8");
    expect(toml).toContain("# App A: a Hono API (wrangler.toml with comments)");
    expect(toml).toContain('GREETING = "Hello" # shown in every answer');
    expect(toml).toMatch(/\[\[r2_buckets\]\]\nbinding = "FLUX_TRACES"/);
    expect(await readFile(join(dir, ".gitignore"), "utf8")).toMatch(/^\.fluxrun\/$/m);
    expect(await readFile(join(dir, "src/index.ts"), "utf8")).toContain(
      'export default withFlux(app, { app: "app-a" });',
    );
    // Idempotent: a second run changes nothing.
    const after = await digest(files);
    const again = await sh(QUICK_START[0], dir);
    expect(again.stdout).toContain("Nothing to change");
    expect(await digest(files)).toBe(after);

    const dev = await wranglerDev(QUICK_START[1], dir);
    await waitReady(dev, "/hello/ready");
    const hello = await fetch(`${dev.url}/hello/ann`);
    expect(await hello.json()).toEqual({ greeting: "Hello, ann", keyed: true });
    const total = await fetch(`${dev.url}/total`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ items: [{ price: 10, qty: 2 }] }),
    });
    expect(await total.json()).toEqual({ net: 20, total: 24 });

    await pullAtLeast(dir, 3, QUICK_START[2]);
    const pulled = await tracesUnder(join(dir, ".fluxrun/traces"));
    expect(pulled.every((f) => f.includes("/.fluxrun/traces/app-a/"))).toBe(true);
    for (const f of pulled) expect((await readFile(f)).toString("latin1")).not.toContain(secret);

    const replay = await sh(QUICK_START[3], dir);
    expect(replay.code, replay.stderr).toBe(0);
    expect(replay.stdout).toMatch(new RegExp(`${pulled.length} of ${pulled.length} traces match`));

    const pre = await sh(QUICK_START[4], dir);
    expect(pre.code, pre.stdout).toBe(0);
    expect(pre.stdout).toContain(`${pulled.length} of ${pulled.length} traces ready to replay`);

    // One line changes; the recorded POST /total now answers differently.
    const trace = await traceFor(join(dir, ".fluxrun/traces"), "POST", "/total", 200);
    const source = await readFile(join(dir, "src/index.ts"), "utf8");
    await writeFile(
      join(dir, "src/index.ts"),
      source.replace("TAX_RATE = 0.2;", "TAX_RATE = 0.25;"),
    );
    const diverged = await sh(`${QUICK_START[5].replace("<trace.cbor>", trace)} --json`, dir);
    expect(diverged.code, diverged.stderr).toBe(1);
    expect(firstDivergence(diverged.stdout)).toMatchObject({
      code: "changed_outcome",
      boundary: "response 200 /total",
      fields: ["body"],
      diff: [{ path: "body.total", expected: 24, actual: 25 }],
    });

    const guard = await sh(QUICK_START[6].replace("<trace.cbor>", trace), dir);
    expect(guard.code, guard.stderr).toBe(0);
    const printed = /run it with: (.+)$/m.exec(guard.stdout)?.[1];
    expect(printed).toBe(QUICK_START[7]);
    const pass = await sh(printed!, dir);
    expect(pass.code, pass.stdout + pass.stderr).toBe(0);
    expect(pass.stdout).toMatch(/1 passed/);

    await writeFile(join(dir, "src/index.ts"), source);
    const fail = await sh(printed!, dir);
    expect(fail.code).not.toBe(0);
    expect(fail.stdout).toMatch(/1 failed/);
    for (const f of await readdir(join(dir, "test/guards")))
      expect(await readFile(join(dir, "test/guards", f), "latin1")).not.toContain(secret);
    await dev.stop();
  }, 400_000);
});

describe("a module worker with wrangler.jsonc, no main, and tests on the Workers pool", () => {
  const JSONC = `{
  // App B: a module worker, started as \`wrangler dev src/worker.js\` (no "main")
  "name": "app-b",
  "compatibility_date": "2026-04-20",
  "vars": {
    "LIMIT": "3",
  },
}
`;
  const WORKER = `export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const n = Number(url.searchParams.get("n") ?? "1");
    const limit = Number(env.LIMIT);
    return Response.json({ n, ok: n <= limit }, { status: n <= limit ? 200 : 422 });
  },
};
`;
  const VITEST = `import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

export default defineConfig({
  plugins: [cloudflareTest({ wrangler: { configPath: "./wrangler.jsonc" } })],
});
`;
  const OWN_TEST = `import { env } from "cloudflare:workers";
import { expect, test } from "vitest";

test("the limit comes from the config", () => {
  expect(env.LIMIT).toBe("3");
});
`;

  it("goes from init to a guard that catches the change, with --entry, by commands alone", async () => {
    const dir = await app({
      "wrangler.jsonc": JSONC,
      "src/worker.js": WORKER,
      "vitest.config.mts": VITEST,
      "test/limit.test.js": OWN_TEST,
    });
    dirs.push(dir);
    const entry = " --entry src/worker.js";

    const init = await sh(`${QUICK_START[0]}${entry}`, dir);
    expect(init.code, init.stderr).toBe(0);
    expect(init.stdout).toContain("npx wrangler dev src/worker.js");
    const jsonc = await readFile(join(dir, "wrangler.jsonc"), "utf8");
    expect(jsonc).toContain("// App B: a module worker");
    expect(jsonc).toContain('"LIMIT": "3",');
    expect(jsonc).toMatch(/"compatibility_flags": \[\s*"nodejs_compat"\s*\]/);
    expect(await readFile(join(dir, "src/worker.js"), "utf8")).toContain(
      'export default withFlux(fluxrunHandler, { app: "app-b" });',
    );

    const dev = await wranglerDev(`${QUICK_START[1]} src/worker.js`, dir);
    await waitReady(dev, "/ready");
    const ok = await fetch(`${dev.url}/?n=3`);
    expect(await ok.json()).toEqual({ n: 3, ok: true });
    const refused = await fetch(`${dev.url}/?n=5`);
    expect(refused.status).toBe(422);
    await refused.arrayBuffer();

    await pullAtLeast(dir, 3, QUICK_START[2]);
    const replay = await sh(`${QUICK_START[3]}${entry}`, dir);
    expect(replay.code, replay.stderr).toBe(0);
    expect(replay.stdout).toMatch(/(\d+) of \1 traces match/);
    const pre = await sh(`${QUICK_START[4]}${entry}`, dir);
    expect(pre.code, pre.stdout).toBe(0);

    // Readiness polls went to /ready: the one GET / that answered 200 is ?n=3.
    const trace = await traceFor(join(dir, ".fluxrun/traces"), "GET", "/", 200);
    const source = await readFile(join(dir, "src/worker.js"), "utf8");
    await writeFile(
      join(dir, "src/worker.js"),
      source.replace("Number(env.LIMIT);", "Number(env.LIMIT) - 1;"),
    );
    const diverged = await sh(
      `${QUICK_START[5].replace("<trace.cbor>", trace)}${entry} --json`,
      dir,
    );
    expect(diverged.code, diverged.stderr).toBe(1);
    expect(firstDivergence(diverged.stdout)).toMatchObject({
      code: "changed_outcome",
      boundary: "response 200 /",
      fields: ["status", "body"],
    });
    expect(firstDivergence(diverged.stdout).diff).toEqual(
      expect.arrayContaining([
        { path: "status", expected: 200, actual: 422 },
        { path: "body.ok", expected: true, actual: false },
      ]),
    );

    const guard = await sh(`${QUICK_START[6].replace("<trace.cbor>", trace)}${entry}`, dir);
    expect(guard.code, guard.stderr).toBe(0);
    const printed = /run it with: (.+)$/m.exec(guard.stdout)?.[1];
    expect(printed).toBe(QUICK_START[7]);
    const pass = await sh(printed!, dir);
    expect(pass.code, pass.stdout + pass.stderr).toBe(0);
    expect(pass.stdout).toMatch(/1 passed/);
    // The app's own suite on the Workers pool still runs: the guard skips itself there.
    const own = await sh("npx vitest run", dir);
    expect(own.code, own.stdout + own.stderr).toBe(0);
    expect(own.stdout).toMatch(/1 passed/);
    expect(own.stdout).toMatch(/1 skipped/);

    await writeFile(join(dir, "src/worker.js"), source);
    const fail = await sh(printed!, dir);
    expect(fail.code).not.toBe(0);
    expect(fail.stdout).toMatch(/1 failed/);
    await dev.stop();
  }, 400_000);
});
