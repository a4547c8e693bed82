/** Scope `sms:rates`: the price list. */
import { z } from "zod";
import { defineTool } from "./define.ts";
import { country } from "./schemas.ts";

const Input = z.strictObject({ country });

const Output = z.object({
  country: z.string(),
  country_name: z.string().nullable(),
  rates: z.array(z.object({
    operator: z.string(),
    network: z.string(),
    rate_eur: z.string().describe("price per SMS part in EUR, as a decimal string"),
    mcc: z.string().nullable(),
    mnc: z.string().nullable(),
  })),
  cache_age_seconds: z.number().int().min(0),
});

/** `get_sms_rates`: SMS prices of one destination country. */
export const getSmsRates = defineTool({
  name: "get_sms_rates",
  title: "Get SMS rates",
  description:
    "Look up what one SMS part to a destination country costs on this VertexSMS account, per " +
    "operator/network, in EUR (with MCC/MNC). Use it to quote a price before send_sms, or when " +
    "the user asks what messaging a country costs. Not billable and read-only; the price list is " +
    "cached for up to an hour per token (cache_age_seconds tells its age). An uncovered country " +
    "returns an empty rates list.",
  scope: "sms:rates",
  billable: false,
  input: Input,
  output: Output,
  annotations: {
    readOnlyHint: true,
    destructiveHint: false,
    idempotentHint: true,
    openWorldHint: true,
  },
  handler: async ({ country }, ctx) => {
    const cached = await ctx.services.rates.forCountry(ctx, country);
    return {
      country,
      country_name: cached.countryName,
      rates: cached.rows.map((r) => ({
        operator: r.operator,
        network: r.network,
        rate_eur: r.rate_eur,
        mcc: r.mcc,
        mnc: r.mnc,
      })),
      cache_age_seconds: cached.ageSeconds,
    };
  },
});

/** The tools of scope `sms:rates`. */
export const RATES_TOOLS = [getSmsRates] as const;
