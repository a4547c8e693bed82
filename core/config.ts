/**
 * Configuration from the environment, validated once at start-up.
 *
 * Every variable is described once in {@link VARIABLES}: its default, what it
 * expects and how it is parsed. The README's configuration table is checked
 * against this list, and a bad value becomes one clear line naming the
 * variable (see {@link ConfigError}).
 */
import {
  bool,
  cidr,
  eur,
  hostname,
  httpUrl,
  integer,
  kvLocation,
  list,
  oneOf,
  origin,
  parseQuietHours,
  type Parser,
  type QuietHours,
  redisUrl,
  secret,
  withoutPassword,
} from "./config_values.ts";

export {
  parseQuietHours,
  type QuietHours,
  quietHoursText,
  withoutPassword,
} from "./config_values.ts";

/** The validated configuration the server runs with. */
export interface Config {
  port: number;
  bindHost: string;
  /** Canonical external base URL, lower-case scheme and host, no trailing slash. */
  publicUrl: string;
  vertexApiUrl: string;
  authServer: string;
  signupUrl: string;
  signinUrl: string;
  tokenUrl: string;
  upstreamTimeoutMs: number;
  ratesCacheTtlSeconds: number;
  scopeChallenge: "tool" | "http";
  allowedOrigins: string[];
  maxBodyBytes: number;
  unauthRateLimitPerMinute: number;
  trustProxy: boolean;
  hlrCallbackAllowedIps: string[];
  /** CIDRs allowed to deliver delivery reports (default: `hlrCallbackAllowedIps`). */
  dlrCallbackAllowedIps: string[];
  /** Days the ledger keeps each sent message; 0: no ledger and no delivery reports. */
  smsLedgerDays: number;
  /** Deno KV location: `""` → Deno's default database, `"off"` → none, else a path or URL. */
  kvPath: string;
  /** Redis for the shared state (`redis://` or `rediss://`); `""`: not used (Deno KV instead). */
  stateUrl: string;
  /** Password for `stateUrl` (overrides one in the URL); `""`: none or the URL's. */
  stateRedisPassword: string;
  shutdownTimeoutMs: number;
  /** Per token; 0: no limit. */
  smsSendsPerMinute: number;
  /** Distinct recipients per token and hour; 0: no limit. */
  smsRecipientsPerHour: number;
  /** Estimated spend per token and 24 hours, in micro-euros; 0: no cap. */
  smsDailySpendCapMicros: number;
  /** Who must approve a billable send (see {@link CONFIRMATION_POLICIES}). */
  smsConfirmation: ConfirmationPolicy;
  /** The deprecated alias of `smsConfirmation: "require"`, as given. */
  smsRequireConfirmation: boolean;
  /** PIN texts per hour, per token and per number; 0: no limit. */
  pinTextsPerHour: number;
  /** `off`, or the outcome VertexSMS simulates for every send (its `testMode`). */
  smsTestMode: SmsTestMode;
  /** No SMS to a recipient while it is this time of day where they are; `null`: none. */
  smsQuietHours: QuietHours | null;
  /** SMS to one number per token per rolling 24 hours; 0: no limit. */
  smsPerRecipientPerDay: number;
  /** Master secret shared by every instance; empty: see `state/secret.ts`. */
  stateSecret: string;
  /** The secret a rotation moves away from (`state/secret.ts`); empty: none. */
  stateSecretPrevious: string;
  logLevel: LogLevel;
}

/** Values of `SMS_TEST_MODE`. */
export const SMS_TEST_MODES = ["off", "delivered", "failed"] as const;
/** One of {@link SMS_TEST_MODES}. */
export type SmsTestMode = typeof SMS_TEST_MODES[number];

/**
 * `send_sms`'s confirmation policy: `ask` the user whenever the client can be
 * asked in-band (else send as asked), `require` a person's approval for every
 * send (in-band where possible, else an approval link), or `off` (never ask).
 */
export const CONFIRMATION_POLICIES = ["ask", "require", "off"] as const;
/** One of {@link CONFIRMATION_POLICIES}. */
export type ConfirmationPolicy = typeof CONFIRMATION_POLICIES[number];

/** Log levels, least to most severe. */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
/** One of {@link LOG_LEVELS}. */
export type LogLevel = typeof LOG_LEVELS[number];

