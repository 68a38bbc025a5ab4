/**
 * The list's search and filters in real D1 (Miniflare): route prefixes over route templates,
 * case-insensitive error-class prefixes, free text over the clear summary, LIKE wildcards taken
 * literally; where sign-in returns to; the overview's count axis.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { storeRows } from "../src/indexer/store.js";
import { createWorkspace } from "../src/db/workspaces.js";
import { listExecutions, type ExecutionRow, type ListFilter } from "../src/db/executions.js";
import { afterSignIn } from "../src/routes/pages/session.js";
import { hexId, startStorage, T0, type TestEnv } from "./_helpers.js";

let t: TestEnv;

function row(n: number, over: Partial<ExecutionRow>): ExecutionRow {
  return {
    traceId: hexId(n),
    app: "shop",
    ws: null,
    route: "/products/:id",
    method: "GET",
    status: 200,
    statusClass: 2,
    outcome: "ok",
    start: T0 + n,
    durationMs: 3,
    events: 2,
    hosts: "",
    errorClass: null,
    truncated: false,
    runtime: "workerd",
    version: "2",
    r2Key: `traces/shop/${n}.cbor`,
    origin: "unverified",
    ...over,
  };
}

beforeAll(async () => {
  t = await startStorage();
  await createWorkspace(t.db, { id: "ws1", name: "One" }, T0);
  await storeRows(
    t.db,
    [
      row(1, {}),
      row(2, { route: "/products", method: "POST", status: 201 }),
      row(3, {
        route: "/checkout",
        method: "POST",
        status: 500,
        statusClass: 5,
        outcome: "exception",
        errorClass: "TypeError",
      }),
      row(4, { route: "/search_all", status: 404, statusClass: 4 }),
      row(5, { route: "/cart", errorClass: "PaymentError", outcome: "error", status: 502 }),
      row(6, { route: "*/5 * * * *", method: "SCHEDULED", handler: "scheduled" }),
      row(7, { route: "increment", method: "RPC", handler: "rpc", entry: "Counter" }),
    ],
    { now: T0, defaultWorkspace: "ws1" },
  );
});
afterAll(async () => t?.dispose());

async function ids(filter: Omit<ListFilter, "ws">): Promise<string[]> {
  const page = await listExecutions(t.db, { ws: "ws1", ...filter });
  return page.rows.map((r) => r.traceId).sort();
}

describe("list filters", () => {
  it("matches a route prefix, templates included", async () => {
    expect(await ids({ route: "/products" })).toEqual([hexId(1), hexId(2)]);
    expect(await ids({ route: "/products/:id" })).toEqual([hexId(1)]);
  });

  it("matches error classes by case-insensitive prefix", async () => {
    expect(await ids({ errorClass: "typeerr" })).toEqual([hexId(3)]);
    expect(await ids({ errorClass: "%" })).toEqual([]);
  });

  it("searches trace ids, routes, statuses, methods and error classes", async () => {
    expect(await ids({ q: hexId(3) })).toEqual([hexId(3)]);
    expect(await ids({ q: "CHECK" })).toEqual([hexId(3)]);
    expect(await ids({ q: "404" })).toEqual([hexId(4)]);
    expect(await ids({ q: "post" })).toEqual([hexId(2), hexId(3)]);
    expect(await ids({ q: "payment" })).toEqual([hexId(5)]);
    expect(await ids({ q: "h_a" })).toEqual([hexId(4)]);
    expect(await ids({ q: "_" })).toEqual([hexId(4)]);
  });
});

describe("handler kinds", () => {
  it("index the handler and class of non-fetch executions; fetch stays implicit", async () => {
    const rows = (await listExecutions(t.db, { ws: "ws1" })).rows;
    const of = (n: number) => rows.find((r) => r.traceId === hexId(n));
    expect(of(6)).toMatchObject({ handler: "scheduled" });
    expect(of(7)).toMatchObject({ handler: "rpc", entry: "Counter" });
    expect(of(1)).not.toHaveProperty("handler");
    const { listView } = await import("../src/views/list.js");
    const html = listView({
      ws: "ws1",
      query: {},
      apps: ["shop"],
      routes: [],
      errorClasses: [],
      rows,
      next: null,
      isFirstPage: true,
      count: { count: rows.length, capped: false },
      facets: null,
    }).value;
    expect(html).toContain('data-handler="scheduled"');
    expect(html).toContain("cron run");
    expect(html).toContain("RPC method");
  });
});

describe("sign-in", () => {
  it("returns to a path on this dashboard and nowhere else", () => {
    expect(afterSignIn("/w/default/executions/ab?reads=1")).toBe(
      "/w/default/executions/ab?reads=1",
    );
    for (const bad of [
      "//evil.example/",
      "/\\evil.example",
      "https://evil.example/",
      "w/x",
      "",
      3,
      "/a b",
    ]) {
      expect(afterSignIn(bad)).toBe("/");
    }
  });
});

describe("overview axes", () => {
  it("labels a one-request chart 0, 1, 2, never 1, 1, 0", async () => {
    const { overviewView } = await import("../src/views/overview.js");
    const html = overviewView({
      ws: "ws1",
      apps: ["shop"],
      app: undefined,
      route: undefined,
      range: "1h",
      routes: [],
      data: {
        step: 300_000,
        points: [
          { t: T0, requests: 0, errors: 0, p50: null, p95: null },
          { t: T0 + 300_000, requests: 1, errors: 0, p50: 3, p95: 3 },
        ],
        totals: {
          requests: 1,
          ok: 1,
          error: 0,
          exception: 0,
          s2xx: 1,
          s3xx: 0,
          s4xx: 0,
          s5xx: 0,
          p50: 3,
          p95: 3,
        },
        routes: [],
      },
    }).value;
    const requests = html.slice(html.indexOf('id="chart-requests"'));
    const labels = [...requests.matchAll(/class="ylab"[^>]*>([^<]*)</g)].map((m) => m[1]);
    expect(labels.slice(0, 3)).toEqual(["0", "1", "2"]);
  });
});
