/** How an SMS text is encoded and into how many parts it is split. */

/** GSM 03.38 basic character set (one septet each). */
const GSM_BASIC = new Set(
  "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡" +
    "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà",
);
/** GSM 03.38 extension table: an escape plus the character, two septets. */
const GSM_EXTENSION = new Set("^{}\\[~]|€\f");

/** The three encodings of `POST /sms`'s `coding`. */
export type Encoding = "GSM-7" | "UCS-2" | "8-bit";

/** `coding` values of the API, by encoding. */
export const CODING: Record<0 | 1 | 2, Encoding> = { 0: "GSM-7", 1: "8-bit", 2: "UCS-2" };

/** The first character of `text` outside GSM-7, or `undefined` when there is none. */
export function firstNonGsm(text: string): string | undefined {
  for (const ch of text) if (!GSM_BASIC.has(ch) && !GSM_EXTENSION.has(ch)) return ch;
  return undefined;
}

/** The encoding a text gets: the requested one, else GSM-7 when it fits, else UCS-2. */
export function encodingFor(text: string, coding?: 0 | 1 | 2): Encoding {
  if (coding !== undefined) return CODING[coding];
  return firstNonGsm(text) === undefined ? "GSM-7" : "UCS-2";
}

/**
 * Parts a text needs, as a handset splits it. GSM-7: 160 septets in one
 * part, 153 per part when split, extension characters count two. UCS-2:
 * 70 / 67 UTF-16 units. 8-bit: 140 / 134 bytes. A character is never cut in
 * two: an escaped GSM-7 character, a UTF-16 surrogate pair (an emoji) or a
 * multi-byte character that does not fit in what is left of a part starts
 * the next one, as real segmenters do (counting units and dividing would be
 * one part short in that case).
 */
export function countParts(text: string, encoding: Encoding): number {
  const [single, multi] = LIMITS[encoding];
  const units = [...text].map((ch) => unitsOf(ch, encoding));
  const total = units.reduce((a, b) => a + b, 0);
  if (total <= single) return 1;
  let parts = 1;
  let used = 0;
  for (const n of units) {
    if (used + n > multi) {
      parts++;
      used = 0;
    }
    used += n;
  }
  return parts;
}

/** One part's room, and a part's room when the text is split: [single, multi]. */
const LIMITS: Record<Encoding, [number, number]> = {
  "GSM-7": [160, 153],
  "UCS-2": [70, 67],
  "8-bit": [140, 134],
};

const encoder = new TextEncoder();

/** Septets, UTF-16 units or bytes one character takes. */
function unitsOf(ch: string, encoding: Encoding): number {
  switch (encoding) {
    case "GSM-7":
      return GSM_EXTENSION.has(ch) ? 2 : 1;
    case "UCS-2":
      return ch.length;
    case "8-bit":
      return encoder.encode(ch).byteLength;
  }
}
