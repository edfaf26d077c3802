import { reasonFor, useMe, useProvisionTenant } from "@tenantry/react";
import { useState, type FormEvent } from "react";

import { Link, navigate } from "../router";
import { Card, ErrorNote, StatusBadge } from "../ui";

/** The signed-in user's organizations, and the form that creates one. */
export function HomePage() {
  const { me, loading, error } = useMe();
  return (
    <div className="grid">
      <Card title="Your organizations">
        {loading && !me && <p className="muted">Loading…</p>}
        <ErrorNote error={error} />
        {me && me.memberships.length === 0 && <p className="muted">None yet: create one to start your trial.</p>}
        <ul className="list" data-testid="organizations">
          {me?.memberships.map((m) => (
            <li key={m.tenant.id}>
              <Link to={`/tenants/${m.tenant.id}`}>{m.tenant.name}</Link>
              <span className="muted">{m.role.toLowerCase()}</span>
              <StatusBadge status={m.tenant.status} />
            </li>
          ))}
        </ul>
      </Card>
      <CreateOrganization />
    </div>
  );
}

/**
 * The form's idempotency key is made by useProvisionTenant when the form mounts: a double click,
 * or a retry after the answer got lost, creates one organization.
 */
function CreateOrganization() {
  const { provision, loading, error } = useProvisionTenant();
  const [name, setName] = useState("");
  const [subdomain, setSubdomain] = useState("");

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    try {
      const { tenant } = await provision({ organizationName: name, subdomain: subdomain || undefined });
      navigate(`/tenants/${tenant.id}`);
    } catch {
      // shown below through reasonFor
    }
  };
  const field = error ? reasonFor(error).field : undefined;

  return (
    <Card title="Create an organization">
      <form className="form" onSubmit={(e) => void submit(e)}>
        <label>
          Organization name
          <input name="organizationName" required maxLength={100} value={name} onChange={(e) => setName(e.target.value)} aria-invalid={field === "organizationName"} />
        </label>
        <label>
          <span>
            Subdomain <span className="muted">(optional)</span>
          </span>
          <input name="subdomain" value={subdomain} onChange={(e) => setSubdomain(e.target.value.toLowerCase())} aria-invalid={field === "subdomain"} placeholder="my-clinic" />
        </label>
        <ErrorNote error={error} />
        <button type="submit" disabled={loading}>
          {loading ? "Creating…" : "Create organization"}
        </button>
        <p className="muted small">Your free trial starts at once; no card needed.</p>
      </form>
    </Card>
  );
}
