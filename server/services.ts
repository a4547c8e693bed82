/**
 * What the app owns, assembled once from the configuration and the shared
 * state: the upstream client, the caches and limiters, the master secret's
 * keys, the HLR broker, the money guards, the ledger, and the MCP endpoint
 * the tools run in. The routes (`app.ts`, `routes/`) only use them.
 */
import { type Config, configWarnings, isLoopbackHost } from "../core/config.ts";
import type { AuthLinks } from "../core/errors.ts";
import { derivedCryptoKey, deriveKey, hmacKey } from "../core/keys.ts";
import { Logger } from "../core/log.ts";
import { aesKey } from "../core/seal.ts";
import {
  ICON_PATH,
  SERVER_DESCRIPTION,
  SERVER_NAME,
  SERVER_TITLE,
  VERSION,
  WEBSITE_URL,
} from "../core/version.ts";
import { Consent, Money, optOutStore } from "../money/mod.ts";
import { HlrBroker, Ledger, ledgerStore, RatesCache } from "../services/mod.ts";
import { memoryState, type SharedState, type StateSecrets, type Store } from "../state/mod.ts";
import type { AnyTool } from "../tools/mod.ts";
import { VertexClient } from "../vertex/mod.ts";
import { Answers } from "./answers.ts";
import { createMcpEndpoint, type McpEndpoint } from "./mcp.ts";
import { VouchedTokens } from "./middleware/admission.ts";
import { FixedWindowLimiter } from "./middleware/rate_limit.ts";
import { billableLeaseMs, type SecretKeys, secretKeys } from "./secrets.ts";
import { SessionCodec } from "./session.ts";
import { Toolsets } from "./toolsets.ts";

/** What `createApp` needs. */
export interface AppOptions {
  config: Config;
  tools: readonly AnyTool[];
  logger?: Logger;
  /** State shared between instances (default: in this process). */
  state?: SharedState;
  /** The master secret, verified against `state` (default: verified on first use). */
  secrets?: StateSecrets;
  /** The consent guards' clock (quiet hours, the per-recipient window); tests fix it. */
  now?: () => number;
}

/** Everything the routes use, built once per app. */
export interface Services {
  config: Config;
  logger: Logger;
  /** Where a refused caller signs up, signs in and gets a token (every error names them). */
  links: AuthLinks;
  /** The tools of each MCP URL. */
  toolsets: Toolsets;
  /** Each tool's scope, by name. */
  scopes: Map<string, string>;
  keys: SecretKeys;
  rates: RatesCache;
  hlr: HlrBroker;
  /** The money guards' state. */
  store: Store;
  consent: Consent;
  money: Money;
  ledger: Ledger;
  /** 2025-era session ids and in-band answers, shared by the endpoint and its middleware. */
  sessions: SessionCodec;
  answers: Answers;
  endpoint: McpEndpoint;
  /** Requests without a token, per address. */
  unauthLimiter: FixedWindowLimiter;
  /** Tokens VertexSMS rejected, per address. */
  rejectedTokens: FixedWindowLimiter;
  vouched: VouchedTokens;
}

/** Build what the app owns from `options`. */
export function createServices(options: AppOptions): Services {
  const { config, tools } = options;
  const logger = options.logger ?? new Logger(config.logLevel);
  for (const warning of configWarnings(config)) logger.warn("configuration", { warning });
  const links: AuthLinks = {
    signupUrl: config.signupUrl,
    signinUrl: config.signinUrl,
    tokenUrl: config.tokenUrl,
  };
  const vertex = vertexClient(config, logger);
  const publicHost = new URL(config.publicUrl).hostname;
  const callbacksReachable = !isLoopbackHost(publicHost) || isLoopbackHost(vertex.host);
  const state = options.state ?? memoryState();
  const keys = secretKeys(config, state, logger, options.secrets);
  const { consent, money } = moneyGuards(config, state.store, keys, options.now);
  const ledger = new Ledger({
    store: ledgerStore(state.store),
    sealKey: derivedCryptoKey(keys.secret, "ledger-seal", aesKey),
    capabilityKey: derivedCryptoKey(keys.secret, "dlr-capability", aesKey),
    idKey: deriveKey(keys.secret, "ledger-id"),
    days: config.smsLedgerDays,
    reachable: callbacksReachable,
    publicUrl: config.publicUrl,
    logger,
  });
  const services = {
    config,
    logger,
    links,
    toolsets: new Toolsets(tools),
    scopes: new Map(tools.map((t) => [t.name, t.scope])),
    keys,
    rates: new RatesCache({ ttlSeconds: config.ratesCacheTtlSeconds }),
    hlr: new HlrBroker({
      mailboxes: state.mailboxes,
      sealKey: derivedCryptoKey(keys.secret, "hlr-seal", aesKey),
      nameKey: derivedCryptoKey(keys.secret, "hlr-id", hmacKey),
    }),
    store: state.store,
    consent,
    money,
    ledger,
    sessions: new SessionCodec(deriveKey(keys.secret, "session")),
    answers: new Answers(state.mailboxes),
    unauthLimiter: new FixedWindowLimiter(config.unauthRateLimitPerMinute, 60_000),
    rejectedTokens: new FixedWindowLimiter(config.unauthRateLimitPerMinute, 60_000),
    vouched: new VouchedTokens(),
  };
  const endpoint = mcpEndpoint(services, tools, vertex, callbacksReachable);
  return { ...services, endpoint };
}

/** The VertexSMS client; each failed attempt is logged at debug level. */
function vertexClient(config: Config, logger: Logger): VertexClient {
  return new VertexClient({
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
}

/** Opt-out lists, quiet hours and the per-recipient limit; the money guards around them. */
function moneyGuards(
  config: Config,
  store: Store,
  keys: SecretKeys,
  now: (() => number) | undefined,
): { consent: Consent; money: Money } {
  const { secret, previousSecret } = keys;
  const consent = new Consent({
    store,
    lists: optOutStore(store),
    secret,
    previousSecret,
    quietHours: config.smsQuietHours,
    perRecipientPerDay: config.smsPerRecipientPerDay,
    now,
  });
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
    consent,
  });
  return { consent, money };
}

/** The MCP endpoint the tools run in, with this server's identity and services. */
function mcpEndpoint(
  services: Omit<Services, "endpoint">,
  tools: readonly AnyTool[],
  vertex: VertexClient,
  callbacksReachable: boolean,
): McpEndpoint {
  const { config } = services;
  return createMcpEndpoint({
    sessions: services.sessions,
    answers: services.answers,
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
      rates: services.rates,
      hlr: services.hlr,
      money: services.money,
      consent: services.consent,
      ledger: services.ledger,
      smsTestMode: config.smsTestMode,
    },
    vertex,
    secret: services.keys.secret,
    links: services.links,
    scopeChallenge: config.scopeChallenge,
    maxBodyBytes: config.maxBodyBytes,
    logger: services.logger,
  });
}
