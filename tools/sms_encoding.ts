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
 * Parts a text needs. GSM-7: 160 septets in one part, 153 per part when split,
 * extension characters count two. UCS-2: 70 / 67 UTF-16 units. 8-bit: 140 / 134 bytes.
 */
export function countParts(text: string, encoding: Encoding): number {
  let units: number;
  let single: number;
  let multi: number;
  switch (encoding) {
    case "GSM-7":
      units = 0;
      for (const ch of text) units += GSM_EXTENSION.has(ch) ? 2 : 1;
      [single, multi] = [160, 153];
      break;
    case "UCS-2":
      units = text.length;
      [single, multi] = [70, 67];
      break;
    case "8-bit":
      units = new TextEncoder().encode(text).byteLength;
      [single, multi] = [140, 134];
      break;
  }
  return units <= single ? 1 : Math.ceil(units / multi);
}
