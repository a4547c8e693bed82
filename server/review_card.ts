/**
 * The MCP Apps review card for `send_sms` (the `io.modelcontextprotocol/ui`
 * extension): hosts that render `ui://` resources (Claude.ai and Desktop,
 * ChatGPT, VS Code, Cursor, Goose) show it beside the tool's result.
 *
 * One self-contained HTML document (inline script and style; the extension's
 * own view SDK is about 540 KB and not needed). It speaks JSON-RPC over
 * `postMessage` with its host (`ui/initialize`, then `tool-input` and
 * `tool-result` notifications) and shows the quote: recipient (or a batch's
 * count and countries), sender, text, parts, cost. For an `approval_required` result it reads the approval from
 * this server's approval route and approves or declines through that same
 * route, with the page's form value — the only way an approval is ever
 * given, so the card adds no way for a model to approve on its own. Once
 * approved it asks the host to call the same tool (`send_sms` or
 * `send_sms_batch`) again with the `approvalId`.
 * Its CSP lets it reach this server and nothing else.
 */

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

/** The card's `_meta`: its CSP allows this server's origin only; no external resources. */
export function reviewCardMeta(publicUrl: string) {
  return {
    ui: {
      csp: { connectDomains: [new URL(publicUrl).origin], resourceDomains: [] },
      prefersBorder: true,
    },
  };
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

/** The card. Everything shown is set with `textContent`: no markup from data. */
export const REVIEW_CARD_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Send SMS</title>
<style>
:root{font-family:var(--font-sans,system-ui,sans-serif);color:var(--color-text-primary,#1b1f24)}
body{margin:0;padding:12px}h1{font-size:15px;margin:0 0 8px}
dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 12px;margin:0 0 10px}
dt{color:var(--color-text-secondary,#57606a)}dd{margin:0;white-space:pre-wrap;overflow-wrap:anywhere}
button{font:inherit;padding:6px 14px;border-radius:6px;border:1px solid #d0d7de;margin-right:6px;cursor:pointer}
#approve{background:#1a7f37;color:#fff;border-color:#1a7f37}
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
<div id="buttons" hidden><button id="approve">Approve and send</button><button id="decline">Decline</button></div>
<div id="state" role="status">Waiting for the request…</div>
<script>
"use strict";
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
function fill(d) {
  $("to").textContent = Array.isArray(d.to) ? d.to.length + " recipients: " + d.to.join(", ")
    : d.recipients ? d.count + " recipients (" + d.countries.map((c) => (c.country || "unknown") + " " + c.recipients).join(", ") + "): " + d.recipients.join(", ")
    : String(d.to ?? "");
  $("from").textContent = String(d.from ?? "");
  $("text").textContent = String(d.message ?? "");
}
async function loadApproval(url) {
  const res = await fetch(url, { headers: { Accept: "application/json" } });
  if (!res.ok) throw new Error("the approval could not be read (HTTP " + res.status + ")");
  approval = { url, ...(await res.json()) };
  fill(approval);
  $("parts").textContent = approval.parts + (approval.parts_total ? " per message (" + approval.encoding + "), " + approval.parts_total + " in all" : " (" + approval.encoding + ")");
  $("cost").textContent = approval.estimated_cost_eur ? "about €" + approval.estimated_cost_eur + (approval.parts_total ? " in all" : "") : "unknown";
  $("buttons").hidden = approval.state !== "pending";
  state({ pending: "Not sent: approve or decline.", approved: "Approved.", declined: "Declined: nothing will be sent.",
    used: "Approved and sent.", expired: "Expired: nothing was sent." }[approval.state] || approval.state);
}
async function decide(action) {
  $("approve").disabled = $("decline").disabled = true;
  const res = await fetch(approval.url, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify({ action, form_token: approval.form_token }),
  });
  await loadApproval(approval.url);
  if (!res.ok || action !== "approve" || approval.state !== "approved" || !args) return;
  state("Approved. Sending…");
  const { dryRun, confirmationToken, approvalId, ...rest } = args;
  show(await request("tools/call", { name: approval.tool || "send_sms", arguments: { ...rest, approvalId: approval.approval_id } }));
}
function show(result) {
  const s = result && result.structuredContent;
  if (result && result.isError) {
    state(((result.content || [])[0] || {}).text || "The send failed.");
  } else if (s && s.status === "approval_required") {
    loadApproval(s.approval_url).catch((e) => state("Error: " + e.message));
  } else if (s && s.dry_run && s.count) {
    $("parts").textContent = s.parts_per_message + " per message (" + s.encoding + "), " + s.parts_per_message * s.count + " in all";
    $("cost").textContent = s.estimated_cost_eur ? "about €" + s.estimated_cost_eur + " in all" : "unknown";
    state("A quote: nothing is sent yet.");
  } else if (s && s.batch_id) {
    $("buttons").hidden = true;
    state("Sent to " + s.sent + " of " + s.count + " recipients" + (s.failed ? ", " + s.failed + " failed" : "") + (s.simulated ? " (simulated)" : "") + ".");
  } else if (s && s.dry_run) {
    $("parts").textContent = s.parts + " (" + s.encoding + ")";
    $("cost").textContent = s.estimated_cost_eur ? "about €" + s.estimated_cost_eur : "unknown";
    state("A quote: nothing is sent yet.");
  } else if (s && (s.status === "sent" || s.status === "scheduled")) {
    $("buttons").hidden = true;
    $("parts").textContent = s.parts + " (" + s.encoding + ")";
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
$("approve").addEventListener("click", () => decide("approve").catch((e) => state("Error: " + e.message)));
$("decline").addEventListener("click", () => decide("decline").catch((e) => state("Error: " + e.message)));
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
