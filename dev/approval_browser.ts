/**
 * `deno task browser-test` (second half): a person's approval in headless
 * Chromium, against a real server and the fake VertexSMS, with
 * `SMS_CONFIRMATION=require`:
 *
 * 1. the approval link: Chromium opens the page a `send_sms` answered with,
 *    clicks Approve, and the same call with the `approvalId` sends once; a
 *    second page is declined and sends nothing; a forged POST (without the
 *    page's form value) changes nothing;
 * 2. the MCP Apps review card, rendered by a stand-in host (a sandboxed
 *    iframe speaking the extension's postMessage JSON-RPC, relaying the card's
 *    `tools/call` to the server and opening the pages it asks for with
 *    `ui/open-link`): Chromium clicks the card's "Open the approval page",
 *    approves on that page, and the card's waiting call sends, once;
 * 3. the same card for a `send_sms_batch`: it shows the count, the countries
 *    and every number, and one approval sends once per recipient;
 * 4. a batch with a number on the opt-out list: the card and the page say it
 *    will not be sent, and the approval sends to the others only.
 *
 * Screenshots of the page and the card go to `SCREENSHOT_DIR` (default: a
 * temp directory); the README shows them. Exits 0 on success, 1 on failure.
 */
import assert from "node:assert/strict";
import { Logger } from "../core/log.ts";
import { startServer } from "../server/mod.ts";
import { readReviewCard } from "../server/review_card.ts";
import { DEMO_TOKENS, startFake } from "../testing/fake/mod.ts";
import { TOOLS } from "../tools/mod.ts";
import { openChromium, TIMEOUT_MS } from "./browser.ts";

const SMS = {
  to: "+37069912345",
  from: "VertexSMS",
  message: "Your table for two at 19:30 is confirmed. Reply STOP to opt out.",
};

/** A 2026-07-28 `tools/call` (of `send_sms` unless named) with the demo token. */
async function callTool(mcpUrl: string, args: Record<string, unknown>, name = "send_sms") {
  const res = await fetch(mcpUrl, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      Accept: "application/json, text/event-stream",
      Authorization: `Bearer ${DEMO_TOKENS.full}`,
      "MCP-Protocol-Version": "2026-07-28",
      "Mcp-Method": "tools/call",
      "Mcp-Name": name,
    },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "tools/call",
      params: {
        name,
        arguments: args,
        _meta: {
          "io.modelcontextprotocol/protocolVersion": "2026-07-28",
          "io.modelcontextprotocol/clientInfo": { name: "Approval browser test", version: "1" },
          "io.modelcontextprotocol/clientCapabilities": {},
        },
      },
    }),
  });
  return (await res.json()).result;
}

/**
 * The stand-in host: a page holding the card in a sandboxed iframe (its CSP
 * from the resource's `_meta.ui.csp`), answering `ui/initialize`, sending the
 * tool's input and result, relaying the card's `tools/call` to `/relay` and
 * its `ui/open-link` to `/open`.
 */
function hostPage(card: string, csp: string, input: unknown, result: unknown): string {
  const srcdoc = card.replace(
    "<head>",
    `<head><meta http-equiv="Content-Security-Policy" content="${csp}">`,
  );
  return `<!doctype html><html><head><meta charset="utf-8"><title>Stand-in MCP Apps host</title>
<style>body{font:14px system-ui;margin:16px;background:#eef1f4}iframe{width:560px;height:420px;border:1px solid #ccc;border-radius:8px;background:#fff}</style>
</head><body><p>Stand-in host: the send_sms review card</p>
<iframe id="card" sandbox="allow-scripts" srcdoc="${
    srcdoc.replace(/&/g, "&amp;").replace(/"/g, "&quot;")
  }"></iframe>
<script>
const frame = document.getElementById("card");
const input = ${JSON.stringify(input)};
const result = ${JSON.stringify(result)};
window.addEventListener("message", async (event) => {
  if (event.source !== frame.contentWindow) return;
  const m = event.data;
  const reply = (body) => frame.contentWindow.postMessage({ jsonrpc: "2.0", id: m.id, ...body }, "*");
  if (m.method === "ui/initialize") {
    reply({ result: { protocolVersion: "2026-01-26", hostInfo: { name: "stand-in", version: "1" },
      hostCapabilities: { serverTools: {} }, hostContext: { displayMode: "inline" } } });
  } else if (m.method === "ui/notifications/initialized") {
    frame.contentWindow.postMessage({ jsonrpc: "2.0", method: "ui/notifications/tool-input", params: { arguments: input } }, "*");
    frame.contentWindow.postMessage({ jsonrpc: "2.0", method: "ui/notifications/tool-result", params: result }, "*");
  } else if (m.method === "tools/call") {
    const res = await fetch("/relay", { method: "POST", body: JSON.stringify(m.params) });
    reply({ result: await res.json() });
  } else if (m.method === "ui/open-link") {
    await fetch("/open", { method: "POST", body: m.params.url });
    reply({ result: {} });
  } else if (m.method === "ui/notifications/size-changed") {
    frame.style.height = Math.min(800, m.params.height + 20) + "px";
  }
});
</script></body></html>`;
}

