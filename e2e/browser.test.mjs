// End-to-end tests in Chromium against the real stack: the example SPA (examples/react-spa) and
// the sales console (/playground). Run with `npm run e2e` (make test runs it when chromium is
// installed). Screenshots of every page go to e2e-artifacts/ (E2E_ARTIFACTS).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { CHROMIUM, chromiumPresent, launch, newSession, screenshots, shot } from "./browser.mjs";
import { createStaffUser, linkIn, mailTo, setTrialEnd, tenantsNamed } from "./services.mjs";
import { addClient, clientSaved, createOrganization, fillOrganization, organizationPage, PASSWORD, signUp, verifyEmail } from "./spa.mjs";
import { APP_DECLARATION, ARTIFACTS, AUTH, buildServer, buildSPA, freePort, requireStack, rulesFile, serveStatic, startFirestore, startServer, uniqueID } from "./stack.mjs";

const TEST_TIMEOUT = 90_000;
let browser, api, spa;
const stops = [];

before(async () => {
  if (!chromiumPresent()) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM)`);
  await requireStack();
  const [firestorePort, apiPort, spaPort] = [await freePort(), await freePort(), await freePort()];
  const bin = buildServer();
  stops.push(await startFirestore(firestorePort, rulesFile(bin)));
  const spaBase = `http://127.0.0.1:${spaPort}`;
  api = await startServer(bin, { port: apiPort, appURL: spaBase });
  stops.push(api.stop);
  spa = await serveStatic(buildSPA(api.base), spaPort);
  stops.push(spa.stop);
  browser = await launch();
  stops.push(() => browser.close());
  console.log(`# tenantry ${api.base}, SPA ${spa.base}, Chromium ${browser.version()}, rules for ${APP_DECLARATION || "firestore.rules (no app declaration)"}`);
});

after(async () => {
  for (const stop of stops.reverse()) await stop();
  console.log(`# ${screenshots.length} screenshots in ${ARTIFACTS}`);
});

/** A test whose failure leaves a screenshot of every open page (failed-…png) next to the others. */
function e2e(name, fn) {
  test(name, { timeout: TEST_TIMEOUT }, async () => {
    try {
      await fn();
    } catch (err) {
      for (const context of browser?.contexts() ?? []) {
        for (const page of context.pages()) await shot(page, `failed-${name.slice(0, 40).replace(/\W+/g, "-")}`).catch(() => {});
      }
      throw err;
    } finally {
      for (const context of browser?.contexts() ?? []) await context.close();
    }
  });
}

/** A new browser session on the SPA's front page, signed up as email. */
async function signedUp(email) {
  const page = await (await newSession(browser)).newPage();
  await page.goto(spa.base);
  await signUp(page, email);
  return page;
}

