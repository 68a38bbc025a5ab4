/**
 * The page scripts' two kinds of call: to the dashboard (same origin, the session cookie) and to
 * the workspace's agent (another origin, a single-use bearer token, no cookies). Every failure
 * becomes a {@link FluxState}.
 * @module
 */
import type { AgentAction } from "fluxrun/contract";
import type { IssuedToken, TokenRequestBody } from "../src/browser.js";
import {
  DEFAULT_TIMEOUT_MS,
  FluxState,
  fromAgent,
  fromDashboard,
  networkState,
  notAnswering,
  type AgentContext,
} from "./states.js";

async function answer(res: Response): Promise<unknown> {
  return res.json().catch(() => null);
}

/**
 * A JSON call to the dashboard.
 *
 * @example
 * ```ts
 * const saved = await dashboard<SavedGuard>("/api/guards", { trace, report });
 * ```
 */
export async function dashboard<T>(path: string, payload: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      signal: AbortSignal.timeout(DEFAULT_TIMEOUT_MS),
      method: "POST",
      credentials: "same-origin",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(payload),
    });
  } catch {
    throw new FluxState(
      "bad",
      "DASHBOARD_UNREACHABLE",
      "The dashboard did not answer",
      "",
      "Check your connection and reload.",
    );
  }
  const body = await answer(res);
  if (!res.ok) throw fromDashboard(res.status, body);
  return body as T;
}

/** A token for one action on this page's trace. */
export function issue(request: TokenRequestBody): Promise<IssuedToken> {
  return dashboard<IssuedToken>("/api/tokens", request);
}

/**
 * A call to the agent: `POST` with a token and a JSON body, or `GET` without either.
 *
 * @example
 * ```ts
 * const report = await agent<ReplayResponse>(origin, "/v1/replay", ctx, { token, payload: { trace } });
 * ```
 */
export async function agent<T>(
  origin: string,
  path: `/v1/${AgentAction | "health"}`,
  ctx: AgentContext,
  call: { token: string; payload: unknown } | null = null,
): Promise<T> {
  let res: Response;
  const timeoutMs = ctx.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  try {
    res = await fetch(origin + path, {
      signal: AbortSignal.timeout(timeoutMs),
      mode: "cors",
      credentials: "omit",
      cache: "no-store",
      ...(call
        ? {
            method: "POST",
            headers: { authorization: `Bearer ${call.token}`, "content-type": "application/json" },
            body: JSON.stringify(call.payload),
          }
        : {}),
    });
  } catch (err) {
    if (err instanceof DOMException && err.name === "TimeoutError") {
      throw notAnswering(origin, timeoutMs);
    }
    throw await networkState(origin);
  }
  const body = await answer(res);
  if (!res.ok) throw fromAgent(res.status, body, ctx);
  return body as T;
}
