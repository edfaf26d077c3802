import { tenantCollection, tenantDocIn, useMe, useTenant } from "@tenantry/react";
import { addDoc, deleteDoc, onSnapshot } from "firebase/firestore";
import { useEffect, useState, type FormEvent } from "react";

import { config } from "../config";
import { db } from "../firebase";
import { Banner, Card, ErrorNote } from "../ui";
import { TenantHeader } from "./Tenant";

interface Client {
  id: string;
  name: string;
  email?: string;
  /** Written locally, not yet accepted by Firestore (the rules may still refuse it). */
  pending: boolean;
}

/**
 * The clinic's clients, read and written in Firestore directly (no API call), under the rules.
 * The form stays enabled whatever the banner says: the rules are the enforcement, and their
 * refusal is shown in the banner's words (reasonFor with the tenant).
 */
export function DataPage({ tenantId }: { tenantId: string }) {
  const { tenant, refetch } = useTenant(tenantId);
  const { me } = useMe();
  const role = me?.memberships.find((m) => m.tenant.id === tenantId)?.role;
  const [clients, setClients] = useState<Client[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [name, setName] = useState("");
  const [email, setEmail] = useState("");

  useEffect(
    () =>
      onSnapshot(
        tenantCollection(db, tenantId, config.dataCollection),
        { includeMetadataChanges: true },
        (snap) =>
          setClients(
            snap.docs
              .map((d) => ({ ...(d.data() as { name: string; email?: string }), id: d.id, pending: d.metadata.hasPendingWrites }))
              .sort((a, b) => a.name.localeCompare(b.name)),
          ),
        (err) => setError(err),
      ),
    [tenantId],
  );

  // A refusal is explained with the tenant as it is now (the trial may have just ended).
  const refused = async (err: unknown) => {
    setError(err);
    await refetch();
  };

  const add = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    try {
      await addDoc(tenantCollection(db, tenantId, config.dataCollection), email ? { name, email } : { name });
      setName("");
      setEmail("");
    } catch (err) {
      await refused(err);
    }
  };

  const remove = async (id: string) => {
    setError(null);
    try {
      await deleteDoc(tenantDocIn(db, tenantId, config.dataCollection, id));
    } catch (err) {
      await refused(err);
    }
  };

  return (
    <>
      {tenant && <TenantHeader tenant={tenant} role={role} current="data" />}
      {tenant && <Banner tenant={tenant} />}
      <div className="grid">
        <Card title="Clients" aside={<span className="muted small">tenants/…/{config.dataCollection}</span>}>
          {clients.length === 0 && <p className="muted">No clients yet.</p>}
          <ul className="list" data-testid="clients">
            {clients.map((c) => (
              <li key={c.id} data-pending={c.pending || undefined}>
                <span>
                  {c.name} {c.pending && <span className="muted small">saving…</span>}
                </span>
                <span className="muted">{c.email}</span>
                <button className="link" onClick={() => void remove(c.id)} aria-label={`Remove ${c.name}`}>
                  Remove
                </button>
              </li>
            ))}
          </ul>
        </Card>
        <Card title="Add a client">
          <form className="form" onSubmit={(e) => void add(e)}>
            <label>
              Name
              <input name="clientName" required maxLength={200} value={name} onChange={(e) => setName(e.target.value)} />
            </label>
            <label>
              <span>
                Email <span className="muted">(optional)</span>
              </span>
              <input name="clientEmail" type="email" maxLength={320} value={email} onChange={(e) => setEmail(e.target.value)} />
            </label>
            <ErrorNote error={error} tenant={tenant} />
            <button type="submit">Add client</button>
          </form>
        </Card>
      </div>
    </>
  );
}
