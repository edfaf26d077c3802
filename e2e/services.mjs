// The stack's own APIs, for what a test sets up or checks behind the browser's back: Firestore's
// REST API (as the emulator's owner, which bypasses the rules; the run's own emulator), the Auth emulator's REST API and
// mailpit's.
import { AUTH, MAILPIT, PROJECT, eventually, firestore } from "./stack.mjs";

const docs = () => `${firestore.url}/v1/projects/${PROJECT}/databases/(default)/documents`;
const OWNER = { Authorization: "Bearer owner", "Content-Type": "application/json" };

/** The tenants whose name is exactly name, read from Firestore itself. */
export async function tenantsNamed(name) {
  const res = await fetch(`${docs()}:runQuery`, {
    method: "POST",
    headers: OWNER,
    body: JSON.stringify({
      structuredQuery: { from: [{ collectionId: "tenants" }], where: { fieldFilter: { field: { fieldPath: "name" }, op: "EQUAL", value: { stringValue: name } } } },
    }),
  });
  if (!res.ok) throw new Error(`Firestore runQuery: ${res.status} ${await res.text()}`);
  return (await res.json()).filter((r) => r.document).map((r) => r.document.name.split("/").pop());
}

/** Moves a tenant's trial end to at (the clock passing it, as far as the rules and the API see). */
export async function setTrialEnd(tenantId, at) {
  const res = await fetch(`${docs()}/tenants/${tenantId}?updateMask.fieldPaths=trialEndsAt`, {
    method: "PATCH",
    headers: OWNER,
    body: JSON.stringify({ fields: { trialEndsAt: { timestampValue: at.toISOString() } } }),
  });
  if (!res.ok) throw new Error(`Firestore patch trialEndsAt: ${res.status} ${await res.text()}`);
}

async function authREST(path, body, headers = { "Content-Type": "application/json" }) {
  const res = await fetch(`${AUTH}/identitytoolkit.googleapis.com/v1/${path}`, { method: "POST", headers, body: JSON.stringify(body) });
  const json = await res.json();
  if (!res.ok) throw new Error(`Auth emulator ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/**
 * A staff account: signed up in the Auth emulator, email verified and the platformRole claim
 * set (what `tenantry admin grant-platform-role` does in production).
 */
export async function createStaffUser(email, password, platformRole) {
  const { localId } = await authREST("accounts:signUp?key=e2e", { email, password, returnSecureToken: true });
  await authREST(`projects/${PROJECT}/accounts:update`, { localId, emailVerified: true, customAttributes: JSON.stringify({ platformRole }) }, OWNER);
  return localId;
}

/** The email verification link the Auth emulator made for email (it sends no mail). */
export async function verificationLink(email) {
  return eventually(`a verification link for ${email}`, async () => {
    const res = await fetch(`${AUTH}/emulator/v1/projects/${PROJECT}/oobCodes`);
    const { oobCodes } = await res.json();
    return oobCodes.filter((c) => c.email === email && c.requestType === "VERIFY_EMAIL").pop()?.oobLink;
  });
}

/** The newest message mailpit received for to, once it has arrived. */
export async function mailTo(to, { subject = "", ms = 20000 } = {}) {
  return eventually(
    `an email to ${to}`,
    async () => {
      const q = encodeURIComponent(`to:"${to}"${subject ? ` subject:"${subject}"` : ""}`);
      const res = await fetch(`${MAILPIT}/api/v1/search?query=${q}`);
      const { messages } = await res.json();
      if (!messages?.length) return null;
      const msg = await fetch(`${MAILPIT}/api/v1/message/${messages[0].ID}`);
      return msg.json();
    },
    ms,
  );
}

/** The first link in a message's text that starts with prefix. */
export function linkIn(message, prefix) {
  const links = message.Text.match(/https?:\/\/\S+/g) ?? [];
  return links.find((l) => l.startsWith(prefix)) ?? null;
}
