/**
 * `send_sms_batch` (scope `sms:send`, billable): one text to up to 100
 * recipients as one decision — one quote, one confirmation or approval, one
 * idempotency key — then one `POST /sms` per recipient, at most 5 at a time
 * (the guards' `sendBatch`, `money/batch.ts`).
 */
import { z } from "zod";
import { quoteLine } from "../core/confine.ts";
import { formatEur } from "../core/eur.ts";
import { memo } from "../core/keys.ts";
import type {
  ApprovalDetails,
  BatchDetails,
  BatchQuote,
  BatchSent,
  RecipientOutcome,
  Refusals,
  SmsQuote,
} from "../money/mod.ts";
import type { ToolContext } from "./context.ts";
import { defineTool } from "./define.ts";
import { ledgerEstimate, quoteSms } from "./pricing.ts";
import { e164, upstreamDigits } from "./schemas.ts";
import {
  approvalNote,
  approvalRequiredResult,
  approvalUrl,
  checkCoding,
  consentReason,
  encodingName,
  notSentNote,
  notSentResult,
  prepareSend,
  refusedLine,
  refusedOf,
  refusedRecipients,
  SEND_ANNOTATIONS,
  SEND_FIELDS,
  SEND_OPTIONS,
  simulated,
  TEST_MODE_LINE,
  unpricedWithoutScope,
} from "./sms_shared.ts";

/** Recipients of one batch at most. */
export const MAX_BATCH_RECIPIENTS = 100;

const Input = z.strictObject({
  to: z.array(e164)
    .min(1, "must name at least one recipient")
    .max(MAX_BATCH_RECIPIENTS, `must name at most ${MAX_BATCH_RECIPIENTS} recipients`)
    .superRefine((numbers, ctx) => {
      const first = new Map<string, number>();
      numbers.forEach((n, i) => {
        const seen = first.get(n);
        if (seen === undefined) first.set(n, i);
        else {
          ctx.addIssue({
            code: "custom",
            path: [i],
            message: `repeats to.${seen}: each recipient once`,
          });
        }
      });
    })
    .describe('1 to 100 different recipients in E.164, e.g. ["+37069912345", "+37061860698"]'),
  ...SEND_FIELDS,
  ...SEND_OPTIONS,
}).superRefine(checkCoding);

/** Recipients of one country (and rate), in a quote. */
const Country = z.object({
  country: z.string().nullable().describe("the country, when the numbers tell it for certain"),
  recipients: z.number().int().min(1),
  rate_eur: z.string().nullable().describe(
    "price per part in EUR: the country's highest operator rate (null: not in the price list)",
  ),
  cost_eur: z.string().nullable().describe("rate_eur times parts times recipients"),
});

/** A dry run: the quote for the whole batch, nothing sent. */
const Quote = z.object({
  dry_run: z.literal(true),
  count: z.number().int().min(1).describe("recipients given"),
  parts_per_message: z.number().int().min(1),
  encoding: encodingName,
  countries: z.array(Country).describe("the recipients that would be sent (not those refused)"),
  estimated_cost_eur: z.string().nullable().describe(
    "the recipients that would be sent (null when a destination has no price)",
  ),
  confirmation_token: z.string().describe(
    "pass as confirmationToken with exactly these arguments to send what was quoted",
  ),
  confirmation_expires_in_seconds: z.number().int(),
  refused: refusedRecipients,
  simulated,
});

/** What became of one recipient. */
const Recipient = z.object({
  to: z.string(),
  status: z.enum(["sent", "scheduled", "failed", "not_sent"]),
  message_id: z.string().nullable(),
  parts: z.number().int().min(1).describe(
    "parts of this message: as VertexSMS billed them when sent, else the estimate",
  ),
  error: z.object({
    code: z.string(),
    message: z.string(),
    outcome_unknown: z.boolean().describe(
      "true: the SMS may have left (and been billed); never send it again without checking",
    ),
    reason: consentReason.optional().describe("SEND_NOT_ALLOWED: which consent guard refused"),
    next_allowed_at: z.string().optional().describe(
      "quiet hours: the earliest time it may be sent (ISO 8601), to pass as scheduled",
    ),
    retry_after_seconds: z.number().int().optional(),
  }).nullable().describe("not_sent with SEND_NOT_ALLOWED: a consent guard refused it"),
});

