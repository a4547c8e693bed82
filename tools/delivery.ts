/**
 * Scope `sms:send`, after the send: delivery statuses and usage, read from
 * this server's own ledger and guards (no upstream call, not billable).
 *
 * Neither tool asks VertexSMS anything, so neither checks the token with it:
 * each answers from what this token itself sent through this server (a
 * made-up token sees an empty ledger), under the token's keyed hash.
 */
import { z } from "zod";
import { formatEur } from "../core/eur.ts";
import type { LimitWindow } from "../money/mod.ts";
import type { LedgerEntry } from "../services/mod.ts";
import { codeMeaning } from "../vertex/mod.ts";
import { defineTool } from "./define.ts";

const DAY_MS = 86_400_000;

/** Epoch milliseconds as ISO 8601 in UTC, to the second. */
function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

const deliveryReports = z.enum(["enabled", "unavailable"]).describe(
  "enabled: VertexSMS reports each message's delivery to this server, so statuses move on from " +
    "sent; unavailable: it cannot (no public URL, or the ledger is off), so statuses stay sent",
);

const status = z.enum(["scheduled", "sent", "delivered", "undelivered", "expired", "unknown"]);

const StatusInput = z.strictObject({
  messageIds: z.array(
    z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "must be a message_id as send_sms returned it"),
  ).min(1, "must name at least one message id").max(100, "must name at most 100 message ids")
    .describe("message_id values returned by send_sms (1 to 100)"),
});

const StatusOutput = z.object({
  delivery_reports: deliveryReports,
  results: z.array(z.object({
    message_id: z.string(),
    status: status.describe(
      "scheduled: accepted for later; sent: accepted, no final report yet; delivered, " +
        "undelivered, expired: the final report; unknown: not sent by this token through this " +
        "server, or older than the ledger keeps",
    ),
    error_code: z.number().int().nullable().describe("the report's code (0: no error)"),
    error_meaning: z.string().nullable(),
    destination: z.string().nullable(),
    parts: z.number().int().nullable(),
    batch_id: z.string().nullable(),
    sent_at: z.string().nullable().describe("when this server sent it (ISO 8601, UTC)"),
    updated_at: z.string().nullable().describe("when its status last changed (ISO 8601, UTC)"),
  })).describe("one result per requested id, in the order asked"),
});

/** `get_sms_status`: the delivery status of messages this token sent. */
export const getSmsStatus = defineTool({
  name: "get_sms_status",
  title: "Delivery status of sent SMS",
  description:
    "Tell whether SMS sent through this server arrived: for up to 100 message_id values returned " +
    "by send_sms, each message's status (sent, then delivered, undelivered or expired once " +
    "VertexSMS reports it; scheduled for later sends), its error code and meaning, destination, " +
    "parts and times. Use it when the user asks whether a message arrived. Not billable, and no " +
    "call to VertexSMS: it reads this server's own ledger, which delivery reports update within " +
    "seconds to minutes of a send (when delivery_reports is unavailable, statuses stay sent). A " +
    "message this token did not send through this server, or one older than the ledger keeps, " +
    "is unknown.",
  scope: "sms:send",
  billable: false,
  input: StatusInput,
  output: StatusOutput,
  annotations: {
    readOnlyHint: true,
    destructiveHint: false,
    idempotentHint: true,
    openWorldHint: false,
  },
  handler: async ({ messageIds }, ctx) => {
    const ledger = ctx.services.ledger;
    const entries = await ledger.entries(await ctx.principal(), messageIds);
    return {
      delivery_reports: ledger.deliveryReports,
      results: entries.map((entry, i) => entry ? statusOf(entry) : unknown(messageIds[i]!)),
    };
  },
});

function statusOf(e: LedgerEntry) {
  return {
    message_id: e.messageId,
    status: e.status,
    error_code: e.errorCode,
    error_meaning: e.errorCode === null ? null : codeMeaning(e.errorCode),
    destination: e.destination,
    parts: e.parts,
    batch_id: e.batchId,
    sent_at: iso(e.sentAt),
    updated_at: iso(e.updatedAt),
  };
}

function unknown(messageId: string) {
  return {
    message_id: messageId,
    status: "unknown" as const,
    error_code: null,
    error_meaning: null,
    destination: null,
    parts: null,
    batch_id: null,
    sent_at: null,
    updated_at: null,
  };
}

const UsageInput = z.strictObject({
  recent: z.number().int().min(0).max(50).default(10)
    .describe("how many of the latest sends to list, 0 to 50 (default 10)"),
});

