/**
 * The VertexSMS REST client: the only module that knows VertexSMS's paths,
 * headers, field names and status codes (see `vertexsms-api.md`).
 *
 * Tools call typed methods and get values in this server's own vocabulary;
 * every upstream failure leaves here as a {@link ServiceError} of the catalog.
 */
import { z } from "zod";
import { type ErrorFacts, ServiceError } from "./errors.ts";
import { traceUpstream } from "./telemetry.ts";

/** Options shared by every call of one client. */
export interface VertexClientOptions {
  baseUrl: string;
  timeoutMs: number;
  userAgent: string;
  /** Upper bound on an upstream body we read; larger answers are refused. */
  maxResponseBytes?: number;
}

/** What one upstream exchange looked like, for logs and traces (never the token). */
export interface UpstreamEvent {
  method: string;
  route: string;
  status: number | null;
  durationMs: number;
  attempt: number;
}

/** Per-request credentials and hooks. */
export interface Credentials {
  token: string;
  requestId: string;
  signal?: AbortSignal;
  observe?: (event: UpstreamEvent) => void;
}

/** The scopes of `vertexsms-api.md`, keyed by the route each endpoint needs. */
type Scope = "sms:send" | "sms:rates" | "sender:write" | "hlr:lookup" | "numbers:read";

/** One upstream endpoint: its route, the scope that grants it, and its retry safety. */
interface Endpoint {
  method: "GET" | "POST";
  /** The route as VertexSMS's token settings name it (for messages). */
  route: string;
  scope: Scope;
  /**
   * Read-only and not billable: may be retried once on a connection error,
   * and a timeout is retryable. Unsafe calls are never retried, and a
   * timeout leaves their outcome unknown.
   */
  safe: boolean;
  /** Which catalog code a 400/409 becomes. */
  rejection: "VERTEX_SEND_FAILED" | "VERTEX_REQUEST_REJECTED";
}

/** Every endpoint this server calls. */
export const ENDPOINTS = {
  sendSms: {
    method: "POST",
    route: "POST /sms",
    scope: "sms:send",
    safe: false,
    rejection: "VERTEX_SEND_FAILED",
  },
  rates: {
    method: "GET",
    route: "GET /rates",
    scope: "sms:rates",
    safe: true,
    rejection: "VERTEX_REQUEST_REJECTED",
  },
  registerSender: {
    method: "POST",
    route: "POST /senderId",
    scope: "sender:write",
    safe: false,
    rejection: "VERTEX_REQUEST_REJECTED",
  },
  confirmSender: {
    method: "POST",
    route: "POST /senderId/confirm/{id}",
    scope: "sender:write",
    safe: false,
    rejection: "VERTEX_REQUEST_REJECTED",
  },
  hlr: {
    method: "POST",
    route: "POST /hlr",
    scope: "hlr:lookup",
    safe: false,
    rejection: "VERTEX_REQUEST_REJECTED",
  },
  operator: {
    method: "GET",
    route: "GET /operators/{id}",
    scope: "numbers:read",
    safe: true,
    rejection: "VERTEX_REQUEST_REJECTED",
  },
  mccMnc: {
    method: "GET",
    route: "GET /mccmnc/{country}",
    scope: "numbers:read",
    safe: true,
    rejection: "VERTEX_REQUEST_REJECTED",
  },
  prefixes: {
    method: "GET",
    route: "GET /prefixes/{country}",
    scope: "numbers:read",
    safe: true,
    rejection: "VERTEX_REQUEST_REJECTED",
  },
  correctNumbers: {
    method: "POST",
    route: "POST /numbers/correct",
    scope: "numbers:read",
    safe: true,
    rejection: "VERTEX_REQUEST_REJECTED",
  },
} as const satisfies Record<string, Endpoint>;

/** Name of an upstream endpoint. */
export type EndpointName = keyof typeof ENDPOINTS;

/** Numeric codes of delivery reports and HLR results. */
export const VERTEX_CODES: Readonly<Record<number, string>> = {
  0: "no error",
  1: "illegal subscriber (MSC error)",
  2: "not delivered: validity period expired",
  20: "destination country or operator not enabled for the account",
  21: "blocked by a filter (e.g. blacklisted number)",
  22: "duplicate SMS",
  23: "per-number SMS limit reached",
  24: "account balance limit reached",
  40: "HLR: subscriber unknown",
  41: "HLR: SMS barred for the subscriber",
  43: "HLR: subscriber absent (out of coverage, handset off)",
  51: "HLR: other error",
  53: "invalid MSISDN",
  999: "unknown VertexSMS error",
};

