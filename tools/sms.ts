/** Scope `sms:send`: sending SMS (billable). */
import { z } from "zod";
import { quoteLine } from "../core/confine.ts";
import type { SmsQuote } from "../money/mod.ts";
import type { ToolContext } from "./context.ts";
import { defineTool } from "./define.ts";
import { consentNumber, quoteSms } from "./pricing.ts";
import { country, E164 } from "./schemas.ts";
import {
  approvalDetails,
  approvalRequiredOutput,
  approvalRequiredResult,
  encodingName,
  notSentOutput,
  notSentResult,
  refusedOf,
  refusedRecipients,
  simulated,
  TEST_MODE_LINE,
} from "./sms_results.ts";
import {
  checkCoding,
  ledgerCost,
  prepareSend,
  SEND_ANNOTATIONS,
  SEND_FIELDS,
  SEND_OPTIONS,
  sendToVertex,
  unpricedWithoutScope,
} from "./sms_shared.ts";

const NATIONAL_NUMBER = /^\+?\d{4,20}$/;

const Input = z.strictObject({
  to: z.string().describe(
    "recipient in E.164, e.g. +37069912345; with correctBy, a national number such as 869912345",
  ),
  ...SEND_FIELDS,
  correctBy: country.optional().describe(
    "ISO 3166-1 alpha-2 country used to repair a national `to` number",
  ),
  ...SEND_OPTIONS,
}).superRefine((input, ctx) => {
  const ok = input.correctBy === undefined ? E164.test(input.to) : NATIONAL_NUMBER.test(input.to);
  if (!ok) {
    ctx.addIssue({
      code: "custom",
      path: ["to"],
      message: input.correctBy === undefined
        ? "must be an E.164 number: + followed by 7 to 15 digits (pass correctBy to send to a national number)"
        : "must be a phone number of 4 to 20 digits",
    });
  }
  checkCoding(input, ctx);
});

/** A message handed to VertexSMS. */
const Sent = z.object({
  message_id: z.string(),
  status: z.enum(["sent", "scheduled"]),
  parts: z.number().int().min(1),
  destination: z.string(),
  encoding: encodingName,
  simulated,
});

/** A dry run: the quote, nothing sent. */
const Quote = z.object({
  dry_run: z.literal(true),
  parts: z.number().int().min(1),
  encoding: encodingName,
  destination: z.string(),
  country: z.string().nullable().describe("destination country, when known for certain"),
  rate_eur: z.string().nullable().describe(
    "price per part in EUR: the destination's highest operator rate (null: not in the price list)",
  ),
  estimated_cost_eur: z.string().nullable().describe("rate_eur times parts"),
  confirmation_token: z.string().describe(
    "pass as confirmationToken with exactly these arguments to send what was quoted",
  ),
  confirmation_expires_in_seconds: z.number().int(),
  refused: refusedRecipients,
  simulated,
});

const NotSent = notSentResult({ destination: z.string() });

const ApprovalRequired = approvalRequiredResult("send", {
  destination: z.string(),
  parts: z.number().int().min(1),
  encoding: encodingName,
});

const Output = z.union([Sent, Quote, NotSent, ApprovalRequired]);
type Out = z.input<typeof Output>;

/** What a send's pieces share: its arguments, encoding, parts and test mode. */
type Prepared = ReturnType<typeof prepareSend<z.output<typeof Input>>>;

/**
 * The confirmation question: recipient, sender, the whole text (on one line,
 * every line break, control and bidirectional character escaped, so the text
 * cannot forge a line of its own), parts and cost.
 */
function question(
  { args: input, parts, encoding, simulate }: Prepared,
  quote: SmsQuote | null,
): string {
  const cost = quote?.costEur
    ? `about €${quote.costEur} (up to €${quote.rateEur} per part)`
    : "unknown (no price for this destination)";
  return [
    "Send this SMS? It costs money and cannot be recalled.",
    `To: ${input.to}${quote?.country ? ` (${quote.country})` : ""}`,
    `From: ${input.from}`,
    `Text: ${quoteLine(input.message)}`,
    `Parts: ${parts} (${encoding})${input.scheduled ? `, scheduled for ${input.scheduled}` : ""}`,
    `Estimated cost: ${cost}`,
    ...(simulate !== undefined ? [TEST_MODE_LINE] : []),
  ].join("\n");
}

/**
 * A dry run: the quote and a confirmation token for exactly this SMS. A
 * token that may not read rates still gets its quote, unpriced but with the
 * number's country (and a confirmation token).
 */
async function dryRun(
  ctx: ToolContext,
  { args, parts, encoding, marked }: Prepared,
  destination: string,
  quote: () => Promise<SmsQuote>,
): Promise<Out> {
  const q = await quote().catch(unpricedWithoutScope(args));
  const refused = await ctx.services.consent.check(ctx, [destination], args.scheduled);
  const confirmation = await ctx.services.money.confirmationToken(ctx, "send_sms", args);
  return {
    dry_run: true as const,
    parts,
    encoding,
    destination: args.to,
    country: q.country,
    rate_eur: q.rateEur,
    estimated_cost_eur: q.costEur,
    confirmation_token: confirmation.token,
    confirmation_expires_in_seconds: confirmation.expiresInSeconds,
    refused: refusedOf([args.to], refused),
    ...marked,
  };
}