const UsageOutput = z.object({
  test_mode: z.boolean().describe("true: sends are only simulated by VertexSMS (SMS_TEST_MODE)"),
  delivery_reports: deliveryReports,
  today: z.object({
    date: z.string().describe("the day these figures cover (YYYY-MM-DD, UTC)"),
    sends: z.number().int(),
    parts: z.number().int(),
    spent_eur: z.string().describe(
      "with a spend cap, the estimated spend the cap counted in its current 24-hour window; " +
        "without one, the estimates known for today's sends (batches are priced; a single " +
        "send only under a cap)",
    ),
    cap_eur: z.string().nullable().describe("the spend cap per 24 hours, or null: no cap"),
    remaining_eur: z.string().nullable().describe("what the cap still allows today, or null"),
  }).describe(
    "with a spend cap: the cap's own 24-hour window, which opens at the first send it counts; " +
      "without one: the current UTC day",
  ),
  delivery: z.object({
    delivered: z.number().int(),
    undelivered: z.number().int(),
    expired: z.number().int(),
    pending: z.number().int().describe("sent or scheduled, no final report yet"),
  }).describe("today's sends by delivery status"),
  limits: z.array(z.object({
    name: z.string().describe("the setting, e.g. SMS_SENDS_PER_MINUTE"),
    limit: z.number().describe("per window; SMS_DAILY_SPEND_CAP_EUR in EUR"),
    used: z.number().describe("counted in the current window (0 when none is open)"),
    resets_in_seconds: z.number().int().describe(
      "when the current window closes and the count starts again (0 when none is open)",
    ),
  })).describe("the per-token limits this server enforces, as its guards count them now"),
  consent: z.object({
    opt_outs: z.number().int().describe("numbers on this token's opt-out list (manage_opt_outs)"),
    quiet_hours: z.string().nullable().describe(
      "SMS_QUIET_HOURS, e.g. 21:00-08:00 in the recipient's local time; null: none",
    ),
    per_recipient_per_day: z.number().int().nullable().describe(
      "SMS_PER_RECIPIENT_PER_DAY: texts to one number per rolling 24 hours; null: no limit",
    ),
  }).describe("the consent guards in force: sends to refused recipients are SEND_NOT_ALLOWED"),
  recent: z.array(z.object({
    message_id: z.string(),
    destination: z.string(),
    status: status,
    parts: z.number().int(),
    cost_eur: z.string().nullable().describe("the estimate, when the send was priced"),
    batch_id: z.string().nullable(),
    sent_at: z.string(),
  })).describe("the latest sends, newest first"),
});

/** `get_sms_usage`: today's sends and spend against the limits, and the latest sends. */
export const getSmsUsage = defineTool({
  name: "get_sms_usage",
  title: "SMS usage, spend and limits",
  description:
    "Show how much this token sent and spent today and what is left: sends, parts and the " +
    "estimated spend against this server's daily spend cap, delivery counts, each per-token " +
    "limit's current window (used, limit, seconds until it resets), the consent guards in force " +
    "(opt-outs listed, quiet hours, the per-recipient limit), and the latest sends with " +
    "their statuses. Use it to plan within a budget, to answer 'how much have I spent' or " +
    "'what did I send', and before a large send. Not billable, and no call to VertexSMS: " +
    "figures come from this server's own ledger and guards (the same counts that refuse a send " +
    "over a limit), for what this token sent through this server.",
  scope: "sms:send",
  billable: false,
  input: UsageInput,
  output: UsageOutput,
  annotations: {
    readOnlyHint: true,
    destructiveHint: false,
    idempotentHint: true,
    openWorldHint: false,
  },
  handler: async ({ recent }, ctx) => {
    const { ledger, money, consent, smsTestMode } = ctx.services;
    const windows = await money.snapshot(ctx);
    const settings = await consent.settings(ctx);
    const now = Date.now();
    const spend = windows.find((w) => w.name === "SMS_DAILY_SPEND_CAP_EUR");
    // The cap's own day when a cap is on (none open: nothing counted yet), else the UTC day.
    const since = spend ? spend.start ?? now : now - (now % DAY_MS);
    const usage = await ledger.usage(await ctx.principal(), since, recent);
    const finals = usage.delivered + usage.undelivered + usage.expired;
    return {
      test_mode: smsTestMode !== "off",
      delivery_reports: ledger.deliveryReports,
      today: {
        date: iso(since).slice(0, 10),
        sends: usage.sends,
        parts: usage.parts,
        spent_eur: formatEur(spend ? spend.used : usage.costMicros),
        cap_eur: spend ? formatEur(spend.limit) : null,
        remaining_eur: spend ? formatEur(Math.max(0, spend.limit - spend.used)) : null,
      },
      delivery: {
        delivered: usage.delivered,
        undelivered: usage.undelivered,
        expired: usage.expired,
        pending: Math.max(0, usage.sends - finals),
      },
      limits: windows.map((w) => limitOf(w, now)),
      consent: {
        opt_outs: settings.optOuts,
        quiet_hours: settings.quietHours,
        per_recipient_per_day: settings.perRecipientPerDay || null,
      },
      recent: usage.recent.map((e) => ({
        message_id: e.messageId,
        destination: e.destination,
        status: e.status,
        parts: e.parts,
        cost_eur: e.costMicros === null ? null : formatEur(e.costMicros),
        batch_id: e.batchId,
        sent_at: iso(e.sentAt),
      })),
    };
  },
});

function limitOf(w: LimitWindow, now: number) {
  const eur = w.name === "SMS_DAILY_SPEND_CAP_EUR";
  return {
    name: w.name,
    limit: eur ? w.limit / 1_000_000 : w.limit,
    used: eur ? w.used / 1_000_000 : w.used,
    resets_in_seconds: w.end === null ? 0 : Math.max(0, Math.ceil((w.end - now) / 1000)),
  };
}

/** The tools of scope `sms:send` that read what was sent. */
export const DELIVERY_TOOLS = [getSmsStatus, getSmsUsage] as const;
