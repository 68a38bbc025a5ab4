/**
 * Service bindings (Fetcher): `fetch` is an HTTP exchange with the bound worker, every other
 * method a JS RPC call (arguments and result recorded); `connect` (raw sockets) is unsupported.
 * The RPC operation is shared with Durable Object stubs.
 * @module
 */
import { FluxError } from "../../errors.js";
import { isUnencodable, recordable } from "../../internal/values.js";
import { bindingNames, type BindingKind } from "../_boundary.js";
import { httpExchange } from "../http.js";
import { isRpcStub } from "./_call.js";
import {
  wrapWithTable,
  type CallOperation,
  type DirectOperation,
  type OperationTable,
} from "./_table.js";

/**
 * A JS RPC method call: arguments and result recorded when the trace can hold them. A result it
 * cannot hold (a stub, a function, a stream) is refused in replay. RPC may change anything, so it
 * counts as a write.
 */
export const rpcCall: CallOperation = {
  type: "call",
  write: true,
  request: ({ args }) => ({ request: recordable(args) }),
  capture: (value) => recordable(value),
  revive(data, c, live) {
    if (live !== undefined) return live;
    if (isUnencodable(data)) {
      throw new FluxError(
        "ERR_REPLAY_UNSUPPORTED",
        `Replay cannot serve the result of an RPC call on ${c.h.target}: it was a ${data.unencodable}`,
      );
    }
    return data;
  },
};

/** `fetch(input, init)` on a Fetcher-like object: an HTTP exchange through the session. */
export const fetchExchange: DirectOperation = {
  type: "direct",
  invoke(h, [input, init], session, site) {
    const real = h.real as Fetcher;
    if (!session) return real.fetch(input as Request, init as RequestInit);
    let request: Request;
    try {
      request = new Request(input as Request, init as RequestInit);
    } catch (err) {
      return Promise.reject(err);
    }
    return httpExchange(session, {
      kind: "binding",
      target: h.target,
      request,
      live: (r) => real.fetch(r),
      site,
    });
  },
};

const TABLE: OperationTable = {
  ops: { fetch: fetchExchange },
  rpc: () => rpcCall,
};

export const serviceBinding: BindingKind = {
  name: "service",
  constructorNames: ["Fetcher"],
  matches: (v) => typeof (v as { fetch?: unknown }).fetch === "function" && isRpcStub(v),
  replayable: true,
  wrap: (binding, name, options) =>
    wrapWithTable(binding, TABLE, { binding: name, target: name, state: undefined, ...options }),
  config: {
    wranglerKey: "services",
    names: (section) => bindingNames(section),
  },
  note: "Service binding fetch and RPC calls are served from the trace and never reach the bound worker",
};