/**
 * Send the SMS and enter it in the ledger with the estimate the spend cap
 * counted (a single send is priced only under a cap: no extra call to
 * VertexSMS, and nothing between its acceptance and its ledger entry): the
 * result, and the parts VertexSMS billed when it said.
 */
async function sendAndRecord(
  ctx: ToolContext,
  { args, parts, encoding, simulate, marked }: Prepared,
  estimate: SmsQuote | undefined,
): Promise<{ sent: Out; billed: number | null }> {
  const principal = await ctx.principal();
  const ledger = ctx.services.ledger;
  const accepted = await sendToVertex(ctx, args, args.to, await ledger.dlrUrl(principal), simulate);
  const sent = {
    message_id: accepted.messageIds[0] as string,
    status: args.scheduled ? "scheduled" as const : "sent" as const,
    parts: accepted.amountSent ?? parts,
    destination: args.to,
    encoding,
    ...marked,
  };
  await ledger.record(principal, [{
    messageId: sent.message_id,
    destination: sent.destination,
    parts: sent.parts,
    costMicros: ledgerCost(estimate?.costMicros, parts, sent.parts),
    batchId: null,
    status: sent.status,
  }]);
  return { sent, billed: accepted.amountSent };
}

/** `send_sms`: send one SMS (billable). */
export const sendSms = defineTool({
  name: "send_sms",
  title: "Send SMS",
  description:
    "Send one SMS through VertexSMS to a phone number. BILLABLE: every part costs money and a " +
    "sent message cannot be recalled. Only send when the user asked for it and has seen the " +
    "recipient and text. When the user has not confirmed the cost, quote first: call with " +
    "dryRun: true (nothing is sent; you get parts, encoding and estimated_cost_eur), show the " +
    "quote, and send only after they agree, passing its confirmation_token as " +
    "confirmationToken. Always pass an idempotencyKey (a new UUID per intended message, reused " +
    "on retries): a repeated call then returns the first result instead of sending twice. " +
    "Clients that support it ask the user to confirm before sending; status not_sent means " +
    "they declined: do not retry. Status approval_required means this server needs the user's " +
    "approval on a web page: give the user approval_url, and once they approved it call again " +
    "with exactly the same arguments plus approvalId (waitSeconds lets the call wait for the " +
    "click). Error SEND_NOT_ALLOWED: the recipient opted out (never text it another way), it is " +
    "quiet hours where it is (send at next_allowed_at, e.g. as scheduled) or it got its limit " +
    "of texts for today; no approval overrides it. " +
    "Never retry on your own after an error that says the outcome " +
    "is unknown. Long texts are split into parts (GSM-7: 160 characters, 153 per part when " +
    "split; UCS-2: 70/67); `scheduled` sends later.",
  scope: "sms:send",
  billable: true,
  input: Input,
  output: Output,
  annotations: SEND_ANNOTATIONS,
  handler: async (input, ctx) => {
    const prepared = prepareSend(input, ctx);
    const { guards, args, encoding, parts, marked } = prepared;
    // What the consent guards judge: the number itself, or the one a national number repairs to.
    const destination = await consentNumber(args.to, args.correctBy);
    /** The latest estimate the guards asked for (the spend cap counts it), for the ledger. */
    let counted: SmsQuote | undefined;
    const quote = async () =>
      counted = await quoteSms(ctx, { to: args.to, correctBy: args.correctBy, parts });
    if (prepared.dryRun) return await dryRun(ctx, prepared, destination, quote);
    let billed: number | null = null;
    return await ctx.services.money.send<Out>(ctx, {
      tool: "send_sms",
      args,
      parts,
      billedParts: () => billed,
      ...guards,
      recipient: args.correctBy ? `${args.correctBy}:${args.to}` : args.to,
      destination,
      scheduled: args.scheduled,
      quote,
      question: (q) => question(prepared, q),
      notSent: (reason) => notSentOutput(reason, "this SMS", { destination: args.to }),
      details: (q) => approvalDetails(prepared, args.to, q?.costEur ?? null, q),
      approvalRequired: (approval, q) =>
        approvalRequiredOutput(ctx, "send_sms", approval, {
          destination: args.to,
          parts,
          encoding,
          estimated_cost_eur: q?.costEur ?? null,
        }, marked),
      run: async () => {
        const { sent, billed: amountSent } = await sendAndRecord(ctx, prepared, counted);
        billed = amountSent;
        return sent;
      },
    });
  },
});

/** The tools of scope `sms:send`. */
export const SMS_TOOLS = [sendSms] as const;
