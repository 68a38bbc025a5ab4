/**
 * Markers in unlocked payloads, end to end without a browser: a trace sealed with a body the app
 * never read (`unreadBodies`) and one cut by the size budget, opened with its key, resolved by the
 * agent's own `unlockFields`, and decoded by the page script's `decode` as each says what it is.
 */
import { describe, expect, it } from "vitest";
import { generateTraceKeys, openTrace, sealTrace } from "fluxrun/trace";
import { unlockFields } from "../../agent/src/unlock.js";
import { decode } from "../client/decode.js";
import { traceParts } from "./_helpers.js";

describe("unlocked body markers", () => {
  it("decodes an unread body and a cut one as what they are, never as JSON data", async () => {
    const keys = await generateTraceKeys();
    const { head, payloads } = traceParts({
      id: "ab".repeat(16),
      app: "shop-api",
      route: "/hook",
      start: 1_763_800_000_000,
      fetches: [{ target: "hooks.test/notify", method: "POST", status: 202, unread: true }],
    });
    const seq = head.events.findIndex((e) => e.kind === "fetch");
    const cut = { truncated: true, size: 900_000, sha256: "1".repeat(64) };
    const response = head.events.findIndex((e) => e.kind === "response");
    payloads[response] = { ...(payloads[response] as object), body: cut };
    const opened = await openTrace(
      await sealTrace({ head, payloads }, keys.publicJwk),
      keys.privateJwk,
    );
    const [unread, truncated] = await unlockFields(opened, [
      `${seq}.result.body`,
      `${response}.body`,
    ]);
    expect(decode(unread!)).toEqual({
      type: "cut",
      size: 24,
      sha256: "0".repeat(64),
      unread: true,
    });
    expect(decode(truncated!)).toEqual({ type: "cut", size: 900_000, sha256: "1".repeat(64) });
  });
});