/** A configuration value the server refuses to start with. */
export class ConfigError extends Error {
  constructor(readonly variable: string, expected: string, raw: string) {
    super(`Invalid configuration: ${variable} must be ${expected} (got ${JSON.stringify(raw)}).`);
    this.name = "ConfigError";
  }
}

interface Variable<K extends keyof Config> {
  key: K;
  /** Shown in the README; `undefined` when the default is derived from other values. */
  default: string | undefined;
  expected: string;
  meaning: string;
  parse: Parser<Config[K]>;
  /** Never echo the value (in errors or anywhere else). */
  secret?: boolean;
  /** How a refused value is shown (e.g. a URL without its password); default: as given. */
  shown?: (raw: string) => string;
}

/** Every environment variable the server reads, in README order. */
export const VARIABLES = {
  PORT: {
    key: "port",
    default: "8000",
    expected: "an integer between 0 and 65535",
    meaning: "listen port (0 picks a free one)",
    parse: integer(0, 65535),
  },
  BIND_HOST: {
    key: "bindHost",
    default: "127.0.0.1",
    expected: "a host name or IP address",
    meaning: "listen address (`0.0.0.0` in containers)",
    parse: hostname,
  },
  PUBLIC_URL: {
    key: "publicUrl",
    default: undefined,
    expected: "an http(s) URL without query or fragment",
    meaning:
      "canonical external base URL (default `http://localhost:<PORT>`): `resource`, metadata URL, HLR callbacks",
    parse: httpUrl,
  },
  VERTEXSMS_API_URL: {
    key: "vertexApiUrl",
    default: "https://api.vertexsms.com",
    expected: "an http(s) URL",
    meaning: "upstream base URL",
    parse: httpUrl,
  },
  VERTEXSMS_AUTH_SERVER: {
    key: "authServer",
    default: "https://tool.vertexsms.com",
    expected: "an http(s) URL",
    meaning: "authorization server advertised in the metadata",
    parse: httpUrl,
  },
  VERTEXSMS_SIGNUP_URL: {
    key: "signupUrl",
    default: "https://vertexsms.com/en/contact",
    expected: "an http(s) URL",
    meaning: "`signup_url` in auth errors",
    parse: httpUrl,
  },
  VERTEXSMS_SIGNIN_URL: {
    key: "signinUrl",
    default: "https://vertexsms.com/en/login",
    expected: "an http(s) URL",
    meaning: "`signin_url` in auth errors",
    parse: httpUrl,
  },
  VERTEXSMS_TOKEN_URL: {
    key: "tokenUrl",
    default: "https://tool.vertexsms.com/settings/api",
    expected: "an http(s) URL",
    meaning: "`token_url` in auth errors",
    parse: httpUrl,
  },
  UPSTREAM_TIMEOUT_MS: {
    key: "upstreamTimeoutMs",
    default: "10000",
    expected: "an integer between 100 and 120000",
    meaning: "timeout per upstream call, in milliseconds",
    parse: integer(100, 120_000),
  },
  RATES_CACHE_TTL_SECONDS: {
    key: "ratesCacheTtlSeconds",
    default: "3600",
    expected: "an integer between 0 and 86400",
    meaning: "`get_sms_rates` cache lifetime per token (0 disables the cache)",
    parse: integer(0, 86_400),
  },
  SCOPE_CHALLENGE: {
    key: "scopeChallenge",
    default: "tool",
    expected: 'one of "tool", "http"',
    meaning:
      "`tool`: scope rejections as tool errors; `http`: HTTP 403 `insufficient_scope` step-up challenges",
    parse: oneOf(["tool", "http"] as const),
  },
  ALLOWED_ORIGINS: {
    key: "allowedOrigins",
    default: "",
    expected: "a comma-separated list of origins such as https://app.example.com",
    meaning: "extra browser origins allowed to call `/mcp`",
    parse: list(origin),
  },
  MAX_BODY_BYTES: {
    key: "maxBodyBytes",
    default: "1048576",
    expected: "an integer between 1024 and 16777216",
    meaning: "request body limit in bytes",
    parse: integer(1024, 16 * 1024 * 1024),
  },
  UNAUTH_RATE_LIMIT_PER_MINUTE: {
    key: "unauthRateLimitPerMinute",
    default: "60",
    expected: "an integer between 1 and 100000",
    meaning: "per client IP, requests without a valid `Authorization` header",
    parse: integer(1, 100_000),
  },
  TRUST_PROXY: {
    key: "trustProxy",
    default: "false",
    expected: "true or false",
    meaning: "take the client address from `X-Forwarded-For` (only behind your own proxy)",
    parse: bool,
  },
  HLR_CALLBACK_ALLOWED_IPS: {
    key: "hlrCallbackAllowedIps",
    default: "",
    expected: "a comma-separated list of IP addresses or CIDR ranges",
    meaning: "who may deliver HLR callbacks (empty: anyone holding the one-time id)",
    parse: list(cidr),
  },
  DLR_CALLBACK_ALLOWED_IPS: {
    key: "dlrCallbackAllowedIps",
    default: undefined,
    expected: "a comma-separated list of IP addresses or CIDR ranges",
    meaning:
      "who may deliver delivery reports (default: `HLR_CALLBACK_ALLOWED_IPS`; empty: anyone holding the report URL's capability)",
    parse: list(cidr),
  },
  SMS_LEDGER_DAYS: {
    key: "smsLedgerDays",
    default: "7",
    expected: "an integer between 0 and 90",
    meaning:
      "days the ledger keeps each sent message for `get_sms_status` and `get_sms_usage` (0: no ledger and no delivery reports)",
    parse: integer(0, 90),
  },
  KV_PATH: {
    key: "kvPath",
    default: "",
    expected:
      'a file path, a KV Connect https:// URL, "off", or empty for Deno\'s default database',
    meaning:
      "the Deno KV database for state shared between instances: a file, a KV Connect `https://` URL, `off` (see below)",
    parse: kvLocation,
  },
  STATE_URL: {
    key: "stateUrl",
    default: "",
    expected: "a redis:// or rediss:// URL such as rediss://redis.internal:6380/0",
    meaning:
      "Redis (or Valkey) for state shared between instances, instead of Deno KV (see below); its password is never logged",
    parse: (raw) => (raw === "" ? "" : redisUrl(raw)),
    shown: withoutPassword,
  },
  STATE_REDIS_PASSWORD: {
    key: "stateRedisPassword",
    default: "",
    expected: "printable characters (up to 512), with STATE_URL set",
    meaning: "the Redis password (overrides one in `STATE_URL`)",
    parse: (raw) => /^\P{Cc}{0,512}$/u.test(raw) ? raw : undefined,
    secret: true,
  },
  SHUTDOWN_TIMEOUT_MS: {
    key: "shutdownTimeoutMs",
    default: "30000",
    expected: "an integer between 100 and 600000",
    meaning:
      "on SIGTERM/SIGINT, how long in-flight requests may finish before the process exits (exit code 1 if cut short)",
    parse: integer(100, 600_000),
  },
  SMS_SENDS_PER_MINUTE: {
    key: "smsSendsPerMinute",
    default: "20",
    expected: "an integer between 0 and 100000",
    meaning:
      "SMS per token per minute: each `send_sms` call and each recipient of `send_sms_batch` (0: no limit)",
    parse: integer(0, 100_000),
  },
  SMS_RECIPIENTS_PER_HOUR: {
    key: "smsRecipientsPerHour",
    default: "100",
    expected: "an integer between 0 and 100000",
    meaning: "different recipients per token per hour (0: no limit)",
    parse: integer(0, 100_000),
  },
  SMS_DAILY_SPEND_CAP_EUR: {
    key: "smsDailySpendCapMicros",
    default: "",
    expected: "an amount in EUR such as 25 or 12.50",
    meaning:
      "estimated SMS spend (`send_sms`, `send_sms_batch`) per token per 24 hours (empty or 0: no cap; each send is priced from the rates, so tokens need `sms:rates`)",
    parse: (raw) => (raw === "" ? 0 : eur(raw)),
  },
  SMS_CONFIRMATION: {
    key: "smsConfirmation",
    default: "ask",
    expected: 'one of "ask", "require", "off"',
    meaning:
      "`ask`: ask the user before a send whenever the client can be asked in-band; `require`: nothing is sent without a person's approval (in-band, else an approval link); `off`: never ask",
    parse: oneOf(CONFIRMATION_POLICIES),
  },
  SMS_REQUIRE_CONFIRMATION: {
    key: "smsRequireConfirmation",
    default: "false",
    expected: "true or false",
    meaning: "deprecated: `true` is `SMS_CONFIRMATION=require` (when that is not set)",
    parse: bool,
  },
  PIN_TEXTS_PER_HOUR: {
    key: "pinTextsPerHour",
    default: "5",
    expected: "an integer between 0 and 100000",
    meaning: "`register_msisdn_sender` PIN texts per hour, per token and per number (0: no limit)",
    parse: integer(0, 100_000),
  },
  SMS_TEST_MODE: {
    key: "smsTestMode",
    default: "off",
    expected: 'one of "off", "delivered", "failed"',
    meaning:
      "a sandbox: `delivered` or `failed` sends every SMS to VertexSMS with `testMode` `1` or `2`, so VertexSMS simulates that outcome and no real SMS is sent; results and quotes say `simulated: true`",
    parse: oneOf(SMS_TEST_MODES),
  },
  SMS_QUIET_HOURS: {
    key: "smsQuietHours",
    default: "",
    expected: "HH:MM-HH:MM in 24-hour time with two different ends, such as 21:00-08:00",
    meaning:
      "no SMS during this time of day in the recipient's local time, e.g. `21:00-08:00` (empty: none; docs/consent.md)",
    parse: (raw) => (raw === "" ? null : parseQuietHours(raw)),
  },
  SMS_PER_RECIPIENT_PER_DAY: {
    key: "smsPerRecipientPerDay",
    default: "0",
    expected: "an integer between 0 and 10000",
    meaning: "SMS to one number per token per rolling 24 hours (0: no limit; docs/consent.md)",
    parse: integer(0, 10_000),
  },
  STATE_SECRET: {
    key: "stateSecret",
    default: "",
    expected:
      "at least 32 bytes with at least 12 different characters (e.g. the output of `openssl rand -base64 32`)",
    meaning:
      "secret shared by every instance: keys idempotency records, limits and confirmation tokens (empty: a random one kept in Deno KV, or per process without KV)",
    parse: (raw) => (raw === "" ? "" : secret(raw)),
    secret: true,
  },
  STATE_SECRET_PREVIOUS: {
    key: "stateSecretPrevious",
    default: "",
    expected: "a secret like STATE_SECRET's, with STATE_SECRET set to another one",
    meaning:
      "during a rotation: the secret being replaced, so idempotency records made under it are still honoured for 24 hours (see docs/operations.md)",
    parse: (raw) => (raw === "" ? "" : secret(raw)),
    secret: true,
  },
  LOG_LEVEL: {
    key: "logLevel",
    default: "info",
    expected: 'one of "debug", "info", "warn", "error"',
    meaning: "lowest level written to the log",
    parse: oneOf(LOG_LEVELS),
  },
} as const satisfies { [name: string]: Variable<keyof Config> };

