/** Scope `hlr:lookup`: live number lookups (billable per query). */
import { z } from "zod";
import { ServiceError } from "../core/errors.ts";
import type { ToolContext } from "./context.ts";
import { defineTool } from "./define.ts";
import { e164, idempotencyKey, upstreamDigits } from "./schemas.ts";
import { refuseInTestMode } from "./test_mode.ts";

const Input = z.strictObject({
  msisdn: e164,
  waitSeconds: z.number().int().min(1).max(30).default(15)
    .describe("how long to wait for the network's answer, 1 to 30 seconds (default 15)"),
  idempotencyKey,
});

const Output = z.object({
  lookup_id: z.string(),
  msisdn: z.string(),
  status: z.enum(["ok", "error"]),
  error_code: z.number().int(),
  error_meaning: z.string(),
  imsi: z.string().nullable(),
  country: z.string().nullable(),
  operator_id: z.number().int().nullable(),
  mcc: z.string().nullable(),
  mnc: z.string().nullable(),
  ported: z.object({
    operator_id: z.number().int().nullable(),
    operator: z.string().nullable(),
    country: z.string().nullable(),
  }).nullable(),
});

/** `lookup_hlr`: ask the mobile network about a number (billable). */
export const lookupHlr = defineTool({
  name: "lookup_hlr",
  title: "HLR number lookup",
  description:
    "Ask the mobile network, live, whether a number exists and is reachable, which operator " +
    "serves it and whether it was ported. BILLABLE per query: use it only when the user wants a " +
    "live check (to validate a number's format or find its country, use correct_phone_number, " +
    "which is free). Waits up to waitSeconds for the answer; on HLR_TIMEOUT the lookup was still " +
    "billed, so do not repeat it blindly. Pass an idempotencyKey (a new UUID per lookup, reused " +
    "on retries) so a repeated call returns the first answer instead of paying again.",
  scope: "hlr:lookup",
  billable: true,
  input: Input,
  output: Output,
  annotations: {
    readOnlyHint: true,
    destructiveHint: false,
    idempotentHint: true,
    openWorldHint: true,
  },
  handler: async ({ msisdn, waitSeconds, idempotencyKey }, ctx) => {
    refuseInTestMode(ctx, "lookup_hlr", "run a real HLR lookup, billed per query");
    return await ctx.services.money.once(ctx, {
      tool: "lookup_hlr",
      args: { msisdn, waitSeconds },
      idempotencyKey,
      run: () => lookup(msisdn, waitSeconds, ctx),
    });
  },
});

/** Start the lookup and wait for its callback. */
async function lookup(msisdn: string, waitSeconds: number, ctx: ToolContext) {
  const { services } = ctx;
  if (!services.callbacksReachable) {
    throw new ServiceError(
      "HLR_UNAVAILABLE",
      "HLR lookups need a public callback URL, and this server's PUBLIC_URL " +
        `(${services.publicUrl}) is not reachable from VertexSMS. Nothing was billed. ` +
        "Ask the server's operator to set PUBLIC_URL to its public address.",
    );
  }
  const reservation = await services.hlr.open(await ctx.principal());
  try {
    const lookupId = await ctx.vertex.startHlrLookup(
      upstreamDigits(msisdn),
      `${services.publicUrl}/callbacks/hlr/${reservation.id}`,
    );
    const result = await reservation.wait(waitSeconds * 1000, ctx.signal);
    if (result === null) {
      throw new ServiceError(
        "HLR_TIMEOUT",
        `The network did not answer lookup ${lookupId} within ${waitSeconds} seconds. The lookup ` +
          "was billed; repeating it costs again.",
        { lookupId },
      );
    }
    if (result.lookup_id !== lookupId) {
      throw new ServiceError(
        "UPSTREAM_BAD_RESPONSE",
        "VertexSMS delivered the result of a different HLR lookup. Please report the request_id.",
      );
    }
    return { ...result, msisdn };
  } finally {
    await reservation.close();
  }
}

/** The tools of scope `hlr:lookup`. */
export const HLR_TOOLS = [lookupHlr] as const;
