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
 *
 * What the routes use is built once (`services.ts`); the routes are in
 * `routes/` (discovery, MCP, the HLR callback), `approvals.ts` and
 * `delivery_reports.ts`.
 */
import { type Context, Hono } from "hono";
import { requestId } from "hono/request-id";
import { type AuthLinks, ServiceError } from "../core/errors.ts";
import type { Logger } from "../core/log.ts";
import { scrubSpanUrls } from "../core/telemetry.ts";
import { ICON_PATH, VERSION } from "../core/version.ts";
import type { Consent, Money } from "../money/mod.ts";
import type { HlrBroker, Ledger, RatesCache } from "../services/mod.ts";
import { isStateUnavailable, type Store } from "../state/mod.ts";
import { approvalRoutes } from "./approvals.ts";
import { capabilityGuard, scrubSpanUrl } from "./capabilities.ts";
import { deliveryReportRoute } from "./delivery_reports.ts";
import { serveIcon } from "./icon.ts";
import { accessLog } from "./middleware/access_log.ts";
import { errorResponse } from "./middleware/error_response.ts";
import type { FixedWindowLimiter } from "./middleware/rate_limit.ts";
import type { AppEnv } from "./middleware/types.ts";
import { discoveryRoutes, notFound } from "./routes/discovery.ts";
import { hlrCallbackRoute } from "./routes/hlr_callback.ts";
import { mcpRoutes } from "./routes/mcp.ts";
import { type AppOptions, createServices } from "./services.ts";

export type { AppOptions } from "./services.ts";

/** The assembled application and the state it owns. */
export interface App {
  fetch: (request: Request, info?: Deno.ServeHandlerInfo) => Response | Promise<Response>;
  /**
   * Verify the master secret now (when not given, it is otherwise verified on
   * first use), and open the consent key with it (re-wrapping it during a
   * rotation): throws `SecretMismatchError` when the state database is used
   * with another secret, `ConsentKeyError` when its opt-out lists are sealed
   * under a secret this server does not have.
   */
  ready(): Promise<void>;
  hlr: HlrBroker;
  rates: RatesCache;
  money: Money;
  /** Opt-out lists, quiet hours, the per-recipient limit. */
  consent: Consent;
  /** The ledger of sent messages. */
  ledger: Ledger;
  /** The money guards' state (for inspection in tests). */
  store: Store;
  unauthLimiter: FixedWindowLimiter;
}

/** Build the application for a validated configuration. */
export function createApp(options: AppOptions): App {
  const services = createServices(options);
  const { config, logger, links, hlr, money, ledger } = services;
  // Before the first request: Deno records every request's URL on its span (once per process).
  scrubSpanUrls(scrubSpanUrl);

  const app = new Hono<AppEnv>();
  app.use(
    "*",
    requestId({ headerName: "X-Request-Id" }),
    accessLog(logger),
    capabilityGuard(logger),
  );
  app.onError(unhandledError(logger, links));
  app.notFound(notFound);

  app.get("/healthz", (c) => c.json({ status: "ok", version: VERSION }));
  app.get(ICON_PATH, serveIcon);
  discoveryRoutes(app, {
    toolsets: services.toolsets,
    publicUrl: config.publicUrl,
    authServer: config.authServer,
  });
  mcpRoutes(app, services);
  const { trustProxy } = config;
  hlrCallbackRoute(app, { hlr, allowedIps: config.hlrCallbackAllowedIps, trustProxy });
  approvalRoutes(app, { approvals: money.approvals, publicUrl: config.publicUrl });
  deliveryReportRoute(app, { ledger, allowedIps: config.dlrCallbackAllowedIps, trustProxy });

  return {
    fetch: (request, info) =>
      app.fetch(request, { remoteAddr: info?.remoteAddr as Deno.NetAddr | undefined }),
    ready: async () => {
      await services.keys.secret();
      await services.consent.keys.keyring();
    },
    hlr,
    rates: services.rates,
    money,
    consent: services.consent,
    ledger,
    store: services.store,
    unauthLimiter: services.unauthLimiter,
  };
}

/** What an error no route handled answers: 503 for the shared state, else a 500 envelope. */
function unhandledError(logger: Logger, links: AuthLinks) {
  return (error: Error, c: Context<AppEnv>): Response => {
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
  };
}
