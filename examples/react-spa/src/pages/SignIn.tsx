import { createUserWithEmailAndPassword, signInWithEmailAndPassword } from "firebase/auth";
import { useState, type FormEvent } from "react";

import { auth } from "../firebase";

const AUTH_WORDS: Record<string, string> = {
  "auth/invalid-credential": "That email and password do not match an account.",
  "auth/email-already-in-use": "An account with that email exists: sign in instead.",
  "auth/weak-password": "Choose a password of at least 6 characters.",
  "auth/invalid-email": "That is not an email address.",
  "auth/network-request-failed": "Firebase Auth could not be reached; check your connection.",
};

/** Sign in, or create an account, with email and password (Firebase Auth; locally its emulator). */
export function SignInPage({ intro, defaultEmail = "" }: { intro?: string; defaultEmail?: string }) {
  const [mode, setMode] = useState<"signin" | "signup">("signup");
  const [email, setEmail] = useState(defaultEmail);
  const [password, setPassword] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError("");
    try {
      if (mode === "signup") await createUserWithEmailAndPassword(auth, email, password);
      else await signInWithEmailAndPassword(auth, email, password);
    } catch (err) {
      const code = (err as { code?: string }).code ?? "";
      setError(AUTH_WORDS[code] ?? "Signing in failed; try again.");
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="narrow">
      <h1>{mode === "signup" ? "Create your account" : "Welcome back"}</h1>
      <p className="muted">{intro ?? "Clinicly keeps your clinic's clients and appointments. Start a free trial for your team."}</p>
      <div className="tabs" role="tablist">
        <button role="tab" aria-selected={mode === "signup"} className={mode === "signup" ? "tab on" : "tab"} onClick={() => setMode("signup")}>
          Sign up
        </button>
        <button role="tab" aria-selected={mode === "signin"} className={mode === "signin" ? "tab on" : "tab"} onClick={() => setMode("signin")}>
          Sign in
        </button>
      </div>
      <form className="card form" onSubmit={(e) => void submit(e)}>
        <label>
          Email
          <input name="email" type="email" autoComplete="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete={mode === "signup" ? "new-password" : "current-password"} required minLength={6} value={password} onChange={(e) => setPassword(e.target.value)} />
        </label>
        {error && (
          <div className="note warn" role="alert">
            {error}
          </div>
        )}
        <button type="submit" disabled={busy}>
          {mode === "signup" ? "Create account" : "Sign in"}
        </button>
      </form>
    </div>
  );
}
