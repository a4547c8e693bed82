/**
 * The HTTP application: routes and the small middlewares in front of them.
 *
 *   every route   request id → access log
 *   /mcp          CORS (preflight answered first) → 405 for GET/DELETE →
 *                 Origin/Host check → bearer token (+ per-IP limit without one) →
 *                 JSON body (413/415/400) → 401 without a token → MCP endpoint
 *   discovery     RFC 9728 metadata, `Access-Control-Allow-Origin: *`
 *   callbacks     HLR results for waiting `lookup_hlr` calls
 */
import { readRequestBody } from "@modelcontextprotocol/server";
import { Hono } from "hono";
import { cors } from "hono/cors";
import { ipRestriction } from "hono/ip-restriction";
import { requestId } from "hono/request-id";
import { type Config, isLoopbackHost } from "../core/config.ts";
import { type AuthLinks, ServiceError } from "../core/errors.ts";
import { createPrincipalHasher, deriveKey, memo } from "../core/keys.ts";
import { Logger } from "../core/log.ts";
import { ALL_SCOPES } from "../core/scopes.ts";
import { SERVER_NAME, VERSION } from "../core/version.ts";
import { Money } from "../money/mod.ts";
import { HlrBroker, RatesCache } from "../services/mod.ts";
import { KvStore, MemoryStore, resolveSecret } from "../state/mod.ts";
import type { AnyTool } from "../tools/mod.ts";
import { parseHlrCallback, VertexClient } from "../vertex/mod.ts";
import { bearerChallenge } from "./challenge.ts";
import { createMcpEndpoint, type Exchange } from "./mcp.ts";
import { accessLog } from "./middleware/access_log.ts";
import { bearerToken, requireToken } from "./middleware/auth.ts";
import { clientIp } from "./middleware/client_ip.ts";
import { errorResponse } from "./middleware/error_response.ts";
import { originCheck } from "./middleware/origin.ts";
import { FixedWindowLimiter } from "./middleware/rate_limit.ts";
import { rpcBody, rpcError } from "./middleware/rpc_body.ts";
import type { AppEnv } from "./middleware/types.ts";

/** What {@link createApp} needs. */
export interface AppOptions {
  config: Config;
  tools: readonly AnyTool[];
  logger?: Logger;
  /** Deno KV for state shared between instances; `null` keeps it in process. */
  kv?: Deno.Kv | null;
}

/** The assembled application and the state it owns. */
export interface App {
  fetch: (request: Request, info?: Deno.ServeHandlerInfo) => Response | Promise<Response>;
  hlr: HlrBroker;
  rates: RatesCache;
  money: Money;
  unauthLimiter: FixedWindowLimiter;
}

/** Longest an HLR lookup waits for its callback (`lookup_hlr`'s `waitSeconds` maximum). */
const LONGEST_HLR_WAIT_MS = 30_000;

/** Largest HLR callback body accepted (real ones are a few hundred bytes). */
const MAX_CALLBACK_BYTES = 16 * 1024;

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

