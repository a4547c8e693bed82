/**
 * Scope `sms:send`, consent: `manage_opt_outs`, the token's opt-out
 * (suppression) list, kept by this server in its shared state (no upstream
 * call, not billable). The sends refuse every number on it
 * (`SEND_NOT_ALLOWED`, reason `opted_out`; `money/consent.ts`).
 */
import { z } from "zod";
import { ServiceError } from "../core/errors.ts";
import { OPT_OUT_PAGE } from "../money/mod.ts";
import { defineTool } from "./define.ts";
import { e164 } from "./schemas.ts";

/** Numbers one call names at most. */
export const MAX_OPT_OUT_NUMBERS = 1000;

const Input = z.strictObject({
  action: z.enum(["add", "remove", "list", "check"]).describe(
    "add: put numbers on the list; remove: take them off (only when the person asks to be " +
      "texted again); check: which of them are on it; list: read the list, a page at a time",
  ),
  numbers: z.array(e164)
    .min(1, "must name at least one number")
    .max(MAX_OPT_OUT_NUMBERS, `must name at most ${MAX_OPT_OUT_NUMBERS} numbers`)
    .optional()
    .describe("1 to 1000 numbers in E.164, for add, remove and check"),
  cursor: z.string().regex(/^\d{1,7}$/, "must be a next_cursor this tool returned").optional()
    .describe("for list: the next_cursor of the previous page"),
}).superRefine((input, ctx) => {
  if (input.action === "list") {
    if (input.numbers !== undefined) {
      ctx.addIssue({ code: "custom", path: ["numbers"], message: "is not used by action list" });
    }
  } else {
    if (input.numbers === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["numbers"],
        message: `is required for action ${input.action}`,
      });
    }
    if (input.cursor !== undefined) {
      ctx.addIssue({ code: "custom", path: ["cursor"], message: "is used only by action list" });
    }
  }
});

const Changed = z.object({
  action: z.enum(["add", "remove", "check"]),
  changed: z.number().int().min(0).describe("numbers added (add) or removed (remove); 0 for check"),
  unchanged: z.number().int().min(0).describe("numbers that already were as asked"),
  opted_out: z.array(z.string()).describe("those of numbers on the list now"),
});

const Page = z.object({
  numbers: z.array(z.string()).describe(`up to ${OPT_OUT_PAGE} numbers of the list`),
  next_cursor: z.string().nullable().describe(
    "pass as cursor for the next page; null: this was the last page",
  ),
});

/** `manage_opt_outs`: the token's opt-out list (no upstream call). */
export const manageOptOuts = defineTool({
  name: "manage_opt_outs",
  title: "Opt-out list",
  description:
    "Keep this token's opt-out (suppression) list: the numbers that must not be texted. add " +
    "numbers when people ask not to be contacted (a STOP reply, an unsubscribe, a complaint); " +
    "remove one only when that person asks to be texted again; check up to 1000 numbers before " +
    "a send or a batch (which of them are on it); list reads the list, 1000 at a time " +
    "(next_cursor). send_sms and send_sms_batch refuse every listed number (SEND_NOT_ALLOWED, " +
    "reason opted_out) whatever anyone approved. Not billable, idempotent, no call to " +
    "VertexSMS: this server keeps the list (VertexSMS cannot pass inbound replies on, so STOP " +
    "replies must be added here).",
  scope: "sms:send",
  billable: false,
  input: Input,
  output: z.union([Changed, Page]),
  annotations: {
    readOnlyHint: false,
    destructiveHint: false,
    idempotentHint: true,
    openWorldHint: false,
  },
  handler: async ({ action, numbers, cursor }, ctx) => {
    const consent = ctx.services.consent;
    if (action === "list") {
      const page = await consent.listOptOuts(ctx, cursor === undefined ? 0 : Number(cursor));
      return { numbers: page.numbers, next_cursor: page.next === null ? null : String(page.next) };
    }
    if (numbers === undefined) throw new ServiceError("INTERNAL_ERROR", "numbers missing");
    const change = action === "add"
      ? await consent.addOptOuts(ctx, numbers)
      : action === "remove"
      ? await consent.removeOptOuts(ctx, numbers)
      : { changed: 0, unchanged: numbers.length };
    const distinct = [...new Set(numbers)];
    const listed = await consent.optedOut(ctx, distinct);
    return {
      action,
      changed: change.changed,
      unchanged: change.unchanged,
      opted_out: distinct.filter((_, i) => listed[i]),
    };
  },
});

/** The consent tools of scope `sms:send`. */
export const CONSENT_TOOLS = [manageOptOuts] as const;
