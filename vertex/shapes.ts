/**
 * VertexSMS's wire format: the request bodies this server sends, the answers
 * it reads (parsed with zod), and their mapping into this server's own
 * vocabulary (snake_case outputs, strings for codes).
 */
import { z } from "zod";
import { type Answer, badResponse } from "./failures.ts";

/** Numeric codes of delivery reports and HLR results. */
export const VERTEX_CODES: Readonly<Record<number, string>> = {
  0: "no error",
  1: "illegal subscriber (MSC error)",
  2: "not delivered: validity period expired",
  20: "destination country or operator not enabled for the account",
  21: "blocked by a filter (e.g. blacklisted number)",
  22: "duplicate SMS",
  23: "per-number SMS limit reached",
  24: "account balance limit reached",
  40: "HLR: subscriber unknown",
  41: "HLR: SMS barred for the subscriber",
  43: "HLR: subscriber absent (out of coverage, handset off)",
  51: "HLR: other error",
  53: "invalid MSISDN",
  999: "unknown VertexSMS error",
};

// The public docs disagree on spellings and types in places
// (`MCC` vs `mcc`, ids as strings or numbers): accept both, emit one.

/** Digits sent as a string or a number, kept as a string. */
export const digits = z.union([z.string(), z.number()]).transform(String);
const optionalDigits = z.union([z.string(), z.number()]).nullish().transform((v) =>
  v === null || v === undefined || v === "" ? null : String(v)
);
const intLike = z.union([z.number().int(), z.string().regex(/^-?\d+$/)]).transform(Number);

/** One row of `GET /rates/?format=json`, both documented spellings. */
export const RateRow = z.object({
  CountryName: z.string().nullish(),
  CountryCode: z.string(),
  Operator: z.string().nullish(),
  Network: z.string().nullish(),
  MCC: optionalDigits.optional(),
  mcc: optionalDigits.optional(),
  MNC: optionalDigits.optional(),
  mnc: optionalDigits.optional(),
  Rate: z.union([z.string(), z.number()]).transform(String),
});

/** One row of the price list, in this server's vocabulary. */
export interface Rate {
  country: string;
  country_name: string | null;
  operator: string;
  network: string;
  rate_eur: string;
  mcc: string | null;
  mnc: string | null;
}

/** The answer of `GET /operators/{id}`. */
export const OperatorBody = z.object({
  name: z.string(),
  country: z.string(),
  mcc: digits,
  mnc: z.union([z.array(digits), digits.transform((m) => [m])]),
});

/** Operator metadata. */
export interface Operator {
  name: string;
  country: string;
  mcc: string;
  mnc: string[];
}

/** One row of `GET /mccmnc/{country}`. */
export const MccMncRow = z.object({
  country: z.string().optional(),
  mcc: digits.optional(),
  MCC: digits.optional(),
  mnc: digits.optional(),
  MNC: digits.optional(),
  operatorId: intLike.nullish(),
});

/** One mobile network of a country. */
export interface Network {
  mcc: string;
  mnc: string;
  operator_id: number | null;
}

/** One row of `GET /prefixes/{country}`. */
export const PrefixRow = z.object({
  prefix: digits,
  operatorId: intLike.nullish(),
  operator: z.string().nullish(),
});

/** One mobile number prefix of a country. */
export interface Prefix {
  prefix: string;
  operator_id: number | null;
  operator: string | null;
}

/** One row of `POST /numbers/correct`. */
export const CorrectionRow = z.object({
  input_number: z.string(),
  country: z.string(),
  number_type: z.enum(["mobile", "landline", "unknown"]).catch("unknown"),
  mobile: z.boolean().nullish().transform((v) => v ?? false),
  number_e164: z.string().nullish().transform((v) => v ?? null),
  error: z.string().nullish().transform((v) => v ?? null),
});

/** The correction of one number. */
export type Correction = z.output<typeof CorrectionRow>;

const HlrCallbackBody = z.object({
  id: digits,
  error: intLike.optional(),
  imsi: optionalDigits.optional(),
  country: z.string().nullish(),
  operatorId: intLike.nullish(),
  mcc: optionalDigits.optional(),
  mnc: optionalDigits.optional(),
  ported: z.object({
    operatorId: intLike.nullish(),
    operator: z.string().nullish(),
    country: z.string().nullish(),
  }).nullish(),
});

/** A normalised HLR result (the tool adds `msisdn`). */
export interface HlrResult {
  lookup_id: string;
  status: "ok" | "error";
  error_code: number;
  error_meaning: string;
  imsi: string | null;
  country: string | null;
  operator_id: number | null;
  mcc: string | null;
  mnc: string | null;
  ported: { operator_id: number | null; operator: string | null; country: string | null } | null;
}

/** Parse the JSON body VertexSMS POSTs to an HLR callback URL; `null` when it is not one. */
export function parseHlrCallback(body: unknown): HlrResult | null {
  const parsed = HlrCallbackBody.safeParse(body);
  if (!parsed.success) return null;
  const b = parsed.data;
  const code = b.error ?? 0;
  return {
    lookup_id: b.id,
    status: code === 0 ? "ok" : "error",
    error_code: code,
    error_meaning: codeMeaning(code),
    imsi: b.imsi ?? null,
    country: b.country ?? null,
    operator_id: b.operatorId ?? null,
    mcc: b.mcc ?? null,
    mnc: b.mnc ?? null,
    ported: b.ported
      ? {
        operator_id: b.ported.operatorId ?? null,
        operator: b.ported.operator ?? null,
        country: b.ported.country ?? null,
      }
      : null,
  };
}

