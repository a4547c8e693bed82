/**
 * Headless Chromium for the browser tests (`inspector_browser.ts`,
 * `approval_browser.ts`): Debian's `chromium` (or `CHROMIUM=/path`), a fresh
 * profile per run, the same flags and time bounds.
 */
import { type BrowserContext, chromium, type Page } from "playwright-core";

/** The whole run must finish within this, or it fails. */
export const TIMEOUT_MS = 120_000;
/** Each UI step (a click's effect, a result) must show within this. */
export const STEP_MS = 30_000;

/** Chromium flags for a headless, sandbox-less, offline container. */
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** A browser on a fresh profile (nothing carried over between runs) and its first page. */
export async function openChromium(
  profilePrefix: string,
  viewport: { width: number; height: number },
): Promise<{ browser: BrowserContext; page: Page; close: () => Promise<void> }> {
  const profile = await Deno.makeTempDir({ prefix: profilePrefix });
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: Deno.env.get("CHROMIUM") ?? "/usr/bin/chromium",
    args: CHROMIUM_ARGS,
    timeout: STEP_MS,
    viewport,
  }).catch(async (error) => {
    await Deno.remove(profile, { recursive: true }).catch(() => {});
    throw error;
  });
  const page = browser.pages()[0] ?? await browser.newPage();
  page.setDefaultTimeout(STEP_MS);
  return {
    browser,
    page,
    close: async () => {
      await browser.close().catch(() => {});
      await Deno.remove(profile, { recursive: true }).catch(() => {});
    },
  };
}
