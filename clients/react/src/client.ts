// The GraphQL transport: one POST per operation, with the signed-in user's Firebase ID token.
// No cache and no normalisation: the hooks refetch what they show, which is all an SPA on
// Tenantry needs (Firestore is where its own data lives).

/** An error from Tenantry's API (GraphQL extensions.code) or from the network on the way. */
export class TenantryError extends Error {
  /** The contract's error code (extensions.code), or NETWORK when no answer arrived. */
  readonly code: string;
  /** The invalid input field, for BAD_USER_INPUT. */
  readonly field?: string;
  /** The server's request id (X-Request-Id), to quote to support. */
  readonly requestId?: string;

  constructor(message: string, code: string, opts: { field?: string; requestId?: string; cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.name = "TenantryError";
    this.code = code;
    this.field = opts.field;
    this.requestId = opts.requestId;
  }
}

/** Returns the current ID token, or null when signed out; force asks Firebase for a fresh one. */
export type TokenSource = (force: boolean) => Promise<string | null>;

export interface TenantryClient {
  request<TData, TVars extends object = Record<string, never>>(query: string, variables?: TVars): Promise<TData>;
}

interface GraphQLResponse<T> {
  data?: T | null;
  errors?: Array<{ message: string; extensions?: { code?: string; field?: string } }>;
}

/**
 * createClient sends operations to url. When the server answers UNAUTHENTICATED to a signed-in
 * user, the token is refreshed once and the operation sent again: a token revoked or expired
 * while the tab slept is renewed without bothering the user.
 */
export function createClient(url: string, token: TokenSource, fetchImpl: typeof fetch = (...a) => fetch(...a)): TenantryClient {
  async function send<T>(query: string, variables: object | undefined, force: boolean): Promise<{ body: GraphQLResponse<T>; requestId?: string; authed: boolean }> {
    const idToken = await token(force);
    const headers: Record<string, string> = { "Content-Type": "application/json" };
    if (idToken) headers.Authorization = `Bearer ${idToken}`;
    let res: Response;
    try {
      res = await fetchImpl(url, { method: "POST", headers, body: JSON.stringify({ query, variables }) });
    } catch (cause) {
      throw new TenantryError("Tenantry could not be reached; check your connection and try again.", "NETWORK", { cause });
    }
    const requestId = res.headers.get("X-Request-Id") ?? undefined;
    let body: GraphQLResponse<T>;
    try {
      body = (await res.json()) as GraphQLResponse<T>;
    } catch (cause) {
      throw new TenantryError(`Tenantry answered ${res.status} without a GraphQL body; try again.`, res.status >= 500 ? "INTERNAL" : "NETWORK", { requestId, cause });
    }
    return { body, requestId, authed: idToken !== null };
  }

  return {
    async request<TData, TVars extends object>(query: string, variables?: TVars): Promise<TData> {
      let { body, requestId, authed } = await send<TData>(query, variables, false);
      if (authed && firstCode(body) === "UNAUTHENTICATED") {
        ({ body, requestId } = await send<TData>(query, variables, true));
      }
      const err = body.errors?.[0];
      if (err) {
        throw new TenantryError(err.message, err.extensions?.code ?? "INTERNAL", { field: err.extensions?.field, requestId });
      }
      if (body.data == null) throw new TenantryError("Tenantry answered without data; try again.", "INTERNAL", { requestId });
      return body.data;
    },
  };
}

function firstCode(body: GraphQLResponse<unknown>): string | undefined {
  return body.errors?.[0]?.extensions?.code;
}
