// Runs after `vite build`: records what the embedded build was made from (digest.mjs), so
// `node web/playground/digest.mjs --check` in scripts/test.sh fails when the sources or the locked
// versions of the packages it bundles change without a rebuild.
import { writeFileSync } from "node:fs";
import { join } from "node:path";

import { sourceDigest } from "./digest.mjs";

const out = join(import.meta.dirname, "../../internal/server/playground/build-info.json");
writeFileSync(out, JSON.stringify({ sources: sourceDigest() }, null, 2) + "\n");
console.log(`wrote ${out}`);
