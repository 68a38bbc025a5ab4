/**
 * The triage loop in a real browser (Debian chromium, headless, driven by playwright-core):
 * record traffic through a withFlux worker, sign in with the dev link, reindex from R2, list,
 * filter to the failure, open it, unlock chosen payloads through the agent, replay against the
 * repaired code and see the divergence, save a regression guard; then the agent's failure
 * states (CORS refusal, unreachable, reused token) as the page shows them.
 */
import { existsSync, mkdirSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromium, type Browser, type Page } from "playwright-core";
import { DEV_TOKEN, startStack, type Stack } from "./_stack.js";

const SHOTS = process.env.FLUX_E2E_SCREENSHOTS ?? "/tmp/fluxrun-e2e";
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
let stack: Stack;
let browser: Browser;
let page: Page;
const consoleErrors: string[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `No chromium at ${CHROMIUM}: run apt-get install -y chromium (or set CHROMIUM)`,
    );
  }
  mkdirSync(SHOTS, { recursive: true });
  stack = await startStack();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-dev-shm-usage",
    ],
  });
  page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  page.on("console", (m) => {
    if (m.type() === "error") consoleErrors.push(m.text());
  });
});

afterAll(async () => {
  await browser?.close();
  await stack?.dispose();
});

describe("triage loop", () => {
  it("signs in with the dev link and sees the no-traces state before any traffic", async () => {
    await page.goto(`${stack.dashboard}/dev/login?token=${DEV_TOKEN}`);
    expect(new URL(page.url()).pathname).toBe("/w/default/executions");
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
    const failed = await stack.record("/checkout", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ amount: 25, card: "4000000000000002" }),
    });
    expect(failed.status).toBe(500);
    await stack.record("/missing");
    await stack.waitForTraces(7);
  });

  it("reindexes from R2 as admin, then lists every execution", async () => {
    await page.goto(`${stack.dashboard}/w/default/admin`);
    await page.click("#reindex");
    await page.waitForSelector("text=Reindexed from R2");
    expect(await page.textContent("main")).toContain("7 newly indexed");
    await page.goto(`${stack.dashboard}/w/default/executions`);
    expect(await page.locator("#executions tbody tr").count()).toBe(7);
    expect(await page.getAttribute("[data-count]", "data-count")).toBe("7");
    await page.screenshot({ path: `${SHOTS}/list.png`, fullPage: true });
  });

  it("filters to the failing executions", async () => {
    await page.selectOption("select[name=status]", "5xx");
    await page.click("#filters button[type=submit]");
    await page.waitForURL(/status=5xx/);
    const rows = page.locator("#executions tbody tr");
    expect(await rows.count()).toBe(1);
    expect(await rows.first().textContent()).toContain("TypeError");
    await page.selectOption("select[name=status]", "");
    await page.selectOption("select[name=outcome]", "ok");
    await page.click("#filters button[type=submit]");
    await page.waitForURL(/outcome=ok/);
    expect(await page.locator("#executions tbody tr").count()).toBe(6);
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

  it("shows the overview chart", async () => {
    await page.goto(`${stack.dashboard}/w/default/overview?app=shop-api&range=1h`);
    expect(await page.locator("#chart-requests rect").count()).toBeGreaterThan(0);
    await page.screenshot({ path: `${SHOTS}/overview.png`, fullPage: true });
  });
});

describe("agent failure states in the page", () => {
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

  it("diagnostics checks the agent from the browser", async () => {
    await page.goto(`${stack.dashboard}/w/default/diagnostics`);
    await page.waitForSelector('#agent-health [data-code="AGENT_OK"]');
    expect(await page.textContent("#agent-health")).toContain("Allowed origins");
    await page.screenshot({ path: `${SHOTS}/diagnostics.png`, fullPage: true });
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
    await p.waitForURL(/\/w\/default\/executions$/);
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
    expect([replayed.status, replayed.headers.get("location")]).toEqual([302, "/login"]);
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
