/**
 * The local connector (`fluxrun agent`): loopback only, and a working agent on 127.0.0.1 that
 * replays against the local checkout's worker.
 */
import { spawn } from "node:child_process";
import { mkdtemp, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { generateTraceKeys } from "../../runtime/src/trace/keys.js";
import { writeConfig } from "../../runtime/test/_helpers.js";
// @ts-expect-error -- plain ESM module without types
import { assertLoopback, startConnector } from "../connector/index.mjs";

const ROOT = new URL("../../", import.meta.url).pathname;

describe("local connector", () => {
  it.each(["0.0.0.0", "192.168.1.10", "::", "example.com"])("refuses to bind %s", async (host) => {
    expect(() => assertLoopback(host)).toThrow(/loopback only/);
    await expect(startConnector({ host })).rejects.toThrow(/loopback only/);
  });

  it("refuses a non-loopback --host from the fluxrun CLI with exit 2", async () => {
    const r = await new Promise<{ code: number; err: string }>((resolve) => {
      const child = spawn(
        process.execPath,
        [join(ROOT, "runtime/bin/fluxrun.js"), "agent", "--host", "0.0.0.0"],
        { cwd: ROOT },
      );
      let err = "";
      child.stderr.on("data", (d: Buffer) => (err += d.toString()));
      child.on("close", (code) => resolve({ code: code ?? -1, err }));
    });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/ERR_CONNECTOR_HOST: The local agent binds loopback only/);
  });

  it("serves the agent on 127.0.0.1 with the local key loaded", async () => {
    const dir = await mkdtemp(join(ROOT, ".tmp-connector-"));
    const keys = await generateTraceKeys();
    await mkdir(join(dir, ".fluxrun"));
    await writeFile(join(dir, ".fluxrun/agent-private.jwk"), JSON.stringify(keys.privateJwk));
    const connector = await startConnector({
      host: "127.0.0.1",
      port: 0,
      cwd: dir,
      env: {},
      config: await writeConfig("basic/index.ts"),
    });
    try {
      expect(new URL(connector.url).hostname).toBe("127.0.0.1");
      const health = (await (await fetch(new URL("/v1/health", connector.url))).json()) as Record<
        string,
        unknown
      >;
      expect(health).toMatchObject({
        key: { loaded: true, kid: keys.kid },
        replayBinding: { bound: true },
        bucket: { bound: true },
        // No dashboard JWKS given: a pairing connector, not yet paired.
        workspaces: [],
        problems: [
          expect.stringMatching(
            /^Not paired with a dashboard workspace: run `fluxrun agent --pair`/,
          ),
        ],
      });
    } finally {
      await connector.dispose();
      const { rm } = await import("node:fs/promises");
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("fluxrun agent pairing (the real CLI)", () => {
  it("prints a claim code with its QR link, then lists and unpairs from the command line", async () => {
    const dir = await mkdtemp(join(ROOT, ".tmp-connector-pair-"));
    const keys = await generateTraceKeys();
    await mkdir(join(dir, ".fluxrun"));
    await writeFile(join(dir, ".fluxrun/agent-private.jwk"), JSON.stringify(keys.privateJwk));
    const config = await writeConfig("basic/index.ts");
    const cli = join(ROOT, "runtime/bin/fluxrun.js");
    const child = spawn(
      process.execPath,
      [
        cli,
        "agent",
        "--pair",
        "--port",
        "0",
        "--config",
        config,
        "--dashboard",
        "http://127.0.0.1:8789",
      ],
      { cwd: dir, env: { ...process.env, WRANGLER_SEND_METRICS: "false" } },
    );
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    try {
      const printed = await new Promise<string>((resolve, reject) => {
        const check = () => {
          // The QR code is printed after the link: wait until its last row is out.
          if (/pair#code=.*\n[\s\S]*[▀▄█][\s\S]*\n\s*$/.test(out)) resolve(out);
        };
        child.stdout.on("data", check);
        child.on("close", (code) => reject(new Error(`fluxrun agent exited ${code}: ${out}`)));
      });
      const code = /^ {4}([0-9A-Z]{4}-[0-9A-Z]{4})$/m.exec(printed)?.[1];
      expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/);
      expect(printed).toMatch(/valid 5 minutes, once/);
      expect(printed).toContain(
        `http://127.0.0.1:8789/pair#code=${code}&agent=http%3A%2F%2F127.0.0.1%3A`,
      );
      expect(printed).toMatch(/FluxRun local agent local-[0-9a-f]{12} on http:\/\/127\.0\.0\.1:/);
    } finally {
      child.kill("SIGINT");
      await new Promise((r) => child.once("close", r));
    }

    const run = (args: string[]) =>
      new Promise<{ code: number; out: string }>((resolve) => {
        const c = spawn(process.execPath, [cli, "agent", ...args], { cwd: dir });
        let text = "";
        c.stdout.on("data", (d: Buffer) => (text += d.toString()));
        c.stderr.on("data", (d: Buffer) => (text += d.toString()));
        c.on("close", (code) => resolve({ code: code ?? -1, out: text }));
      });
    expect(await run(["pairings"])).toMatchObject({
      code: 0,
      out: expect.stringMatching(/No pairings/),
    });
    expect(await run(["unpair", "nope-nope"])).toMatchObject({
      code: 1,
      out: expect.stringMatching(/ERR_PAIRING_NOT_FOUND/),
    });
    const { rm } = await import("node:fs/promises");
    await rm(dir, { recursive: true, force: true });
  });
});
