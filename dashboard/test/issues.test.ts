/**
 * Issues in real D1 (Miniflare): failing rows grouped by fingerprint as the indexer stores them,
 * counted once however often they are re-indexed, resolved by hand and reopened by a newer
 * failure, ignored ones kept muted; and guards stored without the diff values of their report.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { ReplayReport } from "fluxrun/contract";
import { storeRows } from "../src/indexer/store.js";
import { createWorkspace } from "../src/db/workspaces.js";
import type { ExecutionRow } from "../src/db/executions.js";
import { issueOfTrace, issuesOf, issueTrends, setIssueState } from "../src/db/issues.js";
import { saveGuard, guardFor } from "../src/db/guards.js";
import { hexId, startStorage, T0, type TestEnv } from "./_helpers.js";

let t: TestEnv;
beforeAll(async () => {
  t = await startStorage();
});
afterAll(async () => t?.dispose());

beforeEach(async () => {
  for (const table of ["executions", "rollups", "rollup_durations", "issues", "guards", "apps"]) {
    await t.db.prepare(`DELETE FROM ${table}`).run();
  }
  await t.db.prepare("DELETE FROM workspaces").run();
  await createWorkspace(t.db, { id: "ws1", name: "One" }, T0);
});

function row(n: number, over: Partial<ExecutionRow> = {}): ExecutionRow {
  return {
    traceId: hexId(n),
    app: "shop",
    ws: null,
    route: "/products/:id",
    method: "GET",
    status: 500,
    statusClass: 5,
    outcome: "exception",
    start: T0 + n * 60_000,
    durationMs: 3,
    events: 2,
    hosts: "",
    errorClass: "TypeError",
    truncated: false,
    runtime: "workerd",
    version: "2",
    r2Key: `traces/shop/${n}.cbor`,
    origin: "unverified",
    ...over,
  };
}

const store = (rows: ExecutionRow[]) => storeRows(t.db, rows, { now: T0, defaultWorkspace: "ws1" });

describe("issues", () => {
  it("groups failing executions by fingerprint with count, first and last seen", async () => {
    await store([
      row(1),
      row(2),
      row(3, { outcome: "ok", status: 200, statusClass: 2, errorClass: null }),
      row(4, { errorClass: "RangeError" }),
      row(5, { outcome: "error", status: 503, errorClass: null }),
    ]);
    const issues = await issuesOf(t.db, "ws1");
    expect(issues.map((i) => [i.error, i.count]).sort()).toEqual([
      ["HTTP 503", 1],
      ["RangeError", 1],
      ["TypeError", 2],
    ]);
    const type = issues.find((i) => i.error === "TypeError")!;
    expect(type).toMatchObject({
      route: "/products/:id",
      firstSeen: T0 + 60_000,
      lastSeen: T0 + 2 * 60_000,
      lastTrace: hexId(2),
      state: "open",
    });
    const trend = (await issueTrends(t.db, "ws1", [type.id], { now: T0 + 3_600_000 })).get(
      type.id,
    )!;
    expect(trend.reduce((a, b) => a + b, 0)).toBe(2);
    expect(trend.at(-1)).toBe(2);
  });

  it("counts a re-indexed execution once", async () => {
    await store([row(1), row(2)]);
    await store([row(1), row(2)]);
    expect((await issuesOf(t.db, "ws1"))[0]?.count).toBe(2);
  });

  it("reopens a resolved issue on a newer failure, not on an older late one", async () => {
    await store([row(1), row(2)]);
    const [issue] = await issuesOf(t.db, "ws1");
    await setIssueState(t.db, "ws1", issue!.id, {
      state: "resolved",
      by: "guard g1",
      now: T0 + 10 * 60_000,
    });
    await store([row(3)]); // started before the resolution: stored late
    expect((await issuesOf(t.db, "ws1"))[0]).toMatchObject({ state: "resolved", count: 3 });
    await store([row(11)]);
    expect((await issuesOf(t.db, "ws1"))[0]).toMatchObject({
      state: "open",
      count: 4,
      reopened: 1,
      lastTrace: hexId(11),
    });
    expect((await issueOfTrace(t.db, "ws1", hexId(11)))?.id).toBe(issue!.id);
  });

  it("keeps an ignored issue ignored while it counts", async () => {
    await store([row(1)]);
    const [issue] = await issuesOf(t.db, "ws1");
    await setIssueState(t.db, "ws1", issue!.id, { state: "ignored", by: "a@x", now: T0 });
    await store([row(20)]);
    expect((await issuesOf(t.db, "ws1"))[0]).toMatchObject({ state: "ignored", count: 2 });
    expect(await issuesOf(t.db, "ws1", { states: ["open"] })).toEqual([]);
  });

  it("stores a guard's report with diff paths and digests, never the values", async () => {
    const report = {
      traceId: hexId(1),
      verdict: "diverged",
      divergences: [
        {
          code: "changed_outcome",
          seq: null,
          kind: "response",
          op: "status",
          target: "/checkout",
          message: "status 500 → 402",
          diff: [
            { path: "body.error", expected: "card number 4000000000000002", actual: { n: 1 } },
            { path: "status", expected: "sha256:0123456789abcdef", actual: null },
          ],
        },
      ],
      recorded: { status: 500, headers: [], body: null, error: null },
      replayed: { status: 402, headers: [], body: null, error: null },
      served: 3,
      unconsumed: [],
      liveNetworkAttempts: 0,
    } as unknown as ReplayReport;
    await saveGuard(
      t.db,
      {
        id: "g1",
        ws: "ws1",
        app: "shop",
        traceId: hexId(1),
        route: "/checkout",
        method: "POST",
        status: 402,
        bodyDigest: null,
        errorName: null,
        headers: [],
        boundaries: [],
        createdBy: "a@x",
        report,
      },
      T0,
    );
    const raw = await t.db.prepare("SELECT report FROM guards WHERE id = 'g1'").first<{
      report: string;
    }>();
    expect(raw?.report).not.toContain("4000000000000002");
    const diff = (await guardFor(t.db, "ws1", hexId(1)))?.report.divergences[0]?.diff;
    expect(diff?.map((d) => d.path)).toEqual(["body.error", "status"]);
    expect(diff?.[0]?.expected).toMatch(/^sha256:[0-9a-f]{16}$/);
    expect(diff?.[0]?.actual).toMatch(/^sha256:[0-9a-f]{16}$/);
    expect(diff?.[1]).toEqual({
      path: "status",
      expected: "sha256:0123456789abcdef",
      actual: "null",
    });
  });
});
