/**
 * Queue producers: send and sendBatch (writes), metrics (a read).
 * @module
 */
import { bindingNames, type BindingKind } from "../_boundary.js";
import { wrapWithTable, type OperationTable } from "./_table.js";

const TABLE: OperationTable = {
  ops: {
    send: {
      type: "call",
      write: true,
      void: true,
      request: ({ args: [body, options] }) => ({ request: { body, options: options ?? null } }),
      capture: () => null,
      revive: () => undefined,
    },
    sendBatch: {
      type: "call",
      write: true,
      void: true,
      request: ({ args: [messages, options] }) => {
        // An iterable can be walked once: the list read here is what the real call receives.
        const list = [...(messages as Iterable<MessageSendRequest>)];
        return { request: { messages: list, options: options ?? null }, args: [list, options] };
      },
      capture: () => null,
      revive: () => undefined,
    },
    metrics: { type: "call", request: () => ({ request: null }) },
  },
};

export const queueBinding: BindingKind = {
  name: "queue",
  constructorNames: ["WorkerQueue"],
  replayable: true,
  wrap: (binding, name, options) =>
    wrapWithTable(binding, TABLE, { binding: name, target: name, state: undefined, ...options }),
  config: {
    wranglerKey: "queues",
    names: (section) => bindingNames((section as { producers?: unknown } | null)?.producers),
    miniflare: (names) => ({
      queueProducers: Object.fromEntries(
        names.map((q) => [q, { queueName: `fluxrun-replay-${q}` }]),
      ),
    }),
  },
  note: "Queue sends are served from the trace and never run",
};
