// One error mapper for everything an SPA on Tenantry can be refused: the API's GraphQL errors
// (extensions.code) and Firestore's permission-denied from the rules. Both enforce the same
// policy table, so both become the same user-facing reasons, in the same words as the banner.
import type { TenantStatus } from "./generated/graphql";

/** Why something was refused (or, for TRIAL, what the banner says while a trial runs). */
export type ReasonCode =
  | "TRIAL" // a running trial (banner only)
  | "READ_ONLY_TRIAL" // the trial has ended: read-only until the owner upgrades
  | "PAST_DUE" // a payment failed: read-only until it is settled
  | "SUSPENDED" // suspended, cancelled or still being set up: nothing can be read
  | "NOT_ALLOWED" // the member's role (or app role) does not allow it
  | "SIGNED_OUT"
  | "NOT_FOUND"
  | "LIMIT_REACHED" // seats, pending invitations or a rate limit
  | "INVALID_INPUT"
  | "ALREADY_SUBMITTED" // the form's idempotency key was used with other values
  | "TRY_AGAIN"; // network trouble or an internal error

export interface Reason {
  code: ReasonCode;
  /** A sentence to show the user as it is. */
  message: string;
  /** The input field at fault, for INVALID_INPUT. */
  field?: string;
  /** The server's request id, for TRY_AGAIN after an internal error. */
  requestId?: string;
}

/** What the mapper needs to know about the tenant: its status, trial end and access (from useTenant). */
export interface TenantState {
  status: TenantStatus;
  trialEndsAt?: string | null;
  access?: { canRead: boolean; canWrite: boolean; reason?: string | null } | null;
}

const STATUS_WORDS: Record<"READ_ONLY_TRIAL" | "PAST_DUE" | "SUSPENDED", string> = {
  READ_ONLY_TRIAL: "Your trial has ended; upgrade to keep editing.",
  PAST_DUE: "Your last payment failed; update your payment method to keep editing.",
  SUSPENDED: "This organization is suspended; contact support to restore access.",
};

const ROLE_WORDS = "Your role does not allow this change; ask an owner or admin of the organization.";

/** The status-caused restriction in force for the tenant at now, or null when its status allows writing. */
export function statusReason(tenant: TenantState, now: Date = new Date()): Reason | null {
  const code = statusCode(tenant, now);
  if (code === null) return null;
  return { code, message: tenant.access?.reason || STATUS_WORDS[code] };
}

function statusCode(t: TenantState, now: Date): "READ_ONLY_TRIAL" | "PAST_DUE" | "SUSPENDED" | null {
  switch (t.status) {
    case "TRIAL_EXPIRED":
      return "READ_ONLY_TRIAL";
    case "TRIAL":
      // The rules close writes at trialEndsAt, before the nightly job records the expiry.
      return t.trialEndsAt && Date.parse(t.trialEndsAt) <= now.getTime() ? "READ_ONLY_TRIAL" : null;
    case "PAST_DUE":
      return "PAST_DUE";
    case "SUSPENDED":
    case "CANCELLED":
    case "PROVISIONING":
      return "SUSPENDED";
    default:
      return null;
  }
}

/** The banner to show over a tenant's pages, or null when there is nothing to say. */
export function bannerFor(tenant: TenantState, now: Date = new Date()): Reason | null {
  const status = statusReason(tenant, now);
  if (status) return status;
  if (tenant.access && !tenant.access.canWrite && tenant.access.reason) {
    return { code: "NOT_ALLOWED", message: tenant.access.reason };
  }
  if (tenant.status === "TRIAL" && tenant.trialEndsAt) {
    const days = Math.ceil((Date.parse(tenant.trialEndsAt) - now.getTime()) / 86_400_000);
    return { code: "TRIAL", message: `Trial: ${days} ${days === 1 ? "day" : "days"} left, until ${longDate(tenant.trialEndsAt)}.` };
  }
  return null;
}

