import { longDate, useInvitations, useInviteMember, useMe, useTenant, type Role, type TenantFieldsFragment } from "@tenantry/react";
import { useState, type FormEvent } from "react";

import { Link } from "../router";
import { Banner, Card, ErrorNote, StatusBadge, VerifyEmailNotice } from "../ui";

const INVITABLE: Record<string, Role[]> = {
  OWNER: ["ADMIN", "MANAGER", "MEMBER", "VIEWER"],
  ADMIN: ["ADMIN", "MANAGER", "MEMBER", "VIEWER"],
  MANAGER: ["MEMBER", "VIEWER"],
};

/** An organization: its banner, seats and plan, and (for those who may) invitations. */
export function TenantPage({ tenantId }: { tenantId: string }) {
  const { tenant, error, loading, refetch } = useTenant(tenantId);
  const { me } = useMe();
  const role = me?.memberships.find((m) => m.tenant.id === tenantId)?.role;
  if (!tenant) return loading ? <p className="muted">Loading…</p> : <ErrorNote error={error ?? { code: "NOT_FOUND", message: "organization not found" }} />;

  return (
    <>
      <TenantHeader tenant={tenant} role={role} current="overview" />
      <Banner tenant={tenant} />
      <div className="grid">
        <Card title="Subscription" aside={<StatusBadge status={tenant.status} />}>
          <dl className="facts">
            <dt>Plan</dt>
            <dd>{tenant.plan.name}</dd>
            <dt>Seats</dt>
            <dd>
              {tenant.seatsUsed} used, {tenant.pendingInvitations} invited, of {tenant.seatCap}
            </dd>
            {tenant.trialEndsAt && (
              <>
                <dt>Trial ends</dt>
                <dd>{longDate(tenant.trialEndsAt)}</dd>
              </>
            )}
            {tenant.subdomain && (
              <>
                <dt>Subdomain</dt>
                <dd>{tenant.subdomain}</dd>
              </>
            )}
          </dl>
        </Card>
        {role && INVITABLE[role] && <Invitations tenant={tenant} onInvited={refetch} roles={INVITABLE[role]!} listed={role !== "MANAGER"} />}
      </div>
    </>
  );
}

export function TenantHeader({ tenant, role, current }: { tenant: { id: string; name: string }; role?: Role; current: "overview" | "data" }) {
  return (
    <div className="page-head">
      <div>
        <h1 data-testid="tenant-name">{tenant.name}</h1>
        {role && <span className="muted">You are {role.toLowerCase()}</span>}
      </div>
      <nav className="subnav">
        <Link to={`/tenants/${tenant.id}`} className={current === "overview" ? "on" : ""}>
          Overview
        </Link>
        <Link to={`/tenants/${tenant.id}/data`} className={current === "data" ? "on" : ""}>
          Clients
        </Link>
      </nav>
    </div>
  );
}

interface InvitationsProps {
  tenant: TenantFieldsFragment;
  onInvited: () => Promise<void>;
  roles: Role[];
  /** Owners and admins see the pending invitations (the rules let them read them too). */
  listed: boolean;
}

function Invitations({ tenant, onInvited, roles, listed }: InvitationsProps) {
  const { invite, loading, error } = useInviteMember(tenant.id);
  const { invitations, refetch } = useInvitations(listed ? tenant.id : null, "PENDING");
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<Role>(roles.includes("MEMBER") ? "MEMBER" : roles[0]!);
  const [sent, setSent] = useState("");

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setSent("");
    try {
      const inv = await invite({ email, role });
      setSent(`Invitation sent to ${inv.email}.`);
      setEmail("");
      await Promise.all([refetch(), onInvited()]);
    } catch {
      // shown below through reasonFor
    }
  };

  return (
    <Card title="Invite a colleague" wide>
      <VerifyEmailNotice why="to invite colleagues: the invitation quotes your address." />
      <form className="form inline" onSubmit={(e) => void submit(e)}>
        <input name="inviteEmail" type="email" required placeholder="colleague@clinic.example" value={email} onChange={(e) => setEmail(e.target.value)} />
        <select name="inviteRole" value={role} onChange={(e) => setRole(e.target.value as Role)}>
          {roles.map((r) => (
            <option key={r} value={r}>
              {r.toLowerCase()}
            </option>
          ))}
        </select>
        <button type="submit" disabled={loading}>
          Send invitation
        </button>
      </form>
      <ErrorNote error={error} tenant={tenant} />
      {sent && (
        <div className="note ok" role="status">
          {sent}
        </div>
      )}
      {listed && invitations.length > 0 && (
        <ul className="list" data-testid="invitations">
          {invitations.map((i) => (
            <li key={i.id}>
              <span>{i.email}</span>
              <span className="muted">{i.role.toLowerCase()}</span>
              <span className="muted small">until {longDate(i.expiresAt)}</span>
            </li>
          ))}
        </ul>
      )}
    </Card>
  );
}
