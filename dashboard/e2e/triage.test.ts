/**
 * The triage loop in a real browser (Debian chromium, headless, driven by playwright-core):
 * record traffic through a withFlux worker, sign in with the dev link, reindex from R2, list,
 * filter to the failure, open it, unlock chosen payloads through the agent, replay against the
 * repaired code and see the divergence, save a regression guard; then the agent's failure
 * states (CORS refusal, unreachable, reused token) as the page shows them.
 */
import { mkdirSync, readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import { connect, createServer, type Server, type Socket } from "node:net";
import {
  AGENT_TIMEOUT_MS,
  DEV_TOKEN,
  startStack,
  type Stack,
  assertChromium,
  launchBrowser,
} from "./_stack.js";

const SHOTS = process.env.FLUX_E2E_SCREENSHOTS ?? "/tmp/fluxrun-e2e";
let stack: Stack;
let browser: Browser;
let page: Page;
const consoleErrors: string[] = [];
/**
 * The agent behind a pausable TCP relay: paused, it accepts connections and answers nothing (a
 * stopped process keeps its listening socket); resumed, it relays to the real agent.
 */
let relay: Server;
let relayUrl = "";
let paused = true;
const held: Socket[] = [];

beforeAll(async () => {
  assertChromium();
  mkdirSync(SHOTS, { recursive: true });
  stack = await startStack();
  const agentPort = Number(new URL(stack.agent.url).port);
  relay = createServer((socket) => {
    if (paused) return void held.push(socket);
    const up = connect(agentPort, "127.0.0.1");
    socket.pipe(up).pipe(socket);
    socket.on("error", () => up.destroy());
    up.on("error", () => socket.destroy());
  });
  await new Promise<void>((r) => relay.listen(0, "127.0.0.1", r));
  relayUrl = `http://127.0.0.1:${(relay.address() as { port: number }).port}`;
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  page.on("console", (m) => {
    if (m.type() === "error") consoleErrors.push(m.text());
  });
});

afterAll(async () => {
  for (const s of held) s.destroy();
  relay?.close();
  await browser?.close();
  await stack?.dispose();
});

/** The page's width past the viewport, naming the elements that stick out. */
async function overflowing(label: string): Promise<string[]> {
  return page.evaluate((label) => {
    const width = document.documentElement.scrollWidth;
    if (width <= innerWidth) return [];
    const out = Array.from(document.querySelectorAll("body *"))
      .filter((n) => n.getBoundingClientRect().right > innerWidth + 0.5)
      .slice(-3)
      .map((n) => `${n.tagName.toLowerCase()}${n.id ? `#${n.id}` : ""}.${n.className}`);
    return [`${label}: ${width}px (${out.join(", ")})`];
  }, label);
}

function declined(): Promise<Response> {
  return stack.record("/checkout", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ amount: 25, card: "4000000000000002" }),
  });
}