/**
 * reasonFor maps any error an SPA meets (a TenantryError from the API, a FirestoreError from the
 * SDK, a network failure) to a Reason. Pass the tenant the action was about: a refusal caused by
 * the tenant's status then reads exactly like the banner, whichever side refused.
 */
export function reasonFor(error: unknown, tenant?: TenantState | null, now: Date = new Date()): Reason {
  const { code, message, field, requestId } = describe(error);
  switch (code) {
    case "TENANT_READ_ONLY":
      return (tenant && statusReason(tenant, now)) ?? { code: "READ_ONLY_TRIAL", message: sentence(message) };
    case "TENANT_SUSPENDED":
      return (tenant && statusReason(tenant, now)) ?? { code: "SUSPENDED", message: sentence(message) };
    case "permission-denied":
      return firestoreRefusal(tenant, now);
    case "FORBIDDEN":
      return { code: "NOT_ALLOWED", message: sentence(message) };
    case "UNAUTHENTICATED":
    case "unauthenticated":
      return { code: "SIGNED_OUT", message: "Your session has ended; sign in again." };
    case "NOT_FOUND":
    case "not-found":
      return { code: "NOT_FOUND", message: sentence(message) };
    case "SEAT_LIMIT_REACHED":
    case "INVITATION_LIMIT_REACHED":
    case "RATE_LIMITED":
    case "resource-exhausted":
      return { code: "LIMIT_REACHED", message: sentence(message) };
    case "BAD_USER_INPUT":
      return { code: "INVALID_INPUT", message: sentence(message), field };
    case "SUBDOMAIN_TAKEN":
      return { code: "INVALID_INPUT", message: sentence(message), field: "subdomain" };
    case "IDEMPOTENCY_KEY_REUSED":
      return { code: "ALREADY_SUBMITTED", message: "This form was already sent with other values; reload the page to start again." };
    default:
      return { code: "TRY_AGAIN", message: tryAgain(code, message), requestId };
  }
}

// The rules say only "permission-denied": the tenant's state says why.
function firestoreRefusal(tenant: TenantState | null | undefined, now: Date): Reason {
  if (!tenant) return { code: "NOT_ALLOWED", message: ROLE_WORDS };
  const status = statusReason(tenant, now);
  if (status) return status;
  if (tenant.access && !tenant.access.canWrite && tenant.access.reason) {
    return { code: "NOT_ALLOWED", message: tenant.access.reason };
  }
  return { code: "NOT_ALLOWED", message: ROLE_WORDS };
}

function describe(error: unknown): { code: string; message: string; field?: string; requestId?: string } {
  if (error && typeof error === "object") {
    const e = error as { code?: unknown; message?: unknown; field?: unknown; requestId?: unknown };
    return {
      code: typeof e.code === "string" ? e.code : "",
      message: typeof e.message === "string" ? e.message : "",
      field: typeof e.field === "string" ? e.field : undefined,
      requestId: typeof e.requestId === "string" ? e.requestId : undefined,
    };
  }
  return { code: "", message: "" };
}

function tryAgain(code: string, message: string): string {
  if (code === "NETWORK" || code === "unavailable") return "Tenantry could not be reached; check your connection and try again.";
  if (code === "INTERNAL") return sentence(message) || "Something went wrong on our side; try again.";
  return "Something went wrong; try again.";
}

// Server messages start lowercase (they are also used inside longer sentences).
function sentence(message: string): string {
  const m = message.trim();
  if (!m) return m;
  const s = m[0]!.toUpperCase() + m.slice(1);
  return /[.!?]$/.test(s) ? s : `${s}.`;
}

/** A date as the server's banner sentences write it: "January 2, 2006" (UTC). */
export function longDate(iso: string): string {
  return new Date(iso).toLocaleDateString("en-US", { month: "long", day: "numeric", year: "numeric", timeZone: "UTC" });
}