/** Name of an environment variable the server reads. */
export type VariableName = keyof typeof VARIABLES;

/** A variable's value as an error may show it: secrets never, URLs without their password. */
export function shownValue(name: VariableName, raw: string): string {
  const variable: Variable<keyof Config> = VARIABLES[name];
  if (variable.secret) return `(${raw.length} characters, not shown)`;
  return variable.shown ? variable.shown(raw) : raw;
}

/**
 * Parse and validate the configuration. Unset or empty variables take their
 * defaults; the first invalid one throws a {@link ConfigError}.
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>>): Config {
  const out: Partial<Record<keyof Config, unknown>> = {};
  for (
    const [name, variable] of Object.entries(VARIABLES) as [VariableName, Variable<keyof Config>][]
  ) {
    const given = env[name]?.trim();
    const raw = given ? given : variable.default;
    if (raw === undefined) continue;
    const value = variable.parse(raw);
    if (value === undefined) throw new ConfigError(name, variable.expected, shownValue(name, raw));
    out[variable.key] = value;
  }
  const config = out as Omit<Config, "publicUrl" | "dlrCallbackAllowedIps"> & {
    publicUrl?: string;
    dlrCallbackAllowedIps?: string[];
  };
  // Shared state lives in one place.
  if (config.stateUrl !== "" && config.kvPath !== "" && config.kvPath !== "off") {
    throw new ConfigError(
      "KV_PATH",
      'empty or "off" when STATE_URL is set (shared state lives in one place: Redis or Deno KV)',
      config.kvPath,
    );
  }
  if (config.stateUrl === "" && config.stateRedisPassword !== "") {
    throw new ConfigError(
      "STATE_REDIS_PASSWORD",
      "empty when STATE_URL is not set (it is the password of that Redis)",
      shownValue("STATE_REDIS_PASSWORD", config.stateRedisPassword),
    );
  }
  if (
    config.stateSecretPrevious !== "" &&
    (config.stateSecret === "" || config.stateSecret === config.stateSecretPrevious)
  ) {
    throw new ConfigError(
      "STATE_SECRET_PREVIOUS",
      "set only beside a different STATE_SECRET (the new secret of a rotation)",
      shownValue("STATE_SECRET_PREVIOUS", config.stateSecretPrevious),
    );
  }
  // The deprecated alias counts only when the policy itself was not given.
  const policy = !env.SMS_CONFIRMATION?.trim() && config.smsRequireConfirmation
    ? "require"
    : config.smsConfirmation;
  return {
    ...config,
    // Delivery reports come from the same VertexSMS addresses as HLR callbacks.
    dlrCallbackAllowedIps: config.dlrCallbackAllowedIps ?? config.hlrCallbackAllowedIps,
    smsConfirmation: policy,
    publicUrl: config.publicUrl ?? `http://localhost:${config.port}`,
  };
}

/**
 * Variables of the platform the process may read besides {@link VARIABLES}:
 * `DENO_DEPLOY` (set on Deno Deploy; `main.ts` warns there without
 * `PUBLIC_URL`), `DENO_KV_ACCESS_TOKEN` (read by `Deno.openKv` for a KV
 * Connect URL) and `OTEL_DENO` (with either of it or Deploy, log lines go
 * through `console.log`, which both collect), and `DENO_DIR`,
 * `XDG_CACHE_HOME` and `HOME` (only to name Deno's default KV database's
 * file in messages, `state/open.ts`). `deno task start` allows exactly these
 * and `VARIABLES`.
 */