/** The batch went out (to every recipient, or some). */
const Sent = z.object({
  batch_id: z.string(),
  status: z.enum(["sent", "scheduled", "partial", "not_sent"]).describe(
    "sent or scheduled: every recipient; partial: some failed; not_sent: every recipient " +
      "was refused and nothing left",
  ),
  count: z.number().int().min(1),
  sent: z.number().int().min(0),
  failed: z.number().int().min(0),
  parts_total: z.number().int().min(0).describe("parts of the messages sent"),
  estimated_cost_eur: z.string().nullable().describe(
    "the messages sent (null when one has no price)",
  ),
  results: z.array(Recipient).describe("one per recipient, in input order"),
  simulated,
});

const NotSent = notSentResult({ count: z.number().int().min(1) });

const ApprovalRequired = approvalRequiredResult("batch", {
  count: z.number().int().min(1),
  countries: z.array(Country).describe(
    "the recipients to be sent; empty when the price list could not be read",
  ),
  parts_per_message: z.number().int().min(1),
  encoding: encodingName,
  refused: refusedRecipients,
});

const Output = z.union([Sent, Quote, NotSent, ApprovalRequired]);
type Out = z.input<typeof Output>;

/** One country's share of a batch quote. */
interface CountryShare {
  country: string | null;
  recipients: number;
  rateEur: string | null;
  costMicros: number | null;
}

/** The recipients grouped by country and rate, in order of first appearance. */
function byCountry(quotes: readonly SmsQuote[]): CountryShare[] {
  const groups = new Map<string, CountryShare>();
  for (const q of quotes) {
    const id = `${q.country}|${q.rateEur}`;
    const group = groups.get(id) ??
      { country: q.country, recipients: 0, rateEur: q.rateEur, costMicros: 0 };
    group.recipients++;
    group.costMicros = group.costMicros === null || q.costMicros === null
      ? null
      : group.costMicros + q.costMicros;
    groups.set(id, group);
  }
  return [...groups.values()];
}

/** The recipients per country (and rate), as results list them. */
function countriesOf(quotes: readonly SmsQuote[]) {
  return byCountry(quotes).map((s) => ({
    country: s.country,
    recipients: s.recipients,
    rate_eur: s.rateEur,
    cost_eur: eur(s.costMicros),
  }));
}

/** The sum of estimates, or null when one is unknown. */
function total(costs: readonly (number | null)[]): number | null {
  let sum = 0;
  for (const c of costs) {
    if (c === null) return null;
    sum += c;
  }
  return sum;
}

const eur = (micros: number | null) => (micros === null ? null : formatEur(micros));

/** "LT 2 (about €0.10), unknown country 1 (no price)". */
function countryLine(shares: readonly CountryShare[]): string {
  return shares.map((s) =>
    `${s.country ?? "unknown country"} ${s.recipients} (${
      s.costMicros === null ? "no price" : `about €${formatEur(s.costMicros)}`
    })`
  ).join(", ");
}

/** The items of the recipients the consent guards do not refuse. */
function allowed<T>(items: readonly T[], refused: Refusals): T[] {
  return items.filter((_, i) => !refused[i]);
}

/**
 * The confirmation question: count, countries, every number, sender, the
 * full text, parts, cost — of the recipients to be sent — and those the
 * consent guards refuse.
 */