describe("triage loop", () => {
  it("signs in with the dev link and sees the no-traces state before any traffic", async () => {
    await page.goto(`${stack.dashboard}/dev/login?token=${DEV_TOKEN}`);
    expect(new URL(page.url()).pathname).toBe("/w/default/issues");
    expect(await page.locator("#state-no-traces").isVisible()).toBe(true);
  });

  it("records traffic through the withFlux worker", async () => {
    for (let i = 0; i < 3; i++) await stack.record("/products");
    for (const card of ["4242424242424242", "5555555555554444"]) {
      await stack.record("/checkout", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ amount: 25, card }),
      });
    }
    for (let i = 0; i < 2; i++) expect((await declined()).status).toBe(500);
    await stack.record("/missing");
    await stack.record("/avatar");
    await stack.record("/report");
    await stack.waitForTraces(10);
  });

  it("reindexes from R2 as admin, then lists every execution", async () => {
    await page.goto(`${stack.dashboard}/w/default/admin`);
    await page.click("#reindex");
    await page.waitForSelector("text=Reindexed from R2");
    expect(await page.textContent("main")).toContain("10 newly indexed");
    await page.goto(`${stack.dashboard}/w/default/executions`);
    expect(await page.locator("#executions tbody tr").count()).toBe(10);
    expect(await page.getAttribute("[data-count]", "data-count")).toBe("10");
    await page.screenshot({ path: `${SHOTS}/list.png`, fullPage: true });
  });

  it("groups the two identical failures into one open issue", async () => {
    await page.goto(`${stack.dashboard}/w/default/issues`);
    const rows = page.locator("#issues tbody tr");
    expect(await rows.count()).toBe(1);
    expect(await rows.first().textContent()).toContain("TypeError");
    expect(await rows.first().textContent()).toContain("/checkout");
    expect(await rows.first().locator("[data-count]").getAttribute("data-count")).toBe("2");
    expect(await rows.first().locator("[data-state]").getAttribute("data-state")).toBe("open");
    await page.screenshot({ path: `${SHOTS}/issues.png`, fullPage: true });
    await page.goto(`${stack.dashboard}/w/default/executions`);
  });

  it("searches the clear summary and filters by prefix, in any case", async () => {
    const count = () => page.getAttribute("[data-count]", "data-count");
    await page.fill("#filters input[name=q]", "CHECKOUT");
    await page.click("#filters button[type=submit]");
    await page.waitForURL(/q=CHECKOUT/);
    expect(await count()).toBe("4");
    await page.fill("#filters input[name=q]", "");
    await page.fill("#filters input[name=error]", "typeerr");
    await page.click("#filters button[type=submit]");
    await page.waitForURL(/error=typeerr/);
    expect(await count()).toBe("2");
    await page.goto(`${stack.dashboard}/w/default/executions?route=/prod`);
    expect(await count()).toBe("3");
    await page.goto(`${stack.dashboard}/w/default/executions`);
  });

  it("filters to the failing executions", async () => {
    await page.selectOption("select[name=status]", "5xx");
    await page.click("#filters button[type=submit]");
    await page.waitForURL(/status=5xx/);
    const rows = page.locator("#executions tbody tr");
    expect(await rows.count()).toBe(2);
    expect(await rows.first().textContent()).toContain("TypeError");
    await page.selectOption("select[name=status]", "");
    await page.selectOption("select[name=outcome]", "ok");
    await page.click("#filters button[type=submit]");
    await page.waitForURL(/outcome=ok/);
    expect(await page.locator("#executions tbody tr").count()).toBe(8);
    await page.goto(`${stack.dashboard}/w/default/executions?status=5xx`);
    await page.locator("#executions tbody tr").first().click();
    await page.waitForURL(/\/executions\/[0-9a-f]{32}$/);
  });

  it("opens the execution: timeline, network evidence, sealed payloads", async () => {
    expect(await page.textContent("#status")).toBe("500");
    const waterfall = await page.textContent("#waterfall");
    expect(waterfall).toContain("/v1/charges");
    expect(await page.locator("#network").textContent()).toContain("402");
    expect(await page.locator("[data-sealed]").first().textContent()).toContain(
      "sealed — unlock to view",
    );
    const html = await page.content();
    expect(html).not.toContain("sk_test_e2e_secret_key");
    // The error view: where it was thrown (bundle frames, no source map), release, wall and CPU time.
    const frames = await page.textContent("#error-frames");
    expect(frames).toContain("receiptOf");
    expect(frames).toContain("No source map");
    expect(await page.textContent("#release")).toContain("unknown");
    expect(await page.textContent("#wall")).toMatch(/\d/);
    expect(await page.textContent("#cpu")).toContain("not recorded");
    // The waterfall: a time ruler, the payments fetch nested under the SDK's host call.
    expect(await page.locator("#ruler .tick").count()).toBeGreaterThanOrEqual(3);
    const host = page.locator('#waterfall tr[data-kind="host"]');
    const fetchRow = page.locator('#waterfall tr[data-kind="fetch"]');
    expect(await fetchRow.getAttribute("data-parent")).toBe(await host.getAttribute("data-seq"));
    expect(await fetchRow.getAttribute("data-depth")).toBe("1");
    expect(await fetchRow.locator(".wf span").getAttribute("title")).toMatch(/starts .* takes /);
    await fetchRow.click();
    const seq = await fetchRow.getAttribute("data-seq");
    const details = page.locator(`#side .evd[data-ev="${seq}"]`);
    await details.waitFor();
    expect(await details.textContent()).toContain("Called from");
    expect(await details.locator('[data-sourcemap="none"]').count()).toBe(1);
    expect(await details.locator(`[data-sealed="${seq}.result.body"]`).textContent()).toContain(
      "sealed",
    );
    await page.click("#side-close");
    await page.click('#network th[data-sort="status"]');
    expect(await page.getAttribute('#network th[data-sort="status"]', "data-dir")).toBe("desc");
    expect(html).not.toContain("card_declined");
    await page.screenshot({ path: `${SHOTS}/execution.png`, fullPage: true });
  });

  it("unlocks only the chosen payloads through the agent", async () => {
    const fetchSeq = await page
      .locator('#waterfall tr[data-kind="fetch"]')
      .first()
      .getAttribute("data-seq");
    const excSeq = await page
      .locator('#waterfall tr[data-kind="exception"]')
      .first()
      .getAttribute("data-seq");
    await page.check(`input[value="${fetchSeq}.result.body"]`);
    await page.check(`input[value="${excSeq}.message"]`);
    await page.click("#unlock-btn");
    await page.waitForSelector("#unlocked:not([hidden])");
    const unlocked = await page.textContent("#unlocked");
    expect(unlocked).toContain("card_declined");
    expect(unlocked).toContain(`${excSeq}.message`);
    expect(await page.textContent(`[data-sealed="${excSeq}.message"]`)).toMatch(
      /toUpperCase|undefined/,
    );
    expect(unlocked).not.toContain("sk_test_e2e_secret_key");
    expect(await stack.agent.lastAudit()).toMatchObject({
      action: "unlock",
      outcome: "allowed",
      code: null,
    });
  });

  it("renders unlocked evidence by type: JSON as a tree, headers as a table, text as text", async () => {
    const seqOf = (kind: string) =>
      page.locator(`#waterfall tr[data-kind="${kind}"]`).first().getAttribute("data-seq");
    const [fetchSeq, excSeq, logSeq] = [
      await seqOf("fetch"),
      await seqOf("exception"),
      await seqOf("console"),
    ];
    for (const v of [`${fetchSeq}.result.headers`, `${excSeq}.stack`, `${logSeq}`]) {
      await page.check(`input[value="${v}"]`);
    }
    await page.click("#unlock-btn");
    await page.waitForSelector(`#unlocked [data-path="${logSeq}"]`);
    const log = page.locator(`#unlocked [data-path="${logSeq}"] [data-type="json"]`);
    expect(await log.locator(".j-str").allTextContents()).toEqual([
      "charge result",
      "card_declined",
    ]);
    const headers = page.locator(
      `#unlocked [data-path="${fetchSeq}.result.headers"] [data-type="headers"] th`,
    );
    expect(await headers.allTextContents()).toContain("content-type");
    const stackText = await page.textContent(`#unlocked [data-path="${excSeq}.stack"] pre`);
    expect(stackText).toContain("TypeError");
    expect(stackText).toContain("\n");
    // No value reads as an escaped JSON string (double-encoded): no \" nor a literal \n.
    const unlocked = (await page.textContent("#unlocked")) ?? "";
    expect(unlocked).not.toMatch(/\\"|\\n|^"\[/);
  });

  it("exports the unlocked network evidence as HAR, sealed parts left out", async () => {
    const download = page.waitForEvent("download");
    await page.click("#har-btn");
    const file = await (await download).path();
    const har = JSON.parse(readFileSync(file, "utf8")) as {
      log: {
        entries: {
          request: { url: string; method: string; headers: unknown[] };
          response: { status: number; content: { text?: string } };
        }[];
      };
    };
    const [entry] = har.log.entries;
    expect(entry?.request).toMatchObject({ method: "POST", headers: [] });
    expect(entry?.request.url).toMatch(/\/v1\/charges$/);
    expect(entry?.response.status).toBe(402);
    expect(entry?.response.content.text).toContain("card_declined");
    expect(JSON.stringify(har)).not.toContain("sk_test_e2e_secret_key");
  });

  it("keeps a revealed secret behind a per-field confirmation and marks it everywhere", async () => {
    const secret = page
      .locator("#env tr", { hasText: "PAYMENTS_API_KEY" })
      .locator("[data-sealed]");
    const path = (await secret.getAttribute("data-sealed"))!;
    // A secret needs a second person by default (approvals.test.ts); this workspace re-confirms.
    const saved = await page.request.post(`${stack.dashboard}/w/default/approvals/settings`, {
      form: { mode_unlock_secret: "reconfirm", reconfirm_minutes: "60" },
      headers: { origin: stack.dashboard },
    });
    expect(saved.status()).toBe(200);
    await page.check(`input[value="${path}"]`);
    await page.click("#unlock-btn");
    await page.waitForSelector(`#unlocked [data-path="${path}"] [data-secret="hidden"]`);
    expect(await page.content()).not.toContain("sk_test_e2e_secret_key");
    await page.click(`#unlocked [data-path="${path}"] button:has-text("Reveal")`);
    expect(await page.content()).not.toContain("sk_test_e2e_secret_key");
    await page.click(`#unlocked [data-path="${path}"] button:has-text("Yes, reveal it")`);
    expect(await page.textContent(`#unlocked [data-path="${path}"]`)).toContain(
      "sk_test_e2e_secret_key",
    );
    expect(await page.textContent(`#env [data-sealed="${path}"]`)).toContain("secret revealed");
    expect(await page.textContent(`#side [data-sealed="${path}"]`)).toContain("secret revealed");
    expect(await page.locator(`#unlocked [data-path="${path}"] [data-revealed]`).count()).toBe(1);
  });

  it("replays against the repaired code, shows the divergence and saves a guard", async () => {
    await page.click("#replay-btn");
    await page.waitForSelector("#verdict", { timeout: 60_000 });
    expect(await page.getAttribute("#verdict", "data-verdict")).toBe("diverged");
    expect(await page.locator('#report tr[data-code="changed_outcome"]').count()).toBe(1);
    expect(await page.textContent("#verdict")).toMatch(/replayed: 402/);
    expect(stack.agent.liveAttempts()).toBe(0);
    await page.screenshot({ path: `${SHOTS}/replay.png`, fullPage: true });
    await page.click("#guard-btn");
    await page.waitForSelector("#guard-saved");
    expect(await page.textContent("#guard-saved")).toMatch(
      /npx fluxrun guard [0-9a-f]{32}\.cbor --out test\/guards/,
    );
    await page.goto(`${stack.dashboard}/w/default/guards`);
    expect(await page.locator("#guards tbody tr").count()).toBe(1);
    expect(await page.textContent("#guards")).toContain("402");
  });

  it("resolves the issue with the guard and reopens it on a third failure", async () => {
    await page.goto(`${stack.dashboard}/w/default/issues?state=resolved`);
    const resolved = page.locator("#issues tbody tr");
    expect(await resolved.count()).toBe(1);
    expect(await resolved.first().textContent()).toMatch(/by guard/);
    expect((await declined()).status).toBe(500);
    await stack.waitForTraces(11);
    await page.goto(`${stack.dashboard}/w/default/admin`);
    await page.click("#reindex");
    await page.waitForSelector("text=Reindexed from R2");
    await page.goto(`${stack.dashboard}/w/default/issues`);
    const open = page.locator("#issues tbody tr");
    expect(await open.count()).toBe(1);
    expect(await open.first().locator("[data-count]").getAttribute("data-count")).toBe("3");
    expect(await open.first().textContent()).toContain("reopened");
    await open.first().locator("a").first().click();
    await page.waitForURL(/\/executions\/[0-9a-f]{32}$/);
    expect(await page.textContent("#status")).toBe("500");
  });

  it("no page scrolls sideways at 1280 px, and every page has the workspace nav", async () => {
    await page.setViewportSize({ width: 1280, height: 900 });
    const failing = page.url(); // the reopened issue's latest execution
    const wide: string[] = [];
    for (const path of [
      "/w/default/issues",
      "/w/default/executions",
      "/w/default/overview?range=1h",
      "/w/default/guards",
      "/w/default/diagnostics",
      "/w/default/admin",
      "/account",
    ]) {
      await page.goto(`${stack.dashboard}${path}`);
      wide.push(...(await overflowing(path)));
      expect(await page.locator("header nav a", { hasText: "Issues" }).count(), path).toBe(1);
      expect(await page.getAttribute("link[rel=icon]", "href"), path).toMatch(/^data:image\/svg/);
      await page.screenshot({ path: `${SHOTS}/w1280${path.replace(/[/?=]/g, "_")}.png` });
    }
    await page.goto(failing);
    wide.push(...(await overflowing("execution")));
    await page.screenshot({ path: `${SHOTS}/w1280_execution.png`, fullPage: true });
    expect(wide).toEqual([]);
    await page.setViewportSize({ width: 1440, height: 900 });
  });

  it("shows the overview chart", async () => {
    await page.goto(`${stack.dashboard}/w/default/overview?app=shop-api&range=1h`);
    expect(await page.locator("#chart-requests rect").count()).toBeGreaterThan(0);
    // Axes: distinct y labels, x labels inside the chart (none clipped), percentiles marked approximate.
    const chart = page.locator("#chart-requests");
    const labels = await chart.locator("text.ylab").allTextContents();
    expect(new Set(labels).size).toBe(labels.length);
    const box = (await chart.boundingBox())!;
    for (const t of await chart.locator("text").all()) {
      const b = (await t.boundingBox())!;
      expect(b.x).toBeGreaterThanOrEqual(box.x - 0.5);
      expect(b.x + b.width).toBeLessThanOrEqual(box.x + box.width + 0.5);
    }
    expect(await page.textContent("main")).toContain("p95 duration (approximate)");
    await page.screenshot({ path: `${SHOTS}/overview.png`, fullPage: true });
  });
});

