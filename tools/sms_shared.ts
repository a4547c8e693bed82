/**
 * What `send_sms` and `send_sms_batch` share on the way in and out to
 * VertexSMS: the input fields of a send and how they are split for the
 * guards, test mode, quoting without the rates scope, the `POST /sms` of one
 * message and its cost in the ledger (the pieces of their results are
 * `sms_results.ts`).
 */
import { z } from "zod";
import { ServiceError } from "../core/errors.ts";
import { billedCost, type SmsQuote } from "../money/mod.ts";
import type { SimulatedOutcome, SmsAccepted, SmsRequest } from "../vertex/mod.ts";
import type { ToolContext } from "./context.ts";
import { unpricedQuote } from "./pricing.ts";
import { idempotencyKey, upstreamDigits } from "./schemas.ts";
import { countParts, type Encoding, encodingFor, firstNonGsm } from "./sms_encoding.ts";

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

/** The SMS a send's arguments define, besides its recipient. */
type SmsFields = Omit<SmsRequest, "to" | "dlrUrl" | "simulate">;

/**
 * `POST /sms` of one message to `to` (as given: E.164, or national with
 * `correctBy`), with the token's delivery-report URL when reports can come.
 */
export function sendToVertex(
  ctx: ToolContext,
  args: SmsFields,
  to: string,
  dlrUrl: string | undefined,
  simulate: SimulatedOutcome | undefined,
): Promise<SmsAccepted> {
  return ctx.vertex.sendSms({
    to: upstreamDigits(to),
    from: args.from,
    message: args.message,
    priority: args.priority,
    scheduled: args.scheduled,
    correctBy: args.correctBy,
    coding: args.coding,
    expireIn: args.expireIn,
    dlrUrl,
    simulate,
  });
}

/**
 * A sent message's cost in the ledger, as the spend cap counts it: the
 * estimate of `parts` parts (unknown without one) corrected to the parts
 * billed.
 */
export function ledgerCost(
  estimateMicros: number | null | undefined,
  parts: number,
  billedParts: number,
): number | null {
  return estimateMicros == null ? null : billedCost(estimateMicros, parts, billedParts);
}