function question(
  input: { to: string[]; from: string; message: string; scheduled?: string },
  parts: number,
  encoding: string,
  quote: BatchQuote | null,
  testMode: boolean,
  refused: Refusals,
): string {
  const to = allowed(input.to, refused);
  const n = to.length;
  const quotes = quote ? allowed(quote.recipients, refused) : null;
  const shares = quotes ? byCountry(quotes) : null;
  const cost = quotes ? total(quotes.map((q) => q.costMicros)) : null;
  const left = input.to.length - n;
  return [
    `Send this SMS to ${n} recipient${n === 1 ? "" : "s"}? It costs money and cannot be recalled.`,
    ...(left > 0 ? [`Not sent (consent), ${left}: ${refusedLine(input.to, refused)}`] : []),
    `Countries: ${shares ? countryLine(shares) : "unknown (the price list could not be read)"}`,
    `To: ${to.join(", ")}`,
    `From: ${input.from}`,
    `Text: ${quoteLine(input.message)}`,
    `Parts: ${parts} per message (${encoding}), ${parts * n} in all` +
    (input.scheduled ? `, scheduled for ${input.scheduled}` : ""),
    `Estimated cost: ${
      cost === null
        ? "unknown (no price for some destinations)"
        : `about €${formatEur(cost)} in all`
    }`,
    ...(testMode ? [TEST_MODE_LINE] : []),
  ].join("\n");
}

/** What the approval page and the review card show of a batch (those to be sent, those refused). */
function batchDetails(
  all: string[],
  parts: number,
  quote: BatchQuote | null,
  refused: Refusals,
): BatchDetails {
  const to = allowed(all, refused);
  const shares = quote ? byCountry(allowed(quote.recipients, refused)) : [{
    country: null,
    recipients: to.length,
    rateEur: null,
    costMicros: null,
  }];
  const left = refusedOf(all, refused);
  return {
    recipients: to,
    countries: shares.map((s) => ({
      country: s.country,
      recipients: s.recipients,
      costEur: eur(s.costMicros),
    })),
    partsTotal: parts * to.length,
    ...(left.length > 0 ? { refused: left.map((r) => ({ to: r.to, reason: r.reason })) } : {}),
  };
}

/** The batch's status from its recipients' outcomes. */
function statusOf(outcomes: readonly RecipientOutcome[], scheduled: boolean) {
  const sent = outcomes.filter((o) => o.status === "sent").length;
  if (sent === outcomes.length) return scheduled ? "scheduled" as const : "sent" as const;
  const left = outcomes.some((o) => o.status === "failed" && o.error.outcomeUnknown);
  return sent === 0 && !left ? "not_sent" as const : "partial" as const;
}

/**
 * The messages a run sent, entered in the ledger in one write, with the
 * batch's id and, when the guards priced the batch, each one's cost as the
 * spend cap counts it (corrected to the parts VertexSMS billed).
 */
async function recordSent(
  ctx: ToolContext,
  { args, parts }: Prepared,
  estimate: () => Promise<BatchQuote | undefined>,
  batchId: string,
  { index, messageId, parts: billed }: BatchSent,
): Promise<void> {
  const cost = (await estimate())?.recipients[index]?.costMicros ?? null;
  await ctx.services.ledger.record(await ctx.principal(), [{
    messageId,
    destination: args.to[index]!,
    parts: billed,
    costMicros: cost === null ? null : Math.ceil((cost / parts) * billed),
    batchId,
    status: args.scheduled ? "scheduled" : "sent",
  }]);
}

/** What a batch's pieces share: its arguments, encoding, parts and test mode. */
type Prepared = ReturnType<typeof prepareSend<z.output<typeof Input>>>;

/** A dry run: the quote per country and in all, and a confirmation token for exactly this batch. */
async function dryRun(ctx: ToolContext, { args, parts, encoding, marked }: Prepared): Promise<Out> {
  // A token that may not read rates still gets its quote, unpriced (and a confirmation token).
  const refused = await ctx.services.consent.check(ctx, args.to, args.scheduled);
  const quotes = await Promise.all(
    allowed(args.to, refused)
      .map((to) => quoteSms(ctx, { to, parts }).catch(unpricedWithoutScope({ to }))),
  );
  const confirmation = await ctx.services.money.confirmationToken(ctx, "send_sms_batch", args);
  return {
    dry_run: true as const,
    count: args.to.length,
    parts_per_message: parts,
    encoding,
    countries: countriesOf(quotes),
    estimated_cost_eur: eur(total(quotes.map((q) => q.costMicros))),
    confirmation_token: confirmation.token,
    confirmation_expires_in_seconds: confirmation.expiresInSeconds,
    refused: refusedOf(args.to, refused),
    ...marked,
  };
}

