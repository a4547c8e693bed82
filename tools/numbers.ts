/** Scope `numbers:read`: mobile-network metadata and number correction. */
import { z } from "zod";
import { defineTool } from "./define.ts";
import { country } from "./schemas.ts";

const READ_ANNOTATIONS = {
  readOnlyHint: true,
  destructiveHint: false,
  idempotentHint: true,
  openWorldHint: true,
} as const;

const OperatorOutput = z.object({
  operator_id: z.number().int(),
  name: z.string(),
  country: z.string(),
  mcc: z.string(),
  mnc: z.array(z.string()),
});

/** `get_operator`: metadata of one mobile operator. */
export const getOperator = defineTool({
  name: "get_operator",
  title: "Get operator",
  description:
    "Get a mobile operator's name, country, MCC and MNCs by its VertexSMS operator id (as " +
    "returned by lookup_hlr, get_mcc_mnc_list or get_mobile_prefixes). Not billable, read-only. " +
    "An unknown id gives NOT_FOUND.",
  scope: "numbers:read",
  billable: false,
  input: z.strictObject({
    operatorId: z.number().int().positive().describe("VertexSMS operator id, e.g. 493"),
  }),
  output: OperatorOutput,
  annotations: READ_ANNOTATIONS,
  handler: async ({ operatorId }, ctx) => {
    const op = await ctx.vertex.getOperator(operatorId);
    return {
      operator_id: operatorId,
      name: op.name,
      country: op.country,
      mcc: op.mcc,
      mnc: op.mnc,
    };
  },
});

const NetworksOutput = z.object({
  country: z.string(),
  page: z.number().int(),
  networks: z.array(z.object({
    mcc: z.string(),
    mnc: z.string(),
    operator_id: z.number().int().nullable(),
  })),
});

/** `get_mcc_mnc_list`: the mobile networks of a country, one page at a time. */
export const getMccMncList = defineTool({
  name: "get_mcc_mnc_list",
  title: "List networks (MCC/MNC)",
  description:
    "List the mobile networks of a country as MCC/MNC pairs with their operator ids. The list is " +
    "paged: ask for page 2, 3, ... until `networks` comes back empty. Not billable, read-only.",
  scope: "numbers:read",
  billable: false,
  input: z.strictObject({
    country,
    page: z.number().int().min(1).default(1).describe("1-based page number (default 1)"),
  }),
  output: NetworksOutput,
  annotations: READ_ANNOTATIONS,
  handler: async ({ country, page }, ctx) => ({
    country,
    page,
    networks: await ctx.vertex.getNetworks(country, page),
  }),
});

const PrefixesOutput = z.object({
  country: z.string(),
  prefixes: z.array(z.object({
    prefix: z.string(),
    operator_id: z.number().int().nullable(),
    operator: z.string().nullable(),
  })),
});

/** `get_mobile_prefixes`: the mobile number prefixes of a country. */
export const getMobilePrefixes = defineTool({
  name: "get_mobile_prefixes",
  title: "List mobile prefixes",
  description:
    "List the mobile number prefixes of a country (international format, without +) and the " +
    "operator each belongs to. Use it to tell which operator a number range started with. Not " +
    "billable, read-only; numbers may have been ported since (lookup_hlr tells for sure).",
  scope: "numbers:read",
  billable: false,
  input: z.strictObject({ country }),
  output: PrefixesOutput,
  annotations: READ_ANNOTATIONS,
  handler: async ({ country }, ctx) => ({
    country,
    prefixes: await ctx.vertex.getPrefixes(country),
  }),
});

const CorrectInput = z.strictObject({
  numbers: z.array(z.strictObject({
    number: z.string().min(1, "must not be empty").max(32, "must be at most 32 characters")
      .describe("the number as the user wrote it, national or international"),
    country,
  })).min(1, "must list at least one number").max(100, "must list at most 100 numbers"),
});

const CorrectOutput = z.object({
  count: z.number().int(),
  results: z.array(z.object({
    input_number: z.string(),
    country: z.string(),
    number_type: z.enum(["mobile", "landline", "unknown"]),
    mobile: z.boolean(),
    number_e164: z.string().nullable(),
    error: z.string().nullable(),
  })),
});

/** `correct_phone_number`: repair numbers into E.164. */
export const correctPhoneNumber = defineTool({
  name: "correct_phone_number",
  title: "Correct phone numbers",
  description:
    "Turn up to 100 phone numbers as people write them (national formats, spaces, leading 0/8) " +
    "into E.164 for a given country, and tell whether each is a mobile number. Use it before " +
    "send_sms when a number is not already in +E.164. Not billable, read-only. A number that " +
    "cannot be corrected comes back with number_e164 null and an error text.",
  scope: "numbers:read",
  billable: false,
  input: CorrectInput,
  output: CorrectOutput,
  annotations: READ_ANNOTATIONS,
  handler: async ({ numbers }, ctx) => {
    const results = await ctx.vertex.correctNumbers(numbers);
    return { count: results.length, results };
  },
});

/** The tools of scope `numbers:read`. */
export const NUMBERS_TOOLS = [
  getOperator,
  getMccMncList,
  getMobilePrefixes,
  correctPhoneNumber,
] as const;