describe("agent failure states in the page", () => {
  async function setAgent(origin: string, id: string, on: Page = page): Promise<void> {
    await on.goto(`${stack.dashboard}/w/default/admin`);
    await on.fill("#agent-settings input[name=origin]", origin);
    await on.fill("#agent-settings input[name=id]", id);
    await on.click("#agent-settings button[type=submit]");
    await on.waitForLoadState();
  }

  async function openFailing(): Promise<void> {
    await page.goto(`${stack.dashboard}/w/default/executions?status=5xx`);
    await page.locator("#executions tbody tr").first().click();
    await page.waitForURL(/\/executions\/[0-9a-f]{32}$/);
  }

  it("an origin the agent refuses reads as CORS, with the fix", async () => {
    // A second, real agent whose FLUX_ALLOWED_ORIGINS does not list this dashboard.
    await page.goto(`${stack.dashboard}/w/default/admin`);
    await page.fill("#agent-settings input[name=origin]", stack.agent.otherOriginUrl);
    await page.fill("#agent-settings input[name=id]", "e2e-agent");
    await page.click("#agent-settings button[type=submit]");
    await openFailing();
    await page.click("#replay-btn");
    await page.waitForSelector('#agent-state [data-code="CORS"]');
    expect(await page.textContent("#agent-state")).toContain(
      `Add ${stack.dashboard} to the agent's FLUX_ALLOWED_ORIGINS`,
    );
    await page.goto(`${stack.dashboard}/w/default/admin`);
    await page.fill("#agent-settings input[name=origin]", "");
    await page.fill("#agent-settings input[name=id]", "");
    await page.click("#agent-settings button[type=submit]");
  });

  it("a dead agent endpoint reads as unreachable", async () => {
    await page.goto(`${stack.dashboard}/w/default/admin`);
    await page.fill("#agent-settings input[name=origin]", "http://127.0.0.1:9");
    await page.fill("#agent-settings input[name=id]", "e2e-agent");
    await page.click("#agent-settings button[type=submit]");
    await openFailing();
    await page.click("#replay-btn");
    await page.waitForSelector('#agent-state [data-code="UNREACHABLE"]');
    expect(await page.textContent("#agent-state")).toContain("npx fluxrun agent");
    await page.goto(`${stack.dashboard}/w/default/admin`);
    await page.fill("#agent-settings input[name=origin]", "");
    await page.fill("#agent-settings input[name=id]", "");
    await page.click("#agent-settings button[type=submit]");
  });

  it("a wrong agent id reads as an audience refusal naming the setting", async () => {
    await page.goto(`${stack.dashboard}/w/default/admin`);
    await page.fill("#agent-settings input[name=origin]", stack.agent.url);
    await page.fill("#agent-settings input[name=id]", "someone-else");
    await page.click("#agent-settings button[type=submit]");
    await openFailing();
    await page.click("#replay-btn");
    await page.waitForSelector('#agent-state [data-code="ERR_TOKEN_AUDIENCE"]');
    expect(await page.textContent("#agent-state")).toContain("Admin → Agent");
    await page.goto(`${stack.dashboard}/w/default/admin`);
    await page.fill("#agent-settings input[name=origin]", "");
    await page.fill("#agent-settings input[name=id]", "");
    await page.click("#agent-settings button[type=submit]");
  });

  it("a paused agent reads as not answering within the timeout, and Retry recovers", async () => {
    await setAgent(relayUrl, "e2e-agent");
    await page.goto(`${stack.dashboard}/w/default/diagnostics`);
    await page.waitForSelector('#agent-health [data-code="AGENT_TIMEOUT"]', {
      timeout: AGENT_TIMEOUT_MS * 3,
    });
    expect(await page.textContent("#agent-health")).toContain("not answering");
    await openFailing();
    const excSeq = await page
      .locator('#waterfall tr[data-kind="exception"]')
      .getAttribute("data-seq");
    await page.check(`input[value="${excSeq}.message"]`);
    await page.click("#unlock-btn");
    await page.waitForSelector('#agent-state [data-code="AGENT_TIMEOUT"]', {
      timeout: AGENT_TIMEOUT_MS * 3,
    });
    expect(await page.isEnabled("#unlock-btn")).toBe(true);
    // The agent process resumes: Retry gets the answer.
    paused = false;
    for (const s of held) s.destroy();
    await page.click('#agent-state [data-retry="AGENT_TIMEOUT"]');
    await page.waitForSelector(`#unlocked [data-path="${excSeq}.message"]`);
    await setAgent("", "");
  });

  it("shows the 20-field limit before asking", async () => {
    await page.goto(`${stack.dashboard}/w/default/executions?route=/report`);
    await page.locator("#executions tbody tr").first().click();
    await page.waitForURL(/\/executions\/[0-9a-f]{32}$/);
    expect(await page.textContent('[data-check="all"]')).toBe("first 20");
    await page.click('[data-check="all"]');
    expect(await page.textContent("#field-count")).toBe("20 of at most 20 selected");
    await page.locator("input[name=field]:not(:checked)").first().check();
    expect(await page.textContent("#field-count")).toContain("untick 1");
    expect(await page.isDisabled("#unlock-btn")).toBe(true);
  });

  it("shows binary bodies as size, digest and a download", async () => {
    await page.goto(`${stack.dashboard}/w/default/executions?route=/avatar`);
    await page.locator("#executions tbody tr").first().click();
    await page.waitForURL(/\/executions\/[0-9a-f]{32}$/);
    const seq = await page.locator('#waterfall tr[data-kind="response"]').getAttribute("data-seq");
    await page.check(`input[value="${seq}.body"]`);
    await page.click("#unlock-btn");
    const bin = page.locator(`#unlocked [data-path="${seq}.body"] [data-type="binary"]`);
    await bin.locator("text=/sha256 [0-9a-f]{64}/").waitFor();
    expect(await bin.textContent()).toContain("11 bytes (binary)");
    expect(await bin.locator("a[download]").getAttribute("href")).toMatch(/^blob:/);
  });

  it("diagnostics checks the agent from the browser; an unanswerable check is grey", async () => {
    await page.goto(`${stack.dashboard}/w/default/diagnostics`);
    await page.waitForSelector('#agent-health [data-code="AGENT_OK"]');
    expect(await page.textContent("#agent-health")).toContain("Allowed origins");
    // This agent has no FLUX_PUBLIC_KEY: it cannot compare keys, so no red fix is shown.
    expect(
      await page.getAttribute('[data-check="Key matches the public key"]', "data-result"),
    ).toBe("not checked");
    expect(await page.locator('#agent-health [data-result="fix"]').count()).toBe(0);
    await page.screenshot({ path: `${SHOTS}/diagnostics.png`, fullPage: true });
  });

  it("signing in returns to the deep link that asked for it", async () => {
    const fresh = await browser.newContext();
    const other = await fresh.newPage();
    await other.goto(`${stack.dashboard}/w/default/executions?status=5xx`);
    expect(new URL(other.url()).pathname).toBe("/login");
    await other.fill("input[name=token]", DEV_TOKEN);
    await other.click("form[action='/login'] button[type=submit]");
    await other.waitForURL(/\/w\/default\/executions\?status=5xx$/);
    expect(await other.locator("#executions tbody tr").count()).toBe(3);
    await fresh.close();
  });

  it("logged no script errors besides the expected network failures", () => {
    expect(
      consoleErrors.filter(
        (e) => !/Failed to load resource|CORS|ERR_CONNECTION_REFUSED|net::/.test(e),
      ),
    ).toEqual([]);
  });
});

