// The real stack as the browser tests use it: the shared Auth emulator and mailpit (scripts/stack.sh
// starts them), a Firestore emulator of their own, a Tenantry server built and started here on a
// free port, and the example SPA built against that server and served from this process. Nothing
// here fakes a component.
//
// The Firestore emulator takes the rules the data page is judged by at start: the clinic
// example's when the tree has it (APP_DECLARATION), else the checked-in firestore.rules.
//
// Why a Firestore emulator of their own: the server's outbox dispatcher performs every due entry
// in its Firestore, oldest first, and the shared emulator holds thousands that the Go tests leave
// pending (their servers run without a dispatcher): the invitation email would wait behind them,
// and they would all be mailed. A fresh emulator also takes firestore.rules at start, so loading
// rules never disturbs tests that load their own into the shared one.
import { spawn, execFileSync } from "node:child_process";
import { createReadStream, existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { createServer as createNetServer } from "node:net";
import { tmpdir } from "node:os";
import { extname, join, resolve } from "node:path";

export const ROOT = resolve(import.meta.dirname, "..");
export const PROJECT = process.env.GOOGLE_CLOUD_PROJECT ?? "demo-tenantry";
/** The Firestore emulator of this run (startFirestore sets it). */
export const firestore = { host: "", url: "" };
export const AUTH = `http://${process.env.FIREBASE_AUTH_EMULATOR_HOST ?? "127.0.0.1:9099"}`;
export const MAILPIT = process.env.MAILPIT_URL ?? "http://127.0.0.1:8025";
export const ARTIFACTS = resolve(ROOT, process.env.E2E_ARTIFACTS ?? "e2e-artifacts");

/** A port nobody listens on now, on 127.0.0.1. */
export function freePort() {
  return new Promise((ok, fail) => {
    const s = createNetServer();
    s.once("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

/** Fails with what to do when a stack service does not answer. */
export async function requireStack() {
  const checks = [
    [`${AUTH}/emulator/v1/projects/${PROJECT}/config`, "the Auth emulator"],
    [`${MAILPIT}/api/v1/info`, "mailpit"],
  ];
  for (const [url, name] of checks) {
    const res = await fetch(url).catch(() => null);
    if (!res?.ok) throw new Error(`${name} does not answer at ${url}: start the stack with scripts/stack.sh up`);
  }
}

const FIRESTORE_JAR = process.env.FIRESTORE_EMULATOR_JAR ?? "/usr/lib/google-cloud-sdk/platform/cloud-firestore-emulator/cloud-firestore-emulator.jar";

/**
 * The application declaration the run uses, when the tree has one: the clinic example, whose
 * `clients` collection the data page edits. Its rules (`tenantry rules --app`) then judge the
 * data page, and the server loads it (TENANTRY_APP). Without it, the checked-in firestore.rules.
 */
export const APP_DECLARATION = existsSync(join(ROOT, "examples/clinic/tenantry.app.yaml")) ? "examples/clinic/tenantry.app.yaml" : "";

/** The rules file for the run: generated for APP_DECLARATION by the built binary, or firestore.rules. */
export function rulesFile(bin) {
  if (!APP_DECLARATION) return join(ROOT, "firestore.rules");
  const file = join(tmpdir(), `tenantry-e2e-rules-${process.pid}`);
  writeFileSync(file, execFileSync(bin, ["rules", "--app", APP_DECLARATION], { cwd: ROOT }));
  return file;
}

/** Starts a Firestore emulator on port with the rules in rules and resolves when it answers Ok. */
export async function startFirestore(port, rules) {
  if (!existsSync(FIRESTORE_JAR)) throw new Error(`no Firestore emulator at ${FIRESTORE_JAR}: install the Google Cloud CLI's emulator, or set FIRESTORE_EMULATOR_JAR`);
  const args = ["-Duser.language=en", "-cp", FIRESTORE_JAR, "com.google.cloud.datastore.emulator.firestore.CloudFirestore"];
  args.push("--host", "127.0.0.1", "--port", String(port), "--project_id", PROJECT, "--rules", rules);
  const proc = spawn("java", args, { stdio: "ignore" });
  firestore.host = `127.0.0.1:${port}`;
  firestore.url = `http://${firestore.host}`;
  await waitFor(proc, "the Firestore emulator", `${firestore.url}/`, 30000);
  return () => stopProcess(proc);
}

async function waitFor(proc, what, url, ms) {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(100)) {
    if (proc.exitCode !== null) throw new Error(`${what} exited with ${proc.exitCode}`);
    const res = await fetch(url).catch(() => null);
    if (res?.ok) return;
  }
  await stopProcess(proc);
  throw new Error(`${what} did not answer at ${url} in ${ms / 1000}s`);
}

/** Builds cmd/tenantry once (go's build cache makes a rebuild quick) and returns the binary's path. */
export function buildServer() {
  const bin = join(tmpdir(), `tenantry-e2e-${process.pid}`);
  execFileSync("go", ["build", "-o", bin, "./cmd/tenantry"], { cwd: ROOT, stdio: "inherit" });
  return bin;
}

/**
 * Starts `tenantry serve` on port with the stack's environment; resolves when /readyz answers.
 * The outbox dispatcher runs, so emails reach mailpit; the scheduler's nightly jobs do not.
 */
export async function startServer(bin, { port, appURL }) {
  const env = {
    ...process.env,
    HOST: "127.0.0.1",
    PORT: String(port),
    GOOGLE_CLOUD_PROJECT: PROJECT,
    FIRESTORE_EMULATOR_HOST: firestore.host,
    FIREBASE_AUTH_EMULATOR_HOST: AUTH.replace("http://", ""),
    SMTP_URL: process.env.SMTP_URL ?? "smtp://127.0.0.1:1025",
    TENANTRY_APP_URL: appURL,
    ...(APP_DECLARATION ? { TENANTRY_APP: APP_DECLARATION } : {}),
    TENANTRY_ALLOWED_ORIGINS: appURL,
    TENANTRY_SCHEDULER: "off",
    TENANTRY_LOG_FORMAT: "text",
    TENANTRY_LOG_LEVEL: "warn",
  };
  const proc = spawn(bin, ["serve"], { cwd: ROOT, env, stdio: ["ignore", "inherit", "inherit"] });
  const base = `http://127.0.0.1:${port}`;
  await waitFor(proc, "tenantry serve", `${base}/readyz`, 15000);
  return { base, stop: () => stopProcess(proc) };
}

function stopProcess(proc) {
  if (proc.exitCode !== null) return Promise.resolve();
  return new Promise((ok) => {
    proc.once("exit", ok);
    proc.kill("SIGTERM");
  });
}

/** Builds examples/react-spa against the API at apiBase into a scratch folder. */
export function buildSPA(apiBase) {
  const outDir = join(tmpdir(), `tenantry-e2e-spa-${process.pid}`);
  execFileSync("npx", ["vite", "build", "--logLevel", "warn", "--outDir", outDir, "--emptyOutDir"], {
    cwd: join(ROOT, "examples/react-spa"),
    stdio: "inherit",
    env: {
      ...process.env,
      VITE_TENANTRY_URL: `${apiBase}/graphql`,
      VITE_FIREBASE_PROJECT_ID: PROJECT,
      VITE_AUTH_EMULATOR_URL: AUTH,
      VITE_FIRESTORE_EMULATOR_HOST: firestore.host,
    },
  });
  return outDir;
}

const TYPES = { ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".png": "image/png" };

/** Serves a built SPA on port: its files, and index.html for every other path (client routing). */
export function serveStatic(dir, port) {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    let file = join(dir, path);
    if (!file.startsWith(dir) || !existsSync(file) || statSync(file).isDirectory()) file = join(dir, "index.html");
    res.writeHead(200, { "Content-Type": TYPES[extname(file)] ?? "application/octet-stream" });
    createReadStream(file).pipe(res);
  });
  return new Promise((ok) => server.listen(port, "127.0.0.1", () => ok({ base: `http://127.0.0.1:${port}`, stop: () => new Promise((r) => server.close(r)) })));
}

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls fn until it returns a truthy value, for at most ms. */
export async function eventually(what, fn, ms = 15000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(250);
  }
}

export function uniqueID() {
  return `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
}

export function artifactsDir() {
  mkdirSync(ARTIFACTS, { recursive: true });
  return ARTIFACTS;
}
