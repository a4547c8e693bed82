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
  SmsQuote,
} from "../money/mod.ts";
import type { ToolContext } from "./context.ts";
import { defineTool } from "./define.ts";
import { quoteSms } from "./pricing.ts";
import { e164, upstreamDigits } from "./schemas.ts";
import {
  approvalNote,
  approvalRequiredResult,
  approvalUrl,
  checkCoding,
  encodingName,
  notSentNote,
  notSentResult,
  prepareSend,
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
  count: z.number().int().min(1),
  parts_per_message: z.number().int().min(1),
  encoding: encodingName,
  countries: z.array(Country),
  estimated_cost_eur: z.string().nullable().describe(
    "the whole batch (null when a destination has no price)",
  ),
  confirmation_token: z.string().describe(
    "pass as confirmationToken with exactly these arguments to send what was quoted",
  ),
  confirmation_expires_in_seconds: z.number().int(),
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
  }).nullable(),
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
  countries: z.array(Country).describe("empty when the price list could not be read"),
  parts_per_message: z.number().int().min(1),
  encoding: encodingName,
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

/** The confirmation question: count, countries, every number, sender, the full text, parts, cost. */
function question(
  input: { to: string[]; from: string; message: string; scheduled?: string },
  parts: number,
  encoding: string,
  quote: BatchQuote | null,
  testMode: boolean,
): string {
  const n = input.to.length;
  const shares = quote ? byCountry(quote.recipients) : null;
  const cost = quote ? total(quote.recipients.map((q) => q.costMicros)) : null;
  return [
    `Send this SMS to ${n} recipient${n === 1 ? "" : "s"}? It costs money and cannot be recalled.`,
    `Countries: ${shares ? countryLine(shares) : "unknown (the price list could not be read)"}`,
    `To: ${input.to.join(", ")}`,
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

/** What the approval page and the review card show of a batch. */
function batchDetails(to: string[], parts: number, quote: BatchQuote | null): BatchDetails {
  const shares = quote ? byCountry(quote.recipients) : [{
    country: null,
    recipients: to.length,
    rateEur: null,
    costMicros: null,
  }];
  return {
    recipients: to,
    countries: shares.map((s) => ({
      country: s.country,
      recipients: s.recipients,
      costEur: eur(s.costMicros),
    })),
    partsTotal: parts * to.length,
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
  quote: () => Promise<BatchQuote>,
  batchId: string,
  sent: readonly BatchSent[],
): Promise<void> {
  const status = args.scheduled ? "scheduled" as const : "sent" as const;
  // The estimate the guards counted, else priced now (best effort; the result prices it anyway).
  const counted = await quote().catch(() => undefined);
  await ctx.services.ledger.record(
    await ctx.principal(),
    sent.map(({ index, messageId, parts: billed }) => {
      const cost = counted?.recipients[index]?.costMicros ?? null;
      return {
        messageId,
        destination: args.to[index]!,
        parts: billed,
        costMicros: cost === null ? null : Math.ceil((cost / parts) * billed),
        batchId,
        status,
      };
    }),
  );
}

/** What a batch's pieces share: its arguments, encoding, parts and test mode. */
type Prepared = ReturnType<typeof prepareSend<z.output<typeof Input>>>;

/** A dry run: the quote per country and in all, and a confirmation token for exactly this batch. */
async function dryRun(ctx: ToolContext, { args, parts, encoding, marked }: Prepared): Promise<Out> {
  // A token that may not read rates still gets its quote, unpriced (and a confirmation token).
  const quotes = await Promise.all(
    args.to.map((to) => quoteSms(ctx, { to, parts }).catch(unpricedWithoutScope({ to }))),
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
      },
    })),
    ...marked,
  };
}

/** What the approval page and the review card show, from the estimate (null: unknown). */
function details(
  { args, parts, encoding, simulate }: Prepared,
  quote: BatchQuote | null,
): ApprovalDetails {
  const n = args.to.length;
  const single = quote?.recipients.length === 1 ? quote.recipients[0]! : null;
  return {
    to: n === 1 ? args.to[0]! : `${n} recipients`,
    from: args.from,
    message: args.message,
    parts,
    encoding,
    estimatedCostEur: quote ? eur(total(quote.recipients.map((r) => r.costMicros))) : null,
    rateEur: single?.rateEur ?? null,
    country: single?.country ?? null,
    ...(args.scheduled ? { scheduled: args.scheduled } : {}),
    ...(simulate ? { simulated: true } : {}),
    batch: batchDetails(args.to, parts, quote),
  };
}

/** Send one recipient's message (with the token's delivery-report URL, when reports can come). */
async function sendOne(
  ctx: ToolContext,
  { args, simulate }: Prepared,
  dlrUrl: () => Promise<string | undefined>,
  index: number,
) {
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
    "outcome_unknown false may be sent again, in a new call with a new key.",
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
    return await ctx.services.money.sendBatch<Out>(ctx, {
      tool: "send_sms_batch",
      args,
      ...guards,
      recipients: args.to,
      parts,
      quote,
      question: (q) => question(args, parts, encoding, q, simulate !== undefined),
      notSent: (reason) => ({
        status: "not_sent" as const,
        reason,
        count: n,
        note: notSentNote(reason, "this batch"),
      }),
      details: (q) => details(prepared, q),
      approvalRequired: (approval, q) => ({
        status: "approval_required" as const,
        approval_id: approval.id,
        approval_url: approvalUrl(ctx, approval.id),
        expires_in_seconds: approval.expiresInSeconds,
        count: n,
        countries: q ? countriesOf(q.recipients) : [],
        parts_per_message: parts,
        encoding,
        estimated_cost_eur: q ? eur(total(q.recipients.map((r) => r.costMicros))) : null,
        note: approvalNote("send_sms_batch"),
        ...marked,
      }),
      send: (index) => sendOne(ctx, prepared, dlrUrl, index),
      sent: (batchId, sent) => recordSent(ctx, prepared, quote, batchId, sent),
      // The messages are out: a price that cannot be read now leaves the estimate unknown.
      result: async (batchId, outcomes) =>
        result(prepared, await quote().then((q) => q.recipients, () => null), batchId, outcomes),
    });
  },
});
