/**
 * Pairing a local agent in a real browser (Debian chromium, headless, playwright-core): the
 * connector (`fluxrun agent`'s real module, in pairing mode, reading the stack's trace bucket)
 * prints a claim code; the signed-in user opens its QR link (the code in the fragment), the page
 * pairs, and Unlock then goes through the paired connector. A wrong code shows its refusal; an
 * admin revokes the pairing in Admin → Agents and the dashboard stops issuing tokens for it.
 */
import { mkdirSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, Page } from "playwright-core";
import { DEV_TOKEN, startStack, type Stack, assertChromium, launchBrowser } from "./_stack.js";
// @ts-expect-error -- plain ESM module without types
import { startConnector } from "../../agent/connector/index.mjs";

const SHOTS = process.env.FLUX_E2E_SCREENSHOTS ?? "/tmp/fluxrun-e2e";
const ROOT = new URL("../../", import.meta.url).pathname;

interface Connector {
  url: string;
  agentId: string;
  pairing: { newCode(): Promise<{ display: string }> };
  dispose(): Promise<void>;
}

let stack: Stack;
let browser: Browser;
let page: Page;
let connector: Connector;
let cwd: string;
let agentUrl: string;
let execution: string;

beforeAll(async () => {
  assertChromium();
  mkdirSync(SHOTS, { recursive: true });
  stack = await startStack();
  cwd = await mkdtemp(join(ROOT, ".tmp-e2e-pairing-"));
  await mkdir(join(cwd, ".fluxrun"));
  await writeFile(join(cwd, ".fluxrun/agent-private.jwk"), JSON.stringify(stack.privateJwk));
  await writeFile(
    join(cwd, "wrangler.toml"),
    `name = "shop"\nmain = ${JSON.stringify(join(ROOT, "dashboard/e2e/fixture/worker.ts"))}\ncompatibility_date = "2026-04-20"\ncompatibility_flags = ["nodejs_compat"]\n\n[[kv_namespaces]]\nbinding = "KV"\nid = "kv"\n`,
  );
  connector = (await startConnector({
    host: "127.0.0.1",
    port: 0,
    cwd,
    env: {},
    persistTo: stack.persistTo,
    allowedOrigins: stack.dashboard,
  })) as Connector;
  agentUrl = connector.url.replace(/\/$/, "");
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
});

afterAll(async () => {
  await browser?.close();
  await connector?.dispose();
  await stack?.dispose();
  if (cwd) await rm(cwd, { recursive: true, force: true });
});

describe("pair a local agent", () => {
  it("records a failing checkout and indexes it", async () => {
    await stack.record("/checkout", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ amount: 25, card: "4000000000000002" }),
    });
    await stack.waitForTraces(1);
    await page.goto(`${stack.dashboard}/dev/login?token=${DEV_TOKEN}`);
    await page.goto(`${stack.dashboard}/w/default/admin`);
    await page.click("#reindex");
    await page.waitForSelector("text=Reindexed from R2");
    await page.goto(`${stack.dashboard}/w/default/executions?status=5xx`);
    await page.locator("#executions tbody tr").first().click();
    await page.waitForURL(/\/executions\/[0-9a-f]{32}$/);
    execution = page.url();
  });

  it("shows a wrong code's refusal", async () => {
    const right = (await connector.pairing.newCode()).display;
    await page.goto(`${stack.dashboard}/w/default/pair`);
    await page.fill("#pair-agent", agentUrl);
    await page.fill("#pair-code", right.startsWith("Z") ? "YYYY-YYYY" : "ZZZZ-ZZZZ");
    await page.click("#pair-submit");
    await page.waitForSelector('#pair-state [data-code="ERR_PAIR_CODE_WRONG"]');
    expect(await page.textContent("#pair-state")).toContain("Wrong claim code");
  });

  it("pairs from the QR link (code in the fragment), then unlocks through the connector", async () => {
    const code = (await connector.pairing.newCode()).display;
    await page.goto(`${stack.dashboard}/pair#code=${code}&agent=${encodeURIComponent(agentUrl)}`);
    await page.waitForURL(/\/w\/default\/pair$/);
    expect(await page.inputValue("#pair-code")).toBe(code);
    expect(await page.inputValue("#pair-agent")).toBe(agentUrl);
    // The page dropped the fragment: the code is not left in the address bar or history.
    expect(new URL(page.url()).hash).toBe("");
    await page.click("#pair-submit");
    await page.waitForSelector("#state-paired");
    expect(await page.getAttribute("#state-paired", "data-agent")).toBe(connector.agentId);
    expect(await page.inputValue("#pair-code")).toBe("");
    await page.screenshot({ path: `${SHOTS}/paired.png`, fullPage: true });

    await page.goto(execution);
    const fetchSeq = await page
      .locator('#waterfall tr[data-kind="fetch"]')
      .first()
      .getAttribute("data-seq");
    await page.check(`input[value="${fetchSeq}.result.body"]`);
    await page.click("#unlock-btn");
    await page.waitForSelector("#unlocked:not([hidden])");
    expect(await page.textContent("#unlocked")).toContain("card_declined");
  });

  it("lists the pairing in Admin → Agents; revoked, it gets no more tokens", async () => {
    await page.goto(`${stack.dashboard}/w/default/admin`);
    await page.click("#admin-agents");
    const row = page.locator(`#pairings tr[data-state="active"]`);
    expect(await row.count()).toBe(1);
    expect(await row.textContent()).toContain(connector.agentId);
    expect(await row.textContent()).toContain(agentUrl);
    await row.locator("button:has-text('Revoke')").click();
    await page.waitForSelector("#state-revoked");
    expect(await page.locator(`#pairings tr[data-state="revoked"]`).count()).toBe(1);

    await page.goto(execution);
    const fetchSeq = await page
      .locator('#waterfall tr[data-kind="fetch"]')
      .first()
      .getAttribute("data-seq");
    await page.check(`input[value="${fetchSeq}.result.body"]`);
    await page.click("#unlock-btn");
    await page.waitForSelector('[data-code="ERR_PAIRING_REVOKED"]');
  });
});
