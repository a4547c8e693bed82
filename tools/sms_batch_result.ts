/**
 * What `send_sms_batch` answers once its run is over (every recipient's
 * outcome, counts, parts and the estimate of what was sent), and how each
 * message VertexSMS accepted is handed over to the ledger the moment it was.
 */
import type { BatchQuote, BatchSent, RecipientOutcome, SmsQuote } from "../money/mod.ts";
import type { ToolContext } from "./context.ts";
import { eur, total } from "./sms_batch_quote.ts";
import type { Prepared, SentOut } from "./sms_batch_schemas.ts";
import { ledgerCost } from "./sms_shared.ts";

/** The batch's status from its recipients' outcomes. */
function statusOf(outcomes: readonly RecipientOutcome[], scheduled: boolean) {
  const sent = outcomes.filter((o) => o.status === "sent").length;
  if (sent === outcomes.length) return scheduled ? "scheduled" as const : "sent" as const;
  const left = outcomes.some((o) => o.status === "failed" && o.error.outcomeUnknown);
  return sent === 0 && !left ? "not_sent" as const : "partial" as const;
}

/** The result of a batch that ran: every recipient's outcome, counts, parts and the estimate. */
export function result(
  { args, parts, marked }: Prepared,
  quotes: readonly SmsQuote[] | null,
  batchId: string,
  outcomes: readonly RecipientOutcome[],
): SentOut {
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

/**
 * A message the run sent, entered in the ledger at once, with the batch's
 * id and, when the batch was priced, its cost as the spend cap counts it
 * (corrected to the parts VertexSMS billed).
 */
export async function recordSent(
  ctx: ToolContext,
  { args, parts }: Prepared,
  estimate: () => Promise<BatchQuote | undefined>,
  batchId: string,
  { index, messageId, parts: billed }: BatchSent,
): Promise<void> {
  const cost = (await estimate())?.recipients[index]?.costMicros;
  await ctx.services.ledger.record(await ctx.principal(), [{
    messageId,
    destination: args.to[index]!,
    parts: billed,
    costMicros: ledgerCost(cost, parts, billed),
    batchId,
    status: args.scheduled ? "scheduled" : "sent",
  }]);
}