/** The result of a batch that ran: every recipient's outcome, counts, parts and the estimate. */
function result(
  { args, parts, marked }: Prepared,
  quotes: readonly SmsQuote[] | null,
  batchId: string,
  outcomes: readonly RecipientOutcome[],
): Out {
  const scheduled = args.scheduled !== undefined;
  const sentCosts = outcomes.flatMap((o, i) => {
    if (o.status !== "sent") return [];
    const rate = quotes?.[i]?.rateMicros ?? null;
    return [rate === null ? null : rate * o.parts];
  });
  return {
    batch_id: batchId,
    status: statusOf(outcomes, scheduled),
    count: args.to.length,
    sent: outcomes.filter((o) => o.status === "sent").length,
    failed: outcomes.filter((o) => o.status === "failed").length,
    parts_total: outcomes.reduce((sum, o) => sum + (o.status === "sent" ? o.parts : 0), 0),
    estimated_cost_eur: eur(total(sentCosts)),
    results: outcomes.map((o, i) => ({
      to: args.to[i]!,
      status: o.status === "sent" ? (scheduled ? "scheduled" as const : "sent" as const) : o.status,
      message_id: o.status === "sent" ? o.messageId : null,
      parts: o.status === "sent" ? o.parts : parts,
      error: o.status === "sent" ? null : {
        code: o.error.code,
        message: o.error.message,
        outcome_unknown: o.error.outcomeUnknown,
        ...(o.error.reason ? { reason: o.error.reason } : {}),
        ...(o.error.nextAllowedAt ? { next_allowed_at: o.error.nextAllowedAt } : {}),
        ...(o.error.retryAfterSeconds !== undefined
          ? { retry_after_seconds: o.error.retryAfterSeconds }
          : {}),
      },
    })),
    ...marked,
  };
}

/** What the approval page and the review card show, from the estimate (null: unknown). */
function details(
  { args, parts, encoding, simulate }: Prepared,
  quote: BatchQuote | null,
  refused: Refusals,
): ApprovalDetails {
  const to = allowed(args.to, refused);
  const quotes = quote ? allowed(quote.recipients, refused) : null;
  const single = quotes?.length === 1 ? quotes[0]! : null;
  return {
    to: to.length === 1 ? to[0]! : `${to.length} recipients`,
    from: args.from,
    message: args.message,
    parts,
    encoding,
    estimatedCostEur: quotes ? eur(total(quotes.map((r) => r.costMicros))) : null,
    rateEur: single?.rateEur ?? null,
    country: single?.country ?? null,
    ...(args.scheduled ? { scheduled: args.scheduled } : {}),
    ...(simulate ? { simulated: true } : {}),
    batch: batchDetails(args.to, parts, quote, refused),
  };
}

/** Send one recipient's message (with the token's delivery-report URL, when reports can come). */
async function sendOne(
  ctx: ToolContext,
  { args, simulate }: Prepared,
  dlrUrl: () => Promise<string | undefined>,
  estimate: () => Promise<unknown>,
  index: number,
) {
  await estimate(); // priced before the first send, so each message is recorded at once
  const accepted = await ctx.vertex.sendSms({
    to: upstreamDigits(args.to[index]!),
    from: args.from,
    message: args.message,
    priority: args.priority,
    scheduled: args.scheduled,
    coding: args.coding,
    expireIn: args.expireIn,
    dlrUrl: await dlrUrl(),
    simulate,
  });
  return { messageId: accepted.messageIds[0]!, billedParts: accepted.amountSent };
}

