/**
 * The record session's abandon path: an execution the sample left out that answered below 500
 * is known not to be kept when the handler returns, so what it holds is let go then and later
 * calls go live uncaptured.
 */
import { describe, expect, it } from "vitest";
import { Deferred, type CallSpec } from "./session.js";
import { RecordSession } from "./record-session.js";

function spec(log: string[], name: string, deferred?: Deferred): CallSpec<string> {
  return {
    kind: "fetch",
    op: "GET",
    target: `a.test/${name}`,
    request: { name },
    live: async () => {
      log.push(`live ${name}`);
      return `value ${name}`;
    },
    capture: (value) => {
      log.push(`capture ${name}`);
      return { value, data: deferred ?? value };
    },
    revive: (d) => String(d),
  };
}

describe("RecordSession.abandon", () => {
  it("cancels held copies at once and runs later calls live without capturing them", async () => {
    const log: string[] = [];
    const session = new RecordSession({ sampled: false });
    const held = new Deferred(
      async () => "read",
      () => log.push("dropped copy"),
    );
    expect(await session.call(spec(log, "before", held))).toBe("value before");
    session.abandon();
    expect(log).toEqual(["live before", "capture before", "dropped copy"]);
    expect(await session.call(spec(log, "after"))).toBe("value after");
    expect(log.slice(3)).toEqual(["live after"]);
    expect(session.events.map((e) => e.target)).toEqual(["a.test/before"]);
    // Nothing is left to read when the recorder would have materialized it.
    await session.materialize();
    expect(log).not.toContain("read");
  });
});
