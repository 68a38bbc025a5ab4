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
      });
    } finally {
      await connector.dispose();
      const { rm } = await import("node:fs/promises");
      await rm(dir, { recursive: true, force: true });
    }
  });
});
