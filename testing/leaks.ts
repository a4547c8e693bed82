/**
 * Secrets and personal data in logs: what counts as sensitive, and a scan for
 * it. The harness runs the scan when it closes, so every conformance test
 * proves its server logged no token, SMS text, PIN, full phone number or
 * HLR callback id.
 */
import type { FakeVertex } from "./fake/mod.ts";

/** What kind of value a secret is (it decides how it is searched for). */
export type SecretKind =
  | "token"
  | "sms text"
  | "phone number"
  | "pin"
  | "callback id"
  | "approval id";

/** A value that must never appear in a log line. */
export interface Secret {
  kind: SecretKind;
  value: string;
}

/** One secret found in one line (the value itself is not repeated here). */
export interface Leak {
  kind: SecretKind;
  /** The secret's first characters, enough to recognise it in a test. */
  hint: string;
  /** The offending line, with the secret masked. */
  line: string;
}

/** The result of a scan. */
export interface LeakReport {
  lines: number;
  secrets: number;
  leaks: Leak[];
}

/**
 * Shortest values worth searching for: shorter SMS texts ("hi") or numbers
 * would match ordinary log words and digits. Phone numbers are kept from 7
 * digits (the shortest E.164 number); only their last four may be logged.
 */
const MIN_TOKEN = 8;
const MIN_TEXT = 10;
const MIN_DIGITS = 7;

function add(out: Secret[], kind: SecretKind, value: unknown) {
  if (typeof value !== "string" && typeof value !== "number") return;
  const text = String(value);
  if (kind === "phone number") {
    const digits = text.replace(/\D/g, "");
    if (digits.length >= MIN_DIGITS) out.push({ kind, value: digits });
  } else if (kind === "pin") {
    if (/^\d{4,8}$/.test(text)) out.push({ kind, value: text });
  } else if (text.length >= (kind === "sms text" ? MIN_TEXT : MIN_TOKEN)) {
    out.push({ kind, value: text });
  }
}

function field(body: unknown, key: string): unknown {
  return body && typeof body === "object" ? (body as Record<string, unknown>)[key] : undefined;
}

/**
 * Every sensitive value the fake holds or received: the tokens of its table
 * and of every request, SMS texts and recipients, sender numbers, PINs,
 * looked-up and corrected numbers, the one-time HLR callback ids and the
 * delivery-report capabilities.
 */
export function secretsOf(fake: FakeVertex): Secret[] {
  const out: Secret[] = [];
  for (const token of fake.tokens()) add(out, "token", token);
  for (const r of fake.requests) {
    if (r.token) add(out, "token", r.token);
    const path = r.path.split("?")[0] as string;
    if (r.method !== "POST") continue;
    if (path === "/sms") {
      add(out, "sms text", field(r.body, "message"));
      add(out, "phone number", field(r.body, "to"));
      add(out, "phone number", field(r.body, "from"));
      // The delivery-report URL's capability: a credential like the HLR callback id.
      const dlrUrl = field(r.body, "dlrUrl");
      if (typeof dlrUrl === "string") add(out, "callback id", dlrUrl.split("/").pop());
    } else if (path === "/senderId") {
      if (field(r.body, "type") === "MSISDN") add(out, "phone number", field(r.body, "name"));
    } else if (path.startsWith("/senderId/confirm/")) {
      add(out, "pin", field(r.body, "code"));
    } else if (path === "/hlr") {
      add(out, "phone number", field(r.body, "msisdn"));
      const url = field(r.body, "callBackUrl");
      if (typeof url === "string") add(out, "callback id", url.split("/").pop());
    } else if (path === "/numbers/correct" && Array.isArray(r.body)) {
      for (const item of r.body) add(out, "phone number", field(item, "number"));
    }
  }
  return out;
}

/** A function giving where in a line the secret occurs, or -1. */
function matcher(secret: Secret): (line: string) => number {
  const { kind, value } = secret;
  if (kind === "pin") {
    // A short code: only a whole run of digits counts (not part of a time or id).
    const pattern = new RegExp(`(?<![0-9A-Za-z])${value}(?![0-9A-Za-z])`);
    return (line) => pattern.exec(line)?.index ?? -1;
  }
  if (kind !== "sms text") return (line) => line.indexOf(value);
  // Texts may be logged JSON-escaped.
  const escaped = JSON.stringify(value).slice(1, -1);
  return (line) => {
    const at = line.indexOf(value);
    return at >= 0 ? at : line.indexOf(escaped);
  };
}

/** Scan `lines` for `secrets`. */
export function findLeaks(lines: readonly string[], secrets: Iterable<Secret>): LeakReport {
  const unique = new Map<string, Secret>();
  for (const s of secrets) unique.set(`${s.kind}\0${s.value}`, s);
  const matchers = [...unique.values()].map((secret) => ({ secret, locate: matcher(secret) }));
  const leaks: Leak[] = [];
  for (const line of lines) {
    for (const { secret, locate } of matchers) {
      const at = locate(line);
      if (at < 0) continue;
      leaks.push({
        kind: secret.kind,
        hint: `${secret.value.slice(0, 4)}…`,
        line: line.slice(0, at) + "[SECRET]" + line.slice(at + secret.value.length),
      });
    }
  }
  return { lines: lines.length, secrets: unique.size, leaks };
}

let tapped: string[] | undefined;

/**
 * Everything written through `console` in this process since the first call
 * (the calls still reach the terminal). Servers in tests run in process, so
 * whatever they or their libraries print lands here.
 */
export function consoleLines(): string[] {
  if (tapped) return tapped;
  const lines: string[] = tapped = [];
  for (const method of ["log", "error", "warn", "info", "debug"] as const) {
    const original = console[method].bind(console);
    console[method] = (...args: unknown[]) => {
      lines.push(args.map((a) => typeof a === "string" ? a : Deno.inspect(a)).join(" "));
      original(...args);
    };
  }
  return lines;
}
