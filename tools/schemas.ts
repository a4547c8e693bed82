/** Input pieces shared by several tools (validated before any upstream call). */
import { z } from "zod";
import { IDEMPOTENCY_KEY } from "../money/mod.ts";

/** ISO 3166-1 alpha-2, any case in, upper case out. */
export const country = z
  .string()
  .regex(/^[A-Za-z]{2}$/, "must be a two-letter ISO 3166-1 country code such as LT")
  .transform((code) => code.toUpperCase())
  .describe("ISO 3166-1 alpha-2 country code, e.g. LT (any case)");

/** `+` followed by 7–15 digits, first digit not 0. */
export const E164 = /^\+[1-9]\d{6,14}$/;

/** A phone number in E.164. */
export const e164 = z
  .string()
  .regex(E164, "must be an E.164 number: + followed by 7 to 15 digits, e.g. +37069912345")
  .describe("phone number in E.164 format, e.g. +37069912345");

/** The digits of an E.164 number, as VertexSMS wants them (no `+`). */
export function upstreamDigits(number: string): string {
  return number.replace(/^\+/, "");
}

/** The optional `idempotencyKey` of billable tools. */
export const idempotencyKey = z
  .string()
  .regex(IDEMPOTENCY_KEY, "must be 1 to 255 printable ASCII characters without spaces")
  .optional()
  .describe(
    "a unique string per intended action (e.g. a UUID): repeating the call with the same key " +
      "and arguments within 24 hours returns the first result instead of doing it again",
  );