/** Build the application for a validated configuration. */
export function createApp(options: AppOptions): App {
  const { config, tools } = options;
  const logger = options.logger ?? new Logger(config.logLevel);
  const links: AuthLinks = {
    signupUrl: config.signupUrl,
    signinUrl: config.signinUrl,
    tokenUrl: config.tokenUrl,
  };
  const resource = `${config.publicUrl}/mcp`;
  const resourceMetadata = `${config.publicUrl}/.well-known/oauth-protected-resource/mcp`;
  const scopes = new Map(tools.map((t) => [t.name, t.scope]));
  const scopeOf = (name: string) => scopes.get(name);

  const vertex = new VertexClient({
    baseUrl: config.vertexApiUrl,
    timeoutMs: config.upstreamTimeoutMs,
    userAgent: `${SERVER_NAME}/${VERSION}`,
  });
  const rates = new RatesCache({ ttlSeconds: config.ratesCacheTtlSeconds });
  const hlr = new HlrBroker({ kv: options.kv ?? null });
  const publicHost = new URL(config.publicUrl).hostname;
  const callbacksReachable = !isLoopbackHost(publicHost) || isLoopbackHost(vertex.host);
  const unauthLimiter = new FixedWindowLimiter(config.unauthRateLimitPerMinute, 60_000);

  const kv = options.kv ?? null;
  // Resolved on first use (a KV read at most); every key of the guards derives from it.
  const secret = memo(async () => {
    const { secret, origin } = await resolveSecret(config.stateSecret, kv);
    logger.info("state secret", { origin });
    return secret;
  });
  const money = new Money({
    store: kv ? new KvStore(kv) : new MemoryStore(),
    secret,
    limits: {
      sendsPerMinute: config.smsSendsPerMinute,
      recipientsPerHour: config.smsRecipientsPerHour,
      dailySpendCapMicros: config.smsDailySpendCapMicros,
    },
    requireConfirmation: config.smsRequireConfirmation,
    // A billable call is one upstream call, plus the callback wait for HLR, plus slack.
    leaseMs: config.upstreamTimeoutMs + LONGEST_HLR_WAIT_MS + 30_000,
  });

  const endpoint = createMcpEndpoint({
    name: SERVER_NAME,
    version: VERSION,
    tools,
    services: {
      publicUrl: config.publicUrl,
      callbacksReachable,
      rates,
      hlr,
      money,
      smsTestMode: config.smsTestMode,
    },
    vertex,
    principal: createPrincipalHasher(deriveKey(secret, "principal")),
    secret,
    links,
    scopeChallenge: config.scopeChallenge,
    maxBodyBytes: config.maxBodyBytes,
    logger,
  });

  const loopback = isLoopbackHost(config.bindHost);
  const origins = new Set([new URL(config.publicUrl).origin, ...config.allowedOrigins]);
  if (loopback) {
    origins.add(`http://localhost:${config.port}`);
    origins.add(`http://127.0.0.1:${config.port}`);
  }
  const metadata = {
    resource,
    authorization_servers: [config.authServer],
    bearer_methods_supported: ["header"],
    scopes_supported: ALL_SCOPES,
    resource_name: "VertexSMS",
  };

  const app = new Hono<AppEnv>();
  app.use("*", requestId({ headerName: "X-Request-Id" }), accessLog(logger));

  app.onError((error, c) => {
    logger.error("unhandled error", {
      request_id: c.var.requestId,
      error: error instanceof Error ? `${error.name}: ${error.message}` : "non-error thrown",
    });
    const internal = new ServiceError(
      "INTERNAL_ERROR",
      "The MCP server hit an unexpected error. Please report the request_id to VertexSMS support.",
    );
    return errorResponse(c, internal, links, 500);
  });
  app.notFound((c) => c.json({ error: { code: "NOT_FOUND", message: "No such route." } }, 404));

  app.get("/healthz", (c) => c.json({ status: "ok", version: VERSION }));

  const discovery = cors({ origin: "*", allowMethods: ["GET", "OPTIONS"] });
  for (
    const path of [
      "/.well-known/oauth-protected-resource",
      "/.well-known/oauth-protected-resource/mcp",
    ]
  ) {
    app.use(path, discovery);
    app.get(path, (c) => c.json(metadata, 200, { "Cache-Control": "public, max-age=3600" }));
  }

  // CORS only concerns browsers, which always send Origin: other clients skip the work.
  const mcpCors = cors({ ...MCP_CORS, origin: (origin) => origins.has(origin) ? origin : null });
  app.use("/mcp", (c, next) => c.req.header("origin") === undefined ? next() : mcpCors(c, next));
  app.post(
    "/mcp",
    originCheck({
      origins,
      hosts: loopback ? ["localhost", "127.0.0.1", "[::1]", publicHost] : undefined,
    }),
    bearerToken(unauthLimiter, config.trustProxy, links),
    rpcBody(config.maxBodyBytes),
    requireToken({ links, resourceMetadata, allScopes: ALL_SCOPES, scopeOf }),
    async (c) => {
      const exchange: Exchange = {
        token: c.var.token as string,
        requestId: c.var.requestId,
        record: c.var.record,
        idempotencyKey: c.req.header("idempotency-key"),
      };
      const response = await endpoint(c.req.raw, c.var.rpc.body, exchange);
      const failure = exchange.httpFailure;
      if (!failure) {
        // Hono merges headers already on c.res (CORS) into a returned response, but not
        // ones still pending (X-Request-Id when CORS did not run): set it here.
        response.headers.set("X-Request-Id", c.var.requestId);
        return response;
      }
      await response.body?.cancel();
      const { error, scope } = failure;
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
    },
  );
  app.all("/mcp", (c) => rpcError(c, 405, -32000, "Method not allowed.", { Allow: "POST" }));

  if (config.hlrCallbackAllowedIps.length > 0) {
    app.use(
      "/callbacks/hlr/*",
      ipRestriction(
        (c) => clientIp(c, config.trustProxy),
        { allowList: config.hlrCallbackAllowedIps },
        (_remote, c) => c.text("Not Found", 404),
      ),
    );
  }
  app.post("/callbacks/hlr/:id", async (c) => {
    const id = c.req.param("id");
    if (!/^[A-Za-z0-9_-]{43}$/.test(id)) return c.text("Not Found", 404);
    let body: unknown;
    try {
      const read = await readRequestBody(c.req.raw, MAX_CALLBACK_BYTES);
      if (read.tooLarge) return c.text("Payload Too Large", 413);
      body = JSON.parse(read.text);
    } catch {
      return c.text("Bad Request: body is not JSON", 400);
    }
    const result = parseHlrCallback(body);
    if (!result) return c.text("Bad Request: not an HLR result", 400);
    return await hlr.deliver(id, result) ? c.text("OK", 200) : c.text("Not Found", 404);
  });

  return {
    fetch: (request, info) =>
      app.fetch(request, { remoteAddr: info?.remoteAddr as Deno.NetAddr | undefined }),
    hlr,
    rates,
    money,
    unauthLimiter,
  };
}
