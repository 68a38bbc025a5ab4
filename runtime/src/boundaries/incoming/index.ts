/**
 * The incoming kinds by handler name.
 * @module
 */
import type { HandlerKind } from "../../trace/schema.js";
import type { IncomingKind } from "./_incoming.js";
import { emailIncoming } from "./email.js";
import { fetchIncoming } from "./fetch.js";
import { queueIncoming } from "./queue.js";
import { alarmIncoming, rpcIncoming } from "./rpc.js";
import { scheduledIncoming } from "./scheduled.js";

export const INCOMING: Readonly<Record<HandlerKind, IncomingKind>> = {
  fetch: fetchIncoming,
  scheduled: scheduledIncoming,
  queue: queueIncoming,
  email: emailIncoming,
  rpc: rpcIncoming,
  alarm: alarmIncoming,
};

export type { IncomingKind, IncomingContext, UnsupportedUse } from "./_incoming.js";