// ---------------------------------------------------------------------------
// Upstream shapes. The public docs disagree on spellings and types in places
// (`MCC` vs `mcc`, ids as strings or numbers): accept both, emit one.

const digits = z.union([z.string(), z.number()]).transform(String);
const optionalDigits = z.union([z.string(), z.number()]).nullish().transform((v) =>
  v === null || v === undefined || v === "" ? null : String(v)
);
const intLike = z.union([z.number().int(), z.string().regex(/^-?\d+$/)]).transform(Number);

const RateRow = z.object({
  CountryName: z.string().nullish(),
  CountryCode: z.string(),
  Operator: z.string().nullish(),
  Network: z.string().nullish(),
  MCC: optionalDigits.optional(),
  mcc: optionalDigits.optional(),
  MNC: optionalDigits.optional(),
  mnc: optionalDigits.optional(),
  Rate: z.union([z.string(), z.number()]).transform(String),
});

/** One row of the price list, in this server's vocabulary. */
export interface Rate {
  country: string;
  country_name: string | null;
  operator: string;
  network: string;
  rate_eur: string;
  mcc: string | null;
  mnc: string | null;
}

const OperatorBody = z.object({
  name: z.string(),
  country: z.string(),
  mcc: digits,
  mnc: z.union([z.array(digits), digits.transform((m) => [m])]),
});

/** Operator metadata. */
export interface Operator {
  name: string;
  country: string;
  mcc: string;
  mnc: string[];
}

const MccMncRow = z.object({
  country: z.string().optional(),
  mcc: digits.optional(),
  MCC: digits.optional(),
  mnc: digits.optional(),
  MNC: digits.optional(),
  operatorId: intLike.nullish(),
});

/** One mobile network of a country. */
export interface Network {
  mcc: string;
  mnc: string;
  operator_id: number | null;
}

const PrefixRow = z.object({
  prefix: digits,
  operatorId: intLike.nullish(),
  operator: z.string().nullish(),
});

/** One mobile number prefix of a country. */
export interface Prefix {
  prefix: string;
  operator_id: number | null;
  operator: string | null;
}

const CorrectionRow = z.object({
  input_number: z.string(),
  country: z.string(),
  number_type: z.enum(["mobile", "landline", "unknown"]).catch("unknown"),
  mobile: z.boolean().nullish().transform((v) => v ?? false),
  number_e164: z.string().nullish().transform((v) => v ?? null),
  error: z.string().nullish().transform((v) => v ?? null),
});

/** The correction of one number. */
export type Correction = z.output<typeof CorrectionRow>;

const HlrCallbackBody = z.object({
  id: digits,
  error: intLike.optional(),
  imsi: optionalDigits.optional(),
  country: z.string().nullish(),
  operatorId: intLike.nullish(),
  mcc: optionalDigits.optional(),
  mnc: optionalDigits.optional(),
  ported: z.object({
    operatorId: intLike.nullish(),
    operator: z.string().nullish(),
    country: z.string().nullish(),
  }).nullish(),
});

/** A normalised HLR result (the tool adds `msisdn`). */
export interface HlrResult {
  lookup_id: string;
  status: "ok" | "error";
  error_code: number;
  error_meaning: string;
  imsi: string | null;
  country: string | null;
  operator_id: number | null;
  mcc: string | null;
  mnc: string | null;
  ported: { operator_id: number | null; operator: string | null; country: string | null } | null;
}

/** Parse the JSON body VertexSMS POSTs to an HLR callback URL; `null` when it is not one. */
export function parseHlrCallback(body: unknown): HlrResult | null {
  const parsed = HlrCallbackBody.safeParse(body);
  if (!parsed.success) return null;
  const b = parsed.data;
  const code = b.error ?? 0;
  return {
    lookup_id: b.id,
    status: code === 0 ? "ok" : "error",
    error_code: code,
    error_meaning: VERTEX_CODES[code] ?? "unknown error code",
    imsi: b.imsi ?? null,
    country: b.country ?? null,
    operator_id: b.operatorId ?? null,
    mcc: b.mcc ?? null,
    mnc: b.mnc ?? null,
    ported: b.ported
      ? {
        operator_id: b.ported.operatorId ?? null,
        operator: b.ported.operator ?? null,
        country: b.ported.country ?? null,
      }
      : null,
  };
}

