/**
 * JS RPC methods of an entrypoint or Durable Object class, and Durable Object alarms. An RPC
 * execution records its arguments and returned value; arguments the trace cannot hold (stubs,
 * functions, streams) make the execution unsupported in replay.
 * @module
 */
import { isUnencodable, recordable } from "../../internal/values.js";
import type { IncomingKind } from "./_incoming.js";

interface RpcData {
  args: unknown;
}

export const rpcIncoming: IncomingKind = {
  handler: "rpc",
  record(args, context) {
    const method = context.method ?? "(method)";
    const route = context.entry ? `${context.entry}.${method}` : method;
    return {
      trigger: {
        handler: "rpc",
        ...(context.entry === undefined ? {} : { entry: context.entry }),
        method: "RPC",
        route,
        op: "rpc",
        target: method,
        capture: (): RpcData => ({ args: recordable(args) }),
        result: (value) => ({ op: "return", payload: recordable(value) }),
      },
      args,
    };
  },
  revive(payload, context) {
    const { args } = payload as RpcData;
    if (!Array.isArray(args) || isUnencodable(args)) {
      return { args: [], unsupported: { op: "rpc", target: context.method ?? "(method)" } };
    }
    return { args };
  },
};

interface AlarmData {
  info: { retryCount: number; isRetry: boolean } | null;
}

export const alarmIncoming: IncomingKind = {
  handler: "alarm",
  record([info], context) {
    const i = info as AlarmInvocationInfo | undefined;
    return {
      trigger: {
        handler: "alarm",
        ...(context.entry === undefined ? {} : { entry: context.entry }),
        method: "ALARM",
        route: context.entry ? `${context.entry}.alarm` : "alarm",
        op: "alarm",
        target: "alarm",
        capture: (): AlarmData => ({
          info: i ? { retryCount: i.retryCount, isRetry: i.isRetry } : null,
        }),
        result: () => ({ op: "return", payload: null }),
      },
      args: info === undefined ? [] : [info],
    };
  },
  revive(payload) {
    const { info } = payload as AlarmData;
    return { args: info ? [info] : [] };
  },
};
