/**
 * The reviewed replay policy in a real browser (Debian chromium, headless, playwright-core): a
 * responder proposes a policy for an app (an invalid one first, refused with where it is wrong),
 * cannot approve it; an admin finds it waiting, reviews the diff against the approved version and
 * approves it; the admin's own proposal offers no approve button; the history keeps each
 * version. Then a replay from the execution page carries the approved policy to the agent, which
 * reports it verified. Two browser contexts (two signed-in users) in one browser.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { createApiToken, ensureUser, setMember } from "../src/db/users.js";
import { registerApp } from "../src/db/workspaces.js";
import { DEV_TOKEN, startStack, type Stack, assertChromium, launchBrowser } from "./_stack.js";

const POLICY = JSON.stringify(
  {
    version: 1,
    allow: [{ kind: "fetch", method: "GET", host: "rates.example.com", path: "/v1/eur" }],
  },
  null,
  2,
);
let stack: Stack;
let browser: Browser;
const contexts: BrowserContext[] = [];
let responder: Page;
let admin: Page;
const consoleErrors: string[] = [];

async function signedIn(token: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  contexts.push(context);
  const page = await context.newPage();
  page.on("console", (m) => {
    if (m.type() === "error") consoleErrors.push(m.text());
  });
  await page.goto(`${stack.dashboard}/dev/login?token=${token}`);
  return page;
}

beforeAll(async () => {
  assertChromium();
  stack = await startStack();
  const now = Date.now();
  await registerApp(stack.db, "default", "shop-api", now - 60_000);
  const user = await ensureUser(stack.db, "oncall@e2e.test", {
    now,
    id: () => crypto.randomUUID(),
  });
  await setMember(stack.db, "default", user.id, "responder", now);
  const token = await createApiToken(stack.db, user.id, { name: "e2e", now });
  browser = await launchBrowser();
  responder = await signedIn(token);
  admin = await signedIn(DEV_TOKEN);
});

afterAll(async () => {
  for (const c of contexts) await c.close();
  await browser?.close();
  await stack?.dispose();
});

describe("propose → review the diff → approve", () => {
  it("the responder finds the app under Policies with nothing approved", async () => {
    await responder.goto(`${stack.dashboard}/w/default/issues`);
    await responder.click("header nav >> text=Policies");
    await responder.waitForSelector('#policy-apps tr[data-app="shop-api"]');
    await responder.click('#policy-apps tr[data-app="shop-api"] a');
    await responder.waitForSelector("#no-approved");
    expect(await responder.locator("#propose-form").count()).toBe(1);
  });

  it("an invalid policy is refused with where it is wrong, the text kept for fixing", async () => {
    const bad = POLICY.replace('"GET"', '"POST"');
    await responder.fill("#policy-text", bad);
    await responder.click("#propose-btn");
    await responder.waitForSelector('#policy-error[data-code="ERR_POLICY_INVALID"]');
    expect(await responder.textContent("#policy-error")).toContain("allow.0.method");
    expect(await responder.inputValue("#policy-text")).toBe(bad);
  });

  it("a valid proposal waits for review; its author cannot approve it", async () => {
    await responder.fill("#policy-text", POLICY);
    await responder.fill("#policy-note", "EUR rate on /products");
    await responder.click("#propose-btn");
    await responder.waitForSelector('[data-state="proposed"]');
    expect(new URL(responder.url()).pathname).toBe("/w/default/policies/shop-api/v/1");
    expect(await responder.locator("#approve-btn").count()).toBe(0);
    expect(await responder.textContent("#review-blocked")).toContain("admin role");
  });

  it("the admin sees it waiting, reviews the diff and approves it", async () => {
    await admin.goto(`${stack.dashboard}/w/default/policies`);
    expect(await admin.textContent('#policy-apps tr[data-app="shop-api"] td.num')).toBe("1");
    await admin.click('#policy-apps tr[data-app="shop-api"] a');
    await admin.click("#policy-pending >> text=v1");
    await admin.waitForSelector("#policy-diff");
    const added = await admin.locator("#policy-diff .d-add").allTextContents();
    expect(added.some((l) => l.includes('"host": "rates.example.com"'))).toBe(true);
    expect(await admin.locator("#policy-diff .d-del").count()).toBe(0);
    await admin.click("#approve-btn");
    await admin.waitForSelector("#policy-reviewed");
    expect(await admin.textContent("#policy-reviewed")).toContain("approved by admin@");
    expect(await admin.getAttribute("main .badge", "data-state")).toBe("approved");
  });

  it("the admin's own change shows its diff against v1, with no approve button for them", async () => {
    await admin.goto(`${stack.dashboard}/w/default/policies/shop-api`);
    await admin.waitForSelector('#policy-approved [data-version="1"]');
    await admin.fill("#policy-text", '{"version": 1}');
    await admin.click("#propose-btn");
    await admin.waitForSelector('[data-state="proposed"]');
    const removed = await admin.locator("#policy-diff .d-del").allTextContents();
    expect(removed.some((l) => l.includes("rates.example.com"))).toBe(true);
    expect(await admin.locator("#approve-btn").count()).toBe(0);
    expect(await admin.textContent("#review-blocked")).toContain("You proposed this version");
  });

  it("the history keeps every version with its state", async () => {
    await responder.goto(`${stack.dashboard}/w/default/policies/shop-api`);
    await responder.waitForSelector("#policy-history");
    const rows = await responder
      .locator("#policy-history tbody tr")
      .evaluateAll((trs) =>
        trs.map((tr) => [
          tr.getAttribute("data-version"),
          tr.querySelector("[data-state]")?.getAttribute("data-state"),
        ]),
      );
    expect(rows).toEqual([
      ["2", "proposed"],
      ["1", "approved"],
    ]);
    expect(await responder.textContent("#approved-json")).toContain("rates.example.com");
  });

  it("a replay from the execution page carries the approved policy, verified by the agent", async () => {
    // The refused proposal above answered 400: the browser logged that, as it should.
    consoleErrors.length = 0;
    await stack.record("/products");
    await stack.waitForTraces(1);
    await admin.goto(`${stack.dashboard}/w/default/admin`);
    await admin.click("#reindex");
    await admin.waitForSelector("text=Reindexed from R2");
    await responder.goto(`${stack.dashboard}/w/default/executions`);
    await responder.click("#executions tbody tr >> nth=0");
    await responder.waitForSelector("#replay-btn");
    await responder.click("#replay-btn");
    await responder.waitForSelector("#replay-policy", { timeout: 60_000 });
    expect(await responder.getAttribute("#replay-policy", "data-policy")).toBe("reviewed");
    expect(await responder.textContent("#replay-policy")).toContain("approved v1");
    expect(consoleErrors).toEqual([]);
  });
});