/** Body fields of `POST /sms` this server sends. */
export interface SmsRequest {
  /** International digits, no `+`. */
  to: string;
  from: string;
  message: string;
  priority?: "high" | "normal" | "low";
  scheduled?: string;
  correctBy?: string;
  coding?: 0 | 1 | 2;
  expireIn?: number;
}

/** The answer of `POST /sms`. */
export interface SmsAccepted {
  messageIds: string[];
  /** `X-VertexSMS-Amount-Sent`, when the upstream sent it. */
  amountSent: number | null;
}

/** Body of an alphanumeric sender registration. */
export interface SenderRequest {
  name: string;
  category: string;
  categoryDescription: string;
  notificationUrl?: string;
}

/** The typed face of VertexSMS for one caller. */
export interface VertexApi {
  sendSms(sms: SmsRequest): Promise<SmsAccepted>;
  getRates(): Promise<Rate[]>;
  registerAlphanumericSender(sender: SenderRequest): Promise<number>;
  registerMsisdnSender(msisdnDigits: string): Promise<number>;
  confirmMsisdnSender(senderId: number, code: string): Promise<void>;
  startHlrLookup(msisdnDigits: string, callbackUrl: string): Promise<string>;
  getOperator(operatorId: number): Promise<Operator>;
  getNetworks(country: string, page: number): Promise<Network[]>;
  getPrefixes(country: string): Promise<Prefix[]>;
  correctNumbers(numbers: { number: string; country: string }[]): Promise<Correction[]>;
}

const DEFAULT_MAX_RESPONSE_BYTES = 8 * 1024 * 1024;

/** An upstream answer as it came. */
export interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

/** Paths of the read-only GET endpoints (the tools' and `deno task record`'s). */
export const READ_PATHS = {
  rates: () => "/rates/?format=json",
  operator: (operatorId: number) => `/operators/${operatorId}`,
  mccMnc: (country: string, page: number) => `/mccmnc/${encodeURIComponent(country)}?Page=${page}`,
  prefixes: (country: string) => `/prefixes/${encodeURIComponent(country)}`,
} as const satisfies Partial<Record<EndpointName, (...args: never[]) => string>>;

/** A read-only GET endpoint. */
export type ReadEndpointName = keyof typeof READ_PATHS;

/** A VertexSMS client bound to a base URL; {@link VertexClient.as} binds it to a caller. */
export class VertexClient {
  readonly #base: string;
  readonly #timeoutMs: number;
  readonly #userAgent: string;
  readonly #maxBytes: number;

