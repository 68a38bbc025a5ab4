/**
 * Email Workers: `email(message)`. The payload is the envelope (from, to), headers and the raw
 * message (cut to the body limit); the app reads the raw stream through one branch of a tee.
 * `setReject` is a recorded incoming call, `forward` and `reply` recorded writes.
 * @module
 */
import { currentSession } from "../../internal/session.js";
import { headerPairs, readStream, recordable } from "../../internal/values.js";
import type { Body } from "../../trace/schema.js";
import { streamOf } from "../bindings/_call.js";
import type { IncomingKind } from "./_incoming.js";

interface EmailData {
  from: string;
  to: string;
  headers: [string, string][];
  raw: Body;
  rawSize: number;
}

function setReject(real?: (reason: string) => void) {
  return (reason: string) => {
    const session = currentSession();
    if (!session) return real?.(reason);
    session.callSync({
      kind: "incoming",
      op: "setReject",
      target: "email",
      write: true,
      request: { reason },
      blocked: () => null,
      live: () => {
        real?.(reason);
        return null;
      },
    });
  };
}

function send(op: "forward" | "reply", real?: (...args: unknown[]) => Promise<unknown>) {
  return (...args: unknown[]): Promise<unknown> => {
    const session = currentSession();
    if (!session) return real ? real(...args) : Promise.resolve();
    return session.call({
      kind: "incoming",
      op,
      target: "email",
      write: true,
      blocked: () => null,
      request: recordable(args),
      live: async () => (real ? recordable(await real(...args)) : null),
      capture: (value) => ({ value, data: value }),
      revive: (data) => data,
    });
  };
}

export const emailIncoming: IncomingKind = {
  handler: "email",
  record([message], context) {
    const m = message as ForwardableEmailMessage;
    const [appRaw, recorderRaw] = m.raw.tee();
    const wrapped = new Proxy(m, {
      get(target, prop) {
        if (prop === "raw") return appRaw;
        const v = Reflect.get(target, prop) as unknown;
        if (typeof v !== "function") return v;
        const fn = (...args: unknown[]) => Reflect.apply(v, target, args) as Promise<unknown>;
        if (prop === "setReject") return setReject(fn);
        if (prop === "forward" || prop === "reply") return send(prop, fn);
        return fn;
      },
    });
    return {
      trigger: {
        handler: "email",
        ...(context.entry === undefined ? {} : { entry: context.entry }),
        method: "EMAIL",
        route: "email",
        op: "email",
        target: "email",
        capture: async (limit): Promise<EmailData> => ({
          from: m.from,
          to: m.to,
          headers: headerPairs(m.headers),
          raw: await readStream(recorderRaw, limit),
          rawSize: m.rawSize,
        }),
        result: () => ({ op: "return", payload: null }),
      },
      args: [wrapped],
    };
  },
  revive(payload) {
    const d = payload as EmailData;
    const raw = d.raw instanceof Uint8Array ? d.raw : new Uint8Array(0);
    return {
      args: [
        {
          from: d.from,
          to: d.to,
          headers: new Headers(d.headers),
          raw: streamOf(raw),
          rawSize: d.rawSize,
          setReject: setReject(),
          forward: send("forward"),
          reply: send("reply"),
        },
      ],
    };
  },
};
