/**
 * fsSink: one file per trace at `<dir>/<traceKey>`, written atomically with mode 0600, and keys
 * that would leave the directory refused.
 */
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isFluxError } from "../errors.js";
import { fsSink } from "./fs.js";
import type { SealedTrace } from "./_sink.js";
import type { TraceSummary } from "../trace/schema.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "fluxrun-fs-sink-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const summary = { traceId: "0".repeat(32), app: "a" } as TraceSummary;
const sealed = (key: string): SealedTrace => ({ key, bytes: new Uint8Array([1, 2, 3]), summary });

describe("fsSink", () => {
  it("writes <dir>/<key>, mode 0600, with no temporary file left", async () => {
    const key = `traces/shop/2026-01-02/03/030405006-${"ab".repeat(16)}.cbor`;
    await fsSink(dir).write(sealed(key));
    expect(new Uint8Array(await readFile(join(dir, key)))).toEqual(new Uint8Array([1, 2, 3]));
    expect((await stat(join(dir, key))).mode & 0o777).toBe(0o600);
    expect(await readdir(join(dir, "traces/shop/2026-01-02/03"))).toEqual([key.split("/").pop()]);
  });

  it("accepts a directory with a trailing slash", async () => {
    await fsSink(`${dir}/`).write(sealed("traces/x.cbor"));
    expect(await readdir(join(dir, "traces"))).toEqual(["x.cbor"]);
  });

  it.each(["../escape.cbor", "/etc/passwd", "traces/../../x", "traces//x", "", "a\\b", "./x"])(
    "refuses the key %j",
    async (key) => {
      const err = await fsSink(dir)
        .write(sealed(key))
        .then(
          () => null,
          (e: unknown) => e,
        );
      expect(isFluxError(err) && err.code).toBe("ERR_SINK_WRITE");
      expect(await readdir(dir)).toEqual([]);
    },
  );

  it("needs a directory", () => {
    expect(() => fsSink("")).toThrow(TypeError);
  });
});
