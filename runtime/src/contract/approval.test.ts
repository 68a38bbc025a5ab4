/**
 * The approval contract: which unlock fields are risky (the one answer the dashboard and the
 * agent share), as a table of paths over one head; and the approval statement's schema refusing
 * what an agent must never accept.
 */
import { describe, expect, it } from "vitest";
import { ApprovalClaims, DEFAULT_APPROVAL_MODES, riskyFields } from "./approval.js";

const head = {
  events: [
    { kind: "request", op: "POST" },
    { kind: "env", op: "get" },
    { kind: "env", op: "shape" },
    { kind: "fetch", op: "POST" },
    { kind: "host", op: "call" },
  ],
  masks: { headers: ["Authorization", "cookie"], fields: ["card.number", "password"] },
};

describe("riskyFields", () => {
  const table: [path: string, risky: boolean][] = [
    ["1", true], // an env value
    ["2", false], // the env's shape: names only
    ["0.headers", false], // masked headers come back masked
    ["0.headers.authorization", true], // named: revealed
    ["0.headers.Cookie", true],
    ["0.headers.content-type", false],
    ["3.request.headers.authorization", true],
    ["3.result.headers", false],
    ["3.result.body", false],
    ["4.request.password", true], // a field marked sensitive, named
    ["4.result.number", true],
    ["4.result", false],
    ["0.body", false],
    ["99.body", false], // no such event
  ];
  for (const [path, risky] of table) {
    it(`${path} is ${risky ? "" : "not "}risky`, () => {
      expect(riskyFields(head, [path])).toEqual(risky ? [path] : []);
    });
  }

  it("keeps the risky ones of a mixed request, in order", () => {
    expect(riskyFields(head, ["0.body", "1", "0.headers.authorization"])).toEqual([
      "1",
      "0.headers.authorization",
    ]);
  });
});

describe("ApprovalClaims", () => {
  const valid = {
    iss: "fluxrun-dashboard",
    aud: "agent-1",
    ws: "acme",
    app: "shop",
    trace: "a".repeat(32),
    act: "unlock",
    risk: "unlock_secret",
    mode: "second_person",
    fields: ["1"],
    req: "a@acme.test",
    by: "b@acme.test",
    iat: 1_700_000_000,
    exp: 1_700_000_300,
    jti: "apr-1",
  };

  it("accepts a statement and refuses each bad claim", () => {
    expect(ApprovalClaims.safeParse(valid).success).toBe(true);
    const bad: Record<string, unknown>[] = [
      { iss: "someone" },
      { mode: "whatever" },
      { risk: "delete_everything" },
      { act: "exec" },
      { trace: "../../etc" },
      { fields: ["../x"] },
      { fields: Array.from({ length: 21 }, (_, i) => String(i)) },
      { by: "" },
      { jti: undefined },
    ];
    for (const over of bad)
      expect(ApprovalClaims.safeParse({ ...valid, ...over }).success).toBe(false);
  });

  it("defaults: a secret needs a second person, a production replay a recent sign-in", () => {
    expect(DEFAULT_APPROVAL_MODES).toMatchObject({
      unlock_secret: "second_person",
      replay_production: "reconfirm",
    });
  });
});
