/**
 * A small payments SDK client, the kind of dependency a real handler calls. Its calls go through
 * `fluxHost.call`, so a replay gets the recorded charge and never charges anyone.
 * @module
 */
import { fluxENV, fluxHost } from "fluxrun";

export interface Charge {
  id: string;
  status: "succeeded" | "declined";
  amount: number;
  currency: string;
}

export class PaymentsClient {
  readonly #baseUrl: string;

  constructor(baseUrl: string) {
    this.#baseUrl = baseUrl;
  }

  charge(input: { amount: number; currency: string; orderId: string }): Promise<Charge> {
    return fluxHost.call("payments.charge", [input], async () => {
      const res = await fetch(`${this.#baseUrl}/payments/charges`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${fluxENV.require("PAYMENTS_API_KEY")}`,
          "content-type": "application/json",
          "idempotency-key": input.orderId,
        },
        body: JSON.stringify(input),
      });
      if (!res.ok) throw new Error(`payments API answered ${res.status}`);
      return (await res.json()) as Charge;
    });
  }
}
