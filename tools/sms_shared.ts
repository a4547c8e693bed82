/**
 * What `send_sms` and `send_sms_batch` share: the input fields of a send,
 * the pieces of their results, test mode, and quoting without the rates scope.
 */
import { z } from "zod";
import { ServiceError } from "../core/errors.ts";
import type { NotSentReason, SmsQuote } from "../money/mod.ts";
import type { ToolContext } from "./context.ts";
import { unpricedQuote } from "./pricing.ts";
import { idempotencyKey } from "./schemas.ts";
import { countParts, type Encoding, encodingFor, firstNonGsm } from "./sms_encoding.ts";
import type { SimulatedOutcome } from "../vertex/mod.ts";

/** Longest text accepted: about ten GSM-7 parts, a guard against runaway cost. */
export const MAX_MESSAGE_LENGTH = 1600;

const ALPHANUMERIC_SENDER = /^(?=.*[A-Za-z])[A-Za-z0-9 .]{1,11}$/;
const MSISDN_SENDER = /^\+?[1-9]\d{3,14}$/;

/** The input fields of a send besides its recipient(s) and `correctBy`. */
export const SEND_FIELDS = {
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
};

/** The options of a send after `correctBy` (kept in this order: it is the tools' JSON Schema). */
export const SEND_OPTIONS = {
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
};

/** The annotations of a send: it changes the world, cannot be undone, and is not idempotent. */
export const SEND_ANNOTATIONS = {
  readOnlyHint: false,
  destructiveHint: true,
  idempotentHint: false,
  openWorldHint: true,
} as const;

/** The arguments the guards take from a send's input (the rest define the SMS). */
interface GuardFields {
  dryRun?: boolean;
  idempotencyKey?: string;
  confirmationToken?: string;
  approvalId?: string;
  waitSeconds?: number;
}

/**
 * A send's input, split: the guards' fields, the arguments that define the
 * SMS (what a key, a confirmation or an approval is bound to), its encoding
 * and parts, and test mode.
 */
export function prepareSend<A extends { message: string; coding?: 0 | 1 | 2 }>(
  input: A & GuardFields,
  ctx: ToolContext,
) {
  const { dryRun, idempotencyKey, confirmationToken, approvalId, waitSeconds, ...args } = input;
  const encoding: Encoding = encodingFor(args.message, args.coding);
  return {
    dryRun,
    guards: { idempotencyKey, confirmationToken, approvalId, waitSeconds },
    args: args as Omit<A, keyof GuardFields>,
    encoding,
    parts: countParts(args.message, encoding),
    ...testMode(ctx),
  };
}

/** Refuse a text that `coding: 0` (GSM-7) cannot carry, naming the character. */
export function checkCoding(
  input: { message: string; coding?: 0 | 1 | 2 },
  ctx: z.RefinementCtx,
): void {
  const bad = input.coding === 0 ? firstNonGsm(input.message) : undefined;
  if (bad === undefined) return;
  ctx.addIssue({
    code: "custom",
    path: ["message"],
    message: `contains ${
      JSON.stringify(bad)
    }, which GSM-7 (coding 0) cannot encode; omit coding or use coding 2 (UCS-2)`,
  });
}

/** The encodings as results name them. */
export const encodingName = z.enum(["GSM-7", "UCS-2", "8-bit"]);

/** Present only when the server runs in SMS test mode (`SMS_TEST_MODE`). */
export const simulated = z.literal(true).optional().describe(
  "true: this server runs in SMS test mode; VertexSMS only simulates the send and no real SMS " +
    "reaches the phone",
);

/** Why nothing was sent, in a `not_sent` result. */
const notSentReason = z.enum(["declined", "cancelled", "expired"]);

/** Nothing sent: the user declined or cancelled, or the approval expired (`what` names the send). */
export function notSentResult<F extends z.ZodRawShape>(what: F) {
  return z.object({
    status: z.literal("not_sent"),
    reason: notSentReason,
    ...what,
    note: z.string(),
  });
}

/** Nothing sent yet: a person must approve this exact `noun` (send, batch) on its page first. */
export function approvalRequiredResult<F extends z.ZodRawShape>(noun: string, what: F) {
  return z.object({
    status: z.literal("approval_required"),
    approval_id: z.string(),
    approval_url: z.string().describe(`the page where the user approves or declines this ${noun}`),
    expires_in_seconds: z.number().int(),
    ...what,
    estimated_cost_eur: z.string().nullable(),
    note: z.string(),
    simulated,
  });
}

/** The `note` of each way a send (of `what`: "this SMS", "this batch") may not happen. */
export function notSentNote(reason: NotSentReason, what: string): string {
  switch (reason) {
    case "declined":
      return `The user declined to send ${what}. Nothing was sent or billed; do not retry unless ` +
        "they ask.";
    case "cancelled":
      return "The user dismissed the confirmation. Nothing was sent or billed.";
    case "expired":
      return "The approval expired before it was used. Nothing was sent; ask the user whether to " +
        "try again.";
  }
}

/** The `note` of an `approval_required` result of `tool`. */
export function approvalNote(tool: string): string {
  return "Nothing was sent. This server sends an SMS only once a person approved it: give the " +
    `user approval_url to open, and when they say they approved, call ${tool} again with ` +
    "exactly the same arguments and approvalId. Do not approve it yourself.";
}

/** The page where a person decides on approval `id`. */
export function approvalUrl(ctx: ToolContext, id: string): string {
  return `${ctx.services.publicUrl}/approvals/${id}`;
}

/** Test mode as a send sees it: what VertexSMS simulates, and the mark results carry. */
export function testMode(ctx: ToolContext): {
  simulate: SimulatedOutcome | undefined;
  marked: { simulated?: true };
} {
  const mode = ctx.services.smsTestMode;
  return mode === "off"
    ? { simulate: undefined, marked: {} }
    : { simulate: mode, marked: { simulated: true } };
}

/**
 * The quote of `sms` when its price cannot be read because the token may not
 * read rates: unpriced, with the number's country (any other failure stays one).
 */
export function unpricedWithoutScope(
  sms: { to: string; correctBy?: string },
): (thrown: unknown) => Promise<SmsQuote> {
  return (thrown) => {
    if (thrown instanceof ServiceError && thrown.facts.requiredScope) return unpricedQuote(sms);
    throw thrown;
  };
}

/** The line of a confirmation question that says test mode only simulates. */
export const TEST_MODE_LINE = "TEST MODE: VertexSMS only simulates this send; no real SMS is sent.";