export const PLATFORM_VARIABLES = [
  "DENO_DEPLOY",
  "DENO_KV_ACCESS_TOKEN",
  "OTEL_DENO",
  "DENO_DIR",
  "XDG_CACHE_HOME",
  "HOME",
] as const;

/** Read the variables this server knows from the process environment. */
export function readEnv(): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {};
  for (const name of Object.keys(VARIABLES)) env[name] = Deno.env.get(name);
  return env;
}

/**
 * What a valid configuration may still get wrong, one line each: plain
 * `http://` where traffic crosses a network (tokens and callbacks would travel
 * in clear).
 */
export function configWarnings(config: Config): string[] {
  const warnings: string[] = [];
  for (
    const [name, url] of [["PUBLIC_URL", config.publicUrl], [
      "VERTEXSMS_API_URL",
      config.vertexApiUrl,
    ]]
  ) {
    const parsed = new URL(url!);
    if (parsed.protocol === "http:" && !isLoopbackHost(parsed.hostname)) {
      warnings.push(
        `${name} is plain http:// on a non-loopback host (${parsed.host}): bearer tokens and ` +
          "HLR callbacks would cross the network unencrypted; use https://",
      );
    }
  }
  if (config.smsRequireConfirmation) {
    warnings.push(
      "SMS_REQUIRE_CONFIRMATION is deprecated: set SMS_CONFIRMATION=require instead " +
        `(in effect now: SMS_CONFIRMATION=${config.smsConfirmation})`,
    );
  }
  if (config.stateUrl !== "") {
    const parsed = new URL(config.stateUrl);
    if (parsed.protocol === "redis:" && !isLoopbackHost(parsed.hostname)) {
      warnings.push(
        `STATE_URL is plain redis:// on a non-loopback host (${parsed.hostname}): its password ` +
          "and the shared state would cross the network unencrypted; use rediss://",
      );
    }
  }
  return warnings;
}

/** Whether a host name is a loopback address (`localhost`, `127.0.0.0/8`, `::1`). */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h.endsWith(".localhost") || h === "::1" ||
    /^127(\.\d{1,3}){3}$/.test(h);
}