/** A delivery status as this server names it; `null` in a report: no final status yet. */
export type FinalStatus = "delivered" | "undelivered" | "expired";

/**
 * The `status` numbers of a delivery report (**assumed**, `vertexsms-api.md`):
 * 1 delivered, 2 undelivered, 3 seen (Viber; a seen message was delivered),
 * 16 expired. Any other number is no final status yet.
 */
export const REPORT_STATUSES: Readonly<Record<number, FinalStatus>> = {
  1: "delivered",
  2: "undelivered",
  3: "delivered",
  16: "expired",
};

/** One delivery report, normalised. */
export interface DeliveryReport {
  messageId: string;
  /** The final status it reports, or `null` for an intermediate one. */
  status: FinalStatus | null;
  /** The numeric code of `VERTEX_CODES`, when the report carried one. */
  errorCode: number | null;
}

/** A message id: digits, as a string or a number. */
const messageId = z.union([
  z.string().regex(/^\d{1,20}$/),
  z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
]).transform(String);

/**
 * The fields of a delivery report this server reads. ASSUMED shape: VertexSMS's
 * public pages document `dlrUrl` and the numeric codes but not the report's
 * body (`vertexsms-api.md`, "Delivery reports"); `deno task record --reports`
 * captures real ones to check it. Numbers may come as strings; unknown fields
 * are ignored.
 */
const DeliveryReportBody = z.object({
  id: messageId,
  status: intLike,
  // A form field may be present and empty.
  error: z.union([intLike, z.literal("").transform(() => null)]).nullish(),
});

/**
 * Parse what VertexSMS posted to a `dlrUrl`, as an object: the JSON body, or
 * the form-encoded body or query parameters as name → value. `null` when it
 * is not a delivery report.
 */
export function parseDeliveryReport(fields: unknown): DeliveryReport | null {
  const parsed = DeliveryReportBody.safeParse(fields);
  if (!parsed.success) return null;
  const { id, status, error } = parsed.data;
  return { messageId: id, status: REPORT_STATUSES[status] ?? null, errorCode: error ?? null };
}

/** What a numeric code means (`VERTEX_CODES`), or a plain note for a code not in the table. */
export function codeMeaning(code: number): string {
  return VERTEX_CODES[code] ?? "unknown error code";
}

/** Body fields of `POST /sms` this server sends. */
export interface SmsRequest {
  /** International digits, no `+`. */
  to: string;
  from: string;
  message: string;
  priority?: "high" | "normal" | "low";
  scheduled?: string;
  correctBy?: string;
  coding?: 0 | 1 | 2;
  expireIn?: number;
  /** Where VertexSMS posts this message's delivery reports (see {@link parseDeliveryReport}). */
  dlrUrl?: string;
  /** Ask VertexSMS to simulate the send (its `testMode`): no SMS reaches a phone. */
  simulate?: SimulatedOutcome;
}

/** The outcome VertexSMS simulates for a test-mode send. */
export type SimulatedOutcome = "delivered" | "failed";

/** `testMode` of `POST /sms`: `"1"` simulates a delivered message, `"2"` a failed one. */
export const TEST_MODE: Record<SimulatedOutcome, "1" | "2"> = { delivered: "1", failed: "2" };

/** The answer of `POST /sms`. */
export interface SmsAccepted {
  messageIds: string[];
  /** `X-VertexSMS-Amount-Sent`, when the upstream sent it. */
  amountSent: number | null;
}

/** Body of an alphanumeric sender registration. */
export interface SenderRequest {
  name: string;
  category: string;
  categoryDescription: string;
  notificationUrl?: string;
}

/** Parse a JSON answer against its schema, or throw `UPSTREAM_BAD_RESPONSE`. */
export function parseJson<T extends z.ZodType>(
  answer: Answer,
  schema: T,
  route: string,
): z.output<T> {
  let value: unknown;
  try {
    value = JSON.parse(answer.text);
  } catch {
    throw badResponse(route, "answered with a body that is not JSON", {
      upstreamStatus: answer.status,
    });
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw badResponse(route, "answered with an unexpected JSON shape", {
      upstreamStatus: answer.status,
    });
  }
  return parsed.data;
}

/** `POST /senderId` answers `Content-Type: plain/text` with a bare integer. */
export function parseSenderId(answer: Answer): number {
  const text = answer.text.trim().replace(/^\[\s*"?|"?\s*\]$/g, "").replace(/^"|"$/g, "");
  if (!/^\d{1,15}$/.test(text) || Number(text) <= 0) {
    throw badResponse("POST /senderId", "did not answer with a sender id", {
      upstreamStatus: answer.status,
    });
  }
  return Number(text);
}

/** Drop `undefined` fields (in place) so they are not sent. */
export function dropUndefined<T extends Record<string, unknown>>(value: T): T {
  for (const key of Object.keys(value)) if (value[key] === undefined) delete value[key];
  return value;
}
