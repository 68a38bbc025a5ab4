/**
 * Risky actions on the execution page: when the dashboard answers a token request with
 * ERR_APPROVAL_REQUIRED, the page offers to request a second person's approval, then re-checks
 * its state (every {@link POLL_MS}, until it is decided or lapses) and, once approved, asks for
 * the token again with the approval's id. The state box (`#approval-state`, `data-state`) changes
 * in place: the requester never reloads.
 * @module
 */
import type { ApprovalView } from "fluxrun/contract";
import type { IssuedToken, TokenRequestBody } from "../src/browser.js";
import { dashboard, issue } from "./api.js";
import { el } from "./dom.js";
import { DEFAULT_TIMEOUT_MS, FluxState, fromDashboard } from "./states.js";

/** How often the page re-checks a pending approval, in ms. */
export const POLL_MS = 1500;

async function current(id: string): Promise<ApprovalView> {
  const res = await fetch(`/api/approvals/${encodeURIComponent(id)}`, {
    signal: AbortSignal.timeout(DEFAULT_TIMEOUT_MS),
    credentials: "same-origin",
    cache: "no-store",
    headers: { accept: "application/json" },
  });
  const body = (await res.json().catch(() => null)) as unknown;
  if (!res.ok) throw fromDashboard(res.status, body);
  return body as ApprovalView;
}

function stateBox(box: HTMLElement, a: ApprovalView, text: string, kind: string): void {
  box.replaceChildren(
    el(
      "div",
      { cls: `state ${kind}`, id: "approval-state", "data-state": a.state, "data-id": a.id },
      [
        el("h2", { text }),
        el("p", {
          cls: "small",
          text: `Request ${a.id} · ${a.act} · ${a.fields.length ? a.fields.join(", ") : "whole action"}`,
        }),
        a.approver ? el("p", { text: `Decided by ${a.approver}` }) : null,
        a.state === "pending"
          ? el("p", {}, [
              "Another responder or admin approves it on the ",
              el("a", { href: `/w/${encodeURIComponent(a.ws)}/approvals`, text: "Approvals page" }),
              ". This page updates by itself.",
            ])
          : null,
      ],
    ),
  );
}

/** Re-checks the approval until it is decided, or lapses. */
async function decided(id: string, box: HTMLElement): Promise<ApprovalView> {
  for (;;) {
    const a = await current(id);
    if (a.state !== "pending") return a;
    stateBox(box, a, "Waiting for a second person's approval", "info");
    if (Date.now() > a.expiresAt) return { ...a, state: "expired" };
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/** Shows the offer to request approval; resolves when the user clicks it. */
function offer(box: HTMLElement, s: FluxState): Promise<void> {
  return new Promise((resolve) => {
    const button = el("button", {
      type: "button",
      id: "approval-request-btn",
      text: "Request approval",
    });
    button.addEventListener("click", () => resolve(), { once: true });
    box.replaceChildren(
      el("div", { cls: "state info", id: "approval-state", "data-state": "required" }, [
        el("h2", { text: s.title }),
        el("p", { text: s.detail }),
        button,
      ]),
    );
  });
}

/**
 * A token for `request`; when it needs a second person, the approval round first.
 *
 * @example
 * ```ts
 * const t = await issueApproved({ trace, act: "unlock", fields }, byId("approval"));
 * ```
 */
export async function issueApproved(
  request: TokenRequestBody,
  box: HTMLElement,
): Promise<IssuedToken> {
  try {
    return await issue(request);
  } catch (err) {
    if (!(err instanceof FluxState) || err.code !== "ERR_APPROVAL_REQUIRED") throw err;
    await offer(box, err);
  }
  const asked = await dashboard<ApprovalView>("/api/approvals", request);
  stateBox(box, asked, "Waiting for a second person's approval", "info");
  const a = await decided(asked.id, box);
  if (a.state !== "approved") {
    stateBox(box, a, a.state === "denied" ? "The request was denied" : "The request lapsed", "bad");
    throw new FluxState(
      "warn",
      a.state === "denied" ? "ERR_APPROVAL_DENIED" : "ERR_APPROVAL_EXPIRED",
      a.state === "denied" ? "The request was denied" : "The approval request lapsed",
      "",
      "Request again if you still need it.",
    );
  }
  stateBox(box, a, `Approved: this ${a.act} uses it, once`, "good");
  return issue({ ...request, approval: a.id });
}
