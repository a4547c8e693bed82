/**
 * The contract of `send_sms_batch`: its input, and each result it answers
 * (sent, a dry run's quote, not sent, approval required), as its tool
 * declaration (`sms_batch.ts`) carries them.
 */
import { z } from "zod";
import { e164 } from "./schemas.ts";
import {
  approvalRequiredResult,
  consentReason,
  encodingName,
  notSentResult,
  refusedRecipients,
  simulated,
} from "./sms_results.ts";
import { checkCoding, type prepareSend, SEND_FIELDS, SEND_OPTIONS } from "./sms_shared.ts";

/** Recipients of one batch at most. */
export const MAX_BATCH_RECIPIENTS = 100;

/** The arguments of `send_sms_batch`. */
export const Input = z.strictObject({
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

/** What a batch's pieces share: its arguments, encoding, parts and test mode. */
export type Prepared = ReturnType<typeof prepareSend<z.output<typeof Input>>>;

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

/** Every result of `send_sms_batch`. */
export const Output = z.union([Sent, Quote, NotSent, ApprovalRequired]);
/** A result, as a handler builds it. */
export type Out = z.input<typeof Output>;
/** One country of a quote, as results list it. */
export type CountryRow = z.input<typeof Country>;
/** The result of a batch that ran. */
export type SentOut = z.input<typeof Sent>;