  constructor(options: VertexClientOptions) {
    this.#base = options.baseUrl.replace(/\/+$/, "");
    this.#timeoutMs = options.timeoutMs;
    this.#userAgent = options.userAgent;
    this.#maxBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  }

  /** The host name of the upstream (for the HLR reachability check). */
  get host(): string {
    return new URL(this.#base).hostname;
  }

  /** The API as seen by one caller's token. */
  as(creds: Credentials): VertexApi {
    const call = (name: EndpointName, path: string, body?: unknown) =>
      this.#call(ENDPOINTS[name], path, body, creds);
    return {
      sendSms: async (sms) => {
        const answer = await call("sendSms", "/sms", dropUndefined({ ...sms }));
        const ids = parseJson(answer, z.array(digits).min(1), "POST /sms");
        const amount = Number(answer.headers.get("x-vertexsms-amount-sent"));
        return {
          messageIds: ids,
          amountSent: Number.isInteger(amount) && amount > 0 ? amount : null,
        };
      },
      getRates: async () => {
        const answer = await call("rates", READ_PATHS.rates());
        return parseJson(answer, z.array(RateRow), "GET /rates").map((r) => ({
          country: r.CountryCode.toUpperCase(),
          country_name: r.CountryName ?? null,
          operator: r.Operator ?? "All",
          network: r.Network ?? r.Operator ?? "All",
          rate_eur: r.Rate,
          mcc: r.MCC ?? r.mcc ?? null,
          mnc: r.MNC ?? r.mnc ?? null,
        }));
      },
      registerAlphanumericSender: async (sender) => {
        const answer = await call(
          "registerSender",
          "/senderId",
          dropUndefined({ ...sender, type: "AlphaNumeric" }),
        );
        return parseSenderId(answer);
      },
      registerMsisdnSender: async (msisdnDigits) => {
        const answer = await call("registerSender", "/senderId", {
          name: msisdnDigits,
          type: "MSISDN",
        });
        return parseSenderId(answer);
      },
      confirmMsisdnSender: async (senderId, code) => {
        await call("confirmSender", `/senderId/confirm/${senderId}`, { code });
      },
      startHlrLookup: async (msisdnDigits, callbackUrl) => {
        const answer = await call("hlr", "/hlr", {
          msisdn: msisdnDigits,
          callBackUrl: callbackUrl,
        });
        const [id] = parseJson(answer, z.array(digits).min(1), "POST /hlr");
        return id as string;
      },
      getOperator: async (operatorId) => {
        const answer = await call("operator", READ_PATHS.operator(operatorId));
        return parseJson(answer, OperatorBody, "GET /operators/{id}");
      },
      getNetworks: async (country, page) => {
        const answer = await call("mccMnc", READ_PATHS.mccMnc(country, page));
        return parseJson(answer, z.array(MccMncRow), "GET /mccmnc/{country}").map((r) => ({
          mcc: r.mcc ?? r.MCC ?? "",
          mnc: r.mnc ?? r.MNC ?? "",
          operator_id: r.operatorId ?? null,
        }));
      },
      getPrefixes: async (country) => {
        const answer = await call("prefixes", READ_PATHS.prefixes(country));
        return parseJson(answer, z.array(PrefixRow), "GET /prefixes/{country}").map((r) => ({
          prefix: r.prefix,
          operator_id: r.operatorId ?? null,
          operator: r.operator ?? null,
        }));
      },
      correctNumbers: async (numbers) => {
        const answer = await call("correctNumbers", "/numbers/correct", numbers);
        const rows = parseJson(answer, z.array(CorrectionRow), "POST /numbers/correct");
        if (rows.length !== numbers.length) {
          throw badResponse("POST /numbers/correct", "returned a different number of rows");
        }
        return rows;
      },
    };
  }

  /**
   * One read-only GET answered as it came, whatever its status: the view
   * `deno task record` needs (tools use {@link VertexClient.as}).
   */
  readRaw<K extends ReadEndpointName>(
    name: K,
    args: Parameters<typeof READ_PATHS[K]>,
    creds: Credentials,
  ): Promise<Answer & { path: string }> {
    const path = (READ_PATHS[name] as (...a: unknown[]) => string)(...args);
    return this.#exchange(ENDPOINTS[name], path, undefined, creds, () => {})
      .then((answer) => ({ ...answer, path }));
  }

  #call(endpoint: Endpoint, path: string, body: unknown, creds: Credentials): Promise<Answer> {
    return traceUpstream(endpoint.route, creds, (c) => this.#attempts(endpoint, path, body, c));
  }

  async #attempts(
    endpoint: Endpoint,
    path: string,
    body: unknown,
    creds: Credentials,
  ): Promise<Answer> {
    const attempts = endpoint.safe ? 2 : 1;
    for (let attempt = 1;; attempt++) {
      const started = performance.now();
      let status: number | null = null;
      try {
        const answer = await this.#exchange(endpoint, path, body, creds, (s) => status = s);
        return checkStatus(endpoint, answer, creds.token);
      } catch (error) {
        const failure = classify(endpoint, error, status !== null);
        if (failure.connection && attempt < attempts && !creds.signal?.aborted) continue;
        throw failure.error;
      } finally {
        creds.observe?.({
          method: endpoint.method,
          route: endpoint.route,
          status,
          durationMs: performance.now() - started,
          attempt,
        });
      }
    }
  }

  async #exchange(
    endpoint: Endpoint,
    path: string,
    body: unknown,
    creds: Credentials,
    onStatus: (status: number) => void,
  ): Promise<Answer> {
    // A timer cleared when the call ends, not AbortSignal.timeout: that one keeps its timer,
    // signal and listeners alive for the whole timeout (10 s) after every call, which under
    // load is thousands of live objects promoted to the old generation (README, Performance).
    const timeout = new AbortController();
    const timer = setTimeout(
      () => timeout.abort(new DOMException("upstream timeout", "TimeoutError")),
      this.#timeoutMs,
    );
    const signal = creds.signal ? AbortSignal.any([creds.signal, timeout.signal]) : timeout.signal;
    try {
      return await this.#fetch(endpoint, path, body, creds, signal, onStatus);
    } finally {
      clearTimeout(timer);
    }
  }

