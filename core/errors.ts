/**
 * One error family, one catalog, one envelope.
 *
 * Everything that can go wrong is a {@link ServiceError} carrying a catalog
 * code; {@link toEnvelope} is the only place that turns one into the JSON the
 * client sees, and {@link CATALOG} is the only list of codes (the README's
 * error table is checked against it).
 */

/** How the catalog describes a code: where it appears, whether a retry may help, when. */
export interface CatalogEntry {
  form: string;
  /** The default `retryable` value. */
  retryable: boolean;
  /** README wording when the default depends on the tool. */
  retryableNote?: string;
  /** HTTP status when the error is answered at HTTP level. */
  status?: number;
  when: string;
}

/** The error catalog of `errors.md`, in its order. */
export const CATALOG = {
  AUTH_REQUIRED: {
    form: "HTTP 401",
    retryable: false,
    status: 401,
    when: "no `Authorization` header, or not `Bearer <token>`",
  },
  AUTH_INVALID: {
    form: "HTTP 401; with `required_scope`: tool level, or HTTP 403 when `SCOPE_CHALLENGE=http`",
    retryable: false,
    status: 401,
    when:
      "VertexSMS answered 401 for the token (unknown, expired, revoked), or 403 because the token lacks the tool's route (scope)",
  },
  RATE_LIMITED: {
    form:
      "HTTP 429 (unauthenticated flood from one IP) or tool level (upstream 429, per-token send throttle, spend cap)",
    retryable: true,
    retryableNote: "yes; no when one SMS alone costs more than the spend cap",
    status: 429,
    when: "too many requests or sends; `retry_after_seconds` says when to try again",
  },
  INVALID_INPUT: {
    form: "tool level",
    retryable: false,
    when: "local validation failed; `details` lists each field",
  },
  VERTEX_SEND_FAILED: {
    form: "tool level",
    retryable: false,
    when: "`send_sms` refused by VertexSMS (bad sender, blacklisted number, balance, ...)",
  },
  VERTEX_REQUEST_REJECTED: {
    form: "tool level",
    retryable: false,
    when: "any other tool refused by VertexSMS with 400/409",
  },
  NOT_FOUND: {
    form: "tool level",
    retryable: false,
    when: "VertexSMS answered 404 (unknown operator id, ...)",
  },
  UPSTREAM_UNAVAILABLE: {
    form: "tool level",
    retryable: true,
    retryableNote:
      "yes; no (with `outcome_unknown`) when a billable call's connection broke after it was sent",
    when: "VertexSMS 5xx, connection refused or reset, DNS failure",
  },
  UPSTREAM_TIMEOUT: {
    form: "tool level",
    retryable: true,
    retryableNote:
      "yes for read-only, non-billable tools; no (with `outcome_unknown`) for `send_sms`, `lookup_hlr` and the sender tools",
    when: "no answer within the upstream timeout",
  },
  UPSTREAM_BAD_RESPONSE: {
    form: "tool level",
    retryable: false,
    when: "VertexSMS answered 2xx with a body we cannot parse or that breaks its contract",
  },
  HLR_TIMEOUT: {
    form: "tool level",
    retryable: false,
    when: "the HLR callback did not arrive in time; carries `lookup_id`",
  },
  HLR_UNAVAILABLE: {
    form: "tool level",
    retryable: false,
    when: "the server has no public callback URL VertexSMS could reach",
  },
  TEST_MODE_REFUSED: {
    form: "tool level",
    retryable: false,
    when: "`SMS_TEST_MODE` is on and the tool would text a real PIN or bill a lookup: nothing sent",
  },
  INTERNAL_ERROR: {
    form: "tool level, or HTTP 500 outside a tool",
    retryable: false,
    status: 500,
    when: "a bug; the message says to report the `request_id`",
  },
} as const satisfies Record<string, CatalogEntry>;

/** A stable error code of the catalog. */
export type ErrorCode = keyof typeof CATALOG;

/** One field that failed validation. */
export interface FieldIssue {
  path: string;
  message: string;
}

/** Optional facts an error carries into its envelope. */
export interface ErrorFacts {
  /** Overrides the catalog's default. */
  retryable?: boolean;
  vertexErrorCode?: number | null;
  requiredScope?: string;
  retryAfterSeconds?: number;
  details?: FieldIssue[];
  outcomeUnknown?: boolean;
  lookupId?: string;
  /** The upstream HTTP status that caused the error (logged, never shown). */
  upstreamStatus?: number;
}

/** The one error type of this server. */
export class ServiceError extends Error {
  readonly code: ErrorCode;
  readonly facts: ErrorFacts;

  constructor(code: ErrorCode, message: string, facts: ErrorFacts = {}, options?: ErrorOptions) {
    super(message, options);
    this.name = "ServiceError";
    this.code = code;
    this.facts = facts;
  }

  /** Whether the same call may succeed later unchanged. */
  get retryable(): boolean {
    return this.facts.retryable ?? CATALOG[this.code].retryable;
  }
}

/** Wrap anything thrown into a {@link ServiceError} (`INTERNAL_ERROR` when it is not one). */
export function asServiceError(error: unknown): ServiceError {
  if (error instanceof ServiceError) return error;
  return new ServiceError(
    "INTERNAL_ERROR",
    "The MCP server hit an unexpected error. Please report the request_id to VertexSMS support.",
    {},
    { cause: error },
  );
}

/** The URLs auth errors point the user to. */
export interface AuthLinks {
  signupUrl: string;
  signinUrl: string;
  tokenUrl: string;
}

/** The JSON body of every error. */
export interface ErrorEnvelope {
  error: {
    code: ErrorCode;
    message: string;
    retryable: boolean;
    signup_url?: string;
    signin_url?: string;
    token_url?: string;
    vertex_error_code: number | null;
    request_id: string;
    required_scope?: string;
    retry_after_seconds?: number;
    details?: FieldIssue[];
    outcome_unknown?: boolean;
    lookup_id?: string;
  };
}

/**
 * The readable first line of a tool-level error: `Error <CODE>: <message>`,
 * whitespace collapsed to one line. Never JSON: some clients (Gemini CLI)
 * parse a JSON first text block into `structuredContent` and then reject it
 * against the tool's output schema, hiding the error from their model.
 */
export function readableLine(err: ServiceError): string {
  return `Error ${err.code}: ${err.message.replace(/\s+/g, " ").trim()}`;
}

/** The single formatter from error to envelope. */
export function toEnvelope(err: ServiceError, requestId: string, links: AuthLinks): ErrorEnvelope {
  const f = err.facts;
  const isAuth = err.code === "AUTH_REQUIRED" || err.code === "AUTH_INVALID";
  return {
    error: {
      code: err.code,
      message: err.message,
      retryable: err.retryable,
      ...(isAuth
        ? { signup_url: links.signupUrl, signin_url: links.signinUrl, token_url: links.tokenUrl }
        : {}),
      vertex_error_code: f.vertexErrorCode ?? null,
      request_id: requestId,
      ...(f.requiredScope !== undefined ? { required_scope: f.requiredScope } : {}),
      ...(f.retryAfterSeconds !== undefined ? { retry_after_seconds: f.retryAfterSeconds } : {}),
      ...(f.details !== undefined ? { details: f.details } : {}),
      ...(f.outcomeUnknown !== undefined ? { outcome_unknown: f.outcomeUnknown } : {}),
      ...(f.lookupId !== undefined ? { lookup_id: f.lookupId } : {}),
    },
  };
}
