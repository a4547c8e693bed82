/**
 * The HTTP application: routes and the small middlewares in front of them.
 *
 *   every route   request id → access log
 *   /mcp, /mcp/readonly, /mcp/x/{scopes}
 *                 CORS (preflight answered first) → toolset of the path (404 for an
 *                 unknown scope) and of `X-MCP-Tools` → Origin/Host check → bearer
 *                 token (+ per-IP limit without one) → any method but POST: 401
 *                 without a token, else 405 → JSON body (413/415/400) → 401 without
 *                 a token → MCP endpoint
 *   discovery     RFC 9728 metadata per MCP path, `Access-Control-Allow-Origin: *`
 *   /icon.svg     the icon `serverInfo` names, long-cached
 *   callbacks     HLR results for waiting `lookup_hlr` calls; delivery reports for the
 *                 ledger (`delivery_reports.ts`)
 *   approvals     the approval page and its decisions
 *
 * Callbacks and approvals are capability routes (`capabilities.ts`): named,
 * never spelled out, in logs and spans, no CORS, bodies of 16 KiB at most.
 */
import { type Context, Hono } from "hono";
import { cors } from "hono/cors";
import { ipRestriction } from "hono/ip-restriction";
import { requestId } from "hono/request-id";
import { type Config, configWarnings, isLoopbackHost } from "../core/config.ts";
import { type AuthLinks, ServiceError } from "../core/errors.ts";
import { createPrincipalHasher, deriveKey, hmacKey, memo } from "../core/keys.ts";
import { Logger } from "../core/log.ts";
import { aesKey } from "../core/seal.ts";
import { scrubSpanUrls } from "../core/telemetry.ts";
import {
  ICON_PATH,
  SERVER_DESCRIPTION,
  SERVER_NAME,
  SERVER_TITLE,
  VERSION,
  WEBSITE_URL,
} from "../core/version.ts";
import { Money } from "../money/mod.ts";
import { HlrBroker, Ledger, ledgerStore, RatesCache } from "../services/mod.ts";
import {
  isStateUnavailable,
  memoryState,
  type SharedState,
  type StateSecrets,
  type Store,
} from "../state/mod.ts";
import type { AnyTool } from "../tools/mod.ts";
import { parseHlrCallback, VertexClient } from "../vertex/mod.ts";
import { Answers } from "./answers.ts";
import { approvalRoutes } from "./approvals.ts";
import { capabilityGuard, rawPathOf, scrubSpanUrl } from "./capabilities.ts";
import { sessions } from "./middleware/session.ts";
import { SessionCodec } from "./session.ts";
import { bearerChallenge } from "./challenge.ts";
import { serveIcon } from "./icon.ts";
import { billableLeaseMs, logSecrets, verifyStateSecrets } from "./secrets.ts";
import { createMcpEndpoint, type Exchange } from "./mcp.ts";
import { deliveryReportRoute } from "./delivery_reports.ts";
import { accessLog } from "./middleware/access_log.ts";
import { VouchedTokens } from "./middleware/admission.ts";
import { bearerToken, type ChallengeOptions, postOnly, requireToken } from "./middleware/auth.ts";
import { batchPolicy } from "./middleware/batch.ts";
import { clientIp } from "./middleware/client_ip.ts";
import { errorResponse } from "./middleware/error_response.ts";
import { originCheck } from "./middleware/origin.ts";
import { FixedWindowLimiter } from "./middleware/rate_limit.ts";
import { rpcBody, rpcError } from "./middleware/rpc_body.ts";
import type { AppEnv } from "./middleware/types.ts";
import { MCP_ROUTES, noSuchToolset, TOOLS_HEADER, type Toolset, Toolsets } from "./toolsets.ts";

/** What {@link createApp} needs. */
export interface AppOptions {
  config: Config;
  tools: readonly AnyTool[];
  logger?: Logger;
  /** State shared between instances (default: in this process). */
  state?: SharedState;
  /** The master secret, verified against `state` (default: verified on first use). */
  secrets?: StateSecrets;
}

/** The assembled application and the state it owns. */
export interface App {
  fetch: (request: Request, info?: Deno.ServeHandlerInfo) => Response | Promise<Response>;
  /**
   * Verify the master secret now (when not given, it is otherwise verified on
   * first use): throws `SecretMismatchError` when the state database is used
   * with another secret.
   */
  ready(): Promise<void>;
  hlr: HlrBroker;
  rates: RatesCache;
  money: Money;
  /** The ledger of sent messages. */
  ledger: Ledger;
  /** The money guards' state (for inspection in tests). */
  store: Store;
  unauthLimiter: FixedWindowLimiter;
}

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

