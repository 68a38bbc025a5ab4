/**
 * Agent refusals: one class with a code from the agent contract, whose HTTP status the contract
 * fixes; the body is `{ "error": { "code", "message" } }`. Messages never carry tokens, keys or
 * payloads.
 * @module
 */
import { AGENT_ERRORS, type AgentErrorBody, type AgentErrorCode } from "fluxrun/contract";

/**
 * A refusal the agent answers with its contract status.
 *
 * @example
 * ```ts
 * throw new AgentError("ERR_TOKEN_TRACE", "The token was issued for another trace");
 * ```
 */
export class AgentError extends Error {
  override name = "AgentError";
  readonly code: AgentErrorCode;

  constructor(code: AgentErrorCode, message: string) {
    super(message);
    this.code = code;
  }

  get status(): (typeof AGENT_ERRORS)[AgentErrorCode] {
    return AGENT_ERRORS[this.code];
  }

  toJSON(): AgentErrorBody {
    return { error: { code: this.code, message: this.message } };
  }
}
