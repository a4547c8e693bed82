/**
 * Bearer authentication, in steps around the body parser:
 * {@link bearerToken} reads the `Authorization` header and rate-limits
 * requests without a valid one, per client address (cheaply, before any body
 * is read);
 * {@link postOnly} answers every other method — 401 without a token
 * (authentication comes before the method: clients probe `GET /mcp` for the
 * challenge), 405 `Allow: POST` with one; {@link requireToken} answers a POST
 * without a token with the 401 `AUTH_REQUIRED` envelope, narrowing the
 * challenge's `scope` to the tool the request names.
 *
 * The token is never checked here: VertexSMS is the gatekeeper. But a
 * request with a token VertexSMS has not accepted recently is admitted per
 * address before it goes on (`admission.ts`), so made-up tokens cannot reach
 * VertexSMS faster than the limit, however many arrive at once; once an
 * address is over it, only tokens VertexSMS accepted recently still pass.
 */
import type { Context, MiddlewareHandler } from "hono";
import { type AuthLinks, ServiceError } from "../../core/errors.ts";
import { memo, type PrincipalHasher } from "../../core/keys.ts";
import type { Principal } from "../../money/mod.ts";
import { bearerChallenge } from "../challenge.ts";
import { clientIp } from "./client_ip.ts";
import { errorResponse } from "./error_response.ts";
import { TokenAdmission, type VouchedTokens } from "./admission.ts";
import type { FixedWindowLimiter } from "./rate_limit.ts";
import { rpcError } from "./rpc_body.ts";
import type { AppEnv } from "./types.ts";

/** RFC 6750 `b64token`. */
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/** The token of an `Authorization: Bearer <token>` header, or `undefined`. */
export function parseBearer(header: string | undefined): string | undefined {
  if (header === undefined || header.length > 4096) return undefined;
  return BEARER.exec(header)?.[1];
}

/** What the 401 challenge names for one request (its URL's protected resource). */
export interface ChallengeTarget {
  /** `<PUBLIC_URL>/.well-known/oauth-protected-resource<path>` of the requested path. */
  resourceMetadata: string;
  /** The scopes of the tools this request may use (the challenge's default `scope`). */
  allScopes: readonly string[];
  /** The scope of a tool this request may use, when `name` is one. */
  scopeOf: (name: string) => string | undefined;
}

/** What the 401 challenge needs to know. */
export interface ChallengeOptions {
  links: AuthLinks;
  /** The protected resource a request addresses (it depends on the path). */
  target: (c: Context<AppEnv>) => ChallengeTarget;
}

/** What {@link bearerToken} needs. */
export interface BearerOptions {
  /** Requests without a token, per client address. */
  limiter: FixedWindowLimiter;
  /** Requests whose token VertexSMS rejected, per client address. */
  rejected: FixedWindowLimiter;
  trustProxy: boolean;
  links: AuthLinks;
  /** The keyed hash of a token. */
  principal: PrincipalHasher;
  /** Its keyed hash under the previous secret, during a rotation (`undefined` otherwise). */
  previousPrincipal?: (token: string) => Promise<string | undefined>;
  vouched: VouchedTokens;
}

/**
 * Set `c.get("token")` (and its keyed hash); rate-limit requests without a
 * valid token (429 `RATE_LIMITED`); admit those with a token VertexSMS has not
 * accepted recently (429 over the limit), and tell the admission VertexSMS's
 * verdict as soon as the MCP route hears it (`c.get("onTokenVerdict")`).
 */
export function bearerToken(options: BearerOptions): MiddlewareHandler<AppEnv> {
  const { limiter, trustProxy, links } = options;
  const admission = new TokenAdmission(options.rejected, options.vouched);
  const refuse = (c: Context<AppEnv>, seconds: number, why: string) =>
    errorResponse(
      c,
      new ServiceError(
        "RATE_LIMITED",
        `Too many requests ${why} from this address. Try again in ${seconds} seconds, with a valid token in an Authorization: Bearer header.`,
        { retryAfterSeconds: seconds },
      ),
      links,
      429,
      { "Retry-After": String(seconds) },
    );
  return async (c, next) => {
    const token = parseBearer(c.req.header("authorization"));
    c.set("token", token);
    const ip = clientIp(c, trustProxy);
    if (token === undefined) {
      const verdict = limiter.hit(ip);
      if (!verdict.ok) return refuse(c, verdict.retryAfterSeconds, "without a valid token");
      return await next();
    }
    const principal: Principal = memo(() => options.principal(token));
    const previous = options.previousPrincipal;
    if (previous) principal.previous = memo(() => previous(token));
    c.set("principal", principal);
    const admitted = await admission.admit(ip, await principal());
    if (!("judged" in admitted)) {
      return refuse(c, admitted.retryAfterSeconds, "with tokens VertexSMS rejected");
    }
    c.set("onTokenVerdict", admitted.judged);
    try {
      await next();
    } finally {
      const verdict = c.get("tokenVerdict");
      if (verdict) admitted.judged(verdict);
      admitted.ended();
    }
  };
}

/** The scope a request needs: its tool's scope when it names one, else all of its URL's. */
export function requestedScope(c: Context<AppEnv>, target: ChallengeTarget): string {
  const headerMethod = c.req.header("mcp-method");
  const name = headerMethod === "tools/call" ? c.req.header("mcp-name") : c.get("rpc")?.tool;
  const scope = name === undefined ? undefined : target.scopeOf(name);
  return scope ?? target.allScopes.join(" ");
}

/** The 401 `AUTH_REQUIRED` answer, with the challenge of the request's resource. */
export function authRequired(c: Context<AppEnv>, options: ChallengeOptions): Response {
  const target = options.target(c);
  const error = new ServiceError(
    "AUTH_REQUIRED",
    "A VertexSMS API token is required. Send it as `Authorization: Bearer <token>` on every request " +
      "(create one in the VertexSMS dashboard under Settings → API), or connect with OAuth.",
  );
  return errorResponse(c, error, options.links, 401, {
    "WWW-Authenticate": bearerChallenge({
      scope: requestedScope(c, target),
      resourceMetadata: target.resourceMetadata,
    }),
  });
}

/** Answer requests without a usable bearer token with 401 `AUTH_REQUIRED`. */
export function requireToken(options: ChallengeOptions): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (c.get("token") !== undefined) return await next();
    return authRequired(c, options);
  };
}

/**
 * Pass POST on; answer any other method (GET, DELETE, HEAD, …) with the same
 * 401 a POST without a token gets, and only an authenticated caller with 405
 * `Allow: POST`: a 405 first would hide the OAuth challenge from clients that
 * probe with `GET` (mcp-remote) or fall back to an SSE `GET` (mcporter).
 */
export function postOnly(options: ChallengeOptions): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (c.req.method === "POST") return await next();
    if (c.get("token") === undefined) return authRequired(c, options);
    return rpcError(c, 405, -32000, "Method not allowed.", { Allow: "POST" });
  };
}