describe("example SPA", () => {
  e2e("double-clicking Create organization gives one tenant", async () => {
    const id = uniqueID();
    const name = `Harbour Physio ${id}`;
    const context = await newSession(browser);
    const page = await context.newPage();
    await page.goto(spa.base);
    await shot(page, "spa-sign-up");
    await signUp(page, `owner-${id}@example.com`);
    await fillOrganization(page, name);
    await shot(page, "spa-create-organization");

    await page.getByRole("button", { name: "Create organization" }).dblclick();
    const tenantId = await organizationPage(page, name);
    await page.getByTestId("banner").filter({ hasText: "Trial:" }).waitFor();
    await shot(page, "spa-organization-trial-banner");

    assert.deepEqual(await tenantsNamed(name), [tenantId], "Firestore holds exactly one tenant of that name");
    await page.getByRole("link", { name: "Clinicly" }).click();
    await page.getByTestId("organizations").getByRole("link", { name }).waitFor();
    assert.equal(await page.getByTestId("organizations").getByRole("listitem").count(), 1);
  });

  e2e("a retry after a lost answer sends the same idempotency key and gets the same tenant", async () => {
    const id = uniqueID();
    const name = `Lost Answer Clinic ${id}`;
    const page = await signedUp(`retry-${id}@example.com`);
    await fillOrganization(page, name);

    // The first provisionTenant reaches the server, which creates the tenant; its answer is lost.
    const sent = [];
    await page.route("**/graphql", async (route) => {
      const body = route.request().postDataJSON();
      if (!body.query.includes("provisionTenant")) return route.continue();
      sent.push(body.variables.input.idempotencyKey);
      const response = await route.fetch();
      if (sent.length === 1) return route.abort("connectionreset");
      const json = await response.json();
      assert.equal(json.data.provisionTenant.replayed, true, "the retry is answered as a replay");
      return route.fulfill({ response, json });
    });
    await page.getByRole("button", { name: "Create organization" }).click();
    await page.getByTestId("error").filter({ hasText: "could not be reached" }).waitFor();
    await shot(page, "spa-create-organization-network-error");
    await page.getByRole("button", { name: "Create organization" }).click();
    const tenantId = await organizationPage(page, name);

    assert.equal(sent.length, 2);
    assert.equal(sent[0], sent[1], "the retry carries the form's key");
    assert.deepEqual(await tenantsNamed(name), [tenantId]);
  });

  e2e("an owner invites a colleague, who accepts in another session and may only read", async () => {
    const id = uniqueID();
    const name = `Northside Dental ${id}`;
    const ownerEmail = `owner-${id}@example.com`;
    const colleagueEmail = `colleague-${id}@example.com`;

    const owner = await signedUp(ownerEmail);
    await createOrganization(owner, name);
    await verifyEmail(owner, ownerEmail);
    await owner.getByPlaceholder("colleague@clinic.example").fill(colleagueEmail);
    await owner.getByRole("combobox").selectOption("VIEWER");
    await owner.getByRole("button", { name: "Send invitation" }).click();
    await owner.getByTestId("invitations").getByText(colleagueEmail).waitFor();
    await shot(owner, "spa-invitation-sent");
    await owner.getByRole("link", { name: "Clients" }).click();
    await addClient(owner, "Ada Lovelace");
    await clientSaved(owner, "Ada Lovelace");

    const mail = await mailTo(colleagueEmail, { subject: name });
    const link = linkIn(mail, `${spa.base}/invitations/accept?token=`);
    assert.ok(link, `the invitation email links to the SPA (${spa.base}/invitations/accept?token=…)`);

    const colleagueSession = await newSession(browser);
    const colleague = await colleagueSession.newPage();
    await colleague.goto(link);
    await colleague.getByText("You were invited").waitFor();
    await shot(colleague, "spa-invitation-link");
    await signUp(colleague, colleagueEmail);
    await verifyEmail(colleague, colleagueEmail);
    await colleague.getByRole("button", { name: "Accept invitation" }).click();
    await colleague.getByTestId("joined").filter({ hasText: `You joined ${name} as viewer` }).waitFor();
    await shot(colleague, "spa-invitation-accepted");

    await colleague.getByRole("link", { name: `Open ${name}` }).click();
    await colleague.getByRole("link", { name: "Clients" }).click();
    await colleague.getByTestId("clients").getByText("Ada Lovelace").waitFor();
    const banner = await colleague.getByTestId("banner").textContent();
    await addClient(colleague, "Charles Babbage");
    const refusal = colleague.getByTestId("error");
    await refusal.waitFor();
    await shot(colleague, "spa-viewer-write-refused");
    assert.equal(await refusal.getAttribute("data-code"), "NOT_ALLOWED");
    assert.equal(await refusal.textContent(), banner, "the rules' refusal reads like the banner");
    assert.equal(await colleague.getByTestId("clients").getByText("Charles Babbage").count(), 0);
  });

  e2e("an ended trial shows the banner, and Firestore refuses the write in its words", async () => {
    const id = uniqueID();
    const name = `Riverside Clinic ${id}`;
    const page = await signedUp(`expired-${id}@example.com`);
    const tenantId = await createOrganization(page, name);
    await page.getByRole("link", { name: "Clients" }).click();
    await addClient(page, "Grace Hopper");
    await clientSaved(page, "Grace Hopper");
    await shot(page, "spa-clients-in-trial");

    await setTrialEnd(tenantId, new Date(Date.now() - 60_000));
    await page.reload();
    const banner = page.getByTestId("banner").filter({ hasText: "Your trial ended on" });
    await banner.waitFor();
    await page.getByTestId("clients").getByText("Grace Hopper").waitFor(); // reads stay open
    await addClient(page, "Alan Turing");
    const refusal = page.getByTestId("error");
    await refusal.waitFor();
    await shot(page, "spa-trial-ended-write-refused");
    assert.equal(await refusal.getAttribute("data-code"), "READ_ONLY_TRIAL");
    assert.equal(await refusal.textContent(), await banner.textContent());
    assert.equal(await page.getByTestId("clients").getByText("Alan Turing").count(), 0, "the refused client is not shown");
  });
});

