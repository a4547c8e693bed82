/**
 * `send_sms_batch` (scope `sms:send`, billable): one text to up to 100
 * recipients as one decision — one quote, one confirmation or approval, one
 * idempotency key — then one `POST /sms` per recipient, at most 5 at a time
 * (the guards' `sendBatch`, `money/batch.ts`). Its input and results are
 * `sms_batch_schemas.ts`; what it shows before sending, `sms_batch_quote.ts`;
 * what it answers after, `sms_batch_result.ts`.
 */
import { memo } from "../core/keys.ts";
import type { BatchQuote } from "../money/mod.ts";
import type { ToolContext } from "./context.ts";
import { defineTool } from "./define.ts";
import { ledgerEstimate, quoteSms } from "./pricing.ts";
import { approvalRequired, details, dryRun, question } from "./sms_batch_quote.ts";
import { recordSent, result } from "./sms_batch_result.ts";
import { Input, type Out, Output, type Prepared } from "./sms_batch_schemas.ts";
import { notSentOutput } from "./sms_results.ts";
import { prepareSend, SEND_ANNOTATIONS, sendToVertex } from "./sms_shared.ts";

export { MAX_BATCH_RECIPIENTS } from "./sms_batch_schemas.ts";

/** Send one recipient's message (with the token's delivery-report URL, when reports can come). */
async function sendOne(
  ctx: ToolContext,
  { args, simulate }: Prepared,
  dlrUrl: () => Promise<string | undefined>,
  estimate: () => Promise<unknown>,
  index: number,
) {
  await estimate(); // priced before the first send, so each message is recorded at once
  const accepted = await sendToVertex(ctx, args, args.to[index]!, await dlrUrl(), simulate);
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
    const { args, guards, parts } = prepared;
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
      question: (q, refused) => question(prepared, q, refused),
      notSent: (reason) => notSentOutput(reason, "this batch", { count: args.to.length }),
      details: (q, refused) => details(prepared, q, refused),
      approvalRequired: (approval, q, refused) =>
        approvalRequired(ctx, prepared, approval, q, refused),
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