  async #fetch(
    endpoint: Endpoint,
    path: string,
    body: unknown,
    creds: Credentials,
    signal: AbortSignal,
    onStatus: (status: number) => void,
  ): Promise<Answer> {
    const headers: Record<string, string> = {
      "X-VertexSMS-Token": creds.token,
      "Accept": "application/json",
      "User-Agent": this.#userAgent,
      "X-Request-Id": creds.requestId,
    };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(this.#base + path, {
      method: endpoint.method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      // A redirect could carry the token header to another host: never follow one.
      redirect: "manual",
    });
    onStatus(response.status);
    const text = await readCapped(response, this.#maxBytes, endpoint.route);
    return { status: response.status, headers: response.headers, text };
  }
}

/** Read a body as text, refusing more than `max` bytes. */
async function readCapped(response: Response, max: number, route: string): Promise<string> {
  const declared = Number(response.headers.get("content-length"));
  if (declared > max) {
    await response.body?.cancel();
    throw badResponse(route, `answered with more than ${max} bytes`);
  }
  if (!response.body) return "";
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      throw badResponse(route, `answered with more than ${max} bytes`);
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return new TextDecoder().decode(chunks[0]);
  const all = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    all.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder().decode(all);
}

function badResponse(route: string, what: string, facts: ErrorFacts = {}): ServiceError {
  return new ServiceError(
    "UPSTREAM_BAD_RESPONSE",
    `VertexSMS ${route} ${what}. This is not something a retry fixes; please report it with the request_id.`,
    facts,
  );
}

function parseJson<T extends z.ZodType>(answer: Answer, schema: T, route: string): z.output<T> {
  let value: unknown;
  try {
    value = JSON.parse(answer.text);
  } catch {
    throw badResponse(route, "answered with a body that is not JSON", {
      upstreamStatus: answer.status,
    });
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw badResponse(route, "answered with an unexpected JSON shape", {
      upstreamStatus: answer.status,
    });
  }
  return parsed.data;
}

/** `POST /senderId` answers `Content-Type: plain/text` with a bare integer. */
function parseSenderId(answer: Answer): number {
  const text = answer.text.trim().replace(/^\[\s*"?|"?\s*\]$/g, "").replace(/^"|"$/g, "");
  if (!/^\d{1,15}$/.test(text) || Number(text) <= 0) {
    throw badResponse("POST /senderId", "did not answer with a sender id", {
      upstreamStatus: answer.status,
    });
  }
  return Number(text);
}

function dropUndefined<T extends Record<string, unknown>>(value: T): T {
  for (const key of Object.keys(value)) if (value[key] === undefined) delete value[key];
  return value;
}

/**
 * The upstream's own `{"message": ...}` (without the caller's token, should
 * it echo it), and a numeric code if it gave one.
 */
function upstreamMessage(
  text: string,
  token: string,
): { message: string | null; code: number | null } {
  try {
    const body: unknown = JSON.parse(text);
    if (body && typeof body === "object" && !Array.isArray(body)) {
      const b = body as Record<string, unknown>;
      const message = typeof b.message === "string"
        ? b.message.replaceAll(token, "[token]").slice(0, 500)
        : null;
      const raw = b.code ?? b.errorCode ?? b.error_code;
      const code = typeof raw === "number" && Number.isInteger(raw)
        ? raw
        : typeof raw === "string" && /^\d+$/.test(raw)
        ? Number(raw)
        : null;
      return { message, code };
    }
  } catch {
    // not JSON: no message to quote
  }
  return { message: null, code: null };
}

function retryAfterSeconds(header: string | null): number {
  if (header) {
    if (/^\d+$/.test(header.trim())) return Math.max(1, Number(header.trim()));
    const date = Date.parse(header);
    if (!Number.isNaN(date)) return Math.max(1, Math.ceil((date - Date.now()) / 1000));
  }
  return 30;
}

