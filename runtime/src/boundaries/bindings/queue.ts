/**
 * Queue producers: send and sendBatch (writes).
 * @module
 */
import type { BindingBoundary } from "../_boundary.js";
import { bindingCall, hasMethods } from "./_call.js";

function wrapQueue(queue: Queue, name: string): Queue {
  const wrapper = {
    send: (body: unknown, options?: QueueSendOptions) =>
      bindingCall(name, {
        op: "send",
        write: true,
        request: { body, options: options ?? null },
        live: async () => {
          await queue.send(body, options);
          return null;
        },
      }).then(() => undefined),
    sendBatch: (messages: Iterable<MessageSendRequest>, options?: QueueSendBatchOptions) => {
      const list = [...messages];
      return bindingCall(name, {
        op: "sendBatch",
        write: true,
        request: { messages: list, options: options ?? null },
        live: async () => {
          await queue.sendBatch(list, options);
          return null;
        },
      }).then(() => undefined);
    },
  };
  return wrapper as unknown as Queue;
}

export const queueBinding: BindingBoundary = {
  name: "queue",
  matches: (v) => hasMethods(v, "send", "sendBatch"),
  wrap: (binding, name) => wrapQueue(binding as Queue, name),
};
