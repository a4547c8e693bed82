/** Scope `sender:write`: registering and confirming sender IDs. */
import { z } from "zod";
import { defineTool } from "./define.ts";
import { e164, idempotencyKey, upstreamDigits } from "./schemas.ts";
import { refuseInTestMode } from "./test_mode.ts";

const WRITE_ANNOTATIONS = {
  readOnlyHint: false,
  destructiveHint: false,
  idempotentHint: false,
  openWorldHint: true,
} as const;

const RegisterInput = z.strictObject({
  name: z.string()
    .regex(
      /^[A-Za-z0-9 \-_&#!]{3,11}$/,
      "must be 3 to 11 characters: letters, digits, spaces or - _ & # !",
    )
    .describe("the sender name recipients will see, 3 to 11 characters"),
  category: z.enum(["Company", "Product", "Brand", "Shortcode", "Landline", "Other"])
    .describe("what the name stands for"),
  categoryDescription: z.string().min(1, "must not be empty").max(
    1000,
    "must be at most 1000 characters",
  ).describe("for VertexSMS's reviewer: why this account may use the name"),
  notificationUrl: z.url({ protocol: /^https$/, message: "must be an https URL" }).optional()
    .describe("https URL VertexSMS notifies when the review is done"),
  idempotencyKey,
});

const RegisterOutput = z.object({
  sender_id: z.number().int(),
  name: z.string(),
  type: z.literal("AlphaNumeric"),
  status: z.literal("pending_review"),
});

/** `register_sender_id`: submit an alphanumeric sender for review. */
export const registerSenderId = defineTool({
  name: "register_sender_id",
  title: "Register sender ID",
  description:
    "Submit an alphanumeric sender name (what recipients see instead of a number, e.g. a brand) " +
    "for VertexSMS's manual review. Use when the user wants to send from a name that is not yet " +
    "registered. Not billable, but it files a request on the account: register only names the " +
    "user asked for. The result is pending until a reviewer approves it. Pass an idempotencyKey " +
    "(a new UUID per registration, reused on retries) so a repeated call does not file twice.",
  scope: "sender:write",
  billable: false,
  input: RegisterInput,
  output: RegisterOutput,
  annotations: WRITE_ANNOTATIONS,
  handler: ({ idempotencyKey, ...sender }, ctx) =>
    ctx.services.money.once(ctx, {
      tool: "register_sender_id",
      args: sender,
      idempotencyKey,
      run: async () => ({
        sender_id: await ctx.vertex.registerAlphanumericSender(sender),
        name: sender.name,
        type: "AlphaNumeric" as const,
        status: "pending_review" as const,
      }),
    }),
});

const MsisdnInput = z.strictObject({ msisdn: e164 });

const MsisdnOutput = z.object({
  sender_id: z.number().int(),
  msisdn: z.string(),
  status: z.literal("pin_sent"),
  next_step: z.string(),
});

/** `register_msisdn_sender`: register a phone number as sender; VertexSMS texts it a PIN. */
export const registerMsisdnSender = defineTool({
  name: "register_msisdn_sender",
  title: "Register phone number as sender",
  description:
    "Register one of the user's own phone numbers as an SMS sender. VertexSMS texts a 5-digit PIN " +
    "to that number; then ask the user for the PIN and call confirm_msisdn_sender. Not billable. " +
    "Use only for a number the user owns and has with them. PIN texts are limited per token and " +
    "per number each hour: do not call it again while the user is still waiting for a PIN.",
  scope: "sender:write",
  billable: false,
  input: MsisdnInput,
  output: MsisdnOutput,
  annotations: WRITE_ANNOTATIONS,
  handler: async ({ msisdn }, ctx) => {
    refuseInTestMode(ctx, "register_msisdn_sender", "have VertexSMS text a real PIN to the number");
    const senderId = await ctx.services.money.pinText(
      ctx,
      msisdn,
      () => ctx.vertex.registerMsisdnSender(upstreamDigits(msisdn)),
    );
    return {
      sender_id: senderId,
      msisdn,
      status: "pin_sent" as const,
      next_step:
        `A 5-digit PIN was texted to ${msisdn}. Ask the user for it, then call confirm_msisdn_sender ` +
        `with senderId ${senderId} and the PIN as code.`,
    };
  },
});

const ConfirmInput = z.strictObject({
  senderId: z.number().int().positive().describe("sender_id from register_msisdn_sender"),
  code: z.string().regex(/^\d{5}$/, "must be exactly 5 digits").describe(
    "the 5-digit PIN texted to the number",
  ),
});

const ConfirmOutput = z.object({
  sender_id: z.number().int(),
  status: z.literal("confirmed"),
});

/** `confirm_msisdn_sender`: confirm a phone-number sender with its PIN. */
export const confirmMsisdnSender = defineTool({
  name: "confirm_msisdn_sender",
  title: "Confirm phone number sender",
  description:
    "Confirm a phone number registered with register_msisdn_sender, using the 5-digit PIN " +
    "VertexSMS texted to it. Use after the user tells you the PIN. Not billable. A wrong or " +
    "expired PIN is refused (VERTEX_REQUEST_REJECTED); ask the user to check it.",
  scope: "sender:write",
  billable: false,
  input: ConfirmInput,
  output: ConfirmOutput,
  annotations: WRITE_ANNOTATIONS,
  handler: async ({ senderId, code }, ctx) => {
    await ctx.vertex.confirmMsisdnSender(senderId, code);
    return { sender_id: senderId, status: "confirmed" as const };
  },
});

/** The tools of scope `sender:write`. */
export const SENDER_TOOLS = [registerSenderId, registerMsisdnSender, confirmMsisdnSender] as const;
