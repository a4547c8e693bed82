/**
 * Quiet hours in the recipient's local time (`SMS_QUIET_HOURS`).
 *
 * Where a number is: its time zones, as libphonenumber tells them
 * (`zonesOf`, the same rule as libphonenumber's own
 * `PhoneNumberToTimeZonesMapper`): a geographic number (a fixed line, or a
 * number that may be either, as in North America; a mobile only in the
 * countries whose mobile numbers are regional) gets the zones of its longest
 * dialling prefix in libphonenumber's table (`core/phone_time_zones.ts`), so
 * a New York number is New York's; any other number (a mobile in most
 * countries, a toll-free or a personal number) gets every zone of its
 * country code, so a Russian mobile is judged in all of Russia's (and
 * Kazakhstan's, which shares +7). The number type comes from
 * libphonenumber-js's `max` metadata, imported on first use.
 *
 * When it is quiet: a number is quiet while it is quiet hours in ANY of its
 * zones (the widest window), and the next allowed time is the first moment
 * when none of them is. Local time comes from the zone's UTC offset at that
 * moment (`Intl`, Deno's own time-zone data), so daylight saving time is
 * followed.
 */
import type { QuietHours } from "../core/config.ts";
import { memo } from "../core/keys.ts";

/** Country codes whose mobile numbers are regional (libphonenumber's GEO_MOBILE_COUNTRIES). */
const GEO_MOBILE = new Set(["52", "54", "55", "62", "86"]);

const DAY_S = 86_400;
/** How far ahead the next allowed time is looked for. */
const HORIZON_MS = 2 * DAY_S * 1000;

const libphonenumber = memo(() => import("libphonenumber-js/max"));

/** The prefix table, parsed on first use (prefix → zone names). */
const table = memo(async () => {
  const { PREFIX_ZONES, ZONE_NAMES } = await import("../core/phone_time_zones.ts");
  const map = new Map<string, readonly string[]>();
  for (const entry of PREFIX_ZONES.split(" ")) {
    const [prefix, zones] = entry.split(":") as [string, string];
    map.set(prefix, zones.split(".").map((i) => ZONE_NAMES[Number(i)]!));
  }
  return map;
});

/** The time zones an E.164 number may be in: empty when its country cannot be told. */
export async function zonesOf(e164: string): Promise<readonly string[]> {
  const { parsePhoneNumberFromString } = await libphonenumber();
  const parsed = parsePhoneNumberFromString(e164);
  if (!parsed) return [];
  const map = await table();
  const code = parsed.countryCallingCode;
  const type = parsed.getType();
  const geographic = type === "FIXED_LINE" || type === "FIXED_LINE_OR_MOBILE" ||
    (type === "MOBILE" && GEO_MOBILE.has(code));
  if (!geographic) return map.get(code) ?? [];
  const digits = parsed.number.slice(1);
  for (let length = digits.length; length > code.length; length--) {
    const zones = map.get(digits.slice(0, length));
    if (zones) return zones;
  }
  return map.get(code) ?? [];
}

/**
 * When a text to a number in `zones` may go, judged at `at` (epoch ms):
 * `undefined` when it is not quiet hours in any of them; else the first
 * moment none of them is (epoch ms); `null` when that never comes (no zone
 * is known, or the zones together leave no time of day outside the window).
 */
export function quietUntil(
  window: QuietHours,
  zones: readonly string[],
  at: number,
): number | null | undefined {
  if (zones.length === 0) return null;
  let t = at;
  for (let step = 0; step < 200 && t - at <= HORIZON_MS; step++) {
    // The latest moment a zone quiet at t leaves its quiet hours (t itself: none is quiet).
    let next = t;
    const second = Math.floor(t / 1000) * 1000;
    for (const zone of zones) {
      const offset = offsetMinutes(zone, t);
      const local = mod(second / 1000 + offset * 60, DAY_S);
      if (!inWindow(window, local)) continue;
      let exit = second + mod(window.end * 60 - local, DAY_S) * 1000;
      // Daylight saving time changing meanwhile moves the end by the change.
      const shift = offsetMinutes(zone, exit) - offset;
      if (shift !== 0 && exit - shift * 60_000 > t) exit -= shift * 60_000;
      next = Math.max(next, exit);
    }
    if (next === t) return step === 0 ? undefined : t;
    t = next;
  }
  return null;
}

/** Whether a second of the day (local) is inside the window. */
function inWindow({ start, end }: QuietHours, second: number): boolean {
  const s = start * 60;
  const e = end * 60;
  return s < e ? second >= s && second < e : second >= s || second < e;
}

function mod(n: number, m: number): number {
  return ((n % m) + m) % m;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
/** Offsets by zone and quarter hour (a zone's offset changes only on a quarter hour of UTC). */
const offsets = new Map<string, number>();
const QUARTER_MS = 15 * 60_000;

/** A zone's UTC offset at `t`, in minutes. */
export function offsetMinutes(zone: string, t: number): number {
  const id = `${zone}@${Math.floor(t / QUARTER_MS)}`;
  const known = offsets.get(id);
  if (known !== undefined) return known;
  let format = formatters.get(zone);
  if (!format) {
    format = new Intl.DateTimeFormat("en-US", { timeZone: zone, timeZoneName: "longOffset" });
    formatters.set(zone, format);
  }
  const name = format.formatToParts(t).find((p) => p.type === "timeZoneName")?.value ?? "GMT";
  const m = /^GMT(?:([+-])(\d{1,2})(?::(\d{2}))?)?$/.exec(name);
  if (!m) throw new Error(`unexpected UTC offset ${JSON.stringify(name)} for ${zone}`);
  const minutes = m[1] ? (m[1] === "-" ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3] ?? 0)) : 0;
  if (offsets.size >= 20_000) offsets.clear();
  offsets.set(id, minutes);
  return minutes;
}
