/**
 * Agent refusals: one class with a code and an HTTP status; the body is
 * `{ "error": { "code", "message" } }`. Messages never carry tokens, keys or payloads.
 * @module
 */
import type { AgentErrorCode } from "./contract.js";

export class AgentError extends Error {
  override name = "AgentError";
  readonly code: AgentErrorCode;
  readonly status: 400 | 401 | 403 | 404 | 422 | 500 | 502 | 503;

  constructor(code: AgentErrorCode, status: AgentError["status"], message: string) {
    super(message);
    this.code = code;
    this.status = status;
  }
}
