/**
 * The MCP Apps review card for `send_sms` and `send_sms_batch` (the
 * `io.modelcontextprotocol/ui` extension): hosts that render `ui://` resources (Claude.ai and Desktop,
 * ChatGPT, VS Code, Cursor, Goose) show it beside the tool's result.
 *
 * One self-contained HTML document (inline script and style; the extension's
 * own view SDK is about 540 KB and not needed). It speaks JSON-RPC over
 * `postMessage` with its host (`ui/initialize`, then `tool-input` and
 * `tool-result` notifications) and shows the quote: recipient (a batch's
 * count, countries and numbers), sender, the whole text (every line break, control and bidirectional character made
 * visible, as `core/confine.ts` does), parts, cost. For an
 * `approval_required` result it asks the host to open the approval page
 * (`ui/open-link`) — a decision is only ever given there, on this server's
 * own origin, so the card adds no way for a model (or another origin) to
 * approve — and then asks the host to call the same tool again with the
 * `approvalId`, waiting up to a minute for the person's click. It reaches no
 * server itself: its CSP allows no connection at all.
 */
import { UNSAFE_CHAR } from "../core/confine.ts";

/** The extension's identifier. */
export const EXTENSION_ID = "io.modelcontextprotocol/ui";
/** The MIME type of an MCP Apps view. */
export const RESOURCE_MIME_TYPE = "text/html;profile=mcp-app";
/** The card's resource URI (the `_meta.ui.resourceUri` of the sending tools). */
export const REVIEW_CARD_URI = "ui://vertexsms/send-sms-review.html";
/**
 * The tools a person reviews before they send: they point at the card, and
 * a 2025-era client that can be asked is asked in-band on their call's stream.
 */
export const REVIEWED_TOOLS: ReadonlySet<string> = new Set(["send_sms", "send_sms_batch"]);

/** The card's `_meta`: its CSP allows no connection and no external resource. */
export function reviewCardMeta(_publicUrl: string) {
  return { ui: { csp: { connectDomains: [], resourceDomains: [] }, prefersBorder: true } };
}

/** The `resources/list` entry of the card. */
export function reviewCardResource(publicUrl: string) {
  return {
    uri: REVIEW_CARD_URI,
    name: "send_sms_review",
    title: "SMS review card",
    description:
      "Shows an SMS about to be sent (recipient, sender, text, parts, cost) and lets the user " +
      "approve or decline it.",
    mimeType: RESOURCE_MIME_TYPE,
    _meta: reviewCardMeta(publicUrl),
  };
}

/** The `resources/read` result of the card. */
export function readReviewCard(publicUrl: string) {
  return {
    contents: [{
      uri: REVIEW_CARD_URI,
      mimeType: RESOURCE_MIME_TYPE,
      text: REVIEW_CARD_HTML,
      _meta: reviewCardMeta(publicUrl),
    }],
  };
}

/**
 * `visibleLine` and `visibleText` of `core/confine.ts`, as the card's own
 * script (on the same pattern; `review_card_test.ts` checks they agree).
 */
export const CONFINE_JS = `const UNSAFE = new RegExp(${JSON.stringify(UNSAFE_CHAR)}, "gu");
const SHORT = { "\\n": "\\\\n", "\\r": "\\\\r", "\\t": "\\\\t" };
const escapeOf = (ch) => SHORT[ch] || "\\\\u" + ch.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0");
const visibleLine = (t) => String(t ?? "").replace(UNSAFE, escapeOf);
const visibleText = (t) => String(t ?? "").replace(UNSAFE, (ch) => ch === "\\n" ? "\u21B5\\n" : escapeOf(ch));`;