describe("sales console", () => {
  e2e("a sales rep signs in, provisions a contract tenant, and the owner invitation reaches mailpit", async () => {
    const id = uniqueID();
    const rep = `sales-${id}@example.com`;
    const admin = `admin-${id}@engines.example`;
    const organization = `Analytical Engines ${id}`;
    await createStaffUser(rep, PASSWORD, "sales");

    const context = await newSession(browser, { width: 1440, height: 860 });
    const page = await context.newPage();
    const requested = new Set();
    page.on("request", (r) => requested.add(new URL(r.url()).origin));
    const problems = [];
    page.on("console", (m) => m.type() === "error" && problems.push(`${m.text()} (${m.location().url})`));
    page.on("response", (r) => r.status() >= 400 && problems.push(`${r.status()} ${r.url()}`));

    await page.goto(`${api.base}/playground`);
    await page.locator(".graphiql-container").waitFor();
    await page.getByLabel("Email").fill(rep);
    await page.getByLabel("Password").fill(PASSWORD);
    await shot(page, "console-sign-in");
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.getByTestId("signed-in").getByText("SALES", { exact: true }).waitFor();
    await page.getByTestId("signed-in").getByText(rep).waitFor();

    await page.getByRole("button", { name: /Provision a contract tenant/ }).click();
    const variables = JSON.parse(await editorText(page, "variables"));
    Object.assign(variables.input, { organizationName: organization, adminContact: { email: admin, name: "Ada Lovelace" } });
    await setEditorText(page, "variables", JSON.stringify(variables, null, 2));
    await page.getByRole("button", { name: /Execute query/ }).click();
    await page.locator(".result-window").getByText('"replayed": false').waitFor();
    await shot(page, "console-contract-provisioned");
    const result = await page.locator(".result-window").textContent();
    assert.match(result, /"source": "SALES_ASSISTED"/);

    const mail = await mailTo(admin, { subject: organization });
    assert.ok(linkIn(mail, `${spa.base}/invitations/accept?token=`), "the owner invitation links to the SPA");
    assert.deepEqual([...requested].sort(), [api.base, AUTH].sort(), "the console talks to this server and the Auth emulator only");
    assert.deepEqual(problems, [], "no errors and no failed request (a Content-Security-Policy violation would show here)");
  });
});

// The text of one of GraphiQL's CodeMirror editors ("query", "variables" or "headers").
function editorText(page, which) {
  return page.locator(editorSelector(which)).evaluate((el) => el.CodeMirror.getValue());
}

// Types text into an editor as a person pastes it: focus, select all, insert.
async function setEditorText(page, which, text) {
  await page.locator(`${editorSelector(which)} .CodeMirror-code`).click();
  await page.keyboard.press("Control+A");
  await page.keyboard.insertText(text);
  assert.equal(await editorText(page, which), text);
}

function editorSelector(which) {
  return which === "query" ? ".graphiql-query-editor .CodeMirror" : `.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror`;
}
