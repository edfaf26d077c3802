// The SPA's direct Firestore access to its tenant's data, at the paths firestore.rules guards:
// tenants/{tenantId} and tenants/{tenantId}/{collection}/{docId}. The rules, not these helpers,
// decide what is allowed; a refusal arrives as a FirestoreError with code permission-denied, which
// reasonFor turns into the banner's words.
import { collection, doc, type CollectionReference, type DocumentData, type DocumentReference, type Firestore } from "firebase/firestore";

/** Collections under a tenant that only the server writes (firestore.rules, serverOwned). */
export const SERVER_OWNED = ["members", "invitations", "history", "audit", "billing", "contract", "domains", "private", "exports"] as const;

/** The tenant's own document (name, status, trialEndsAt, seats…): readable by members, never writable. */
export function tenantDoc(db: Firestore, tenantId: string): DocumentReference<DocumentData> {
  return doc(db, "tenants", requireSegment(tenantId, "tenantId"));
}

/** One of the application's collections inside the tenant, e.g. tenantCollection(db, id, "clients"). */
export function tenantCollection<T extends DocumentData = DocumentData>(db: Firestore, tenantId: string, name: string): CollectionReference<T> {
  if ((SERVER_OWNED as readonly string[]).includes(name)) {
    throw new Error(`tenants/{id}/${name} is written by Tenantry's server only; read it through the API`);
  }
  return collection(tenantDoc(db, tenantId), requireSegment(name, "collection")) as CollectionReference<T>;
}

/** One document of an application collection inside the tenant. */
export function tenantDocIn<T extends DocumentData = DocumentData>(db: Firestore, tenantId: string, name: string, id: string): DocumentReference<T> {
  return doc(tenantCollection<T>(db, tenantId, name), requireSegment(id, "document id"));
}

function requireSegment(s: string, what: string): string {
  if (!s || s.includes("/")) throw new Error(`${what} must be a non-empty path segment without "/"; got ${JSON.stringify(s)}`);
  return s;
}
