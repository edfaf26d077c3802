// What a person does in the example SPA, step by step, for the tests to compose.
import { verificationLink } from "./services.mjs";

export const PASSWORD = "correct-horse-battery";

/** Signs up on the SPA's front page (or the page it is on) with email. */
export async function signUp(page, email) {
  await page.getByRole("tab", { name: "Sign up" }).click();
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await page.getByTestId("signed-in-as").filter({ hasText: email }).waitFor();
}

/** Fills the create-organization form (the button is left to the caller). */
export async function fillOrganization(page, name) {
  await page.getByLabel("Organization name").fill(name);
}

/** Creates an organization from the front page and waits for its page; returns its id. */
export async function createOrganization(page, name) {
  await fillOrganization(page, name);
  await page.getByRole("button", { name: "Create organization" }).click();
  return organizationPage(page, name);
}

/** Waits for the page of the organization called name and returns its id. */
export async function organizationPage(page, name) {
  await page.getByTestId("tenant-name").filter({ hasText: name }).waitFor();
  return new URL(page.url()).pathname.split("/")[2];
}

/**
 * Verifies the signed-in user's email as a person does: asks for the email, follows the link
 * (the Auth emulator keeps it instead of mailing it), and says so on the page.
 */
export async function verifyEmail(page, email) {
  const notice = page.getByTestId("verify-email");
  await notice.getByRole("button", { name: "Send verification email" }).click();
  await notice.getByText("Verification email sent").waitFor();
  const link = await verificationLink(email);
  const tab = await page.context().newPage();
  await tab.goto(link);
  await tab.close();
  await notice.getByRole("button", { name: "I have verified it" }).click();
  await notice.waitFor({ state: "detached" });
}

/** Adds a client on the data page (the caller waits for the outcome). */
export async function addClient(page, name) {
  await page.getByLabel("Name", { exact: true }).fill(name);
  await page.getByRole("button", { name: "Add client" }).click();
}

/** Waits until the client called name is listed and Firestore has accepted it (no longer pending). */
export async function clientSaved(page, name) {
  await page.getByTestId("clients").locator("li:not([data-pending])", { hasText: name }).waitFor();
}
