/**
 * The incoming boundary: what starts an execution. One module per handler kind (fetch,
 * scheduled, queue, email, rpc, alarm) turns a live invocation into a trigger (its sealed payload
 * and result) plus the arguments the app receives, and a recorded payload back into arguments for
 * replay. Calls the app makes on those arguments (`message.ack()`, `email.forward()`,
 * `controller.noRetry()`) are `incoming` events, recorded and served like any call.
 * @module
 */
import type { Trigger } from "../../internal/recorder.js";
import type { HandlerKind } from "../../trace/schema.js";

/** Where a handler sits: the default export, or a named class. */
export interface IncomingContext {
  /** The class name of a Durable Object or entrypoint. */
  entry?: string;
  /** Route label of a request (fetch only). */
  route?(request: Request): string;
  /** The method name (rpc only). */
  method?: string;
}

/** An API the recording used that replay cannot serve (an incoming WebSocket upgrade). */
export interface UnsupportedUse {
  op: string;
  target: string;
}

export interface IncomingKind {
  readonly handler: HandlerKind;
  /** The trigger of a live invocation and the arguments handed to the app. */
  record(args: unknown[], context: IncomingContext): { trigger: Trigger<unknown>; args: unknown[] };
  /** The arguments of a replay, rebuilt from the recorded payload. */
  revive(
    payload: unknown,
    context: IncomingContext,
  ): { args: unknown[]; unsupported?: UnsupportedUse };
}
