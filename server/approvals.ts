/**
 * The approval pages: `GET /approvals/{id}` shows one pending send (the
 * recipient — or a batch's count, countries and every number —, the sender,
 * the full text, parts and encoding, the estimated cost, the calling
 * client's name, when it expires) with Approve and Decline
 * buttons; `POST /approvals/{id}` records the person's decision.
 *
 * Server-rendered HTML, no external assets and no script, so it works in any
 * browser with JavaScript off; a strict Content-Security-Policy, never cached,
 * never framed, never sent as a referrer to another site, never readable by
 * another origin (no CORS: see `capabilities.ts`, which also bounds the
 * body). `GET` changes nothing. A decision is only the page's own form: a
 * urlencoded `POST` whose `Origin` is this server's (whatever else it claims
 * to be, anything else is refused before it is read), carrying the page's
 * form value (a keyed hash of the approval id). Every field a caller chose is
 * shown confined to its box (`core/confine.ts`).
 */
import type { Context, Hono } from "hono";
import { visibleLine, visibleText } from "../core/confine.ts";
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
  /** `PUBLIC_URL`: the page's own origin, the only one a decision may come from. */
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

/** The content type of the page's form. */
const FORM = "application/x-www-form-urlencoded";

/** Register the approval routes on `app`. */
export function approvalRoutes(app: Hono<AppEnv>, options: ApprovalRoutesOptions): void {
  const { approvals } = options;
  const origin = new URL(options.publicUrl).origin;

  app.get("/approvals/:id", async (c) => {
    const view = await approvals.view(c.req.param("id"));
    if (!view) return c.html(page("Approval not found", notFound()), 404, PAGE_HEADERS);
    const title = view.details.batch ? "Approve this SMS batch?" : "Approve this SMS?";
    return c.html(page(title, details(view)), 200, PAGE_HEADERS);
  });

  app.post("/approvals/:id", async (c) => {
    const id = c.req.param("id");
    // Proof of the page's own origin first, whatever the body claims to be: a browser always
    // sends Origin with a POST, and another site's page cannot send ours.
    if (c.req.header("origin") !== origin) {
      return refuse(c, 403, "This decision did not come from the approval page.");
    }
    const type = (c.req.header("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
    if (type !== FORM) return refuse(c, 415, "Decide with the buttons of the approval page.");
    let form: URLSearchParams;
    try {
      form = new URLSearchParams(await c.req.text());
    } catch {
      return refuse(c, 400, "The decision could not be read.");
    }
    const action = form.get("action");
    const token = form.get("form_token");
    if ((action !== "approve" && action !== "decline") || token === null) {
      return refuse(c, 400, "Choose Approve or Decline on the approval page.");
    }
    const outcome = await approvals.decide(id, action, token);
    if (outcome === "unknown") return refuse(c, 404, "No such approval.");
    if (outcome === "forbidden") {
      return refuse(c, 403, "This decision did not come from the approval page.");
    }
    // Post/redirect/get: a reload shows the state, it never posts again.
    return c.redirect(`/approvals/${id}`, 303);
  });
}

function refuse(c: Context<AppEnv>, status: 400 | 403 | 404 | 415, why: string) {
  return c.html(
    page("Nothing changed", `<p class="note">${escape(why)} Nothing changed.</p>`),
    status,
    PAGE_HEADERS,
  );
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
<dl>${rows.map(([k, v]) => `<dt>${escape(k)}</dt><dd>${escape(visibleLine(v))}</dd>`).join("")}</dl>
${d.batch ? recipientList(d.batch) : ""}
<h2>Text (${[...d.message].length} characters)</h2>
<pre class="text">${escape(visibleText(d.message))}</pre>
<p class="state state-${view.state}">${STATE_TEXT[view.state]}</p>
${form}`;
}

/** A batch's rows: how many, where, sender, parts per message and in all, the total. */
function batchRows(d: ApprovalDetails, batch: BatchDetails): [string, string][] {
  const countries = batch.countries.map((c) =>
    `${c.country ?? "unknown country"}: ${c.recipients} (${
      c.costEur ? `about €${c.costEur}` : "no price"
    })`
  ).join(", ");
  return [
    ["Recipients", `${batch.recipients.length}`],
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
  const items = batch.recipients.map((r) => `<li>${escape(visibleLine(r))}</li>`).join("");
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
