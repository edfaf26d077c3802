// Small presentational pieces shared by the pages.
import { bannerFor, reasonFor, type Reason, type TenantState } from "@tenantry/react";
import { sendEmailVerification } from "firebase/auth";
import { useState, type ReactNode } from "react";

import { auth } from "./firebase";

const TONE: Record<Reason["code"], string> = {
  TRIAL: "info",
  READ_ONLY_TRIAL: "warn",
  PAST_DUE: "warn",
  SUSPENDED: "danger",
  NOT_ALLOWED: "warn",
  SIGNED_OUT: "warn",
  NOT_FOUND: "warn",
  LIMIT_REACHED: "warn",
  INVALID_INPUT: "warn",
  ALREADY_SUBMITTED: "warn",
  TRY_AGAIN: "danger",
};

/** The tenant's banner: a running trial, or why access is restricted (from Tenant.access). */
export function Banner({ tenant }: { tenant: TenantState }) {
  const b = bannerFor(tenant);
  if (!b) return null;
  return (
    <div className={`banner ${TONE[b.code]}`} role="status" data-testid="banner" data-code={b.code}>
      {b.message}
    </div>
  );
}

/** An error in the user's words, from the same mapper as the banner. */
export function ErrorNote({ error, tenant }: { error: unknown; tenant?: TenantState | null }) {
  if (!error) return null;
  const r = reasonFor(error, tenant);
  return (
    <div className={`note ${TONE[r.code]}`} role="alert" data-testid="error" data-code={r.code}>
      {r.message}
      {r.requestId && <small> (request {r.requestId})</small>}
    </div>
  );
}

export function Card({ title, children, aside, wide }: { title: string; children: ReactNode; aside?: ReactNode; wide?: boolean }) {
  return (
    <section className={wide ? "card wide" : "card"}>
      <div className="card-head">
        <h2>{title}</h2>
        {aside}
      </div>
      {children}
    </section>
  );
}

export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge s-${status.toLowerCase()}`}>{status.replace("_", " ").toLowerCase()}</span>;
}

/**
 * Inviting and joining need a verified email address (Tenantry's rule: anyone can sign up with
 * any address). The link arrives by email (locally: the Auth emulator); after following it,
 * "I have verified it" reloads the user and refreshes the ID token, so the server sees the claim.
 */
export function VerifyEmailNotice({ why }: { why: string }) {
  const user = auth.currentUser;
  const [sent, setSent] = useState(false);
  const [error, setError] = useState("");
  if (!user || user.emailVerified) return null;
  const send = async () => {
    setError("");
    try {
      await sendEmailVerification(user);
      setSent(true);
    } catch {
      setError("The verification email could not be sent; try again in a minute.");
    }
  };
  const done = async () => {
    await user.reload();
    await user.getIdToken(true);
    if (!auth.currentUser?.emailVerified) setError("Not verified yet: follow the link in the email first.");
  };
  return (
    <div className="banner info verify" data-testid="verify-email">
      <div>
        <strong>Verify {user.email}</strong> {why}
        {sent && <div className="muted">Verification email sent. Follow its link, then come back.</div>}
        {error && <div className="muted">{error}</div>}
      </div>
      <div className="row">
        <button onClick={() => void send()}>{sent ? "Send again" : "Send verification email"}</button>
        <button className="secondary" onClick={() => void done()}>
          I have verified it
        </button>
      </div>
    </div>
  );
}
