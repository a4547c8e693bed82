/**
 * What an SMS will cost: the destination's country, and its rate from the
 * per-token rates cache.
 *
 * VertexSMS's price list is per country and operator (with MCC/MNC) but has
 * no dialling prefixes, so the country comes from the number itself:
 * `correctBy` when given, else the ITU-T E.164 country calling code below.
 * Limits, on purpose: a calling code shared by several countries resolves to
 * its main one (+44 → GB, +39 → IT, +47 → NO, +590 → GP, ...), except +7
 * (Kazakhstan for +76/+77, else Russia) and +1, where the area codes of the
 * Caribbean and Pacific NANP members are known and any other +1 number is
 * "US or CA" (quoted at the higher of the two). The operator is not known
 * before sending, so the quote uses the destination's highest rate: an upper
 * estimate, exact when the country has a single route.
 */
import { eurToMicros, formatEur } from "../server/eur.ts";
import type { SmsQuote, ToolContext } from "./define.ts";

/** Country calling code → ISO 3166-1 alpha-2 (ITU-T E.164 assignments). */
const CALLING_CODES: Readonly<Record<string, string>> = Object.fromEntries(
  (
    "20 EG,211 SS,212 MA,213 DZ,216 TN,218 LY,220 GM,221 SN,222 MR,223 ML,224 GN,225 CI," +
    "226 BF,227 NE,228 TG,229 BJ,230 MU,231 LR,232 SL,233 GH,234 NG,235 TD,236 CF,237 CM," +
    "238 CV,239 ST,240 GQ,241 GA,242 CG,243 CD,244 AO,245 GW,246 IO,248 SC,249 SD,250 RW," +
    "251 ET,252 SO,253 DJ,254 KE,255 TZ,256 UG,257 BI,258 MZ,260 ZM,261 MG,262 RE,263 ZW," +
    "264 NA,265 MW,266 LS,267 BW,268 SZ,269 KM,27 ZA,290 SH,291 ER,297 AW,298 FO,299 GL," +
    "30 GR,31 NL,32 BE,33 FR,34 ES,350 GI,351 PT,352 LU,353 IE,354 IS,355 AL,356 MT,357 CY," +
    "358 FI,359 BG,36 HU,370 LT,371 LV,372 EE,373 MD,374 AM,375 BY,376 AD,377 MC,378 SM," +
    "380 UA,381 RS,382 ME,383 XK,385 HR,386 SI,387 BA,389 MK,39 IT,40 RO,41 CH,420 CZ," +
    "421 SK,423 LI,43 AT,44 GB,45 DK,46 SE,47 NO,48 PL,49 DE,500 FK,501 BZ,502 GT,503 SV," +
    "504 HN,505 NI,506 CR,507 PA,508 PM,509 HT,51 PE,52 MX,53 CU,54 AR,55 BR,56 CL,57 CO," +
    "58 VE,590 GP,591 BO,592 GY,593 EC,594 GF,595 PY,596 MQ,597 SR,598 UY,599 CW,60 MY," +
    "61 AU,62 ID,63 PH,64 NZ,65 SG,66 TH,670 TL,672 NF,673 BN,674 NR,675 PG,676 TO,677 SB," +
    "678 VU,679 FJ,680 PW,681 WF,682 CK,683 NU,685 WS,686 KI,687 NC,688 TV,689 PF,690 TK," +
    "691 FM,692 MH,81 JP,82 KR,84 VN,850 KP,852 HK,853 MO,855 KH,856 LA,86 CN,880 BD,886 TW," +
    "90 TR,91 IN,92 PK,93 AF,94 LK,95 MM,960 MV,961 LB,962 JO,963 SY,964 IQ,965 KW,966 SA," +
    "967 YE,968 OM,970 PS,971 AE,972 IL,973 BH,974 QA,975 BT,976 MN,977 NP,98 IR,992 TJ," +
    "993 TM,994 AZ,995 GE,996 KG,998 UZ"
  ).split(",").map((pair) => pair.split(" ") as [string, string]),
);

/** NANP (+1) area codes of members other than the US and Canada. */
const NANP_AREAS: Readonly<Record<string, string>> = Object.fromEntries(
  (
    "242 BS,246 BB,264 AI,268 AG,284 VG,340 VI,345 KY,441 BM,473 GD,649 TC,658 JM,664 MS," +
    "670 MP,671 GU,684 AS,721 SX,758 LC,767 DM,784 VC,787 PR,809 DO,829 DO,849 DO,868 TT," +
    "869 KN,876 JM,939 PR"
  ).split(",").map((pair) => pair.split(" ") as [string, string]),
);

/**
 * The countries an E.164 number may belong to (one, or `["US", "CA"]` for
 * other +1 numbers); empty for unassigned and non-geographic codes.
 */
export function countriesOf(e164: string): readonly string[] {
  const digits = e164.replace(/^\+/, "");
  if (digits.startsWith("1")) {
    const area = NANP_AREAS[digits.slice(1, 4)];
    return area ? [area] : ["US", "CA"];
  }
  if (digits.startsWith("7")) return /^7[67]/.test(digits) ? ["KZ"] : ["RU"];
  // E.164 country codes form a prefix code: at most one of 2 or 3 digits matches.
  const country = CALLING_CODES[digits.slice(0, 2)] ?? CALLING_CODES[digits.slice(0, 3)];
  return country ? [country] : [];
}

/** What sending `parts` parts to `to` is estimated to cost, from the per-token rates cache. */
export async function quoteSms(
  ctx: ToolContext,
  sms: { to: string; correctBy?: string; parts: number },
): Promise<SmsQuote> {
  const countries = sms.correctBy ? [sms.correctBy] : countriesOf(sms.to);
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
    country: countries.length === 1 ? countries[0]! : null,
    rateEur,
    costEur: costMicros === null ? null : formatEur(costMicros),
    costMicros,
  };
}