/** The card. Everything shown is set with `textContent`: no markup from data. */
export const REVIEW_CARD_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Send SMS</title>
<style>
:root{font-family:var(--font-sans,system-ui,sans-serif);color:var(--color-text-primary,#1b1f24)}
body{margin:0;padding:12px}h1{font-size:15px;margin:0 0 8px}
dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 12px;margin:0 0 10px}
dt{color:var(--color-text-secondary,#57606a)}dd{margin:0;overflow-wrap:anywhere}
#text{white-space:pre-wrap}
button{font:inherit;padding:6px 14px;border-radius:6px;border:1px solid #d0d7de;margin-right:6px;cursor:pointer}
#open{background:#1a7f37;color:#fff;border-color:#1a7f37}
#state{margin-top:8px;font-weight:600}
</style></head>
<body>
<h1>SMS to send</h1>
<dl>
<dt>To</dt><dd id="to">…</dd>
<dt>From</dt><dd id="from">…</dd>
<dt>Text</dt><dd id="text">…</dd>
<dt>Parts</dt><dd id="parts">…</dd>
<dt>Estimated cost</dt><dd id="cost">…</dd>
</dl>
<p id="refused" hidden></p>
<div id="link" hidden><dl><dt>Approval page</dt><dd id="url"></dd></dl></div>
<div id="buttons" hidden><button id="open">Open the approval page</button><button id="check">Check again</button></div>
<div id="state" role="status">Waiting for the request…</div>
<script>
"use strict";
${CONFINE_JS}
const $ = (id) => document.getElementById(id);
let nextId = 1;
const waiting = new Map();
let args = null;
let approval = null;
const post = (message) => window.parent.postMessage(message, "*");
const notify = (method, params) => post({ jsonrpc: "2.0", method, params });
function request(method, params) {
  const id = nextId++;
  post({ jsonrpc: "2.0", id, method, params });
  return new Promise((resolve, reject) => waiting.set(id, { resolve, reject }));
}
function resized() {
  const el = document.documentElement;
  notify("ui/notifications/size-changed", { width: Math.ceil(el.scrollWidth), height: Math.ceil(el.scrollHeight) });
}
function state(text) { $("state").textContent = text; resized(); }
// A batch's recipients are a list (send_sms_batch is the only tool whose "to" is one).
const isBatch = (d) => Array.isArray(d && d.to);
function fill(d) {
  $("to").textContent = isBatch(d) ? d.to.length + " recipients: " + d.to.map(visibleLine).join(", ")
    : visibleLine(d.to);
  $("from").textContent = visibleLine(d.from);
  $("text").textContent = visibleText(d.message);
}
function quote(s) {
  const each = s.parts_per_message;
  // Recipients the consent guards refuse (opted out, quiet hours, daily limit) are not sent.
  const refused = s.refused || [];
  $("refused").hidden = refused.length === 0;
  $("refused").textContent = refused.length === 0 ? "" : "Not sent (consent): " +
    refused.map((r) => visibleLine(r.to) + " (" + String(r.reason).replace(/_/g, " ") + ")").join(", ");
  $("parts").textContent = each
    ? each + " per message (" + s.encoding + "), " + each * (s.count - refused.length) + " in all"
    : s.parts + " (" + s.encoding + ")";
  $("cost").textContent = s.estimated_cost_eur
    ? "about €" + s.estimated_cost_eur + (each ? " in all" : "")
    : "unknown";
  if (s.countries && args && isBatch(args)) {
    const where = s.countries.map((c) => visibleLine(c.country || "unknown") + " " + c.recipients).join(", ");
    const to = args.to.filter((n) => !refused.some((r) => r.to === n));
    $("to").textContent = to.length + " recipients (" + where + "): " + to.map(visibleLine).join(", ");
  }
}
async function send() {
  $("open").disabled = $("check").disabled = true;
  state("Approve or decline on the approval page; waiting for your decision…");
  const { dryRun, confirmationToken, approvalId, waitSeconds, ...rest } = args || {};
  show(await request("tools/call", {
    name: isBatch(rest) ? "send_sms_batch" : "send_sms",
    arguments: { ...rest, approvalId: approval.approval_id, waitSeconds: 60 },
  }));
}
async function open() {
  const opened = await request("ui/open-link", { url: approval.approval_url }).catch(() => ({ isError: true }));
  if (opened && opened.isError) state("Open the approval page above in your browser, then press Check again.");
  await send();
}
function show(result) {
  const s = result && result.structuredContent;
  $("open").disabled = $("check").disabled = false;
  if (result && result.isError) {
    $("buttons").hidden = true;
    state(visibleLine(((result.content || [])[0] || {}).text || "The send failed."));
  } else if (s && s.status === "approval_required") {
    approval = s;
    quote(s);
    $("url").textContent = s.approval_url;
    $("link").hidden = $("buttons").hidden = false;
    state("Not sent: a person must approve it on the approval page first.");
  } else if (s && s.dry_run) {
    quote(s);
    state("A quote: nothing is sent yet.");
  } else if (s && s.batch_id) {
    $("buttons").hidden = true;
    const refused = s.count - s.sent - s.failed;
    state("Sent to " + s.sent + " of " + s.count + " recipients" +
      (s.failed ? ", " + s.failed + " failed" : "") +
      (refused ? ", " + refused + " not sent (consent)" : "") + (s.simulated ? " (simulated)" : "") + ".");
  } else if (s && (s.status === "sent" || s.status === "scheduled")) {
    $("buttons").hidden = true;
    quote({ ...s, estimated_cost_eur: null });
    state((s.status === "sent" ? "Sent" : "Scheduled") + ", message id " + s.message_id + (s.simulated ? " (simulated)" : ""));
  } else if (s && s.status === "not_sent") {
    $("buttons").hidden = true;
    state("Not sent (" + s.reason + ").");
  }
}
window.addEventListener("message", (event) => {
  if (event.source !== window.parent) return;
  const m = event.data;
  if (!m || m.jsonrpc !== "2.0") return;
  if (m.id !== undefined && m.method === undefined) {
    const w = waiting.get(m.id);
    if (!w) return;
    waiting.delete(m.id);
    if (m.error) w.reject(new Error(m.error.message)); else w.resolve(m.result);
  } else if (m.method === "ui/notifications/tool-input") {
    args = (m.params && m.params.arguments) || {};
    fill(args);
    resized();
  } else if (m.method === "ui/notifications/tool-result") {
    show(m.params);
  } else if (m.method === "ui/notifications/tool-cancelled") {
    state("Cancelled.");
  } else if (m.id !== undefined && (m.method === "ui/resource-teardown" || m.method === "ping")) {
    post({ jsonrpc: "2.0", id: m.id, result: {} });
  } else if (m.id !== undefined) {
    post({ jsonrpc: "2.0", id: m.id, error: { code: -32601, message: "Method not found" } });
  }
});
$("open").addEventListener("click", () => open().catch((e) => state("Error: " + e.message)));
$("check").addEventListener("click", () => send().catch((e) => state("Error: " + e.message)));
(async () => {
  await request("ui/initialize", {
    appInfo: { name: "vertexsms-send-review", version: "1" },
    appCapabilities: {},
    protocolVersion: "2026-01-26",
  });
  notify("ui/notifications/initialized", {});
  resized();
})();
</script>
</body></html>
`;
