/**
 * Approvals in a real browser (issue 16.2), against the e2e stack's real dashboard and agent:
 * user A (the admin) asks to reveal a secret the checkout read; the page offers to request
 * approval and waits; A cannot approve it; user B (a responder, another browser context) sees it
 * counted in the nav and approves it on the Approvals page; A's page, never reloaded, unlocks and
 * shows the secret. The used approval is refused a second time, and a request that lapses
 * (its stored expiry moved into the past instead of waiting) turns A's page to "lapsed".
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { DEV_TOKEN, startStack, type Stack, assertChromium, launchBrowser } from "./_stack.js";

const SECRET = "sk_test_e2e_secret_key";
let stack: Stack;
let browser: Browser;
let contexts: BrowserContext[] = [];
let a: Page;
let b: Page;
let trace: string;
let secretPath: string;

async function signedIn(token: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  contexts.push(context);
  const page = await context.newPage();
  await page.goto(`${stack.dashboard}/dev/login?token=${token}`);
  return page;
}

/** A call from inside a page (its session cookie, its origin): status and error code. */
function fromPage(page: Page, path: string, body: unknown): Promise<[number, string]> {
  return page.evaluate(
    async ([path, body]) => {
      const res = await fetch(path as string, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      const json = (await res.json()) as { error?: { code: string } };
      return [res.status, json.error?.code ?? "none"] as [number, string];
    },
    [path, body] as const,
  );
}

beforeAll(async () => {
  assertChromium();
  stack = await startStack();
  await stack.record("/checkout", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ amount: 25, card: "4242424242424242" }),
  });
  await stack.waitForTraces(1);
  const auth = { authorization: `Bearer ${DEV_TOKEN}` };
  await fetch(`${stack.dashboard}/admin/reindex`, {
    method: "POST",
    headers: { ...auth, "content-type": "application/json" },
    body: JSON.stringify({ ws: "default" }),
  });
  const list = (await (
    await fetch(`${stack.dashboard}/api/w/default/executions`, { headers: auth })
  ).json()) as { executions: { traceId: string }[] };
  trace = list.executions[0]!.traceId;
  const added = await fetch(`${stack.dashboard}/w/default/admin/members`, {
    method: "POST",
    headers: { ...auth, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ email: "b@e2e.test", role: "responder" }).toString(),
  });
  const tokenB = /id="new-token">(fxd_[^<]+)</.exec(await added.text())![1]!;
  browser = await launchBrowser();
  a = await signedIn(DEV_TOKEN);
  b = await signedIn(tokenB);
});

afterAll(async () => {
  for (const c of contexts) await c.close();
  contexts = [];
  await browser?.close();
  await stack?.dispose();
});

describe("a second person's approval, in the browser", () => {
  it("A requests, cannot self-approve, B approves, A's page unlocks without reloading", async () => {
    await a.goto(`${stack.dashboard}/w/default/executions/${trace}`);
    secretPath = (await a
      .locator("#env tr", { hasText: "PAYMENTS_API_KEY" })
      .locator("[data-sealed]")
      .getAttribute("data-sealed"))!;
    await a.check(`input[value="${secretPath}"]`);
    await a.click("#unlock-btn");
    await a.waitForSelector('#approval-state[data-state="required"]');
    await a.click("#approval-request-btn");
    await a.waitForSelector('#approval-state[data-state="pending"]');
    const id = (await a.getAttribute("#approval-state", "data-id"))!;
    expect(await a.textContent("#approval-state")).toContain(secretPath);

    expect(await fromPage(a, `/api/approvals/${id}/approve`, {})).toEqual([
      403,
      "ERR_APPROVAL_SELF",
    ]);

    await b.goto(`${stack.dashboard}/w/default/issues`);
    expect(await b.textContent("#nav-approvals-count")).toBe("1");
    await b.click("#nav-approvals");
    const row = b.locator(`#pending tr[data-approval="${id}"]`);
    expect(await row.textContent()).toContain("admin@localhost");
    expect(await row.textContent()).toContain(secretPath);
    await b.click(`[data-approve="${id}"]`);
    await b.waitForSelector("#approval-done");
    expect(await b.locator(`#pending tr[data-approval="${id}"]`).count()).toBe(0);

    const field = `#unlocked [data-path="${secretPath}"]`;
    await a.waitForSelector(`${field} [data-secret="hidden"]`);
    expect(await a.getAttribute("#approval-state", "data-state")).toBe("approved");
    await a.click(`${field} button:has-text("Reveal")`);
    await a.click(`${field} button:has-text("Yes, reveal it")`);
    expect(await a.textContent(field)).toContain(SECRET);
    expect(await stack.agent.lastAudit()).toMatchObject({ action: "unlock", outcome: "allowed" });

    expect(
      await fromPage(a, "/api/tokens", {
        trace,
        act: "unlock",
        fields: [secretPath],
        approval: id,
      }),
    ).toEqual([409, "ERR_APPROVAL_USED"]);
  });

  it("a request that lapses turns the requester's page to lapsed", async () => {
    await a.goto(`${stack.dashboard}/w/default/executions/${trace}`);
    await a.check(`input[value="${secretPath}"]`);
    await a.click("#unlock-btn");
    await a.click("#approval-request-btn");
    await a.waitForSelector('#approval-state[data-state="pending"]');
    const id = (await a.getAttribute("#approval-state", "data-id"))!;
    await stack.db
      .prepare("UPDATE approvals SET expires_at = ? WHERE id = ?")
      .bind(Date.now() - 1000, id)
      .run();
    await a.waitForSelector('#agent-state [data-code="ERR_APPROVAL_EXPIRED"]');
    expect(
      await fromPage(a, `/api/tokens`, {
        trace,
        act: "unlock",
        fields: [secretPath],
        approval: id,
      }),
    ).toEqual([409, "ERR_APPROVAL_EXPIRED"]);
    await b.goto(`${stack.dashboard}/w/default/approvals`);
    expect(await b.locator(`[data-approve="${id}"]`).count()).toBe(0);
  });
});
