/**
 * What an SMS will cost: the destination's country, and its rate from the
 * per-token rates cache.
 *
 * VertexSMS's price list is per country and operator (with MCC/MNC) but has
 * no dialling prefixes, so the country comes from the number itself, found
 * with libphonenumber-js (its `min` metadata: calling codes plus leading
 * digits, enough to tell Guernsey, Jersey and the Isle of Man from Great
 * Britain, the Vatican from Italy, Bonaire from Curaçao, and Canada from the
 * US). It is imported on the first quote, so it costs nothing at start-up.
 *
 * Where the number leaves several countries possible (a +44 7700 number, an
 * unassigned +1 area code), or `correctBy` names another country than the
 * number's own, the quote takes the dearest candidate: an estimate may be
 * high, never low, because the spend cap counts it. The operator is not known
 * before sending either, so the rate is the destination's highest operator
 * rate: exact for single-route countries, an upper estimate elsewhere.
 */
import type { CountryCode } from "libphonenumber-js/min";
import { ServiceError } from "../core/errors.ts";
import { asServiceError } from "../core/errors.ts";
import { eurToMicros, formatEur } from "../core/eur.ts";
import { memo } from "../core/keys.ts";
import type { SmsQuote } from "../money/mod.ts";
import type { ToolContext } from "./context.ts";
import { E164 } from "./schemas.ts";

const phoneNumbers = memo(() => import("libphonenumber-js/min"));

/**
 * The countries an E.164 number may belong to: one when its digits decide
 * it, several when they do not; empty for unassigned and non-geographic codes.
 */
export async function countriesOf(e164: string): Promise<readonly string[]> {
  const { parsePhoneNumberFromString } = await phoneNumbers();
  const parsed = parsePhoneNumberFromString(e164);
  if (!parsed) return [];
  if (parsed.country) return [parsed.country];
  return parsed.getPossibleCountries();
}

/**
 * The E.164 number a send goes to, as the consent guards judge it: `to`
 * itself, or, with `correctBy`, the number a national `to` repairs to (read
 * here with libphonenumber, so an opt-out cannot be bypassed by spelling the
 * number another way). `INVALID_INPUT` naming `to` when it cannot be read.
 */
export async function consentNumber(to: string, correctBy?: string): Promise<string> {
  if (correctBy === undefined) return to;
  const { parsePhoneNumberFromString } = await phoneNumbers();
  const parsed = parsePhoneNumberFromString(to, correctBy as CountryCode);
  if (parsed?.isPossible()) return parsed.number;
  const why = `cannot be read as a phone number of ${correctBy}, so this server cannot tell ` +
    "which number it is (its opt-out list and quiet hours are checked on the number); give it " +
    "in E.164";
  throw new ServiceError("INVALID_INPUT", `Invalid arguments for send_sms: to: ${why}`, {
    details: [{ path: "to", message: why }],
  });
}

/** The countries whose rates could apply to a send: the number's, and `correctBy`'s. */
export async function destinationsOf(to: string, correctBy?: string): Promise<readonly string[]> {
  const own = E164.test(to) ? await countriesOf(to) : [];
  if (correctBy === undefined) return own;
  return own.includes(correctBy) ? own : [correctBy, ...own];
}

/** What sending `parts` parts to `to` is estimated to cost, from the per-token rates cache. */
export async function quoteSms(
  ctx: ToolContext,
  sms: { to: string; correctBy?: string; parts: number },
): Promise<SmsQuote> {
  const countries = await destinationsOf(sms.to, sms.correctBy);
  let highest: number | null = null;
  let rateEur: string | null = null;
  for (const country of countries) {
    const { rows } = await ctx.services.rates.forCountry(ctx, country);
    for (const row of rows) {
      const micros = eurToMicros(row.rate_eur);
      if (micros !== undefined && (highest === null || micros > highest)) {
        highest = micros;
        rateEur = row.rate_eur;
      }
    }
  }
  const costMicros = highest === null ? null : highest * sms.parts;
  return {
    country: soleCountry(countries),
    rateEur,
    rateMicros: highest,
    costEur: costMicros === null ? null : formatEur(costMicros),
    costMicros,
  };
}

/**
 * The quote of a caller that may not read rates: no price, but the country,
 * which comes from the number, not from the price list.
 */
export async function unpricedQuote(sms: { to: string; correctBy?: string }): Promise<SmsQuote> {
  return {
    country: soleCountry(await destinationsOf(sms.to, sms.correctBy)),
    rateEur: null,
    rateMicros: null,
    costEur: null,
    costMicros: null,
  };
}

/** The destination country when there is exactly one candidate, else null. */
function soleCountry(countries: readonly string[]): string | null {
  return countries.length === 1 ? countries[0]! : null;
}

/**
 * A batch's estimate for its ledger entries (`get_sms_usage` sums them), priced before its
 * first send so that each message can be recorded the moment VertexSMS accepts it: its delivery
 * report may follow within milliseconds. The batch prices itself for its result anyway, so
 * this moves that read earlier, adding none. Best effort: a token that may not read rates, or
 * rates that cannot be read, leave it unknown; a token VertexSMS rejects fails here, before
 * anything is sent.
 */
export async function ledgerEstimate<Q>(
  ctx: ToolContext,
  quote: () => Promise<Q>,
): Promise<Q | undefined> {
  if (!ctx.services.ledger.enabled) return undefined;
  try {
    return await quote();
  } catch (thrown) {
    const error = asServiceError(thrown);
    if (error.code === "AUTH_INVALID" && error.facts.requiredScope === undefined) throw error;
    return undefined;
  }
}