/** RFC 9728 metadata lives at this prefix + the resource's path. */
const WELL_KNOWN = "/.well-known/oauth-protected-resource";

/** The request's path exactly as sent (not percent-decoded): a toolset's `resource` is that URL. */
function rawPath(c: Context): string {
  return rawPathOf(c.req.url);
}

/** Build the application for a validated configuration. */
export function createApp(options: AppOptions): App {
  const { config, tools } = options;
  const logger = options.logger ?? new Logger(config.logLevel);
  // Before the first request: Deno records every request's URL on its span (once per process).
  scrubSpanUrls(scrubSpanUrl);
  for (const warning of configWarnings(config)) logger.warn("configuration", { warning });
  const links: AuthLinks = {
    signupUrl: config.signupUrl,
    signinUrl: config.signinUrl,
    tokenUrl: config.tokenUrl,
  };
  const toolsets = new Toolsets(tools);
  const metadataUrl = (set: Toolset) =>
    `${config.publicUrl}/.well-known/oauth-protected-resource${set.path}`;
  const scopes = new Map(tools.map((t) => [t.name, t.scope]));

  const vertex = new VertexClient({
    baseUrl: config.vertexApiUrl,
    timeoutMs: config.upstreamTimeoutMs,
    userAgent: `${SERVER_NAME}/${VERSION}`,
    // The cause also reaches the request's log line, through the call's `observe` (dispatch).
    onFailure: (failure) => {
      logger.debug("upstream failure", {
        request_id: failure.requestId,
        route: failure.route,
        attempt: failure.attempt,
        upstream_error: failure.cause,
        detail: failure.detail,
      });
    },
  });
  const rates = new RatesCache({ ttlSeconds: config.ratesCacheTtlSeconds });
  const publicHost = new URL(config.publicUrl).hostname;
  const callbacksReachable = !isLoopbackHost(publicHost) || isLoopbackHost(vertex.host);
  const unauthLimiter = new FixedWindowLimiter(config.unauthRateLimitPerMinute, 60_000);
  const rejectedTokens = new FixedWindowLimiter(config.unauthRateLimitPerMinute, 60_000);
  const vouched = new VouchedTokens();

  const state = options.state ?? memoryState();
  // Verified before listening (`main.ts`), else on first use: every key derives from it, and
  // a secret the state database does not know refuses every guard (`server/secrets.ts`).
  const given = options.secrets;
  if (given) logSecrets(given, state, logger);
  const secrets = given ? () => Promise.resolve(given) : memo(async () => {
    const verified = await verifyStateSecrets(config, state);
    logSecrets(verified, state, logger);
    return verified;
  });
  const secret = async () => (await secrets()).current;
  /** The previous secret while records made under it may be live (a rotation), else undefined. */
  const previousSecret = async () => {
    const previous = (await secrets()).previous;
    return previous && Date.now() < previous.until ? previous.secret : undefined;
  };
  const principal = createPrincipalHasher(deriveKey(secret, "principal"));
  const previousHasher = memo(async () => {
    const previous = (await secrets()).previous;
    return previous ? createPrincipalHasher(deriveKey(previous.secret, "principal")) : undefined;
  });
  const previousPrincipal = async (token: string) =>
    await previousSecret() ? (await previousHasher())?.(token) : undefined;
  const hlrSeal = deriveKey(secret, "hlr-seal");
  const hlrName = deriveKey(secret, "hlr-id");
  const hlr = new HlrBroker({
    mailboxes: state.mailboxes,
    sealKey: memo(async () => await aesKey(await hlrSeal())),
    nameKey: memo(async () => await hmacKey(await hlrName())),
  });
  const store = state.store;
  const money = new Money({
    store,
    secret,
    previousSecret,
    limits: {
      sendsPerMinute: config.smsSendsPerMinute,
      recipientsPerHour: config.smsRecipientsPerHour,
      dailySpendCapMicros: config.smsDailySpendCapMicros,
      pinTextsPerHour: config.pinTextsPerHour,
    },
    confirmation: config.smsConfirmation,
    leaseMs: billableLeaseMs(config),
    callMs: config.upstreamTimeoutMs,
    testMode: config.smsTestMode,
  });

  const ledgerSeal = deriveKey(secret, "ledger-seal");
  const capabilitySeal = deriveKey(secret, "dlr-capability");
  const ledger = new Ledger({
    store: ledgerStore(store),
    sealKey: memo(async () => await aesKey(await ledgerSeal())),
    capabilityKey: memo(async () => await aesKey(await capabilitySeal())),
    idKey: deriveKey(secret, "ledger-id"),
    days: config.smsLedgerDays,
    reachable: callbacksReachable,
    publicUrl: config.publicUrl,
    logger,
  });

  const sessionCodec = new SessionCodec(deriveKey(secret, "session"));
  const answers = new Answers(state.mailboxes);
  const endpoint = createMcpEndpoint({
    sessions: sessionCodec,
    answers,
    name: SERVER_NAME,
    version: VERSION,
    identity: {
      title: SERVER_TITLE,
      description: SERVER_DESCRIPTION,
      websiteUrl: WEBSITE_URL,
      icons: [{
        // Through the URL parser, not a bare concatenation: every 2026-07-28 result carries
        // serverInfo, and with a string built by concatenation in it (a V8 cons string)
        // JSON.stringify left its fast path for the whole response: a 20 KB tools/list took
        // 3× as long (bench/per_request.ts).
        src: new URL(`${config.publicUrl}${ICON_PATH}`).href,
        mimeType: "image/svg+xml",
        sizes: ["any"],
      }],
    },
    tools,
    services: {
      publicUrl: config.publicUrl,
      callbacksReachable,
      rates,
      hlr,
      money,
      ledger,
      smsTestMode: config.smsTestMode,
    },
    vertex,
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
  /** RFC 9728 metadata of one MCP path: its own `resource`, its tools' scopes. */
  const metadataOf = (set: Toolset) => ({
    resource: `${config.publicUrl}${set.path}`,
    authorization_servers: [config.authServer],
    bearer_methods_supported: ["header"],
    scopes_supported: set.scopes,
    resource_name: "VertexSMS",
  });
  /** A request's challenge names its URL's metadata and the scopes of the tools it may use. */
  const challenge: ChallengeOptions = {
    links,
    target: (c) => {
      const set = c.get("toolset");
      // A header that narrowed the set to nothing still gets its path's scopes named.
      const named = set.scopes.length > 0 ? set : toolsets.forPath(set.path) ?? set;
      return {
        resourceMetadata: metadataUrl(set),
        allScopes: named.scopes,
        scopeOf: (name) => set.names.has(name) ? scopes.get(name) : undefined,
      };
    },
  };
  /** 404; under `/mcp/` (or its metadata URL), naming the toolset URLs and the scopes. */
  const notFound = (c: Context<AppEnv>) => {
    const path = rawPath(c);
    const message = noSuchToolset(
      path.startsWith(WELL_KNOWN) ? path.slice(WELL_KNOWN.length) : path,
    );
    return c.json({ error: { code: "NOT_FOUND", message: message ?? "No such route." } }, 404);
  };

  const app = new Hono<AppEnv>();
  app.use(
    "*",
    requestId({ headerName: "X-Request-Id" }),
    accessLog(logger),
    capabilityGuard(logger),
  );

  app.onError((error, c) => {
    if (isStateUnavailable(error)) {
      // Outside a tool (an HLR callback, a delivery report): answer 503, which the sender retries.
      logger.warn("shared state unavailable", {
        request_id: c.get("requestId"),
        error: error.cause instanceof Error ? error.cause.message.slice(0, 200) : undefined,
      });
      return c.text("Service Unavailable", 503, { "Retry-After": "5" });
    }
    logger.error("unhandled error", {
      request_id: c.get("requestId"),
      error: error instanceof Error ? `${error.name}: ${error.message}` : "non-error thrown",
    });
    const internal = new ServiceError(
      "INTERNAL_ERROR",
      "The MCP server hit an unexpected error. Please report the request_id to VertexSMS support.",
    );
    return errorResponse(c, internal, links, 500);
  });
  app.notFound(notFound);

  app.get("/healthz", (c) => c.json({ status: "ok", version: VERSION }));
  app.get(ICON_PATH, serveIcon);

  const discovery = cors({ origin: "*", allowMethods: ["GET", "OPTIONS"] });
  // The bare URL is /mcp's (clients differ in which they try); each MCP path has its own.
  for (const [route, path] of [[WELL_KNOWN, "/mcp"], ...MCP_ROUTES.map((r) => [WELL_KNOWN + r])]) {
    app.use(route as string, discovery);
    app.get(route as string, (c) => {
      const set = toolsets.forPath(path ?? rawPath(c).slice(WELL_KNOWN.length));
      if (!set) return notFound(c);
      return c.json(metadataOf(set), 200, { "Cache-Control": "public, max-age=3600" });
    });
  }

  // CORS only concerns browsers, which always send Origin: other clients skip the work.
  const mcpCors = cors({ ...MCP_CORS, origin: (origin) => origins.has(origin) ? origin : null });
  const guards = [
    // The tools of this URL (an unknown scope is no resource: 404) and of X-MCP-Tools.
    async (c: Context<AppEnv>, next: () => Promise<void>) => {
      const set = toolsets.forPath(rawPath(c));
      if (!set) return notFound(c);
      const narrowed = toolsets.narrow(set, c.req.header(TOOLS_HEADER));
      c.set("toolset", "unknown" in narrowed ? set : narrowed);
      c.set("unknownTools", "unknown" in narrowed ? narrowed.unknown : undefined);
      await next();
    },
    originCheck({
      origins,
      hosts: loopback ? ["localhost", "127.0.0.1", "[::1]", publicHost] : undefined,
    }),
    bearerToken({
      limiter: unauthLimiter,
      rejected: rejectedTokens,
      trustProxy: config.trustProxy,
      links,
      principal,
      previousPrincipal,
      vouched,
    }),
    postOnly(challenge),
    rpcBody(config.maxBodyBytes),
    batchPolicy(MAX_BATCH),
    requireToken(challenge),
    sessions(sessionCodec, answers),
  ] as const;
  const serve = async (c: Context<AppEnv>) => {
    const unknownTools = c.get("unknownTools");
    if (unknownTools) {
      const names = unknownTools.map((n) => JSON.stringify(n.slice(0, 64))).join(", ");
      return rpcError(c, 400, -32602, `${TOOLS_HEADER} names no tool of this server: ${names}`);
    }
    const set = c.get("toolset");
    const resourceMetadata = metadataUrl(set);
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
    const response = await endpoint(c.req.raw, c.get("rpc").body, exchange);
    c.set("tokenVerdict", exchange.tokenVerdict);
    const failure = exchange.httpFailure;
    if (!failure) {
      // Hono merges headers already on c.res (CORS) into a returned response, but not
      // ones still pending (X-Request-Id when CORS did not run): set it here.
      response.headers.set("X-Request-Id", c.get("requestId"));
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
  };
  for (const route of MCP_ROUTES) {
    app.use(route, (c, next) => c.req.header("origin") === undefined ? next() : mcpCors(c, next));
    app.all(route, ...guards, serve);
  }

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
  approvalRoutes(app, { approvals: money.approvals, publicUrl: config.publicUrl });
  deliveryReportRoute(app, {
    ledger,
    allowedIps: config.dlrCallbackAllowedIps,
    trustProxy: config.trustProxy,
  });

  app.post("/callbacks/hlr/:id", async (c) => {
    // The id is the callback's credential (a capability route: its body is bounded already).
    // A delivery that cannot be read spends it: the lookup fails now rather than at its timeout.
    const id = c.req.param("id");
    if (!/^[A-Za-z0-9_-]{43}$/.test(id)) return c.text("Not Found", 404);
    let body: unknown;
    try {
      body = JSON.parse(await c.req.text());
    } catch {
      await hlr.spoil(id);
      return c.text("Bad Request: body is not JSON", 400);
    }
    const result = parseHlrCallback(body);
    if (!result) {
      await hlr.spoil(id);
      return c.text("Bad Request: not an HLR result", 400);
    }
    return await hlr.deliver(id, result) ? c.text("OK", 200) : c.text("Not Found", 404);
  });

  return {
    fetch: (request, info) =>
      app.fetch(request, { remoteAddr: info?.remoteAddr as Deno.NetAddr | undefined }),
    ready: async () => void await secret(),
    hlr,
    rates,
    money,
    ledger,
    store,
    unauthLimiter,
  };
}
