import { describe, expect, it } from "vitest";

import { TenantryError, type TenantryClient } from "./client";
import { ProvisionAttempt } from "./provision";

// A transport that records each request's idempotency key and answers as the server does: the
// first request with a key provisions, later ones with the same key are replays.
function recordingClient(opts: { loseFirstAnswer?: boolean } = {}) {
  const keys: string[] = [];
  let lost = false;
  const client: TenantryClient = {
    async request<T>(_query: string, variables?: object): Promise<T> {
      const key = (variables as { input: { idempotencyKey: string } }).input.idempotencyKey;
      const replayed = keys.includes(key);
      keys.push(key);
      await new Promise((r) => setTimeout(r, 5));
      if (opts.loseFirstAnswer && !lost) {
        lost = true; // the server provisioned, the answer never arrived
        throw new TenantryError("unreachable", "NETWORK");
      }
      return { provisionTenant: { replayed, tenant: { id: `t-${key}` } } } as T;
    },
  };
  return { client, keys };
}

describe("ProvisionAttempt", () => {
  it("sends one request for a double click", async () => {
    const { client, keys } = recordingClient();
    const form = new ProvisionAttempt(client);
    const [a, b] = await Promise.all([form.submit({ organizationName: "Acme" }), form.submit({ organizationName: "Acme" })]);
    expect(keys).toHaveLength(1);
    expect(a).toBe(b);
  });

  it("retries with the same key after a lost answer, and gets the first tenant back", async () => {
    const { client, keys } = recordingClient({ loseFirstAnswer: true });
    const form = new ProvisionAttempt(client);
    await expect(form.submit({ organizationName: "Acme" })).rejects.toMatchObject({ code: "NETWORK" });
    const retry = await form.submit({ organizationName: "Acme" });
    expect(keys).toEqual([form.idempotencyKey, form.idempotencyKey]);
    expect(retry).toMatchObject({ replayed: true, tenant: { id: `t-${form.idempotencyKey}` } });
  });

  it("gives each form its own key", () => {
    const { client } = recordingClient();
    expect(new ProvisionAttempt(client).idempotencyKey).not.toBe(new ProvisionAttempt(client).idempotencyKey);
  });
});
