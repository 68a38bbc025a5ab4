/**
 * Clock and id generation, injected so tests freeze time instead of sleeping.
 * @module
 */

export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** A fresh unique id (jti, user ids, guard ids, batch ids). */
  id(): string;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  id: () => crypto.randomUUID(),
};
