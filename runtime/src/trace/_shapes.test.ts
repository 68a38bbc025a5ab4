// The worker's hand-written checks against the zod schemas they mirror, over the same inputs:
// each input is accepted by both (with the same output) or refused by both.
import { describe, expect, it } from "vitest";
import { check, type Shape } from "./_shape.js";
import { ReplayAuthClaims } from "../contract/agent.js";
import { ReplayAuthClaimsShape } from "../replay/authorize.js";
import { ReplayEnvelope } from "../replay/envelope.js";
import { ReplayPolicy } from "../replay/policy.js";
import { ReplayEnvelopeShape, ReplayPolicyShape } from "../replay/_wire.js";
import { HttpRequestData, HttpResponseData, TraceEvent } from "./schema.js";
import { HttpRequestShape, HttpResponseShape, TraceEventShape } from "./_shapes.js";

interface Schema {
  safeParse(v: unknown): { success: boolean; data?: unknown };
}

function same(name: string, schema: Schema, shape: Shape<unknown>, inputs: unknown[]) {
  it(`${name}: the check and the zod schema agree on ${inputs.length} inputs`, () => {
    for (const [i, input] of inputs.entries()) {
      const z = schema.safeParse(input);
      const s = check(shape, input);
      expect(s.success, `input ${i}: ${JSON.stringify(input)}`).toBe(z.success);
      if (z.success && s.success) expect(s.data, `input ${i}`).toEqual(z.data);
    }
  });
}

const event = { seq: 0, kind: "fetch", op: "GET", target: "h/p", at: 5 };
const hostile: unknown[] = [
  null,
  undefined,
  0,
  "x",
  [],
  new Uint8Array(2),
  { __proto__: null },
  Number.NaN,
  Infinity,
];
const variants = <T extends object>(base: T, changes: Record<string, unknown[]>): unknown[] => [
  base,
  ...Object.entries(changes).flatMap(([k, vs]) => vs.map((v) => ({ ...base, [k]: v }))),
  ...Object.keys(base).map((k) => {
    const copy = { ...base } as Record<string, unknown>;
    delete copy[k];
    return copy;
  }),
  { ...base, extra: 1 },
  ...hostile,
];

describe("worker checks mirror the contract's schemas", () => {
  same(
    "TraceEvent",
    TraceEvent,
    TraceEventShape,
    variants(
      { ...event, dur: 3, end: 2, status: 200, info: { a: "b", n: 1, l: ["x"], t: true } },
      {
        seq: [-1, 1.5, "0", 2 ** 60],
        kind: ["nope", "host"],
        op: ["x".repeat(256), "x".repeat(257), 1],
        target: ["t".repeat(2049)],
        dur: [undefined, -2],
        status: [1.5, -1],
        error: ["TypeError", "e".repeat(257)],
        write: [true, 1],
        parent: [0, -1],
        truncated: [false, "yes"],
        info: [{}, { a: Number.NaN }, { a: [1] }, { a: null }, []],
        site: [[], [["f", "file", 1, 2]], [["f", "file", 1]], Array(4).fill(["f", "u", 1, 1])],
      },
    ),
  );
  const body = new Uint8Array([1, 2]);
  same(
    "HttpRequestData",
    HttpRequestData,
    HttpRequestShape,
    variants(
      { method: "GET", url: "https://x/", headers: [["a", "b"]], body, cf: { colo: "AMS" } },
      {
        headers: [[], [["a"]], [["a", 1]], "a"],
        body: [
          null,
          { truncated: true, size: 9, sha256: "ab" },
          { truncated: false, size: 1, sha256: "" },
          "text",
        ],
        cf: [undefined, [], null],
      },
    ),
  );
  same(
    "HttpResponseData",
    HttpResponseData,
    HttpResponseShape,
    variants(
      {
        status: 200,
        statusText: "OK",
        headers: [],
        body: null,
        url: "https://x/",
        redirected: false,
        type: "basic",
      },
      { status: [1.5, "200"], redirected: [1], url: [2], type: [undefined] },
    ),
  );
  const policy = {
    version: 1,
    allow: [{ kind: "fetch", method: "GET", host: "a.example:8080", path: "/v1" }],
    ignore: { headers: ["x-id"], jsonPaths: ["items.*.id"] },
  };
  same(
    "ReplayPolicy",
    ReplayPolicy,
    ReplayPolicyShape,
    variants(policy, {
      version: [2],
      allow: [
        [],
        [{ kind: "fetch", method: "POST", host: "a" }],
        [{ kind: "fetch", method: "GET", host: "" }],
        [{ kind: "fetch", method: "GET", host: "a b" }],
        [{ kind: "fetch", method: "GET", host: "a", path: "v1" }],
        [{ kind: "fetch", method: "GET", host: "a", x: 1 }],
      ],
      ignore: [{}, { headers: [""] }, { jsonPaths: ["a..b"] }, { headers: [], other: [] }],
    }),
  );
  same(
    "ReplayEnvelope",
    ReplayEnvelope,
    ReplayEnvelopeShape,
    variants(
      {
        version: 1,
        traceId: "a".repeat(32),
        handler: "fetch",
        entry: "Counter",
        events: [event],
        payloads: [null],
        policy,
      },
      {
        version: [2],
        handler: ["nope", undefined],
        events: [[{ ...event, kind: "x" }], [], [{ ...event, seq: -1 }]],
        payloads: [[1, "x", { a: 1 }], "x"],
        policy: [undefined, { version: 1 }, { version: 1, x: 1 }],
      },
    ),
  );
  same(
    "ReplayAuthClaims",
    ReplayAuthClaims,
    ReplayAuthClaimsShape as Shape<unknown>,
    variants(
      {
        aud: "fluxrun-replay",
        trace: "b".repeat(32),
        digest: "c".repeat(64),
        iat: 1,
        exp: 61,
        jti: "j",
      },
      {
        aud: ["x", ["fluxrun-replay"]],
        trace: ["B".repeat(32), "b"],
        digest: ["c"],
        iat: [1.5],
        jti: ["", "j".repeat(257)],
      },
    ),
  );
});