/** `send_sms_batch`: one text to many recipients, as one decision (billable). */
export const sendSmsBatch = defineTool({
  name: "send_sms_batch",
  title: "Send SMS batch",
  description:
    "Send one SMS text through VertexSMS to 1-100 different phone numbers (E.164), as one " +
    "decision: one quote, one confirmation, one idempotency key for the whole batch, one " +
    "message per recipient. BILLABLE: every part of every message costs money and cannot be " +
    "recalled. Quote first with dryRun: true (per-country breakdown and the total, nothing " +
    "sent), show the user the count, countries, text and total, and send only after they " +
    "agree, passing its confirmation_token as confirmationToken. Always pass an " +
    "idempotencyKey (a new UUID per intended batch, reused on retries): a repeated call " +
    "returns the recorded results and never texts a recipient twice. Status not_sent with a " +
    "reason means the user declined: do not retry. Status approval_required: give the user " +
    "approval_url, then call again with exactly the same arguments plus approvalId. The " +
    "result has one entry per recipient in input order; only recipients whose error has " +
    "outcome_unknown false may be sent again, in a new call with a new key. Recipients the " +
    "consent guards refuse (opted out, quiet hours where they are, or their daily limit) are " +
    "not_sent with SEND_NOT_ALLOWED and its reason, and the others go on; the dry run lists " +
    "them as refused. To notify a list, check it first with manage_opt_outs (action check).",
  scope: "sms:send",
  billable: true,
  input: Input,
  output: Output,
  annotations: SEND_ANNOTATIONS,
  handler: async (input, ctx) => {
    const prepared = prepareSend(input, ctx);
    if (prepared.dryRun) return await dryRun(ctx, prepared);
    const { args, guards, parts, encoding, simulate, marked } = prepared;
    const n = args.to.length;
    /** The estimate, priced once: for the guards, the ledger and the result. */
    const quote = memo(async (): Promise<BatchQuote> => ({
      recipients: await Promise.all(args.to.map((to) => quoteSms(ctx, { to, parts }))),
    }));
    const dlrUrl = memo(async () => await ctx.services.ledger.dlrUrl(await ctx.principal()));
    /** The ledger's estimate (the guards' own when they priced the batch). */
    const estimate = memo(() => ledgerEstimate(ctx, quote));
    return await ctx.services.money.sendBatch<Out>(ctx, {
      tool: "send_sms_batch",
      args,
      ...guards,
      recipients: args.to,
      scheduled: args.scheduled,
      parts,
      quote,
      question: (q, refused) => question(args, parts, encoding, q, simulate !== undefined, refused),
      notSent: (reason) => ({
        status: "not_sent" as const,
        reason,
        count: n,
        note: notSentNote(reason, "this batch"),
      }),
      details: (q, refused) => details(prepared, q, refused),
      approvalRequired: (approval, q, refused) => {
        const quotes = q ? allowed(q.recipients, refused) : null;
        return {
          status: "approval_required" as const,
          approval_id: approval.id,
          approval_url: approvalUrl(ctx, approval.id),
          expires_in_seconds: approval.expiresInSeconds,
          count: n,
          countries: quotes ? countriesOf(quotes) : [],
          parts_per_message: parts,
          encoding,
          estimated_cost_eur: quotes ? eur(total(quotes.map((r) => r.costMicros))) : null,
          refused: refusedOf(args.to, refused),
          note: approvalNote("send_sms_batch"),
          ...marked,
        };
      },
      send: (index) => sendOne(ctx, prepared, dlrUrl, estimate, index),
      sent: (batchId, sent) => recordSent(ctx, prepared, estimate, batchId, sent),
      // The messages are out: a price that cannot be read now leaves the estimate unknown (and
      // a batch the consent guards refused whole is not priced at all).
      result: async (batchId, outcomes) => {
        const sent = outcomes.some((o) => o.status === "sent");
        const quotes = sent ? await quote().then((q) => q.recipients, () => null) : null;
        return result(prepared, quotes, batchId, outcomes);
      },
    });
  },
});
