/**
 * The MCP endpoint: both protocol eras, stateless, from one set of tool
 * declarations. This file assembles it; each part has a file of its own in
 * `mcp/`:
 *
 * - `exchange.ts`: what the HTTP layer hands over for one request;
 * - `listing.ts`: `tools/list` (JSON Schema once per process, results once per toolset);
 * - `dispatch.ts`: `tools/call` (context, validation, failures to the envelope);
 * - `confirm_round.ts`: asking the user on 2026-07-28 (`input_required`, `requestState`);
 * - `legacy.ts`, `first_event.ts`: the 2025 transport and its in-band question;
 * - `resources.ts`: the resources and the skills methods, on a per-request `McpServer`
 *   holding `card.ts` (the MCP Apps review card) and `skills.ts` (the toolset's skills).
 *
 * 2026-07-28 requests go to the SDK's strict modern handler
 * (`createMcpHandler`, `legacy: "reject"`); 2025-era requests (classified by
 * `era.ts`) to the 2025 leg. Both build one low-level `Server` per request
 * with the handlers its messages name (the resource methods bring the
 * `McpServer` the SDK's skills extension needs). The SDK carries one fix
 * (`sdk_patches.ts`).
 */
import {
  type AuthInfo,
  createMcpHandler,
  type Icon,
  Server,
  type ServerContext,
} from "@modelcontextprotocol/server";
import type { AuthLinks } from "../core/errors.ts";
import type { SecretSource } from "../core/keys.ts";
import type { Logger } from "../core/log.ts";
import type { ConfirmRequest } from "../money/mod.ts";
import type { AnyTool, ToolServices } from "../tools/mod.ts";
import type { VertexClient } from "../vertex/mod.ts";
import type { Answers } from "./answers.ts";
import { isLegacy } from "./era.ts";
import { cardRegistration } from "./mcp/card.ts";
import { type ConfirmRound, confirmRound } from "./mcp/confirm_round.ts";
import { Dispatch } from "./mcp/dispatch.ts";
import { authInfoOf, type Exchange, exchangeOf, namesMethod } from "./mcp/exchange.ts";
import { legacyLeg } from "./mcp/legacy.ts";
import { Listing, listResult, PUBLIC_CACHE } from "./mcp/listing.ts";
import { RESOURCE_METHODS, ResourceServers } from "./mcp/resources.ts";
import { Skills, SKILLS_CAPABILITY } from "./mcp/skills.ts";
import { EXTENSION_ID } from "./review_card.ts";
import { patchSdk } from "./sdk_patches.ts";
import type { SessionCodec } from "./session.ts";
import { SKILL_FILES } from "./skill_files.ts";

export { fieldIssues } from "./mcp/dispatch.ts";
export type { Exchange, RequestRecord } from "./mcp/exchange.ts";
export { LIST_TTL_MS } from "./mcp/listing.ts";

/** What `serverInfo` shows besides name and version (both eras). */
export interface ServerIdentity {
  title: string;
  description: string;
  websiteUrl: string;
  icons: Icon[];
}

/** Everything the endpoint needs, given once at start-up. */
export interface McpEndpointOptions {
  name: string;
  version: string;
  identity: ServerIdentity;
  tools: readonly AnyTool[];
  services: ToolServices;
  vertex: VertexClient;
  /** Master secret: signs the multi-round-trip `requestState` (shared by all instances). */
  secret: SecretSource;
  links: AuthLinks;
  scopeChallenge: "tool" | "http";
  maxBodyBytes: number;
  logger: Logger;
  /** Self-contained session ids for 2025-era clients that can be asked. */
  sessions: SessionCodec;
  /** Hand-over of 2025-era answers between instances. */
  answers: Answers;
}

/** The endpoint: serve one parsed POST body for one authenticated exchange. */
export type McpEndpoint = (
  request: Request,
  body: unknown,
  exchange: Exchange,
) => Promise<Response>;

