/**
 * The approval pages: `GET /approvals/{id}` shows one pending send (the
 * recipient — or a batch's count, countries and every number —, the sender,
 * the full text, parts and encoding, the estimated cost, the calling
 * client's name, when it expires) with Approve and Decline
 * buttons; `POST /approvals/{id}` records the person's decision.
 *
 * Server-rendered HTML, no external assets and no script, so it works in any
 * browser with JavaScript off; a strict Content-Security-Policy, never cached,
 * never framed, never sent as a referrer to another site. `GET` changes nothing. A decision
 * needs the page's own form value (a keyed hash of the approval id), and from
 * a browser the form's `Origin` must be this server's. The MCP Apps review
 * card uses the same two routes as JSON (`Accept: application/json`), with
 * the same form value.
 */
import type { Context, Hono } from "hono";
import type {
  ApprovalDetails,
  Approvals,
  ApprovalState,
  ApprovalView,
  BatchDetails,
} from "../money/mod.ts";
import type { AppEnv } from "./middleware/types.ts";

/** What the approval routes need. */
export interface ApprovalRoutesOptions {
  approvals: Approvals;
  /** `PUBLIC_URL`: the page's own origin, the only one a form may come from. */
  publicUrl: string;
}

/** The headers of every approval page and answer. */
const PAGE_HEADERS = {
  "Content-Security-Policy":
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  "Cache-Control": "no-store",
  "X-Frame-Options": "DENY",
  // Never send the page's URL elsewhere; `no-referrer` would also blank the form's own Origin.
  "Referrer-Policy": "same-origin",
  "X-Content-Type-Options": "nosniff",
};

/** The card's JSON answers: readable from the host's sandboxed frame, never cached. */
const JSON_HEADERS = {
  "Cache-Control": "no-store",
  "Access-Control-Allow-Origin": "*",
  "Referrer-Policy": "no-referrer",
};

/** Register the approval routes on `app`. */
export function approvalRoutes(app: Hono<AppEnv>, options: ApprovalRoutesOptions): void {
  const { approvals } = options;
  const origin = new URL(options.publicUrl).origin;

  app.options("/approvals/:id", (c) =>
    c.body(null, 204, {
      ...JSON_HEADERS,
      "Access-Control-Allow-Methods": "GET, POST",
      "Access-Control-Allow-Headers": "Content-Type",
      "Access-Control-Max-Age": "600",
    }));

  app.get("/approvals/:id", async (c) => {
    const view = await approvals.view(c.req.param("id"));
    if (wantsJson(c)) {
      if (!view) return c.json({ error: "not_found" }, 404, JSON_HEADERS);
      return c.json(asJson(view), 200, JSON_HEADERS);
    }
    if (!view) return c.html(page("Approval not found", notFound()), 404, PAGE_HEADERS);
    const title = view.details.batch ? "Approve this SMS batch?" : "Approve this SMS?";
    return c.html(page(title, details(view)), 200, PAGE_HEADERS);
  });

  app.post("/approvals/:id", async (c) => {
    const id = c.req.param("id");
    const json = (c.req.header("content-type") ?? "").startsWith("application/json");
    let action: unknown;
    let token: unknown;
    try {
      if (json) {
        ({ action, form_token: token } = await c.req.json());
      } else {
        const form = await c.req.parseBody();
        ({ action, form_token: token } = form);
      }
    } catch {
      return refuse(c, json, 400, "The decision could not be read.");
    }
    // A browser's form comes from this server's own page; anything else is not a person here.
    if (!json && c.req.header("origin") !== origin) {
      return refuse(c, json, 403, "This decision did not come from the approval page.");
    }
    if ((action !== "approve" && action !== "decline") || typeof token !== "string") {
      return refuse(c, json, 400, "Choose Approve or Decline on the approval page.");
    }
    const outcome = await approvals.decide(id, action, token);
    if (outcome === "unknown") return refuse(c, json, 404, "No such approval.");
    if (outcome === "forbidden") {
      return refuse(c, json, 403, "This decision did not come from the approval page.");
    }
    const view = await approvals.view(id);
    if (json) {
      return c.json(
        { outcome, ...(view ? asJson(view) : {}) },
        outcome === "stale" ? 409 : 200,
        JSON_HEADERS,
      );
    }
    // Post/redirect/get: a reload shows the state, it never posts again.
    return c.redirect(`/approvals/${id}`, 303);
  });
}

/** Whether the request asks for the card's JSON rather than the page. */
function wantsJson(c: Context<AppEnv>): boolean {
  const accept = c.req.header("accept") ?? "";
  return accept.includes("application/json") && !accept.includes("text/html");
}

function refuse(c: Context<AppEnv>, json: boolean, status: 400 | 403 | 404, why: string) {
  if (json) return c.json({ error: why }, status, JSON_HEADERS);
  return c.html(
    page("Nothing changed", `<p class="note">${escape(why)} Nothing changed.</p>`),
    status,
    PAGE_HEADERS,
  );
}

