/** Scope `sms:send`: sending SMS (billable). */
import { z } from "zod";
import { quoteLine } from "../core/confine.ts";
import { ServiceError } from "../core/errors.ts";
import type { SmsQuote } from "../money/mod.ts";
import { defineTool } from "./define.ts";
import { quoteSms, unpricedQuote } from "./pricing.ts";
import { countParts, encodingFor, firstNonGsm } from "./sms_encoding.ts";
import { country, E164, idempotencyKey, upstreamDigits } from "./schemas.ts";

/** Longest text accepted: about ten GSM-7 parts, a guard against runaway cost. */
export const MAX_MESSAGE_LENGTH = 1600;

const ALPHANUMERIC_SENDER = /^(?=.*[A-Za-z])[A-Za-z0-9 .]{1,11}$/;
const MSISDN_SENDER = /^\+?[1-9]\d{3,14}$/;
const NATIONAL_NUMBER = /^\+?\d{4,20}$/;

const Input = z.strictObject({
  to: z.string().describe(
    "recipient in E.164, e.g. +37069912345; with correctBy, a national number such as 869912345",
  ),
  from: z.string()
    .refine(
      (v) => ALPHANUMERIC_SENDER.test(v) || MSISDN_SENDER.test(v),
      "must be an alphanumeric sender of 1 to 11 latin letters, digits, spaces or dots (with at least one letter), or a phone number",
    )
    .describe("sender: up to 11 latin letters, digits, spaces or dots, or an MSISDN"),
  message: z.string()
    .min(1, "must not be empty")
    .max(MAX_MESSAGE_LENGTH, `must be at most ${MAX_MESSAGE_LENGTH} characters`)
    .describe("the text; long texts are split into parts, each billed"),
  priority: z.enum(["high", "normal", "low"]).optional(),
  scheduled: z.iso.datetime({ offset: true, message: "must be an ISO 8601 date-time with offset" })
    .optional()
    .describe("send later, e.g. 2026-12-01T09:00:00+02:00"),
  correctBy: country.optional().describe(
    "ISO 3166-1 alpha-2 country used to repair a national `to` number",
  ),
  coding: z.union([z.literal(0), z.literal(1), z.literal(2)]).optional()
    .describe("0 GSM-7, 1 8-bit, 2 UCS-2 (default: GSM-7 when the text fits, else UCS-2)"),
  expireIn: z.number().int().min(360).max(432000).optional()
    .describe("seconds the network keeps trying to deliver (360 to 432000)"),
  dryRun: z.boolean().optional().describe(
    "true: send nothing; return parts, encoding and the estimated cost (a quote to show the user)",
  ),
  idempotencyKey,
  confirmationToken: z.string().min(1).max(2048).optional().describe(
    "the confirmation_token of a dry run with exactly these arguments, once the user agreed to it",
  ),
  approvalId: z.string().regex(/^[A-Za-z0-9_-]{43}$/, "must be an approval_id this server issued")
    .optional().describe(
      "the approval_id of an approval_required result, once the user approved it on its page; " +
        "send exactly the same arguments",
    ),
  waitSeconds: z.number().int().min(0).max(60).optional().describe(
    "with approvalId: how long to wait for the user's decision, 0 to 60 seconds (default 0)",
  ),
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
  const bad = input.coding === 0 ? firstNonGsm(input.message) : undefined;
  if (bad !== undefined) {
    ctx.addIssue({
      code: "custom",
      path: ["message"],
      message: `contains ${
        JSON.stringify(bad)
      }, which GSM-7 (coding 0) cannot encode; omit coding or use coding 2 (UCS-2)`,
    });
  }
});

const encodingName = z.enum(["GSM-7", "UCS-2", "8-bit"]);

/** Present only when the server runs in SMS test mode (`SMS_TEST_MODE`). */
const simulated = z.literal(true).optional().describe(
  "true: this server runs in SMS test mode; VertexSMS only simulates the send and no real SMS " +
    "reaches the phone",
);

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
  simulated,
});

/** Nothing sent: the user declined or cancelled, or the approval expired. */
const NotSent = z.object({
  status: z.literal("not_sent"),
  reason: z.enum(["declined", "cancelled", "expired"]),
  destination: z.string(),
  note: z.string(),
});

/** Nothing sent yet: a person must approve this exact send on its page first. */
const ApprovalRequired = z.object({
  status: z.literal("approval_required"),
  approval_id: z.string(),
  approval_url: z.string().describe("the page where the user approves or declines this send"),
  expires_in_seconds: z.number().int(),
  destination: z.string(),
  parts: z.number().int().min(1),
  encoding: encodingName,
  estimated_cost_eur: z.string().nullable(),
  note: z.string(),
  simulated,
});

const Output = z.union([Sent, Quote, NotSent, ApprovalRequired]);

