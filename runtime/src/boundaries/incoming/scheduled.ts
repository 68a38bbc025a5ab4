/**
 * Cron triggers: `scheduled(controller)`. The payload is the cron expression and scheduled time;
 * `controller.noRetry()` is an incoming call.
 * @module
 */
import { currentSession } from "../../internal/session.js";
import type { IncomingKind } from "./_incoming.js";

interface ScheduledData {
  cron: string;
  scheduledTime: number;
  type: string;
}

function noRetry(real?: () => void): () => void {
  return () => {
    const session = currentSession();
    if (!session) return real?.();
    session.callSync({
      kind: "incoming",
      op: "noRetry",
      target: "controller",
      request: null,
      blocked: () => null,
      live: () => {
        real?.();
        return null;
      },
    });
  };
}

export const scheduledIncoming: IncomingKind = {
  handler: "scheduled",
  record([controller], context) {
    const c = controller as ScheduledController;
    const data: ScheduledData = {
      cron: c.cron,
      scheduledTime: c.scheduledTime,
      type: (c as { type?: string }).type ?? "scheduled",
    };
    const wrapped = new Proxy(c, {
      get(target, prop) {
        const v = Reflect.get(target, prop) as unknown;
        if (prop === "noRetry" && typeof v === "function") return noRetry(() => v.call(target));
        return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    return {
      trigger: {
        handler: "scheduled",
        ...(context.entry === undefined ? {} : { entry: context.entry }),
        method: "SCHEDULED",
        route: data.cron || "(no cron)",
        op: "scheduled",
        target: data.cron || "(no cron)",
        capture: () => data,
        result: () => ({ op: "return", payload: null }),
      },
      args: [wrapped],
    };
  },
  revive(payload) {
    const d = payload as ScheduledData;
    return {
      args: [{ cron: d.cron, scheduledTime: d.scheduledTime, type: d.type, noRetry: noRetry() }],
    };
  },
};
