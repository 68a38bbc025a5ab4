/**
 * redactTrace: a table of the places and encodings a secret hides in (each must come out with no
 * copy of the secret), one token per value wherever it appears, and what is left alone.
 */
import { describe, expect, it } from "vitest";
import type { PlainTrace } from "../trace/seal.js";
import type { TraceHead } from "../trace/schema.js";
import { redactTrace } from "./_redact.js";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: unknown) => new TextDecoder().decode(b as Uint8Array);
const SECRET = "s3cr3t value/with&specials";
const dataKey = new Uint8Array(32).fill(7);

type Event = [kind: string, op: string, target: string, payload: unknown];

function trace(events: Event[], masks: Partial<TraceHead["masks"]> = {}) {
  const head = {
    id: "0".repeat(32),
    events: events.map(([kind, op, target], seq) => ({ seq, kind, op, target, at: 0 })),
    masks: { headers: ["authorization"], fields: [], ...masks },
  } as unknown as TraceHead;
  return { head, payloads: events.map((e) => e[3]), dataKey } as PlainTrace & {
    dataKey: Uint8Array;
  };
}

/** Every string the redacted payloads hold, byte strings decoded both ways. */
function strings(p: PlainTrace): string[] {
  const out: string[] = [];
  const walk = (v: unknown): void => {
    if (typeof v === "string") out.push(v);
    else if (v instanceof Uint8Array) out.push(dec(v), Buffer.from(v).toString("latin1"));
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === "object")
      Object.entries(v).forEach(([k, x]) => (out.push(k), walk(x)));
  };
  walk(p.payloads);
  walk(p.head);
  return out;
}

const FROM_ENV: Event = ["env", "get", "API_SECRET", SECRET];

const PLACES: [string, Event[], Partial<TraceHead["masks"]>?][] = [
  ["a console argument", [FROM_ENV, ["console", "log", "log", ["using", SECRET]]]],
  [
    "an error message and stack",
    [
      FROM_ENV,
      [
        "exception",
        "Error",
        "/",
        { message: `bad ${SECRET}`, stack: `Error: bad ${SECRET}\n at x` },
      ],
    ],
  ],
  [
    "a URL, URL-encoded",
    [
      FROM_ENV,
      [
        "fetch",
        "GET",
        "api.test/x",
        {
          request: {
            url: `https://api.test/x?k=${encodeURIComponent(SECRET)}`,
            headers: [],
            body: null,
          },
        },
      ],
    ],
  ],
  [
    "a form-encoded body",
    [
      FROM_ENV,
      [
        "fetch",
        "POST",
        "api.test/x",
        {
          request: {
            url: "https://api.test/x",
            headers: [],
            body: enc(new URLSearchParams({ k: SECRET }).toString()),
          },
        },
      ],
    ],
  ],
  [
    "a JSON text body, escaped",
    [
      ["env", "get", "Q", 'a "quoted" secret'],
      [
        "response",
        "200",
        "/",
        { status: 200, headers: [], body: enc(JSON.stringify({ v: 'a "quoted" secret' })) },
      ],
    ],
  ],
  [
    "a binary body",
    [
      FROM_ENV,
      [
        "response",
        "200",
        "/",
        { status: 200, headers: [], body: Uint8Array.from([0xff, 0xfe, ...enc(SECRET), 0x00]) },
      ],
    ],
  ],
  [
    "D1 arguments",
    [
      ["env", "var", "PAYMENTS_KEY", SECRET],
      [
        "binding",
        "first",
        "DB",
        { request: { sql: "SELECT ?", args: [SECRET] }, result: { v: SECRET } },
      ],
    ],
  ],
  [
    "a host call's arguments and result",
    [FROM_ENV, ["host", "call", "vault", { request: [SECRET], result: { echoed: SECRET } }]],
  ],
  [
    "a masked header's value elsewhere",
    [
      [
        "request",
        "GET",
        "/",
        { url: "https://app.test/", headers: [["authorization", `Bearer ${SECRET}`]], body: null },
      ],
      ["console", "log", "log", [`Bearer ${SECRET}`]],
    ],
  ],
  [
    "a credential query parameter's value elsewhere",
    [
      [
        "request",
        "GET",
        "/",
        {
          url: `https://app.test/?session_token=${encodeURIComponent(SECRET)}`,
          headers: [],
          body: null,
        },
      ],
      ["console", "log", "log", [SECRET]],
    ],
  ],
  [
    "a masked field's value elsewhere",
    [
      [
        "request",
        "POST",
        "/",
        {
          url: "https://app.test/",
          headers: [],
          body: enc(JSON.stringify({ card: { number: SECRET } })),
        },
      ],
      ["console", "log", "log", [`card ${SECRET}`]],
    ],
    { fields: ["card.number"] },
  ],
];

describe("redactTrace", () => {
  it.each(PLACES)("leaves no copy of a secret in %s", async (_where, events, masks) => {
    const redacted = await redactTrace(trace(events, masks));
    const secrets = [SECRET, 'a "quoted" secret'];
    for (const s of strings(redacted)) {
      for (const secret of secrets) {
        for (const form of [
          secret,
          encodeURIComponent(secret),
          new URLSearchParams({ k: secret }).toString().slice(2),
          JSON.stringify(secret).slice(1, -1),
        ]) {
          expect(s).not.toContain(form);
        }
      }
    }
    expect(strings(redacted).some((s) => /REDACTED_[0-9a-f]{12}/.test(s))).toBe(true);
  });

  it("gives a value one token wherever it appears, and leaves other values alone", async () => {
    const redacted = await redactTrace(
      trace([
        FROM_ENV,
        ["env", "var", "UPSTREAM", "https://api.test"],
        ["console", "log", "log", [SECRET, "plain"]],
      ]),
    );
    const [env, upstream, log] = redacted.payloads as [string, string, string[]];
    expect(env).toMatch(/^REDACTED_[0-9a-f]{12}$/);
    expect(log).toEqual([env, "plain"]);
    expect(upstream).toBe("https://api.test");
  });

  it("masks a short or numeric masked field where it stands, without replacing it elsewhere", async () => {
    const body = enc(JSON.stringify({ pin: 42, name: "Ada", n: 42 }));
    const redacted = await redactTrace(
      trace([["request", "POST", "/", { url: "https://app.test/", headers: [], body }]], {
        fields: ["pin"],
      }),
    );
    const req = redacted.payloads[0] as { body: Uint8Array };
    const json = JSON.parse(dec(req.body)) as { pin: unknown; name: string; n: number };
    expect(json.pin).toMatch(/^REDACTED/);
    expect(json).toMatchObject({ name: "Ada", n: 42 });
  });
});
