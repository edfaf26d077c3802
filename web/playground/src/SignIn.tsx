import {
  browserPopupRedirectResolver,
  GoogleAuthProvider,
  onIdTokenChanged,
  signInWithCredential,
  signInWithEmailAndPassword,
  signInWithPopup,
  signOut,
  type Auth,
  type User,
} from "firebase/auth";
import { useEffect, useState, type FormEvent } from "react";

import type { ConsoleConfig } from "./config";

interface Identity {
  email: string;
  /** The platform role as the server grants it (me.platformRole): null without staff power. */
  platformRole: string | null;
  /** The role claim on the token, shown when the server does not honour it. */
  claimedRole: string | null;
}

/** Who is signed in (and their platform role), or the form to sign in. */
export function SignInPanel({ auth, config }: { auth: Auth | null; config: ConsoleConfig }) {
  const [user, setUser] = useState<User | null>(null);
  const [identity, setIdentity] = useState<Identity | null>(null);
  const [error, setError] = useState("");

  useEffect(() => {
    if (!auth) return;
    return onIdTokenChanged(auth, (u) => {
      setUser(u);
      if (!u) return setIdentity(null);
      identify(u, config.graphqlURL).then(setIdentity, () => setIdentity({ email: u.email ?? u.uid, platformRole: null, claimedRole: null }));
    });
  }, [auth, config.graphqlURL]);

  return (
    <header className="panel">
      <div className="title">
        <span className="mark">T</span> Tenantry <span className="sub">Sales console</span>
      </div>
      {!auth && <div className="notice">Sign-in is not configured on this server (TENANTRY_FIREBASE_API_KEY). Paste an ID token in the Headers tab instead.</div>}
      {auth && user && <SignedIn auth={auth} identity={identity} />}
      {auth && !user && <SignInForm auth={auth} emulator={config.authEmulatorURL !== ""} onError={setError} />}
      {error && (
        <div className="error" role="alert">
          {error}
        </div>
      )}
    </header>
  );
}

function SignedIn({ auth, identity }: { auth: Auth; identity: Identity | null }) {
  return (
    <div className="who" data-testid="signed-in">
      <span className="email">{identity?.email ?? "…"}</span>
      {identity && (identity.platformRole ? <span className="role">{identity.platformRole}</span> : <span className="role none">{noRole(identity)}</span>)}
      <span className="hint">requests carry your ID token</span>
      <button className="quiet" onClick={() => void signOut(auth)}>
        Sign out
      </button>
    </div>
  );
}

function noRole(i: Identity): string {
  return i.claimedRole ? `${i.claimedRole.toUpperCase()} not honoured (verify your email)` : "no platform role";
}

function SignInForm({ auth, emulator, onError }: { auth: Auth; emulator: boolean; onError: (m: string) => void }) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const run = async (f: () => Promise<unknown>) => {
    onError("");
    try {
      await f();
    } catch (err) {
      onError(authWords((err as { code?: string }).code ?? ""));
    }
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void run(() => signInWithEmailAndPassword(auth, email, password));
  };
  // Locally the Auth emulator stands in for Google: it accepts a made-up Google identity for the
  // address typed in (no popup, no Google host). In production it is Google's own popup.
  const google = () =>
    run(() => {
      if (!emulator) return signInWithPopup(auth, new GoogleAuthProvider(), browserPopupRedirectResolver);
      if (!email) throw Object.assign(new Error(), { code: "console/google-email" });
      const fake = JSON.stringify({ sub: `google-${email}`, email, email_verified: true });
      return signInWithCredential(auth, GoogleAuthProvider.credential(fake));
    });
  return (
    <form className="signin" onSubmit={submit}>
      <input aria-label="Email" type="email" placeholder="you@company.com" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} />
      <input aria-label="Password" type="password" placeholder="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} />
      <button type="submit">Sign in</button>
      <button type="button" className="quiet" onClick={() => void google()}>
        {emulator ? "Google (emulator)" : "Sign in with Google"}
      </button>
    </form>
  );
}

const AUTH_WORDS: Record<string, string> = {
  "auth/invalid-credential": "That email and password do not match an account.",
  "auth/missing-password": "Type your password, or use Google.",
  "auth/popup-closed-by-user": "The Google window was closed before signing in.",
  "auth/network-request-failed": "Firebase Auth could not be reached.",
  "console/google-email": "Type the Google account's email first: the Auth emulator signs it in without a popup.",
};

function authWords(code: string): string {
  return AUTH_WORDS[code] ?? `Sign-in failed (${code || "unknown error"}).`;
}

// The server's view of the caller: platformRole counts only on a verified account (and a staff
// domain, when the server requires one), so the token's claim alone can mislead.
async function identify(user: User, graphqlURL: string): Promise<Identity> {
  const token = await user.getIdTokenResult();
  const claimedRole = typeof token.claims.platformRole === "string" ? token.claims.platformRole : null;
  const res = await fetch(graphqlURL, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${token.token}` },
    body: JSON.stringify({ query: "{ me { user { email } platformRole } }" }),
  });
  const body = (await res.json()) as { data?: { me: { user: { email: string }; platformRole: string | null } } };
  const me = body.data?.me;
  return { email: me?.user.email ?? user.email ?? user.uid, platformRole: me?.platformRole ?? null, claimedRole };
}
