/**
 * Structured JSON logging: one line per event, to stdout by default.
 *
 * Nothing secret is ever handed to the logger: no token, no SMS text, no PIN,
 * no full phone number (use {@link lastFour}). The conformance suite captures
 * every line and scans it for the secrets it used.
 */
import { LOG_LEVELS, type LogLevel } from "./config.ts";

/** Where log lines go. */
export type LogSink = (line: string) => void;

/**
 * `console.log`: what Deno's OpenTelemetry integration (`OTEL_DENO=true`)
 * exports as log records, and what Deno Deploy collects. The default.
 */
export const consoleSink: LogSink = (line) => console.log(line);

/**
 * Each line written to stdout as it is (`Deno.stdout.writeSync`, looping on
 * a partial write). Under load, `console.log` cost a cached tool call about
 * a third of its CPU time (`deno task bench`); this costs next to nothing.
 * For a process whose stdout is collected as it is (a container, systemd).
 */
export function stdoutSink(): LogSink {
  const encoder = new TextEncoder();
  return (line) => {
    const bytes = encoder.encode(line + "\n");
    for (let written = 0; written < bytes.length;) {
      written += Deno.stdout.writeSync(bytes.subarray(written));
    }
  };
}

/** {@link consoleSink} where console output is collected or exported, else {@link stdoutSink}. */
export function processSink(platform: { deploy: boolean; otel: boolean }): LogSink {
  return platform.deploy || platform.otel ? consoleSink : stdoutSink();
}

/** Field values a log line may carry. */
export type LogFields = Record<string, string | number | boolean | null | undefined>;

let lastMs = NaN;
let lastIso = "";
/** The time as ISO 8601, formatted once per millisecond (a busy server logs many lines in one). */
function isoNow(): string {
  const ms = Date.now();
  if (ms !== lastMs) {
    lastMs = ms;
    lastIso = new Date(ms).toISOString();
  }
  return lastIso;
}

/** A levelled JSON-lines logger. */
export class Logger {
  readonly #min: number;
  readonly #sink: LogSink;

  constructor(level: LogLevel = "info", sink: LogSink = consoleSink) {
    this.#min = LOG_LEVELS.indexOf(level);
    this.#sink = sink;
  }

  /** Write one line at `level` when it is at or above the configured level. */
  log(level: LogLevel, msg: string, fields: LogFields = {}): void {
    if (LOG_LEVELS.indexOf(level) < this.#min) return;
    // JSON.stringify leaves out undefined fields.
    this.#sink(JSON.stringify({ time: isoNow(), level, msg, ...fields }));
  }

  /** Debug-level line. */
  debug(msg: string, fields?: LogFields): void {
    this.log("debug", msg, fields);
  }
  /** Info-level line. */
  info(msg: string, fields?: LogFields): void {
    this.log("info", msg, fields);
  }
  /** Warning line. */
  warn(msg: string, fields?: LogFields): void {
    this.log("warn", msg, fields);
  }
  /** Error line. */
  error(msg: string, fields?: LogFields): void {
    this.log("error", msg, fields);
  }
}

/** A phone number as it may appear in logs: its last four digits only. */
export function lastFour(phone: string): string {
  const digits = phone.replace(/\D/g, "");
  return `…${digits.slice(-4)}`;
}