/** Upstream status → catalog code. The single place statuses are interpreted. */
function checkStatus(endpoint: Endpoint, answer: Answer, token: string): Answer {
  const { status } = answer;
  if (status >= 200 && status < 300) return answer;
  const upstream = upstreamMessage(answer.text, token);
  const quoted = upstream.message ? ` VertexSMS said: "${upstream.message}"` : "";
  const facts: ErrorFacts = { upstreamStatus: status, vertexErrorCode: upstream.code };
  switch (true) {
    case status === 401:
      throw new ServiceError(
        "AUTH_INVALID",
        "VertexSMS rejected the provided token (unknown, expired or revoked). Sign in again or create a new API token.",
        facts,
      );
    case status === 403:
      throw new ServiceError(
        "AUTH_INVALID",
        `This VertexSMS token may not use ${endpoint.route}: it needs the "${endpoint.scope}" scope. ` +
          `Create a token with the ${endpoint.route} route in Settings → API, or reconnect and grant "${endpoint.scope}". ` +
          `If the token has an IP allow-list, it must include this server's address.${quoted}`,
        { ...facts, requiredScope: endpoint.scope },
      );
    case status === 404:
      throw new ServiceError("NOT_FOUND", `VertexSMS has no such resource.${quoted}`, facts);
    case status === 400 || status === 409:
      throw new ServiceError(
        endpoint.rejection,
        `VertexSMS refused the request (HTTP ${status}).${quoted || " It gave no reason."}`,
        facts,
      );
    case status === 429: {
      const seconds = retryAfterSeconds(answer.headers.get("retry-after"));
      throw new ServiceError(
        "RATE_LIMITED",
        `VertexSMS is rate limiting this token. Try again in ${seconds} seconds.`,
        { ...facts, retryAfterSeconds: seconds },
      );
    }
    case status >= 500:
      throw new ServiceError(
        "UPSTREAM_UNAVAILABLE",
        `VertexSMS is having trouble (HTTP ${status}). Try again shortly.`,
        facts,
      );
    case status >= 400:
      throw new ServiceError(
        endpoint.rejection,
        `VertexSMS refused the request (HTTP ${status}).${quoted}`,
        facts,
      );
    default:
      throw badResponse(endpoint.route, `answered with unexpected HTTP status ${status}`, facts);
  }
}

/** Turn a thrown fetch/read failure into a catalog error. */
function classify(
  endpoint: Endpoint,
  error: unknown,
  gotResponse: boolean,
): { error: ServiceError; connection: boolean } {
  if (error instanceof ServiceError) return { error, connection: false };
  const name = error instanceof Error ? error.name : "";
  if (name === "TimeoutError") {
    return {
      connection: false,
      error: endpoint.safe
        ? new ServiceError(
          "UPSTREAM_TIMEOUT",
          "VertexSMS did not answer in time. Try again shortly.",
          { retryable: true },
        )
        : new ServiceError(
          "UPSTREAM_TIMEOUT",
          `VertexSMS did not answer ${endpoint.route} in time. The request may have been carried out: ` +
            "check before trying again, or it may be done (and billed) twice.",
          { retryable: false, outcomeUnknown: true },
        ),
    };
  }
  if (name === "AbortError") {
    // The client went away mid-call. A billable or state-changing request may already have
    // reached VertexSMS: its outcome is unknown, and a blind retry could do it twice.
    return {
      connection: false,
      error: endpoint.safe
        ? new ServiceError("UPSTREAM_UNAVAILABLE", "The request was cancelled by the client.", {
          retryable: true,
        })
        : new ServiceError(
          "UPSTREAM_UNAVAILABLE",
          `The request was cancelled by the client during ${endpoint.route}; it may have been ` +
            "carried out: check before trying again.",
          { retryable: false, outcomeUnknown: true },
        ),
    };
  }
  // A connection that could not be opened never carried the request.
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : "";
  const message = `${error instanceof Error ? error.message : String(error)} ${cause}`;
  const neverSent = !gotResponse && /\(Connect\)|dns error|refused|blocked/i.test(message);
  if (endpoint.safe || neverSent) {
    return {
      connection: true,
      error: new ServiceError(
        "UPSTREAM_UNAVAILABLE",
        "VertexSMS could not be reached. Try again shortly.",
        { retryable: true },
        { cause: error },
      ),
    };
  }
  return {
    connection: true,
    error: new ServiceError(
      "UPSTREAM_UNAVAILABLE",
      `The connection to VertexSMS broke during ${endpoint.route}. The request may have been carried out: ` +
        "check before trying again, or it may be done (and billed) twice.",
      { retryable: false, outcomeUnknown: true },
      { cause: error },
    ),
  };
}
