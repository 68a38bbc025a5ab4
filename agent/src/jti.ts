/**
 * Single use across isolates: one Durable Object per token id. A Durable Object runs one request
 * at a time, so of two simultaneous uses of a token exactly one finds it unused.
 * @module
 */
import { DurableObject } from "cloudflare:workers";

export class JtiStore extends DurableObject {
  /** Marks the token used; true only for the first call. The record expires after `exp`. */
  async consume(exp: number): Promise<boolean> {
    const used = await this.ctx.storage.get<number>("exp");
    if (used !== undefined) return false;
    await this.ctx.storage.put("exp", exp);
    await this.ctx.storage.setAlarm(Math.max(Date.now(), exp * 1000) + 60_000);
    return true;
  }

  override async alarm(): Promise<void> {
    await this.ctx.storage.deleteAll();
  }
}
