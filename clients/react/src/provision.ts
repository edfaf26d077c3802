// Self-serve provisioning as a form sends it. The idempotency key is made once, when the form is
// shown, and every submission of that form carries it: a double click, a retry after a timeout or
// a lost answer all give the same one tenant (the server answers replays with replayed: true).
import type { TenantryClient } from "./client";
import type { ProvisionTenantInput, ProvisionTenantMutation, ProvisionTenantMutationVariables } from "./generated/graphql";
import { PROVISION_TENANT } from "./operations";

export type ProvisionTenantResult = ProvisionTenantMutation["provisionTenant"];
export type ProvisionTenantValues = Omit<ProvisionTenantInput, "idempotencyKey">;

/** A new idempotency key: 128 random bits, as the server expects of a client-made key. */
export function newIdempotencyKey(): string {
  return `spa-${crypto.randomUUID()}`;
}

/** One provisioning form: one key, and at most one request in flight. */
export class ProvisionAttempt {
  readonly idempotencyKey: string;
  private inFlight: Promise<ProvisionTenantResult> | null = null;

  constructor(private readonly client: TenantryClient, key: string = newIdempotencyKey()) {
    this.idempotencyKey = key;
  }

  /**
   * submit sends the form. While a submission is in flight, another one (a double click) gets
   * the same promise instead of a second request; after a failure the next submission sends the
   * same key again, so a request that did reach the server is answered as a replay.
   */
  submit(values: ProvisionTenantValues): Promise<ProvisionTenantResult> {
    if (this.inFlight) return this.inFlight;
    const input: ProvisionTenantInput = { ...values, idempotencyKey: this.idempotencyKey };
    this.inFlight = this.client
      .request<ProvisionTenantMutation, ProvisionTenantMutationVariables>(PROVISION_TENANT, { input })
      .then((r) => r.provisionTenant)
      .finally(() => {
        this.inFlight = null;
      });
    return this.inFlight;
  }
}
