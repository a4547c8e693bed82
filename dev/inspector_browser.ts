/**
 * `deno task browser-test`: the MCP Inspector's web UI, driven in headless
 * Chromium, against the demo. It loads the page `deno task inspect` prints,
 * connects, checks the ten tools are listed, runs `get_sms_rates` for LT,
 * checks the result and saves a screenshot.
 *
 * Needs Debian's `chromium` (`apt-get install -y chromium`; or set
 * `CHROMIUM=/path/to/chrome`). Loopback only; bounded by `TIMEOUT_MS`.
 * Writes the screenshot to `SCREENSHOT` (default: a temp file) and prints
 * its path. Exits 0 on success, 1 on any failure.
 */
import assert from "node:assert/strict";
import { TOOLS } from "../tools/mod.ts";
import { startDemo } from "./dev.ts";
import { DEMO_TOKENS } from "../testing/fake/mod.ts";
import { startInspector, UI } from "./inspector.ts";
import { freePort } from "../testing/process.ts";
import { openChromium, TIMEOUT_MS } from "./browser.ts";

/** Drive the UI once; resolves with the screenshot path. */
async function run(screenshot: string): Promise<string> {
  const demo = await startDemo({ PORT: "0", BIND_HOST: "127.0.0.1" });
  let inspector: Awaited<ReturnType<typeof startInspector>> | undefined;
  let browser: Awaited<ReturnType<typeof openChromium>> | undefined;
  try {
    inspector = await startInspector({
      mcpUrl: demo.mcpUrl,
      token: DEMO_TOKENS.full,
      port: freePort(),
    });
    console.log(`Inspector: ${inspector.url.replace(/TOKEN=\w+/, "TOKEN=…")}`);
    browser = await openChromium("inspector-browser-", { width: 1400, height: 900 });
    const { page } = browser;
    await page.goto(inspector.url);

    // The ad-hoc server from --server-url, with its header, is the one card.
    await page.getByText(demo.mcpUrl, { exact: true }).waitFor();
    await page.getByRole("switch").first().click({ force: true });
    await page.getByText(UI.connected, { exact: true }).waitFor();
    console.log("connected");

    await page.getByText(UI.tools, { exact: true }).first().click();
    await page.getByText(`${UI.tools} (${TOOLS.length})`).waitFor();
    for (const tool of TOOLS) {
      await page.getByText(tool.name, { exact: true }).first().waitFor();
    }
    console.log(`listed ${TOOLS.length} tools`);

    await page.getByText(UI.tool, { exact: true }).click();
    await page.getByRole("textbox", { name: UI.argument }).fill("LT");
    await page.getByRole("button", { name: UI.run }).click();
    await page.getByText(UI.result).waitFor();
    const results = await page.locator("body").innerText();
    assert.match(results, /"country_name": "Lithuania"/);
    assert.match(results, /"rate_eur": "0\.045"/);
    console.log("get_sms_rates answered");

    await page.screenshot({ path: screenshot });
    return screenshot;
  } finally {
    await browser?.close();
    await inspector?.stop();
    await demo.stop();
  }
}

if (import.meta.main) {
  const screenshot = Deno.env.get("SCREENSHOT") ??
    await Deno.makeTempFile({ prefix: "inspector-", suffix: ".png" });
  const started = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const path = await Promise.race([
      run(screenshot),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`browser test exceeded ${TIMEOUT_MS / 1000} s`)),
          TIMEOUT_MS,
        );
      }),
    ]);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(`browser test passed in ${seconds} s; screenshot: ${path}`);
    Deno.exit(0);
  } catch (error) {
    console.error(`browser test FAILED: ${error instanceof Error ? error.stack : error}`);
    Deno.exit(1);
  } finally {
    clearTimeout(timer);
  }
}
