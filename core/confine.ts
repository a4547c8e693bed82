/**
 * Text a person reads to decide (an SMS text in a confirmation question, on
 * the approval page or the review card), confined to its own field: a
 * character that would break a line, start a paragraph or reorder what is
 * shown cannot forge lines such as `Parts:` or `Estimated cost:` around it.
 *
 * What counts: every control character (C0, DEL and C1, so CR, LF, VT, FF
 * and NEL), the line and paragraph separators U+2028 and U+2029, and the
 * bidirectional controls (ALM, LRM, RLM, the embeddings and overrides
 * U+202A–U+202E, the isolates U+2066–U+2069).
 */

/** One character that could forge structure (the pattern's source is also the review card's). */
export const UNSAFE_CHAR =
  "[\\p{Cc}\\u2028\\u2029\\u061C\\u200E\\u200F\\u202A-\\u202E\\u2066-\\u2069]";

const UNSAFE = new RegExp(UNSAFE_CHAR, "gu");
const QUOTED = new RegExp(`${UNSAFE_CHAR}|["\\\\]`, "gu");
const SHORT: Record<string, string> = {
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
  '"': '\\"',
  "\\": "\\\\",
};

/** `\u202E` for U+202E. */
function escapeOf(ch: string): string {
  return SHORT[ch] ?? `\\u${ch.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")}`;
}

/**
 * `text` as one double-quoted line: quotes, backslashes and every unsafe
 * character escaped (`\n`, `\u2028`, `\u202E`), as in a JSON string, which
 * alone leaves U+2028, U+2029, U+0085 and the bidirectional controls as they are.
 */
export function quoteLine(text: string): string {
  return `"${text.replace(QUOTED, escapeOf)}"`;
}

/**
 * `text` for a text box a person reads: a line feed stays a line break,
 * marked `↵` so every break is seen; every other unsafe character is shown
 * as its escape (`\r`, `\u2028`, `\u202E`) instead of acting.
 */
export function visibleText(text: string): string {
  return text.replace(UNSAFE, (ch) => ch === "\n" ? "↵\n" : escapeOf(ch));
}

/** `text` for a one-line field (a name, a number): every unsafe character as its escape. */
export function visibleLine(text: string): string {
  return text.replace(UNSAFE, escapeOf);
}
