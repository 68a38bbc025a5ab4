/**
 * The "Pair a local agent" page: prefills the claim code and connector address from the QR
 * link's fragment (then drops the fragment), and runs the exchange between the connector and
 * the dashboard: hello (connector) → offer (dashboard) → pair (connector) → confirm (dashboard).
 * The code travels only in request bodies to the dashboard; the connector never receives it.
 * @module
 */
import type {
  PairingConfirmation,
  PairingHello,
  PairingOfferEnvelope,
  PairingStartRequest,
} from "fluxrun/contract";
import type { ConfirmedPairing, PairConfig } from "../src/browser.js";
import { busy, byId, el, pageConfig } from "./dom.js";
import { DEFAULT_TIMEOUT_MS, FluxState, showState } from "./states.js";

const config = pageConfig<PairConfig>();
const form = byId<HTMLFormElement>("pair-form");
const codeInput = byId<HTMLInputElement>("pair-code");
const agentInput = byId<HTMLInputElement>("pair-agent");
const button = byId<HTMLButtonElement>("pair-submit");
const box = byId("pair-state");

const fragment = new URLSearchParams(location.hash.slice(1));
if (fragment.get("code")) codeInput.value = fragment.get("code") ?? "";
if (fragment.get("agent")) agentInput.value = fragment.get("agent") ?? "";
if (location.hash) history.replaceState(null, "", location.pathname + location.search);

/** A JSON call; a refusal becomes a state with the callee's code. */
async function call<T>(
  who: "agent" | "dashboard",
  url: string,
  init: { method: "GET" | "POST"; body?: unknown },
): Promise<T> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: init.method,
      signal: AbortSignal.timeout(DEFAULT_TIMEOUT_MS),
      ...(who === "agent" ? { mode: "cors", credentials: "omit" } : { credentials: "same-origin" }),
      ...(init.body === undefined
        ? {}
        : { headers: { "content-type": "application/json" }, body: JSON.stringify(init.body) }),
    });
  } catch {
    throw new FluxState(
      "bad",
      who === "agent" ? "AGENT_UNREACHABLE" : "DASHBOARD_UNREACHABLE",
      who === "agent" ? "The local agent did not answer" : "The dashboard did not answer",
      who === "agent" ? `Nothing answered at ${url} (or it does not allow this dashboard).` : "",
      who === "agent"
        ? "Check that `fluxrun agent --pair` is running and the address is right; its --allowed-origins must include this dashboard."
        : "Check your connection and retry.",
    );
  }
  const body = (await res.json().catch(() => null)) as
    (T & { error?: { code?: string; message?: string; fix?: string } }) | null;
  if (!res.ok || !body) {
    throw new FluxState(
      res.status === 429 ? "warn" : "bad",
      body?.error?.code ?? `HTTP_${res.status}`,
      body?.error?.message ?? `The ${who} refused (HTTP ${res.status})`,
      "",
      body?.error?.fix ?? "",
    );
  }
  return body;
}

async function pair(): Promise<void> {
  const agent = agentInput.value.trim().replace(/\/+$/, "");
  const code = codeInput.value.trim();
  const hello = await call<PairingHello>("agent", `${agent}/v1/pair`, { method: "GET" });
  const start: PairingStartRequest = {
    ws: config.ws,
    code,
    agent: { origin: agent, id: hello.agentId, signingKey: hello.signingKey, nonce: hello.nonce },
  };
  const offer = await call<PairingOfferEnvelope>("dashboard", "/api/pairings", {
    method: "POST",
    body: start,
  });
  const confirmation = await call<PairingConfirmation>("agent", `${agent}/v1/pair`, {
    method: "POST",
    body: offer,
  });
  const done = await call<ConfirmedPairing>(
    "dashboard",
    `/api/pairings/${encodeURIComponent(offer.pairing)}/confirm`,
    { method: "POST", body: { code, mac: confirmation.mac } },
  );
  codeInput.value = "";
  box.replaceChildren(
    el("div", { cls: "state good", id: "state-paired", "data-agent": done.agentId }, [
      el("h2", { text: "Paired" }),
      el("p", {
        text: `Agent ${done.agentId} at ${agent} now serves workspace ${done.ws}; Unlock and Replay go through it.`,
      }),
    ]),
  );
}

form.addEventListener("submit", (e) => {
  e.preventDefault();
  busy(button, true);
  box.replaceChildren();
  pair()
    .catch((err: unknown) =>
      showState(
        box,
        err instanceof FluxState
          ? err
          : new FluxState("bad", "PAIRING_FAILED", "Pairing failed", "", "Retry."),
      ),
    )
    .finally(() => busy(button, false));
});
