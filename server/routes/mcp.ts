/**
 * The MCP routes, `/mcp`, `/mcp/readonly` and `/mcp/x/{scopes}`: the chain
 * of middlewares in front of the endpoint (listed in `app.ts`), the
 * allow-lists and the 401 challenge it uses, and the handler that hands one
 * authenticated exchange to the endpoint.
 */
import type { Context, Hono, MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import { type Config, isLoopbackHost } from "../../core/config.ts";
import type { AuthLinks } from "../../core/errors.ts";
import { rawPathOf } from "../capabilities.ts";
import { bearerChallenge } from "../challenge.ts";
import type { Exchange } from "../mcp.ts";
import { bearerToken, type ChallengeOptions, postOnly, requireToken } from "../middleware/auth.ts";
import { batchPolicy } from "../middleware/batch.ts";
import { errorResponse } from "../middleware/error_response.ts";
import { originCheck } from "../middleware/origin.ts";
import { rpcBody, rpcError } from "../middleware/rpc_body.ts";
import { sessions } from "../middleware/session.ts";
import type { AppEnv } from "../middleware/types.ts";
import type { Services } from "../services.ts";
import { MCP_ROUTES, TOOLS_HEADER, type Toolsets } from "../toolsets.ts";
import { metadataUrl, notFound } from "./discovery.ts";

/** Messages one JSON-RPC batch may carry (2025-03-26 and older; later revisions have none). */
const MAX_BATCH = 10;

const MCP_CORS = {
  allowMethods: ["POST", "GET", "DELETE", "OPTIONS"],
  allowHeaders: [
    "Authorization",
    "Content-Type",
    "Accept",
    "MCP-Protocol-Version",
    "Mcp-Method",
    "Mcp-Name",
    "Mcp-Session-Id",
    "Last-Event-ID",
    "Idempotency-Key",
    "X-Request-Id",
    TOOLS_HEADER,
  ],
  exposeHeaders: [
    "WWW-Authenticate",
    "X-Request-Id",
    "MCP-Protocol-Version",
    "Mcp-Session-Id",
    "Retry-After",
  ],
  maxAge: 86400,
};

/** Add the MCP routes to `app`. */
export function mcpRoutes(app: Hono<AppEnv>, services: Services): void {
  const origins = allowedOrigins(services.config);
  // CORS only concerns browsers, which always send Origin: other clients skip the work.
  const mcpCors = cors({ ...MCP_CORS, origin: (origin) => origins.has(origin) ? origin : null });
  const chain = guards(services, origins);
  const handler = serve(services);
  for (const route of MCP_ROUTES) {
    app.use(route, (c, next) => c.req.header("origin") === undefined ? next() : mcpCors(c, next));
    app.all(route, ...chain, handler);
  }
}

/** Browser origins allowed: `PUBLIC_URL`'s, `ALLOWED_ORIGINS`, and localhost when bound to loopback. */
function allowedOrigins(config: Config): Set<string> {
  const origins = new Set([new URL(config.publicUrl).origin, ...config.allowedOrigins]);
  if (isLoopbackHost(config.bindHost)) {
    origins.add(`http://localhost:${config.port}`);
    origins.add(`http://127.0.0.1:${config.port}`);
  }
  return origins;
}

/** The middlewares before the endpoint, in order. */
function guards(services: Services, origins: ReadonlySet<string>) {
  const { config, links, keys, consent } = services;
  const challenge = challengeOptions(services);
  const publicHost = new URL(config.publicUrl).hostname;
  return [
    selectToolset(services.toolsets),
    originCheck({
      origins,
      hosts: isLoopbackHost(config.bindHost)
        ? ["localhost", "127.0.0.1", "[::1]", publicHost]
        : undefined,
    }),
    bearerToken({
      limiter: services.unauthLimiter,
      rejected: services.rejectedTokens,
      trustProxy: config.trustProxy,
      links,
      principal: keys.principal,
      previousPrincipal: keys.previousPrincipal,
      lastingPrincipal: (token) => consent.ownerOf(token),
      vouched: services.vouched,
    }),
    postOnly(challenge),
    rpcBody(config.maxBodyBytes),
    batchPolicy(MAX_BATCH),
    requireToken(challenge),
    sessions(services.sessions, services.answers),
  ] as const;
}

/** The tools of this URL (an unknown scope is no resource: 404) and of X-MCP-Tools. */
function selectToolset(toolsets: Toolsets): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    // The path exactly as sent (not percent-decoded): a toolset's `resource` is that URL.
    const set = toolsets.forPath(rawPathOf(c.req.url));
    if (!set) return notFound(c);
    const narrowed = toolsets.narrow(set, c.req.header(TOOLS_HEADER));
    c.set("toolset", "unknown" in narrowed ? set : narrowed);
    c.set("unknownTools", "unknown" in narrowed ? narrowed.unknown : undefined);
    await next();
  };
}