describe("sessions in the browser (issue 13, attack 4)", () => {
  it("signs in through the form into an opaque __Host- session that chromium keeps on http://127.0.0.1", async () => {
    const context = await browser.newContext();
    const p = await context.newPage();
    await p.goto(`${stack.dashboard}/login`);
    await p.fill("input[name=token]", DEV_TOKEN);
    await p.click("form[action='/login'] button[type=submit]");
    await p.waitForURL(/\/w\/default\/issues$/); // Issues is the landing page
    const session = (await context.cookies()).find((c) => c.name === "__Host-flux_session");
    expect(session).toMatchObject({ secure: true, httpOnly: true, sameSite: "Lax", path: "/" });
    expect(session?.value).toMatch(/^fxs_/);
    expect(session?.value).not.toContain(DEV_TOKEN);

    await p.click("form[action='/logout'] button[type=submit]");
    await p.waitForURL(/\/login$/);
    // The signed-out id, replayed, is refused server-side.
    const replayed = await fetch(`${stack.dashboard}/w/default/executions`, {
      headers: { cookie: `__Host-flux_session=${session!.value}` },
      redirect: "manual",
    });
    // Sent to sign in again (with the deep link to come back to).
    expect(replayed.status).toBe(302);
    expect(replayed.headers.get("location")).toBe("/login?next=%2Fw%2Fdefault%2Fexecutions");
    await context.close();
  });

  it("a login form on another site cannot sign a logged-out visitor into the attacker's account", async () => {
    const context = await browser.newContext();
    const p = await context.newPage();
    // The attacker's page (served by playwright at an origin of its own) holds the attacker's
    // token and a nonce the attacker fetched for itself: the visitor's browser has no matching cookie.
    const own = await fetch(`${stack.dashboard}/login`);
    const nonce = /name="nonce" value="([^"]+)"/.exec(await own.text())?.[1] ?? "";
    await context.route("http://attacker.test/", (route) =>
      route.fulfill({
        contentType: "text/html",
        body: `<form id="f" method="post" action="${stack.dashboard}/login">
          <input name="token" value="${DEV_TOKEN}"><input name="nonce" value="${nonce}"></form>
          <script>document.getElementById("f").submit()</script>`,
      }),
    );
    const landed = p.waitForResponse((r) => r.url() === `${stack.dashboard}/login`);
    await p.goto("http://attacker.test/");
    expect((await landed).status()).toBe(403);
    expect((await context.cookies()).some((c) => c.name === "__Host-flux_session")).toBe(false);
    await p.goto(`${stack.dashboard}/`);
    expect(new URL(p.url()).pathname).toBe("/login");
    await context.close();
  });
});
