// The digest of everything the sales console's build depends on: its sources, its build
// configuration and the locked version of every package it can bundle. stamp.mjs writes it into
// the embedded build (build-info.json); `node digest.mjs --check` (scripts/test.sh) fails when it
// no longer matches, i.e. when the sources or the lockfile changed without a rebuild.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";

const DIR = import.meta.dirname;
const ROOT = join(DIR, "../..");

/** Files: index.html, package.json, vite.config.ts, tsconfig.json and src/**, sorted by path. */
function inputs() {
  const files = ["index.html", "package.json", "vite.config.ts", "tsconfig.json"].map((f) => join(DIR, f));
  const walk = (d) => readdirSync(d, { withFileTypes: true }).forEach((e) => (e.isDirectory() ? walk(join(d, e.name)) : files.push(join(d, e.name))));
  walk(join(DIR, "src"));
  return files.map((f) => relative(ROOT, f).split("\\").join("/")).sort();
}

/**
 * The locked packages the console's build can bundle: "path@version" for every package reachable
 * from web/playground's own dependencies in package-lock.json, resolved as Node resolves them
 * (nearest node_modules first), sorted. A bump of anything else (firebase-tools, say) leaves the
 * digest alone.
 */
export function lockedPackages() {
  const { packages } = JSON.parse(readFileSync(join(ROOT, "package-lock.json"), "utf8"));
  const seen = new Set();
  const visit = (path) => {
    if (seen.has(path)) return;
    seen.add(path);
    const p = packages[path];
    const deps = { ...p.dependencies, ...p.optionalDependencies, ...p.peerDependencies, ...(path === WORKSPACE ? p.devDependencies : {}) };
    for (const name of Object.keys(deps)) {
      const at = resolve(path, name);
      if (at) visit(at);
    }
  };
  const resolve = (from, name) => {
    for (let dir = from; ; dir = dir.slice(0, Math.max(dir.lastIndexOf("/node_modules/"), 0))) {
      if (packages[`${dir ? dir + "/" : ""}node_modules/${name}`]) return `${dir ? dir + "/" : ""}node_modules/${name}`;
      if (!dir) return null;
    }
  };
  visit(WORKSPACE);
  seen.delete(WORKSPACE);
  return [...seen].map((path) => `${path}@${packages[path].version ?? packages[path].resolved}`).sort();
}

const WORKSPACE = "web/playground";

export function sourceDigest() {
  // The build's output depends on these and nothing else.
  const h = createHash("sha256");
  for (const f of inputs()) h.update(`${f}\n`).update(readFileSync(join(ROOT, f))).update("\n");
  for (const p of lockedPackages()) h.update(`${p}\n`);
  return h.digest("hex");
}

// `node web/playground/digest.mjs --check`: fails when build-info.json is stale (scripts/test.sh).
if (process.argv[1] === import.meta.filename && process.argv[2] === "--check") {
  const info = JSON.parse(readFileSync(join(ROOT, "internal/server/playground/build-info.json"), "utf8"));
  if (info.sources !== sourceDigest()) {
    console.error("the sales console's embedded build is stale: its sources or locked packages changed; run npm run build -w tenantry-sales-console and commit internal/server/playground");
    process.exit(1);
  }
  console.log("the sales console's embedded build matches its sources and locked packages");
}
