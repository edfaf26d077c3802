import { FirestoreError } from "firebase/firestore";
import { describe, expect, it } from "vitest";

import { TenantryError } from "./client";
import { bannerFor, reasonFor, type TenantState } from "./errors";

const now = new Date("2026-06-15T12:00:00Z");
const expired: TenantState = {
  status: "TRIAL_EXPIRED",
  trialEndsAt: "2026-06-01T00:00:00Z",
  access: { canRead: true, canWrite: false, reason: "Your trial ended on June 1, 2026; upgrade to keep editing." },
};
// A trial past its end before the nightly job ran: the rules and the API already refuse writes.
const trialPastEnd: TenantState = { status: "TRIAL", trialEndsAt: "2026-06-10T00:00:00Z", access: null };
const pastDue: TenantState = { status: "PAST_DUE", access: { canRead: true, canWrite: false, reason: "Your last payment failed; update your payment method to keep editing." } };
const suspended: TenantState = { status: "SUSPENDED", access: { canRead: false, canWrite: false, reason: "This organization is suspended; contact support to restore access." } };
const viewerInTrial: TenantState = {
  status: "TRIAL",
  trialEndsAt: "2026-06-20T00:00:00Z",
  access: { canRead: true, canWrite: false, reason: "Your role can view but not edit; ask an admin for a different role." },
};
const memberInTrial: TenantState = { status: "TRIAL", trialEndsAt: "2026-06-20T00:00:00Z", access: { canRead: true, canWrite: true, reason: null } };

// What the SDK throws when the rules refuse (its constructor is internal to the SDK's types).
const FirestoreErrorClass = FirestoreError as unknown as new (code: string, message: string) => FirestoreError;
const denied = () => new FirestoreErrorClass("permission-denied", "Missing or insufficient permissions.");
const api = (code: string, message = "the server's words") => new TenantryError(message, code);

describe("reasonFor: the API and the rules refuse in the same words", () => {
  it.each([
    ["an ended trial", expired, "READ_ONLY_TRIAL"],
    ["a trial past its end before the job", trialPastEnd, "READ_ONLY_TRIAL"],
    ["a failed payment", pastDue, "PAST_DUE"],
    ["a suspension", suspended, "SUSPENDED"],
  ] as const)("%s", (_, tenant, code) => {
    const fromRules = reasonFor(denied(), tenant, now);
    const fromAPI = reasonFor(api(tenant.status === "SUSPENDED" ? "TENANT_SUSPENDED" : "TENANT_READ_ONLY"), tenant, now);
    expect(fromRules.code).toBe(code);
    expect(fromAPI).toEqual(fromRules);
    expect(fromRules).toEqual(bannerFor(tenant, now));
  });

  it("uses the server's banner sentence when the tenant carries one", () => {
    expect(reasonFor(denied(), expired, now).message).toBe("Your trial ended on June 1, 2026; upgrade to keep editing.");
  });

  it("says the trial ended when the tenant has no access sentence", () => {
    expect(reasonFor(denied(), trialPastEnd, now).message).toBe("Your trial has ended; upgrade to keep editing.");
  });

  it("blames the role when the status allows writing", () => {
    expect(reasonFor(denied(), viewerInTrial, now)).toEqual({ code: "NOT_ALLOWED", message: viewerInTrial.access!.reason });
    // The API says canWrite but the rules refused: an app role (or the document's schema) did.
    expect(reasonFor(denied(), memberInTrial, now).code).toBe("NOT_ALLOWED");
    expect(reasonFor(denied(), null, now).code).toBe("NOT_ALLOWED");
  });

  it("keeps the API's own sentence for FORBIDDEN, as a sentence", () => {
    expect(reasonFor(api("FORBIDDEN", "managers may invite only members and viewers"), memberInTrial, now)).toEqual({
      code: "NOT_ALLOWED",
      message: "Managers may invite only members and viewers.",
    });
  });

  it("reads a refusal without tenant context from the API's words", () => {
    expect(reasonFor(api("TENANT_READ_ONLY", "the organization is read-only"), undefined, now)).toEqual({ code: "READ_ONLY_TRIAL", message: "The organization is read-only." });
  });

  it.each([
    ["UNAUTHENTICATED", "SIGNED_OUT"],
    ["NOT_FOUND", "NOT_FOUND"],
    ["SEAT_LIMIT_REACHED", "LIMIT_REACHED"],
    ["INVITATION_LIMIT_REACHED", "LIMIT_REACHED"],
    ["RATE_LIMITED", "LIMIT_REACHED"],
    ["IDEMPOTENCY_KEY_REUSED", "ALREADY_SUBMITTED"],
    ["NETWORK", "TRY_AGAIN"],
    ["INTERNAL", "TRY_AGAIN"],
  ])("%s → %s", (code, want) => {
    expect(reasonFor(api(code), memberInTrial, now).code).toBe(want);
  });

  it("names the field of invalid input", () => {
    expect(reasonFor(new TenantryError("bad", "BAD_USER_INPUT", { field: "organizationName" }))).toMatchObject({ code: "INVALID_INPUT", field: "organizationName" });
    expect(reasonFor(api("SUBDOMAIN_TAKEN"))).toMatchObject({ code: "INVALID_INPUT", field: "subdomain" });
  });

  it("treats anything unknown as try again", () => {
    expect(reasonFor(new Error("boom")).code).toBe("TRY_AGAIN");
    expect(reasonFor("a string").code).toBe("TRY_AGAIN");
  });
});

describe("bannerFor", () => {
  it("counts a running trial's days", () => {
    expect(bannerFor(memberInTrial, now)).toEqual({ code: "TRIAL", message: "Trial: 5 days left, until June 20, 2026." });
  });
  it("says nothing for an active tenant with write access", () => {
    expect(bannerFor({ status: "ACTIVE", access: { canRead: true, canWrite: true, reason: null } }, now)).toBeNull();
  });
});
