/**
 * Bearer authentication, in two steps around the body parser:
 * {@link bearerToken} reads the `Authorization` header and rate-limits
 * requests without a usable one (cheaply, before any body is read);
 * {@link requireToken} answers those with the 401 `AUTH_REQUIRED` envelope,
 * narrowing the challenge's `scope` to the tool the request names.
 *
 * The token is never checked here: VertexSMS is the gatekeeper.
 */
import type { Context, MiddlewareHandler } from "hono";
import { type AuthLinks, ServiceError } from "../../core/errors.ts";
import { bearerChallenge } from "../challenge.ts";
import { clientIp } from "./client_ip.ts";
import { errorResponse } from "./error_response.ts";
import type { FixedWindowLimiter } from "./rate_limit.ts";
import type { AppEnv } from "./types.ts";

/** RFC 6750 `b64token`. */
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/** The token of an `Authorization: Bearer <token>` header, or `undefined`. */
export function parseBearer(header: string | undefined): string | undefined {
  if (header === undefined || header.length > 4096) return undefined;
  return BEARER.exec(header)?.[1];
}

/** What the 401 challenge needs to know. */
export interface ChallengeOptions {
  links: AuthLinks;
  /** `<PUBLIC_URL>/.well-known/oauth-protected-resource/mcp`. */
  resourceMetadata: string;
  allScopes: readonly string[];
  /** The scope of a tool, when `name` is one. */
  scopeOf: (name: string) => string | undefined;
}

/** Set `c.var.token`; rate-limit requests that have none (429 `RATE_LIMITED`). */
export function bearerToken(
  limiter: FixedWindowLimiter,
  trustProxy: boolean,
  links: AuthLinks,
): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const token = parseBearer(c.req.header("authorization"));
    c.set("token", token);
    if (token === undefined) {
      const verdict = limiter.hit(clientIp(c, trustProxy));
      if (!verdict.ok) {
        const error = new ServiceError(
          "RATE_LIMITED",
          `Too many requests without a valid token from this address. Try again in ${verdict.retryAfterSeconds} seconds, with an Authorization: Bearer header.`,
          { retryAfterSeconds: verdict.retryAfterSeconds },
        );
        return errorResponse(c, error, links, 429, {
          "Retry-After": String(verdict.retryAfterSeconds),
        });
      }
    }
    await next();
  };
}

/** The scope a request needs: its tool's scope when it names one, else all. */
export function requestedScope(c: Context<AppEnv>, options: ChallengeOptions): string {
  const headerMethod = c.req.header("mcp-method");
  const name = headerMethod === "tools/call" ? c.req.header("mcp-name") : c.var.rpc?.tool;
  const scope = name === undefined ? undefined : options.scopeOf(name);
  return scope ?? options.allScopes.join(" ");
}

/** Answer requests without a usable bearer token with 401 `AUTH_REQUIRED`. */
export function requireToken(options: ChallengeOptions): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (c.var.token !== undefined) return await next();
    const error = new ServiceError(
      "AUTH_REQUIRED",
      "A VertexSMS API token is required. Send it as `Authorization: Bearer <token>` on every request " +
        "(create one in the VertexSMS dashboard under Settings → API), or connect with OAuth.",
    );
    return errorResponse(c, error, options.links, 401, {
      "WWW-Authenticate": bearerChallenge({
        scope: requestedScope(c, options),
        resourceMetadata: options.resourceMetadata,
      }),
    });
  };
}
