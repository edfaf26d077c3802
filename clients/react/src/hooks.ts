// The hooks an SPA on Tenantry uses. Queries run when a user is signed in and again when the
// identity changes (refetch() for anything else); mutations report loading and error.
import { useCallback, useEffect, useRef, useState } from "react";

import type {
  AcceptInvitationMutation,
  AcceptInvitationMutationVariables,
  InvitationStatus,
  InvitationsQuery,
  InvitationsQueryVariables,
  InviteMemberInput,
  InviteMemberMutation,
  InviteMemberMutationVariables,
  MeQuery,
  TenantQuery,
  TenantQueryVariables,
} from "./generated/graphql";
import { ACCEPT_INVITATION, INVITATIONS, INVITE_MEMBER, ME, TENANT } from "./operations";
import { ProvisionAttempt, type ProvisionTenantResult, type ProvisionTenantValues } from "./provision";
import { useTenantry } from "./provider";

export interface QueryState<T> {
  data: T | null;
  /** The last failure (a TenantryError); reasonFor(error, tenant) says it in the user's words. */
  error: unknown;
  loading: boolean;
  refetch: () => Promise<void>;
}

function useQuery<T, V extends object>(query: string, variables: V, skip: boolean): QueryState<T> {
  const { client, identity } = useTenantry();
  const [state, setState] = useState<{ data: T | null; error: unknown; loading: boolean }>({ data: null, error: null, loading: !skip });
  const vars = JSON.stringify(variables);
  const latest = useRef(0);

  const run = useCallback(async () => {
    const call = ++latest.current;
    setState((s) => ({ ...s, loading: true }));
    try {
      const data = await client.request<T, V>(query, JSON.parse(vars) as V);
      if (call === latest.current) setState({ data, error: null, loading: false });
    } catch (error) {
      if (call === latest.current) setState((s) => ({ data: s.data, error, loading: false }));
    }
  }, [client, query, vars]);

  useEffect(() => {
    if (skip || !identity) {
      latest.current++;
      setState({ data: null, error: null, loading: false });
      return;
    }
    void run();
  }, [run, skip, identity]);

  return { ...state, refetch: run };
}

/** Who is signed in, their platform role, and their organizations with each one's access. */
export function useMe() {
  const q = useQuery<MeQuery, Record<string, never>>(ME, {}, false);
  return { me: q.data?.me ?? null, loading: q.loading, error: q.error, refetch: q.refetch };
}

/** One tenant with its access (canRead, canWrite, reason): what the banner and the UI follow. */
export function useTenant(id: string | null | undefined) {
  const q = useQuery<TenantQuery, TenantQueryVariables>(TENANT, { id: id ?? "" }, !id);
  return { tenant: q.data?.tenant ?? null, loading: q.loading, error: q.error, refetch: q.refetch };
}

/** A tenant's invitations (owners and admins), optionally of one status. */
export function useInvitations(tenantId: string | null | undefined, status?: InvitationStatus) {
  const q = useQuery<InvitationsQuery, InvitationsQueryVariables>(INVITATIONS, { tenantId: tenantId ?? "", status: status ?? null }, !tenantId);
  return { invitations: q.data?.tenant?.invitations ?? [], loading: q.loading, error: q.error, refetch: q.refetch };
}

interface MutationState<T> {
  data: T | null;
  error: unknown;
  loading: boolean;
}

function useMutation<A extends unknown[], T>(fn: (...args: A) => Promise<T>) {
  const [state, setState] = useState<MutationState<T>>({ data: null, error: null, loading: false });
  const mutate = useCallback(
    async (...args: A): Promise<T> => {
      setState((s) => ({ ...s, loading: true, error: null }));
      try {
        const data = await fn(...args);
        setState({ data, error: null, loading: false });
        return data;
      } catch (error) {
        setState({ data: null, error, loading: false });
        throw error;
      }
    },
    [fn],
  );
  return { ...state, mutate };
}

/**
 * useProvisionTenant is the signup form's provisioning. Its idempotency key is made when the
 * component mounts and reused by every submission, so a double click or a retry after a network
 * failure gives one tenant (replayed: true on the repeats). reset() starts a new form (new key).
 */
export function useProvisionTenant() {
  const { client } = useTenantry();
  const [attempt, setAttempt] = useState(() => new ProvisionAttempt(client));
  const submit = useCallback((values: ProvisionTenantValues) => attempt.submit(values), [attempt]);
  const m = useMutation<[ProvisionTenantValues], ProvisionTenantResult>(submit);
  const reset = useCallback(() => setAttempt(new ProvisionAttempt(client)), [client]);
  return { provision: m.mutate, result: m.data, error: m.error, loading: m.loading, idempotencyKey: attempt.idempotencyKey, reset };
}

/** Invites an address to the tenant; the invitation email carries the link to accept it. */
export function useInviteMember(tenantId: string) {
  const { client } = useTenantry();
  const invite = useCallback(
    async (values: Omit<InviteMemberInput, "tenantId">) =>
      (await client.request<InviteMemberMutation, InviteMemberMutationVariables>(INVITE_MEMBER, { input: { ...values, tenantId } })).inviteMember,
    [client, tenantId],
  );
  const m = useMutation(invite);
  return { invite: m.mutate, invitation: m.data, error: m.error, loading: m.loading };
}

/**
 * Accepts the invitation of the link in the email (token is its ?token= parameter) as the
 * signed-in user, whose verified email must be the invited address. Accepting twice is harmless.
 */
export function useAcceptInvitation(token: string | null | undefined) {
  const { client } = useTenantry();
  const accept = useCallback(async () => {
    if (!token) throw new Error("the invitation link has no token; open the link from the email again");
    return (await client.request<AcceptInvitationMutation, AcceptInvitationMutationVariables>(ACCEPT_INVITATION, { token })).acceptInvitation;
  }, [client, token]);
  const m = useMutation(accept);
  return { accept: m.mutate, membership: m.data, error: m.error, loading: m.loading };
}
