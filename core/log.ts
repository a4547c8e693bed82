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

/** Field values a log line may carry. */
export type LogFields = Record<string, string | number | boolean | null | undefined>;

/** A levelled JSON-lines logger. */
export class Logger {
  readonly #min: number;
  readonly #sink: LogSink;

  constructor(level: LogLevel = "info", sink: LogSink = (line) => console.log(line)) {
    this.#min = LOG_LEVELS.indexOf(level);
    this.#sink = sink;
  }

  /** Write one line at `level` when it is at or above the configured level. */
  log(level: LogLevel, msg: string, fields: LogFields = {}): void {
    if (LOG_LEVELS.indexOf(level) < this.#min) return;
    // JSON.stringify leaves out undefined fields.
    this.#sink(JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields }));
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
