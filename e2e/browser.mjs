// Chromium, driven by playwright-core: Debian's chromium package, never a downloaded browser.
import { existsSync } from "node:fs";
import { join } from "node:path";

import { chromium } from "playwright-core";

import { artifactsDir } from "./stack.mjs";

export const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";

/** True when Debian's chromium is installed (apt-get install chromium). */
export function chromiumPresent() {
  return existsSync(CHROMIUM);
}

/** A headless Chromium with a fresh profile (playwright makes a new user-data dir per launch). */
export function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless=new",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}

/** A new browser context (its own cookies and storage: another person's session). */
export async function newSession(browser, viewport = { width: 1200, height: 780 }) {
  const context = await browser.newContext({ viewport, deviceScaleFactor: 1 });
  context.setDefaultTimeout(15000);
  return context;
}

export const screenshots = [];

/** Saves a screenshot of page as NN-name.png in the artifacts folder. */
export async function shot(page, name) {
  const file = join(artifactsDir(), `${String(screenshots.length + 1).padStart(2, "0")}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  screenshots.push(file);
  return file;
}
