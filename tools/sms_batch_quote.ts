/**
 * What `send_sms_batch` shows before anything is sent, from its quote: the
 * recipients grouped by country (and rate), the dry run, the confirmation
 * question, and what the approval page, the review card and an
 * `approval_required` result show — each of the recipients to be sent, and
 * those the consent guards refuse.
 */
import { quoteLine } from "../core/confine.ts";
import { formatEur } from "../core/eur.ts";
import type {
  ApprovalDetails,
  BatchDetails,
  BatchQuote,
  PendingApproval,
  Refusals,
  SmsQuote,
} from "../money/mod.ts";
import type { ToolContext } from "./context.ts";
import { quoteSms } from "./pricing.ts";
import type { CountryRow, Out, Prepared } from "./sms_batch_schemas.ts";
import {
  approvalDetails,
  approvalRequiredOutput,
  refusedLine,
  refusedOf,
  TEST_MODE_LINE,
} from "./sms_results.ts";
import { unpricedWithoutScope } from "./sms_shared.ts";

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
function countriesOf(quotes: readonly SmsQuote[]): CountryRow[] {
  return byCountry(quotes).map((s) => ({
    country: s.country,
    recipients: s.recipients,
    rate_eur: s.rateEur,
    cost_eur: eur(s.costMicros),
  }));
}

/** The sum of estimates, or null when one is unknown. */
export function total(costs: readonly (number | null)[]): number | null {
  let sum = 0;
  for (const c of costs) {
    if (c === null) return null;
    sum += c;
  }
  return sum;
}

/** Micro-euros as results show them (null: unknown). */
export const eur = (micros: number | null) => (micros === null ? null : formatEur(micros));

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

/** A dry run: the quote per country and in all, and a confirmation token for exactly this batch. */
export async function dryRun(
  ctx: ToolContext,
  { args, parts, encoding, marked }: Prepared,
): Promise<Out> {
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

/**
 * The confirmation question: count, countries, every number, sender, the
 * full text, parts, cost — of the recipients to be sent — and those the
 * consent guards refuse.
 */
export function question(
  { args: input, parts, encoding, simulate }: Prepared,
  quote: BatchQuote | null,
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
    ...(simulate !== undefined ? [TEST_MODE_LINE] : []),
  ].join("\n");
}

/** What the approval page and the review card show, from the estimate (null: unknown). */
export function details(
  prepared: Prepared,
  quote: BatchQuote | null,
  refused: Refusals,
): ApprovalDetails {
  const { args, parts } = prepared;
  const to = allowed(args.to, refused);
  const quotes = quote ? allowed(quote.recipients, refused) : null;
  return approvalDetails(
    prepared,
    to.length === 1 ? to[0]! : `${to.length} recipients`,
    quotes ? eur(total(quotes.map((r) => r.costMicros))) : null,
    quotes?.length === 1 ? quotes[0]! : null,
    batchDetails(args.to, parts, quote, refused),
  );
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

/** The `approval_required` result: the batch to be approved, per country and in all. */
export function approvalRequired(
  ctx: ToolContext,
  { args, parts, encoding, marked }: Prepared,
  approval: PendingApproval,
  quote: BatchQuote | null,
  refused: Refusals,
): Out {
  const quotes = quote ? allowed(quote.recipients, refused) : null;
  return approvalRequiredOutput(ctx, "send_sms_batch", approval, {
    count: args.to.length,
    countries: quotes ? countriesOf(quotes) : [],
    parts_per_message: parts,
    encoding,
    estimated_cost_eur: quotes ? eur(total(quotes.map((r) => r.costMicros))) : null,
    refused: refusedOf(args.to, refused),
  }, marked);
}