/** A request's challenge names its URL's metadata and the scopes of the tools it may use. */
function challengeOptions(services: Services): ChallengeOptions {
  const { toolsets, scopes } = services;
  return {
    links: services.links,
    target: (c) => {
      const set = c.get("toolset");
      // A header that narrowed the set to nothing still gets its path's scopes named.
      const named = set.scopes.length > 0 ? set : toolsets.forPath(set.path) ?? set;
      return {
        resourceMetadata: metadataUrl(services.config.publicUrl, set),
        allScopes: named.scopes,
        scopeOf: (name) => set.names.has(name) ? scopes.get(name) : undefined,
      };
    },
  };
}

/** Hand the request to the endpoint; a failure it reports at HTTP level becomes a 401 or 403. */
function serve(services: Services): (c: Context<AppEnv>) => Promise<Response> {
  return async (c) => {
    const unknownTools = c.get("unknownTools");
    if (unknownTools) {
      const names = unknownTools.map((n) => JSON.stringify(n.slice(0, 64))).join(", ");
      return rpcError(c, 400, -32602, `${TOOLS_HEADER} names no tool of this server: ${names}`);
    }
    const set = c.get("toolset");
    const exchange: Exchange = {
      token: c.get("token") as string,
      principal: c.get("principal"),
      poisoned: c.get("rpc").poisoned,
      requestId: c.get("requestId"),
      record: c.get("record"),
      idempotencyKey: c.req.header("idempotency-key"),
      toolset: set,
      session: c.get("session"),
      onTokenVerdict: c.get("onTokenVerdict"),
    };
    const response = await services.endpoint(c.req.raw, c.get("rpc").body, exchange);
    c.set("tokenVerdict", exchange.tokenVerdict);
    if (!exchange.httpFailure) {
      // Hono merges headers already on c.res (CORS) into a returned response, but not
      // ones still pending (X-Request-Id when CORS did not run): set it here.
      response.headers.set("X-Request-Id", c.get("requestId"));
      return response;
    }
    await response.body?.cancel();
    const resourceMetadata = metadataUrl(services.config.publicUrl, set);
    return httpFailure(c, exchange.httpFailure, services.links, resourceMetadata);
  };
}

/** A token VertexSMS refused (401), or one without the tool's scope (403), with its challenge. */
function httpFailure(
  c: Context<AppEnv>,
  { error, scope }: NonNullable<Exchange["httpFailure"]>,
  links: AuthLinks,
  resourceMetadata: string,
): Response {
  if (error.facts.requiredScope !== undefined) {
    return errorResponse(c, error, links, 403, {
      "WWW-Authenticate": bearerChallenge({
        error: "insufficient_scope",
        scope,
        resourceMetadata,
        errorDescription: `This token lacks the ${scope} scope`,
      }),
    });
  }
  return errorResponse(c, error, links, 401, {
    "WWW-Authenticate": bearerChallenge({
      error: "invalid_token",
      errorDescription: "VertexSMS rejected the token",
      scope,
      resourceMetadata,
    }),
  });
}