async function run(shots: string): Promise<void> {
  const fake = startFake();
  const server = startServer({
    env: {
      PORT: "0",
      BIND_HOST: "127.0.0.1",
      VERTEXSMS_API_URL: fake.url,
      SMS_CONFIRMATION: "require",
    },
    tools: TOOLS,
    logger: new Logger("warn"),
  });
  const mcpUrl = `${server.url}/mcp`;
  let host: Deno.HttpServer | undefined;
  let browser: Awaited<ReturnType<typeof openChromium>> | undefined;
  try {
    browser = await openChromium("approval-browser-", { width: 900, height: 900 });
    const { page } = browser;

    // 1. The approval link.
    const asked = (await callTool(mcpUrl, SMS)).structuredContent;
    assert.equal(asked.status, "approval_required");
    await page.goto(asked.approval_url);
    await page.getByText(SMS.message).waitFor();
    await page.getByText("Approval browser test").waitFor();
    await page.screenshot({ path: `${shots}/approval-page.png`, fullPage: true });
    // A forged decision (no form value), even from the page's own origin, changes nothing.
    const forged = await page.request.post(asked.approval_url, {
      form: { action: "approve" },
      headers: { Origin: new URL(asked.approval_url).origin },
    });
    assert.equal(forged.status(), 400);
    assert.equal(fake.count("POST /sms"), 0);
    await page.getByRole("button", { name: "Approve and send" }).click();
    await page.getByText("Approved. Go back to your assistant").waitFor();
    const sent = (await callTool(mcpUrl, { ...SMS, approvalId: asked.approval_id }))
      .structuredContent;
    assert.equal(sent.status, "sent");
    assert.equal(fake.count("POST /sms"), 1);
    console.log("approval page: approved in Chromium, sent once");

    const other = (await callTool(mcpUrl, { ...SMS, message: "Decline me" })).structuredContent;
    await page.goto(other.approval_url);
    await page.getByRole("button", { name: "Decline" }).click();
    await page.getByText("Declined. Nothing will be sent.").waitFor();
    const declined = (await callTool(mcpUrl, {
      ...SMS,
      message: "Decline me",
      approvalId: other.approval_id,
    })).structuredContent;
    assert.deepEqual([declined.status, declined.reason], ["not_sent", "declined"]);
    assert.equal(fake.count("POST /sms"), 1);
    console.log("approval page: declined in Chromium, nothing sent");

    // 2. The review card in a stand-in host.
    const card = readReviewCard(server.url).contents[0]!;
    const allowed = card._meta.ui.csp.connectDomains.join(" ") || "'none'";
    const csp =
      `default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src ${allowed}`;
    const cardArgs = { ...SMS, message: "Approved from the review card." };
    let shown = {
      args: cardArgs as Record<string, unknown>,
      result: await callTool(mcpUrl, cardArgs),
    };
    const result = shown.result;
    let opened: (url: string) => void = () => {};
    let toOpen = new Promise<string>((resolve) => opened = resolve);
    host = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
      const path = new URL(req.url).pathname;
      if (path === "/relay") {
        const { name, arguments: args } = await req.json();
        return Response.json(await callTool(mcpUrl, args, name));
      }
      if (path === "/open") {
        opened(await req.text());
        return new Response(null, { status: 204 });
      }
      return new Response(hostPage(card.text, csp, shown.args, shown.result), {
        headers: { "Content-Type": "text/html; charset=utf-8" },
      });
    });
    const hostUrl = `http://127.0.0.1:${(host.addr as Deno.NetAddr).port}/`;
    await page.goto(hostUrl);
    const frame = page.frameLocator("#card");
    await frame.getByText("Not sent: a person must approve it on the approval page first.")
      .waitFor();
    await frame.getByText(cardArgs.message).waitFor();
    await page.screenshot({ path: `${shots}/review-card.png` });
    await frame.getByRole("button", { name: "Open the approval page" }).click();
    const link = await toOpen;
    assert.equal(link, result.structuredContent.approval_url, "the card opened the approval page");
    await frame.getByText(/waiting for your decision/).waitFor();
    assert.equal(fake.count("POST /sms"), 1, "nothing sent before the person decides");
    const approvalPage = await browser.browser.newPage();
    await approvalPage.goto(link);
    await approvalPage.getByRole("button", { name: "Approve and send" }).click();
    await approvalPage.getByText("Approved. Go back to your assistant").waitFor();
    await frame.getByText(/^Sent, message id \d+/).waitFor();
    assert.equal(fake.count("POST /sms"), 2);
    console.log(
      "review card: opened the approval page, approved there, sent once through the host",
    );

    // 3. The card for a batch: one approval, one SMS per recipient.
    const batchArgs = {
      to: ["+37069500001", "+37069500002", "+4915112345678"],
      from: SMS.from,
      message: "The office is closed today.",
    };
    shown = { args: batchArgs, result: await callTool(mcpUrl, batchArgs, "send_sms_batch") };
    toOpen = new Promise<string>((resolve) => opened = resolve);
    await page.goto(hostUrl);
    await frame.getByText("3 recipients (LT 2, DE 1)", { exact: false }).waitFor();
    await frame.getByText("1 per message (GSM-7), 3 in all").waitFor();
    await frame.getByText("about €0.2894 in all").waitFor();
    await page.screenshot({ path: `${shots}/review-card-batch.png` });
    await frame.getByRole("button", { name: "Open the approval page" }).click();
    const batchPage = await browser.browser.newPage();
    await batchPage.goto(await toOpen);
    await batchPage.getByText("LT: 2 (about €0.10), DE: 1 (about €0.1894)").waitFor();
    await batchPage.screenshot({ path: `${shots}/approval-page-batch.png`, fullPage: true });
    await batchPage.getByRole("button", { name: "Approve and send" }).click();
    await frame.getByText("Sent to 3 of 3 recipients.").waitFor();
    assert.equal(fake.count("POST /sms"), 5);
    console.log("review card: a batch approved on its one page, sent once per recipient");

    // 4. A recipient on the opt-out list: named as not sent, and not sent.
    await callTool(mcpUrl, { action: "add", numbers: ["+37069500002"] }, "manage_opt_outs");
    const consentArgs = { ...batchArgs, message: "The office opens at ten tomorrow." };
    shown = { args: consentArgs, result: await callTool(mcpUrl, consentArgs, "send_sms_batch") };
    toOpen = new Promise<string>((resolve) => opened = resolve);
    await page.goto(hostUrl);
    await frame.getByText("Not sent (consent): +37069500002 (opted out)").waitFor();
    await frame.getByText("2 recipients (LT 1, DE 1)", { exact: false }).waitFor();
    await frame.getByRole("button", { name: "Open the approval page" }).click();
    const consentPage = await browser.browser.newPage();
    await consentPage.goto(await toOpen);
    await consentPage.getByText("1: +37069500002 (opted out)").waitFor();
    await consentPage.getByRole("button", { name: "Approve and send" }).click();
    await frame.getByText("Sent to 2 of 3 recipients, 1 not sent (consent).").waitFor();
    assert.equal(fake.count("POST /sms"), 7, "the opted-out number got nothing");
    console.log("review card: a batch with an opted-out number named it and sent to the others");
  } finally {
    await browser?.close();
    await host?.shutdown();
    await server.shutdown();
    await fake.shutdown();
  }
}

if (import.meta.main) {
  const shots = Deno.env.get("SCREENSHOT_DIR") ?? await Deno.makeTempDir({ prefix: "approval-" });
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      run(shots),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error("approval browser test timed out")), TIMEOUT_MS);
      }),
    ]);
    console.log(`approval browser test passed; screenshots in ${shots}`);
    Deno.exit(0);
  } catch (error) {
    console.error(`approval browser test FAILED: ${error instanceof Error ? error.stack : error}`);
    Deno.exit(1);
  } finally {
    clearTimeout(timer);
  }
}
