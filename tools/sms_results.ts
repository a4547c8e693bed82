/**
 * The pieces of `send_sms`'s and `send_sms_batch`'s results: their schemas
 * (not sent, approval required, the recipients the consent guards refuse)
 * and the values that fill them, what the approval page shows of a send,
 * and the test-mode line of a confirmation question.
 */
import { z } from "zod";
import type {
  ApprovalDetails,
  BatchDetails,
  NotSentReason,
  PendingApproval,
  Refusals,
  SmsQuote,
} from "../money/mod.ts";
import type { SimulatedOutcome } from "../vertex/mod.ts";
import type { ToolContext } from "./context.ts";

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
function notSentNote(reason: NotSentReason, what: string): string {
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
function approvalNote(tool: string): string {
  return "Nothing was sent. This server sends an SMS only once a person approved it: give the " +
    `user approval_url to open, and when they say they approved, call ${tool} again with ` +
    "exactly the same arguments and approvalId. Do not approve it yourself.";
}

/** The page where a person decides on approval `id`. */
function approvalUrl(ctx: ToolContext, id: string): string {
  return `${ctx.services.publicUrl}/approvals/${id}`;
}

/** A `not_sent` result: the reason, the `fields` that name the send, and the note. */
export function notSentOutput<F extends object>(reason: NotSentReason, what: string, fields: F) {
  return { status: "not_sent" as const, reason, ...fields, note: notSentNote(reason, what) };
}

/**
 * An `approval_required` result of `tool`: the approval and its page, the
 * `fields` of the send, the note and the test-mode mark.
 */
export function approvalRequiredOutput<F extends object>(
  ctx: ToolContext,
  tool: string,
  approval: PendingApproval,
  fields: F,
  marked: { simulated?: true },
) {
  return {
    status: "approval_required" as const,
    approval_id: approval.id,
    approval_url: approvalUrl(ctx, approval.id),
    expires_in_seconds: approval.expiresInSeconds,
    ...fields,
    note: approvalNote(tool),
    ...marked,
  };
}

/** The SMS of a send as {@link approvalDetails} shows it. */
interface ShownSend {
  args: { from: string; message: string; scheduled?: string };
  parts: number;
  encoding: string;
  simulate: SimulatedOutcome | undefined;
}

/**
 * What the approval page and the review card show of a send: `to` as they
 * name it, the estimated cost, the rate and country of `single` (the quote
 * when there is one recipient), and a batch's own details.
 */
export function approvalDetails(
  { args, parts, encoding, simulate }: ShownSend,
  to: string,
  estimatedCostEur: string | null,
  single: SmsQuote | null | undefined,
  batch?: BatchDetails,
): ApprovalDetails {
  return {
    to,
    from: args.from,
    message: args.message,
    parts,
    encoding,
    estimatedCostEur,
    rateEur: single?.rateEur ?? null,
    country: single?.country ?? null,
    ...(args.scheduled ? { scheduled: args.scheduled } : {}),
    ...(simulate ? { simulated: true } : {}),
    ...(batch ? { batch } : {}),
  };
}

/** Why a consent guard refuses a recipient (`SEND_NOT_ALLOWED`'s `reason`). */
export const consentReason = z.enum(["opted_out", "quiet_hours", "recipient_limit"]);

/** The recipients the consent guards refuse now, as dry runs and approval results list them. */
export const refusedRecipients = z.array(z.object({
  to: z.string(),
  reason: consentReason.describe(
    "opted_out: on this token's opt-out list; quiet_hours: it is SMS_QUIET_HOURS where the " +
      "number is; recipient_limit: SMS_PER_RECIPIENT_PER_DAY reached",
  ),
  next_allowed_at: z.string().nullable().describe(
    "quiet hours: the earliest time it may be sent (ISO 8601), to pass as scheduled",
  ),
  message: z.string(),
})).describe(
  "recipients the consent guards refuse now: they would not be sent (judged again at sending); " +
    "an approval or confirmation never overrides this",
);

/** The refused recipients of `to` (same order), for a result. */
export function refusedOf(to: readonly string[], refused: Refusals) {
  return to.flatMap((number, i) => {
    const error = refused[i];
    if (!error) return [];
    return [{
      to: number,
      reason: error.facts.reason!,
      next_allowed_at: error.facts.nextAllowedAt ?? null,
      message: error.message,
    }];
  });
}

/** "+1… (opted out), +7… (quiet hours until 2026-12-07T06:00:00Z)", for a question or a page. */
export function refusedLine(to: readonly string[], refused: Refusals): string {
  return refusedOf(to, refused).map((r) =>
    `${r.to} (${
      r.reason === "opted_out"
        ? "opted out"
        : r.reason === "recipient_limit"
        ? "per-recipient limit reached"
        : r.next_allowed_at
        ? `quiet hours until ${r.next_allowed_at}`
        : "quiet hours"
    })`
  ).join(", ");
}

/** The line of a confirmation question that says test mode only simulates. */
export const TEST_MODE_LINE = "TEST MODE: VertexSMS only simulates this send; no real SMS is sent.";
