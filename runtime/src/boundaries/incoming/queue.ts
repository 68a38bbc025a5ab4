/**
 * Queue consumers: `queue(batch)`. The payload is the queue name and each message (id,
 * timestamp, body, attempts); every `ack`, `retry`, `ackAll` and `retryAll` is an incoming call,
 * so a replay that acknowledges differently diverges.
 * @module
 */
import { currentSession } from "../../internal/session.js";
import { recordable } from "../../internal/values.js";
import type { IncomingKind } from "./_incoming.js";

interface MessageData {
  id: string;
  timestamp: Date;
  body: unknown;
  attempts: number;
}

interface BatchData {
  queue: string;
  messages: MessageData[];
}

/** An acknowledgement call on the batch or one message, recorded; `real` runs only live. */
function ackCall(op: string, target: string, real?: (options?: unknown) => void) {
  return (options?: unknown) => {
    const session = currentSession();
    if (!session) return real?.(options);
    session.callSync({
      kind: "incoming",
      op,
      target,
      write: true,
      request: options ?? null,
      blocked: () => null,
      live: () => {
        real?.(options);
        return null;
      },
    });
  };
}

function bound(target: object, name: string): ((options?: unknown) => void) | undefined {
  const fn = Reflect.get(target, name) as unknown;
  return typeof fn === "function" ? (options) => fn.call(target, options) : undefined;
}

function recordingMessage(message: Message): Message {
  return new Proxy(message, {
    get(target, prop) {
      if (prop === "ack" || prop === "retry") {
        return ackCall(prop, target.id, bound(target, prop));
      }
      const v = Reflect.get(target, prop) as unknown;
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

export const queueIncoming: IncomingKind = {
  handler: "queue",
  record([batch], context) {
    const b = batch as MessageBatch;
    const messages = b.messages.map(recordingMessage);
    const wrapped = new Proxy(b, {
      get(target, prop) {
        if (prop === "messages") return messages;
        if (prop === "ackAll" || prop === "retryAll") {
          return ackCall(prop, target.queue, bound(target, prop));
        }
        const v = Reflect.get(target, prop) as unknown;
        return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    return {
      trigger: {
        handler: "queue",
        ...(context.entry === undefined ? {} : { entry: context.entry }),
        method: "QUEUE",
        route: b.queue,
        op: "queue",
        target: b.queue,
        capture: (): BatchData => ({
          queue: b.queue,
          messages: b.messages.map((m) => ({
            id: m.id,
            timestamp: m.timestamp,
            body: recordable(m.body),
            attempts: m.attempts,
          })),
        }),
        result: () => ({ op: "return", payload: null }),
      },
      args: [wrapped],
    };
  },
  revive(payload) {
    const d = payload as BatchData;
    const messages = d.messages.map((m) => ({
      id: m.id,
      timestamp: new Date(m.timestamp),
      body: m.body,
      attempts: m.attempts,
      ack: ackCall("ack", m.id),
      retry: ackCall("retry", m.id),
    }));
    return {
      args: [
        {
          queue: d.queue,
          messages,
          ackAll: ackCall("ackAll", d.queue),
          retryAll: ackCall("retryAll", d.queue),
        },
      ],
    };
  },
};
