// TenantryProvider: the API client for the signed-in Firebase user, shared by the hooks.
import { onIdTokenChanged, type Auth, type User } from "firebase/auth";
import { createContext, useContext, useEffect, useMemo, useState, type ReactNode } from "react";

import { createClient, type TenantryClient } from "./client";

export interface TenantryContextValue {
  client: TenantryClient;
  /** The signed-in user; null when signed out (or before authReady). */
  user: User | null;
  /** False until Firebase has restored (or ruled out) the session of an earlier visit. */
  authReady: boolean;
  /**
   * Changes when the identity behind the token changes (sign-in, sign-out, email verified): the
   * hooks refetch then. The hourly token refresh does not change it.
   */
  identity: string;
}

const TenantryContext = createContext<TenantryContextValue | null>(null);

export interface TenantryProviderProps {
  /** The GraphQL endpoint, e.g. https://api.example.com/graphql. */
  url: string;
  /** The app's Firebase Auth instance (getAuth(app)). */
  auth: Auth;
  children: ReactNode;
}

/**
 * TenantryProvider sends every operation with the current user's Firebase ID token. getIdToken()
 * returns the cached token and refreshes it when it is about to expire; onIdTokenChanged tells
 * the hooks when the user or their verified email changes, so what they show follows.
 */
export function TenantryProvider({ url, auth, children }: TenantryProviderProps) {
  const [user, setUser] = useState<User | null>(auth.currentUser);
  const [authReady, setAuthReady] = useState(false);
  const [identity, setIdentity] = useState(identityOf(auth.currentUser));

  useEffect(
    () =>
      onIdTokenChanged(auth, (u) => {
        setUser(u);
        setIdentity(identityOf(u));
        setAuthReady(true);
      }),
    [auth],
  );

  const client = useMemo(
    () => createClient(url, async (force) => (auth.currentUser ? auth.currentUser.getIdToken(force) : null)),
    [url, auth],
  );
  const value = useMemo(() => ({ client, user, authReady, identity }), [client, user, authReady, identity]);
  return <TenantryContext.Provider value={value}>{children}</TenantryContext.Provider>;
}

function identityOf(u: User | null): string {
  return u ? `${u.uid}:${u.emailVerified}` : "";
}

/** The provider's value; throws outside a TenantryProvider. */
export function useTenantry(): TenantryContextValue {
  const v = useContext(TenantryContext);
  if (!v) throw new Error("useTenantry and the Tenantry hooks need a <TenantryProvider> above them");
  return v;
}