/** The `note` of each way a send may not happen. */
const NOT_SENT_NOTES = {
  declined:
    "The user declined to send this SMS. Nothing was sent or billed; do not retry unless they ask.",
  cancelled: "The user dismissed the confirmation. Nothing was sent or billed.",
  expired:
    "The approval expired before it was used. Nothing was sent; ask the user whether to try again.",
} as const;

/**
 * The confirmation question: recipient, sender, the whole text (on one line,
 * every line break, control and bidirectional character escaped, so the text
 * cannot forge a line of its own), parts and cost.
 */
function question(
  input: { to: string; from: string; message: string; scheduled?: string },
  parts: number,
  encoding: string,
  quote: SmsQuote | null,
  testMode: boolean,
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
    ...(testMode ? ["TEST MODE: VertexSMS only simulates this send; no real SMS is sent."] : []),
  ].join("\n");
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
    "click). Never retry on your own after an error that says the outcome " +
    "is unknown. Long texts are split into parts (GSM-7: 160 characters, 153 per part when " +
    "split; UCS-2: 70/67); `scheduled` sends later.",
  scope: "sms:send",
  billable: true,
  input: Input,
  output: Output,
  annotations: {
    readOnlyHint: false,
    destructiveHint: true,
    idempotentHint: false,
    openWorldHint: true,
  },
  handler: async (input, ctx) => {
    const { dryRun, idempotencyKey, confirmationToken, approvalId, waitSeconds, ...args } = input;
    const mode = ctx.services.smsTestMode;
    const simulate = mode === "off" ? undefined : mode;
    const marked = simulate ? { simulated: true as const } : {};
    const encoding = encodingFor(args.message, args.coding);
    const parts = countParts(args.message, encoding);
    /** The latest estimate the guards asked for (the spend cap counts it), for the ledger. */
    let counted: SmsQuote | undefined;
    const quote = async () =>
      counted = await quoteSms(ctx, { to: args.to, correctBy: args.correctBy, parts });
    if (dryRun) {
      // A token that may not read rates still gets its quote, unpriced but with the number's
      // country (and a confirmation token).
      const q = await quote().catch((thrown) => {
        if (thrown instanceof ServiceError && thrown.facts.requiredScope) {
          return unpricedQuote({ to: args.to, correctBy: args.correctBy });
        }
        throw thrown;
      });
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
        ...marked,
      };
    }
    let billed: number | null = null;
    return await ctx.services.money.send<z.input<typeof Output>>(ctx, {
      tool: "send_sms",
      args,
      parts,
      billedParts: () => billed,
      idempotencyKey,
      confirmationToken,
      recipient: args.correctBy ? `${args.correctBy}:${args.to}` : args.to,
      quote,
      question: (q) => question(args, parts, encoding, q, simulate !== undefined),
      notSent: (reason) => ({
        status: "not_sent" as const,
        reason,
        destination: args.to,
        note: NOT_SENT_NOTES[reason],
      }),
      approvalId,
      waitSeconds,
      details: (q) => ({
        to: args.to,
        from: args.from,
        message: args.message,
        parts,
        encoding,
        estimatedCostEur: q?.costEur ?? null,
        rateEur: q?.rateEur ?? null,
        country: q?.country ?? null,
        ...(args.scheduled ? { scheduled: args.scheduled } : {}),
        ...(simulate ? { simulated: true } : {}),
      }),
      approvalRequired: (approval, q) => ({
        status: "approval_required" as const,
        approval_id: approval.id,
        approval_url: `${ctx.services.publicUrl}/approvals/${approval.id}`,
        expires_in_seconds: approval.expiresInSeconds,
        destination: args.to,
        parts,
        encoding,
        estimated_cost_eur: q?.costEur ?? null,
        note: "Nothing was sent. This server sends an SMS only once a person approved it: give " +
          "the user approval_url to open, and when they say they approved, call send_sms again " +
          "with exactly the same arguments and approvalId. Do not approve it yourself.",
        ...marked,
      }),
      run: async () => {
        const principal = await ctx.principal();
        const ledger = ctx.services.ledger;
        const accepted = await ctx.vertex.sendSms({
          to: upstreamDigits(args.to),
          from: args.from,
          message: args.message,
          priority: args.priority,
          scheduled: args.scheduled,
          correctBy: args.correctBy,
          coding: args.coding,
          expireIn: args.expireIn,
          dlrUrl: await ledger.dlrUrl(principal),
          simulate,
        });
        billed = accepted.amountSent;
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
          // As the spend cap counts it: corrected to the parts VertexSMS billed.
          costMicros: counted?.costMicros == null
            ? null
            : Math.ceil((counted.costMicros / parts) * sent.parts),
          batchId: null,
          status: sent.status,
        }]);
        return sent;
      },
    });
  },
});

/** The tools of scope `sms:send`. */
export const SMS_TOOLS = [sendSms] as const;
