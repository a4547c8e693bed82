/**
 * How an upstream answer or failure becomes a catalog error: the single
 * place VertexSMS's statuses and broken connections are interpreted.
 */
import { type ErrorFacts, ServiceError } from "../core/errors.ts";
import type { Endpoint } from "./endpoints.ts";

/** An upstream answer as it came. */
export interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

/** A contract breach in a 2xx answer: `UPSTREAM_BAD_RESPONSE`. */
export function badResponse(route: string, what: string, facts: ErrorFacts = {}): ServiceError {
  return new ServiceError(
    "UPSTREAM_BAD_RESPONSE",
    `VertexSMS ${route} ${what}. This is not something a retry fixes; please report it with the request_id.`,
    facts,
  );
}

/** Runs of characters a token (or its URL-encoding) can be made of. */
const TOKENISH = /[A-Za-z0-9%._~+/=-]+/g;

/**
 * `text` with every run of token-like characters that could carry `token`
 * replaced by `[redacted]`: the token verbatim, URL-encoded, in another case,
 * or any 8 characters of it in a row (a truncated echo). A message quoted to
 * the model must not hold the caller's token in any form.
 */
export function redactToken(text: string, token: string): string {
  const secret = token.toLowerCase();
  const k = Math.min(8, secret.length);
  const windows = new Set<string>();
  for (let i = 0; i + k <= secret.length; i++) windows.add(secret.slice(i, i + k));
  const carries = (run: string) => {
    let decoded = run;
    try {
      decoded = decodeURIComponent(run);
    } catch {
      // not URL-encoded: compare as it is
    }
    for (const form of new Set([run.toLowerCase(), decoded.toLowerCase()])) {
      if (k < 4 ? form.includes(secret) : [...windows].some((w) => form.includes(w))) return true;
    }
    return false;
  };
  return text.replace(TOKENISH, (run) => carries(run) ? "[redacted]" : run);
}

/**
 * A failure to read a 2xx answer of a call that is not safe: VertexSMS did
 * answer "done", so what was done is unknown (it may be billed). Anything else
 * passes unchanged.
 */
export function unreadable(endpoint: Endpoint, error: unknown): unknown {
  if (
    endpoint.safe || !(error instanceof ServiceError) || error.code !== "UPSTREAM_BAD_RESPONSE" ||
    error.facts.outcomeUnknown === true
  ) {
    return error;
  }
  return new ServiceError(
    error.code,
    `${error.message} VertexSMS answered as if ${endpoint.route} was carried out: check before ` +
      "trying again, or it may be done (and billed) twice.",
    { ...error.facts, retryable: false, outcomeUnknown: true },
  );
}

/**
 * The upstream's own `{"message": ...}` (without the caller's token in any
 * form, should it echo it), and a numeric code if it gave one.
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
        ? redactToken(b.message.slice(0, 2000), token).slice(0, 500)
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
export function checkStatus(endpoint: Endpoint, answer: Answer, token: string): Answer {
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
    case status >= 500 && endpoint.safe:
      throw new ServiceError(
        "UPSTREAM_UNAVAILABLE",
        `VertexSMS is having trouble (HTTP ${status}). Try again shortly.`,
        facts,
      );
    case status >= 500:
      // A 5xx may come from a gateway after VertexSMS carried the request out: not a refusal.
      throw new ServiceError(
        "UPSTREAM_UNAVAILABLE",
        `VertexSMS answered ${endpoint.route} with HTTP ${status}. The request may have been ` +
          "carried out (and billed): check before trying again, or it may be done twice.",
        { ...facts, retryable: false, outcomeUnknown: true },
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

/** Why an upstream exchange failed without an answer, as logs name it. */
export type UpstreamCause =
  | "connection_refused"
  | "dns"
  | "tls"
  | "timeout"
  | "reset"
  | "cancelled"
  | "network";

/**
 * The cause of a thrown fetch/read failure, and its own words without any
 * URL (one line, for a log): `undefined` for a catalog error (an answer that
 * was read and judged). Never the token (it travels in a header, which no
 * such message quotes) nor the request body.
 */
export function upstreamCause(
  error: unknown,
): { cause: UpstreamCause; detail: string } | undefined {
  if (error instanceof ServiceError) return undefined;
  const name = error instanceof Error ? error.name : "";
  const inner = error instanceof Error && error.cause instanceof Error ? error.cause.message : "";
  const said = `${error instanceof Error ? error.message : String(error)} ${inner}`;
  const detail = said.replace(/\(?\bhttps?:\/\/[^\s)]*\)?/g, "").replace(/\s+/g, " ").trim()
    .slice(0, 200);
  const cause: UpstreamCause = name === "TimeoutError"
    ? "timeout"
    : name === "AbortError"
    ? "cancelled"
    : /connection refused/i.test(said)
    ? "connection_refused"
    : /dns error|lookup address|name or service not known|nodename nor servname/i.test(said)
    ? "dns"
    : /certificate|tls|ssl|handshake|corrupt message|InvalidContentType/i.test(said)
    ? "tls"
    : /reset|closed before message completed|broken pipe|reading a body|connection closed|unexpected eof/i
        .test(said)
    ? "reset"
    : "network";
  return { cause, detail };
}

/** Turn a thrown fetch/read failure into a catalog error. */
export function classify(
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
