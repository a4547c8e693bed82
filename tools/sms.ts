/** Scope `sms:send`: sending SMS (billable). */
import { z } from "zod";
import { defineTool } from "./define.ts";
import { countParts, encodingFor, firstNonGsm } from "./sms_encoding.ts";
import { country, E164 } from "./schemas.ts";

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
    .describe("seconds the network keeps trying to deliver (360–432000)"),
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

const Output = z.object({
  message_id: z.string(),
  status: z.enum(["sent", "scheduled"]),
  parts: z.number().int().min(1),
  destination: z.string(),
  encoding: z.enum(["GSM-7", "UCS-2", "8-bit"]),
});

/** `send_sms`: send one SMS (billable). */
export const sendSms = defineTool({
  name: "send_sms",
  title: "Send SMS",
  description:
    "Send one SMS through VertexSMS to a phone number. BILLABLE: every part costs money and a " +
    "sent message cannot be recalled. Only send when the user asked for it and has seen the " +
    "recipient and text; when they have not confirmed the cost, quote it first with " +
    "get_sms_rates. Never retry on your own after an error that says the outcome is unknown. " +
    "Long texts are split into parts (GSM-7: 160 characters, 153 per part when split; " +
    "UCS-2: 70/67); `scheduled` sends later.",
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
    const encoding = encodingFor(input.message, input.coding);
    const accepted = await ctx.vertex.sendSms({
      to: input.to.replace(/^\+/, ""),
      from: input.from,
      message: input.message,
      priority: input.priority,
      scheduled: input.scheduled,
      correctBy: input.correctBy,
      coding: input.coding,
      expireIn: input.expireIn,
    });
    return {
      message_id: accepted.messageIds[0] as string,
      status: input.scheduled ? "scheduled" as const : "sent" as const,
      parts: accepted.amountSent ?? countParts(input.message, encoding),
      destination: input.to,
      encoding,
    };
  },
});

/** The tools of scope `sms:send`. */
export const SMS_TOOLS = [sendSms] as const;
