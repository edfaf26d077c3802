import { useAcceptInvitation, useTenantry } from "@tenantry/react";

import { Link } from "../router";
import { Card, ErrorNote, VerifyEmailNotice } from "../ui";
import { SignInPage } from "./SignIn";

/**
 * The page of the link in the invitation email (/invitations/accept?token=…). The invitee signs in
 * (or signs up) with the invited address, verifies it, and joins.
 */
export function AcceptInvitationPage({ token }: { token: string | null }) {
  const { user } = useTenantry();
  const { accept, membership, loading, error } = useAcceptInvitation(token);

  if (!token) return <ErrorNote error={{ code: "NOT_FOUND", message: "this link has no invitation in it; open the link from the email again" }} />;
  if (!user) return <SignInPage intro="You were invited to an organization on Clinicly. Create your account with the address the invitation was sent to, or sign in." />;

  return (
    <div className="narrow">
      <h1>Join your team</h1>
      <VerifyEmailNotice why="before joining: the invitation is for that address." />
      <Card title="Invitation">
        {membership ? (
          <div className="note ok" role="status" data-testid="joined">
            You joined <strong>{membership.tenant.name}</strong> as {membership.role.toLowerCase()}. <Link to={`/tenants/${membership.tenant.id}`}>Open {membership.tenant.name}</Link>
          </div>
        ) : (
          <>
            <p>
              Signed in as <strong>{user.email}</strong>.
            </p>
            <ErrorNote error={error} />
            <button onClick={() => void accept().catch(() => undefined)} disabled={loading || !user.emailVerified}>
              Accept invitation
            </button>
          </>
        )}
      </Card>
    </div>
  );
}