const INSTRUCTIONS =
  "VertexSMS tools: send SMS, read SMS rates, register sender IDs, run HLR lookups and read " +
  "mobile-network metadata with the user's VertexSMS token. send_sms, send_sms_batch and " +
  "lookup_hlr cost money: check the price with get_sms_rates and confirm with the user before " +
  "sending. Skills (skills/list, or resources/read of skill://vertexsms/<skill>/SKILL.md) " +
  "describe the safe way to send a one-time code, text a list, check numbers, register a " +
  "sender and stay within budget.";

/** Build the `/mcp` endpoint for a fixed set of tools. */
export function createMcpEndpoint(options: McpEndpointOptions): McpEndpoint {
  patchSdk();
  const factory = serverFactory(options);
  // No `responseMode`: the default ("auto") answers one JSON body unless a handler sends a
  // related message before its result, which no tool here does, so the response is still
  // built only once the tool is done and an upstream 401 can still become HTTP 401.
  // (`responseMode: "json"` would do the same and print a warning at every start.)
  const modern = createMcpHandler(factory, {
    legacy: "reject",
    maxRequestBodySize: options.maxBodyBytes,
  });
  const legacy = legacyLeg({ ...options, factory });
  return async (request, body, exchange) => {
    const authInfo = authInfoOf(exchange, body);
    return await isLegacy(request, body)
      ? await legacy(request, body, authInfo)
      : await modern.fetch(request, { authInfo, parsedBody: body });
  };
}

/**
 * The per-request `Server` (both eras), with only the handlers its request's
 * messages name: the instance serves this request alone. A request naming a
 * resource or skills method gets the resource server (`resources.ts`), whose
 * `McpServer` and skills extension bring their resource and skills handlers
 * together; the tool handlers are added the same way to either.
 */
function serverFactory(options: McpEndpointOptions) {
  const listing = new Listing(options.tools);
  const dispatch = new Dispatch({ ...options, listing });
  const round = confirmRound(options.secret);
  const serverInfo = { name: options.name, version: options.version, ...options.identity };
  const serverOptions = {
    capabilities: {
      tools: { listChanged: false },
      // The review card and the skills: resources that change only with a deployment.
      resources: { listChanged: false },
      // The review card (MCP Apps) and the skills (SEP-2640), declared as the extensions ask.
      extensions: { [EXTENSION_ID]: {}, ...SKILLS_CAPABILITY },
    },
    instructions: INSTRUCTIONS,
    requestState: { verify: round.verify },
    // The cacheable results of our own handlers carry their cache fields themselves (see
    // `listing.ts`); the SDK's built-in `server/discover` takes them from here.
    cacheHints: { "server/discover": PUBLIC_CACHE },
  };
  const resources = new ResourceServers({
    serverInfo,
    options: serverOptions,
    card: cardRegistration(options.services.publicUrl),
    skills: new Skills(SKILL_FILES, options.tools.map((t) => t.name), options.logger),
  });
  return async ({ authInfo }: { authInfo?: AuthInfo }): Promise<Server> => {
    const exchange = exchangeOf(authInfo);
    const server = RESOURCE_METHODS.some((method) => namesMethod(authInfo, method))
      ? await resources.server(exchange.toolset)
      : new Server(serverInfo, serverOptions);
    if (namesMethod(authInfo, "tools/list")) {
      const lists = listing.resultsFor(exchange.toolset?.names);
      const narrowed = exchange.toolset?.narrowed ?? false;
      server.setRequestHandler("tools/list", (_request, ctx) => listResult(lists, ctx, narrowed));
    }
    if (namesMethod(authInfo, "tools/call")) {
      const confirm = (ctx: ServerContext) => confirmOf(ctx, exchange, round);
      server.setRequestHandler("tools/call", dispatch.handler(server, exchange, confirm));
    }
    return server;
  };
}

/**
 * How a call may ask the user: the 2026-07-28 round when the request's
 * envelope declares form elicitation, else in-band on a 2025-era stream when
 * the exchange has one, else not at all.
 */
function confirmOf(ctx: ServerContext, exchange: Exchange, round: ConfirmRound) {
  const ask = exchange.ask;
  return round.confirmFor(ctx) ??
    (ask ? (question: ConfirmRequest) => ask(question, ctx.mcpReq.id) : undefined);
}
