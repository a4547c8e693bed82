/**
 * Amounts of money as this server handles them: EUR decimal strings at the
 * edges (VertexSMS's rates, configuration, tool output), integer micro-euros
 * inside, so that sums and comparisons are exact.
 */

/**
 * Euros as a decimal string ("0.045", "25") → integer micro-euros, rounding
 * digits past the sixth decimal up; `undefined` when the text is not such an amount.
 */
export function eurToMicros(text: string): number | undefined {
  const match = /^(\d{1,9})(?:\.(\d{1,12}))?$/.exec(text.trim());
  if (!match) return undefined;
  const whole = Number(match[1]);
  const fraction = (match[2] ?? "").padEnd(7, "0");
  // Round sub-micro-euro fractions up: an estimate must not undercount.
  const micros = Number(fraction.slice(0, 6)) + (/[1-9]/.test(fraction.slice(6)) ? 1 : 0);
  return whole * 1_000_000 + micros;
}

/** Micro-euros → a decimal string with at least two decimals ("0.09", "1.234567"). */
export function formatEur(micros: number): string {
  const whole = Math.floor(micros / 1_000_000);
  const fraction = String(micros % 1_000_000).padStart(6, "0").replace(/0+$/, "").padEnd(2, "0");
  return `${whole}.${fraction}`;
}
