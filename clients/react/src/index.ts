// @tenantry/react: the typed client, provider, hooks, error mapper and Firestore helpers for an
// SPA built on Tenantry.
export { TenantryProvider, useTenantry, type TenantryProviderProps, type TenantryContextValue } from "./provider";
export { useMe, useTenant, useInvitations, useProvisionTenant, useInviteMember, useAcceptInvitation, type QueryState } from "./hooks";
export { reasonFor, bannerFor, statusReason, longDate, type Reason, type ReasonCode, type TenantState } from "./errors";
export { tenantDoc, tenantCollection, tenantDocIn, SERVER_OWNED } from "./firestore";
export { createClient, TenantryError, type TenantryClient, type TokenSource } from "./client";
export { ProvisionAttempt, newIdempotencyKey, type ProvisionTenantResult, type ProvisionTenantValues } from "./provision";
export * as operations from "./operations";
export type * from "./generated/graphql";
