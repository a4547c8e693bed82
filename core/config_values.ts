/**
 * The values configuration variables take: one small parser per kind (integers in a range,
 * URLs, lists, CIDRs, EUR amounts, Redis URLs, secrets, quiet hours), each answering the parsed
 * value or `undefined` for a value the server refuses. `config.ts` names, per variable, which.
 */
import { eurToMicros } from "./eur.ts";

/** Parse one raw value, or `undefined` when it is not acceptable. */
export type Parser<T> = (raw: string) => T | undefined;

/**
 * A daily quiet window in the recipient's local time (`SMS_QUIET_HOURS`),
 * in minutes after midnight: from `start` (included) to `end` (excluded),
 * across midnight when `end` is earlier.
 */
export interface QuietHours {
  start: number;
  end: number;
}

/** `21:00-08:00`: two different 24-hour times. */
const QUIET_HOURS = /^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$/;

/** Parse `HH:MM-HH:MM` (two different times), or `undefined`. */
export function parseQuietHours(raw: string): QuietHours | undefined {
  const m = QUIET_HOURS.exec(raw);
  if (!m) return undefined;
  const start = Number(m[1]) * 60 + Number(m[2]);
  const end = Number(m[3]) * 60 + Number(m[4]);
  return start === end ? undefined : { start, end };
}

/** A quiet window as `SMS_QUIET_HOURS` spells it (`21:00-08:00`). */
export function quietHoursText(q: QuietHours): string {
  const hhmm = (m: number) =>
    `${String(Math.floor(m / 60)).padStart(2, "0")}:${String(m % 60).padStart(2, "0")}`;
  return `${hhmm(q.start)}-${hhmm(q.end)}`;
}

/** An integer from `min` to `max`. */
export const integer = (min: number, max: number): Parser<number> => (raw) => {
  if (!/^\d+$/.test(raw)) return undefined;
  const n = Number(raw);
  return n >= min && n <= max ? n : undefined;
};

/** An absolute http(s) URL, without a trailing slash. */
export const httpUrl: Parser<string> = (raw) => {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return undefined;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return undefined;
  if (url.search || url.hash || url.username || url.password) return undefined;
  // URL lower-cases scheme and host; drop the trailing slash so `resource` is byte-stable.
  return url.href.replace(/\/+$/, "");
};

/** A comma-separated list of `item`s (empty: none). */
export const list = <T>(item: Parser<T>): Parser<T[]> => (raw) => {
  const parts = raw.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
  const out: T[] = [];
  for (const part of parts) {
    const value = item(part);
    if (value === undefined) return undefined;
    out.push(value);
  }
  return out;
};

/** A browser origin (`scheme://host[:port]`). */
export const origin: Parser<string> = (raw) => {
  const url = httpUrl(raw);
  if (url === undefined) return undefined;
  const parsed = new URL(url);
  return parsed.pathname === "/" ? parsed.origin : undefined;
};

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
/** An IPv4 or IPv6 address or CIDR range. */
export const cidr: Parser<string> = (raw) => {
  const [addr, prefix, extra] = raw.split("/");
  if (extra !== undefined || addr === undefined) return undefined;
  const v4 = IPV4.test(addr);
  const v6 = !v4 && /^[0-9a-fA-F:.]+$/.test(addr) && addr.includes(":");
  if (!v4 && !v6) return undefined;
  if (prefix === undefined) return raw;
  if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > (v4 ? 32 : 128)) return undefined;
  return raw;
};

/** One of `values`, exactly. */
export const oneOf = <T extends string>(values: readonly T[]): Parser<T> => (raw) =>
  (values as readonly string[]).includes(raw) ? raw as T : undefined;

/** `true`/`1` or `false`/`0`. */
export const bool: Parser<boolean> = (raw) =>
  raw === "true" || raw === "1" ? true : raw === "false" || raw === "0" ? false : undefined;

/** Anything printable: a file path, a KV Connect URL or `off` (Deno.openKv judges the rest). */
export const kvLocation: Parser<string> = (raw) => /^\P{Cc}{0,4096}$/u.test(raw) ? raw : undefined;
/** An amount in EUR, as micro-euros. */
export const eur: Parser<number> = (raw) => {
  const micros = eurToMicros(raw);
  return micros !== undefined && micros <= 1_000_000 * 1_000_000 ? micros : undefined;
};

/** A Redis URL: `redis://` or `rediss://`, a host, an optional port and database number. */
export const redisUrl: Parser<string> = (raw) => {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return undefined;
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") return undefined;
  if (!url.hostname || url.search || url.hash) return undefined;
  return /^(\/\d{0,5})?$/.test(url.pathname) ? raw : undefined;
};

/** A URL as it may be shown: any password replaced by `***`. */
export function withoutPassword(raw: string): string {
  return raw.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/@]*?:)[^/@]*@/i, "$1***@");
}

/** Distinct characters a secret needs: refuses "xxxx…" and other guessable fillers. */
const SECRET_MIN_DISTINCT = 12;

/** A secret of at least 32 bytes and {@link SECRET_MIN_DISTINCT} different characters. */
export const secret: Parser<string> = (raw) =>
  new TextEncoder().encode(raw).byteLength >= 32 && new Set(raw).size >= SECRET_MIN_DISTINCT
    ? raw
    : undefined;

/** A host name or IP address to bind to. */
export const hostname: Parser<string> = (raw) =>
  /^[A-Za-z0-9.:[\]-]+$/.test(raw) && raw.length <= 255 ? raw : undefined;