/** The card's view of an approval (the form value included: it approves through this route). */
function asJson(view: ApprovalView) {
  const d = view.details;
  return {
    approval_id: view.id,
    state: view.state,
    expires_at: new Date(view.expiresAt).toISOString(),
    to: d.to,
    from: d.from,
    message: d.message,
    parts: d.parts,
    encoding: d.encoding,
    estimated_cost_eur: d.estimatedCostEur,
    client_name: d.clientName ?? null,
    simulated: d.simulated === true,
    tool: d.batch ? "send_sms_batch" : "send_sms",
    ...(d.batch && {
      count: d.batch.recipients.length,
      recipients: d.batch.recipients,
      countries: d.batch.countries.map((c) => ({
        country: c.country,
        recipients: c.recipients,
        cost_eur: c.costEur,
      })),
      parts_total: d.batch.partsTotal,
    }),
    form_token: view.formToken,
  };
}

const STATE_TEXT: Record<ApprovalState, string> = {
  pending: "Waiting for your decision.",
  approved: "Approved. Go back to your assistant: it can send this SMS now, once.",
  declined: "Declined. Nothing will be sent.",
  used: "Approved and sent.",
  expired: "Expired. Nothing was sent; ask your assistant again if you still want to send it.",
};

function details(view: ApprovalView): string {
  const d = view.details;
  const rows: [string, string][] = [
    ...(d.batch ? batchRows(d, d.batch) : [
      ["To", d.country ? `${d.to} (${d.country})` : d.to],
      ["From", d.from],
      ["Parts", `${d.parts} (${d.encoding})`],
      [
        "Estimated cost",
        d.estimatedCostEur
          ? `about €${d.estimatedCostEur}`
          : "unknown (no price for this destination)",
      ],
    ] as [string, string][]),
    ...(d.scheduled ? [["Scheduled for", d.scheduled] as [string, string]] : []),
    ["Asked by", d.clientName ?? "an MCP client (it gave no name)"],
    ["Expires", `${new Date(view.expiresAt).toISOString().replace("T", " ").slice(0, 19)} UTC`],
  ];
  const form = view.state === "pending"
    ? `<form method="post" action="/approvals/${escape(view.id)}">
  <input type="hidden" name="form_token" value="${escape(view.formToken)}">
  <button type="submit" name="action" value="approve" class="approve">Approve and send</button>
  <button type="submit" name="action" value="decline" class="decline">Decline</button>
</form>`
    : "";
  const what = d.batch ? `this SMS to ${d.batch.recipients.length} recipients` : "this SMS";
  return `<p class="lead">An AI assistant asks to send ${what}. It costs money and cannot be recalled.</p>
${
    d.simulated
      ? '<p class="test">TEST MODE: VertexSMS only simulates this send; no real SMS is sent.</p>'
      : ""
  }
<dl>${rows.map(([k, v]) => `<dt>${escape(k)}</dt><dd>${escape(v)}</dd>`).join("")}</dl>
${d.batch ? recipientList(d.batch) : ""}
<h2>Text</h2>
<pre class="text">${escape(d.message)}</pre>
<p class="state state-${view.state}">${STATE_TEXT[view.state]}</p>
${form}`;
}

/** A batch's rows: how many, where, sender, parts per message and in all, the total. */
function batchRows(d: ApprovalDetails, batch: BatchDetails): [string, string][] {
  const n = batch.recipients.length;
  const countries = batch.countries.map((c) =>
    `${c.country ?? "unknown country"}: ${c.recipients} (${
      c.costEur ? `about €${c.costEur}` : "no price"
    })`
  ).join(", ");
  return [
    ["Recipients", `${n}`],
    ["Countries", countries],
    ["From", d.from],
    ["Parts", `${d.parts} per message (${d.encoding}), ${batch.partsTotal} in all`],
    [
      "Estimated cost",
      d.estimatedCostEur
        ? `about €${d.estimatedCostEur} in all`
        : "unknown (no price for some destinations)",
    ],
  ];
}

/** Every number of a batch, folded (no script needed to open it). */
function recipientList(batch: BatchDetails): string {
  const items = batch.recipients.map((r) => `<li>${escape(r)}</li>`).join("");
  return `<details><summary>All ${batch.recipients.length} numbers</summary><ul class="numbers">${items}</ul></details>`;
}

function notFound(): string {
  return `<p class="note">This approval does not exist, or it is long gone. Nothing was sent.</p>`;
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escape(title)} · VertexSMS</title>
<style>
body{font:16px/1.45 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#1b1f24}
h1{font-size:1.4rem}h2{font-size:1rem;margin:1.2rem 0 .3rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem;margin:1rem 0}
dt{font-weight:600}dd{margin:0;overflow-wrap:anywhere}
.text{white-space:pre-wrap;overflow-wrap:anywhere;background:#f4f6f8;border:1px solid #d0d7de;border-radius:6px;padding:.8rem;font:15px/1.4 ui-monospace,monospace}
.numbers{columns:12rem;margin:.3rem 0}
.state{font-weight:600}.state-approved,.state-used{color:#1a7f37}.state-declined,.state-expired{color:#9a3412}
.test{background:#fff8c5;border:1px solid #d4a72c;padding:.5rem;border-radius:6px}
button{font:inherit;padding:.6rem 1.1rem;border-radius:6px;border:1px solid #d0d7de;margin-right:.6rem;cursor:pointer}
.approve{background:#1a7f37;color:#fff;border-color:#1a7f37}.decline{background:#fff}
</style>
</head>
<body>
<h1>${escape(title)}</h1>
${body}
</body>
</html>
`;
}

/** HTML-escape text (element content and attribute values). */
export function escape(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}
