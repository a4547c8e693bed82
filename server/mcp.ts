/**
 * The MCP endpoint: both protocol eras, stateless, from one set of tool
 * declarations.
 *
 * - 2026-07-28 requests go to the SDK's strict modern handler
 *   (`createMcpHandler`, `legacy: "reject"`; its default response mode
 *   answers one JSON body, as no tool sends a message before its result).
 * - 2025-era requests (classified by the SDK's own `isLegacyRequest`, see
 *   `era.ts`) go to a fresh stateless `WebStandardStreamableHTTPServerTransport`
 *   with JSON responses. The SDK's built-in fallback would answer with SSE,
 *   committing HTTP 200 before the tool runs; with JSON, the response is only
 *   built once the tool is done, so an upstream 401 can still become an HTTP 401.
 *
 * Each request builds a low-level `Server` with the handlers its messages
 * name: `tools/list` answers a list converted to JSON Schema once per process
 * (its results built once per toolset), and `tools/call` validates with the
 * tool's zod schema (our `INVALID_INPUT` envelope), runs the handler and maps
 * any failure to the envelope in one place. The SDK carries one fix
 * (`sdk_patches.ts`).
 *
 * Asking the user (`send_sms`'s confirmation, see `money.ts`) works where
 * the protocol lets a stateless server reach the user:
 *
 * - 2026-07-28: a tool's `ctx.confirm` ends the round with an
 *   `input_required` result carrying an elicitation and an HMAC-signed,
 *   expiring `requestState` bound to the caller and the exact arguments;
 *   the client asks the user and retries the call with the answer, on any
 *   instance (the signing key is shared, see `principal.ts`). Offered only
 *   when the request's envelope declares form elicitation.
 * - 2025 eras: a server→client `elicitation/create` needs a stream to travel
 *   on and the client's capabilities from `initialize`. This server answers
 *   each 2025 POST with a fresh stateless transport and a JSON response (so an
 *   upstream 401 can still become HTTP 401): the `initialize` it answered is
 *   forgotten, and there is no stream to carry a request, nor a session to
 *   route the client's reply back to the waiting call. So 2025-era clients
 *   are never asked; `SMS_REQUIRE_CONFIRMATION` covers them with dry-run
 *   confirmation tokens instead.
 */
import {
  type AuthInfo,
  type CallToolResult,
  CLIENT_CAPABILITIES_META_KEY,
  CLIENT_INFO_META_KEY,
  type ClientCapabilities,
  createMcpHandler,
  createRequestStateCodec,
  type ElicitRequestFormParams,
  type Icon,
  inputRequired,
  type InputRequiredResult,
  inputResponse,
  ProtocolError,
  ProtocolErrorCode,
  ResourceNotFoundError,
  Server,
  type ServerContext,
  type Tool,
  WebStandardStreamableHTTPServerTransport,
} from "@modelcontextprotocol/server";
import { z } from "zod";
import {
  asServiceError,
  type AuthLinks,
  type FieldIssue,
  readableLine,
  ServiceError,
  toEnvelope,
} from "../core/errors.ts";
import { deriveKey, memo, randomId, type SecretSource } from "../core/keys.ts";
import type { Logger } from "../core/log.ts";
import type { Scope } from "../core/scopes.ts";
import type { RequestFacts } from "../core/telemetry.ts";
import {
  canonicalSignedState,
  type ConfirmAnswer,
  type ConfirmRequest,
  type ConfirmResult,
} from "../money/mod.ts";
import type { AnyTool, ToolContext, ToolServices } from "../tools/mod.ts";
import type { UpstreamEvent, VertexClient } from "../vertex/mod.ts";
import type { Answers, ElicitReply } from "./answers.ts";
import {
  EXTENSION_ID,
  readReviewCard,
  REVIEW_CARD_URI,
  reviewCardResource,
  REVIEWED_TOOLS,
} from "./review_card.ts";
import { isLegacy } from "./era.ts";
import { patchSdk } from "./sdk_patches.ts";
import { declaresForm, type Session, type SessionCodec } from "./session.ts";

/** What the HTTP layer records about one request for its log line (and its span). */
export type RequestRecord = RequestFacts;

/** One `/mcp` exchange, as the HTTP layer hands it over. */
export interface Exchange {
  token: string;
  /** The token's keyed hash (computed once per request, on first use). */
  principal: () => Promise<string>;
  requestId: string;
  record: RequestRecord;
  /** The `Idempotency-Key` request header, as sent. */
  idempotencyKey?: string;
  /** Set by a tool call whose failure must be answered at HTTP level. */
  httpFailure?: { error: ServiceError; scope: Scope };
  /** What VertexSMS said of the token: it answered a call (accepted) or 401 (rejected). */
  tokenVerdict?: "accepted" | "rejected";
  /** The tool calls of this request, in order (a JSON-RPC batch runs one at a time). */
  queue?: Promise<unknown>;
  /**
   * The path of a `__proto__` key the call's arguments carried, found in the
   * raw body (the SDK's message parsing drops such keys before a handler
   * sees them, and a dropped field must not change what a call does).
   */
  poisoned?: string;
  /**
   * The tools this request may list and call (its URL's toolset); all when
   * absent. Any other name is refused as an unknown tool, before any upstream call.
   */
  toolset?: { names: ReadonlySet<string>; narrowed: boolean };
  /** The verified `Mcp-Session-Id` of a 2025-era request (see `session.ts`). */
  session?: Session;
  /**
   * Set on a 2025-era call that streams: ask the client in-band
   * (`elicitation/create` on this call's SSE stream) and wait for its answer.
   */
  ask?: (request: ConfirmRequest, callId: string | number) => Promise<ConfirmResult>;
}

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
  "mobile-network metadata with the user's VertexSMS token. send_sms and lookup_hlr cost money: " +
  "check the price with get_sms_rates and confirm with the user before sending.";

/**
 * How long a client may treat `tools/list` and `server/discover` as fresh
 * (2026-07-28 cache hints): both change only when a new version is deployed,
 * so an hour bounds how long a client keeps the old list after an upgrade.
 */
export const LIST_TTL_MS = 3_600_000;

/** Key of the confirmation in `inputRequests` / `inputResponses`. */
const CONFIRM_KEY = "confirm";
/** The confirmation form: no fields, the user's action (accept, decline, cancel) is the answer. */
const CONFIRM_FORM: ElicitRequestFormParams["requestedSchema"] = { type: "object", properties: {} };
/** How long the user has to answer a confirmation (the round's `requestState` lifetime). */
const CONFIRM_TTL_SECONDS = 600;

/** A tool round that ends to ask the client for input (2026-07-28 multi-round-trip). */
class InputNeeded {
  constructor(readonly result: InputRequiredResult) {}
}

/** The `requestState` payload of a confirmation round. */
interface ConfirmState {
  /** The binding: caller and exact arguments. */
  d: string;
  /** The question's nonce: the receipt an "accept" to it is spent under, once. */
  n: string;
}

/** Whether the request's envelope declares form-mode elicitation (2026-07-28 only). */
function declaresFormElicitation(ctx: ServerContext): boolean {
  const envelope = ctx.mcpReq.envelope as Record<string, unknown> | undefined;
  const caps = envelope?.[CLIENT_CAPABILITIES_META_KEY] as ClientCapabilities | undefined;
  const elicitation = caps?.elicitation as { form?: unknown; url?: unknown } | undefined;
  // `{}` means form mode (the spec's backward-compatible default); `{ url }` alone does not.
  return elicitation !== undefined &&
    (elicitation.form !== undefined || elicitation.url === undefined);
}

/** Convert a zod schema to the JSON Schema `tools/list` advertises. */
function jsonSchema(schema: z.ZodType, io: "input" | "output"): Tool["inputSchema"] {
  const json = z.toJSONSchema(schema, { io, target: "draft-2020-12" }) as Record<string, unknown>;
  delete json.$schema;
  return { ...json, type: "object" } as Tool["inputSchema"];
}

/** Render zod issues as `details` entries naming each field. */
export function fieldIssues(error: z.ZodError): FieldIssue[] {
  return error.issues.map((issue) => ({
    path: issue.path.length > 0 ? issue.path.map(String).join(".") : "(arguments)",
    message: issue.message,
  }));
}

/** Build the `/mcp` endpoint for a fixed set of tools. */
export function createMcpEndpoint(options: McpEndpointOptions): McpEndpoint {
  patchSdk();
  const { tools, links, logger } = options;
  const byName = new Map(tools.map((tool) => [tool.name, tool]));
  // Each tool converted to JSON Schema once per process, when first listed or called (not at
  // start: the conversions took a tenth of the time to the first tools/call), so every
  // tools/list answers the same objects.
  const converted = new Map<string, Tool>();
  const described = (tool: AnyTool): Tool => {
    let listed = converted.get(tool.name);
    if (!listed) {
      converted.set(
        tool.name,
        listed = {
          name: tool.name,
          title: tool.title,
          description: tool.description,
          inputSchema: jsonSchema(tool.input, "input"),
          outputSchema: jsonSchema(tool.output, "output"),
          annotations: { title: tool.title, ...tool.annotations },
          // The MCP Apps review card (hosts without the extension ignore `_meta.ui`).
          ...(REVIEWED_TOOLS.has(tool.name) && { _meta: { ui: { resourceUri: REVIEW_CARD_URI } } }),
        },
      );
    }
    return listed;
  };
  const publicUrl = options.services.publicUrl;
  const cardResource = reviewCardResource(publicUrl);
  const cardRead = readReviewCard(publicUrl);
  // The `tools/list` results of one toolset, built once per toolset (its name set is shared by
  // its requests): the 2025 one, and the 2026 ones with their cache fields.
  const listsFor = new WeakMap<ReadonlySet<string>, ListResults>();
  let all: ListResults | undefined;
  const listsOf = (names: ReadonlySet<string> | undefined): ListResults => {
    if (names === undefined) return all ??= listResults(tools.map(described));
    let lists = listsFor.get(names);
    if (!lists) {
      listsFor.set(
        names,
        lists = listResults(tools.filter((t) => names.has(t.name)).map(described)),
      );
    }
    return lists;
  };
  const resourceList = { resources: [cardResource] };
  const resourceLists = {
    legacy: resourceList,
    modern: { ...resourceList, ...PUBLIC_CACHE },
  };
  const cardReads = { legacy: cardRead, modern: { ...cardRead, ...PUBLIC_CACHE } };
  const serverInfo = { name: options.name, version: options.version, ...options.identity };
  const stateKey = deriveKey(options.secret, "request-state");
  const stateCodec = memo(async () =>
    createRequestStateCodec<ConfirmState>({
      key: await stateKey(),
      ttlSeconds: CONFIRM_TTL_SECONDS,
    })
  );
  // Without `bind` (the binding is the payload's digest), `verify` never reads its context.
  // Only the spelling this server writes is taken (see `canonicalSignedState`).
  const verifyState = async (state: string, ctx: ServerContext) => {
    if (!canonicalSignedState(state)) throw new Error("requestState is not canonical");
    return await (await stateCodec()).verify(state, ctx);
  };

  /** `ctx.confirm` on a 2026-07-28 request whose client can be asked. */
  const confirmVia =
    (ctx: ServerContext) => async (ask: ConfirmRequest): Promise<ConfirmResult> => {
      // Verified by the SDK's requestState hook before the handler ran.
      const state = ctx.mcpReq.requestState<ConfirmState>();
      if (!ask.fresh && state?.d === ask.binding && typeof state.n === "string") {
        const answer = inputResponse(ctx.mcpReq.inputResponses, CONFIRM_KEY);
        if (answer.kind === "elicit") return { action: answer.action, receipt: state.n };
      }
      throw new InputNeeded(inputRequired({
        inputRequests: {
          [CONFIRM_KEY]: inputRequired.elicit({
            message: ask.message,
            requestedSchema: CONFIRM_FORM,
          }),
        },
        requestState: await (await stateCodec()).mint({ d: ask.binding, n: randomId() }),
      }));
    };

  const exchangeOf = (authInfo: AuthInfo | undefined): Exchange => {
    const exchange = authInfo?.extra?.exchange as Exchange | undefined;
    if (!exchange) throw new Error("MCP request without an exchange");
    return exchange;
  };

  const serverOptions = {
    capabilities: {
      tools: { listChanged: false },
      // The review card (MCP Apps): one resource, declared as the extension asks.
      resources: {},
      extensions: { [EXTENSION_ID]: {} },
    },
    instructions: INSTRUCTIONS,
    requestState: { verify: verifyState },
    // The cacheable results of our own handlers carry their cache fields themselves (see
    // `listResults`); the SDK's built-in `server/discover` takes them from here.
    cacheHints: { "server/discover": PUBLIC_CACHE },
  };

  const factory = ({ authInfo }: { authInfo?: AuthInfo }): Server => {
    const exchange = exchangeOf(authInfo);
    const allowed = exchange.toolset?.names;
    const server = new Server(serverInfo, serverOptions);
    // Only the handlers this request's messages name: the instance serves this request alone.
    const methods = authInfo?.extra?.methods as ReadonlySet<string> | undefined;
    const wanted = (method: string) => methods === undefined || methods.has(method);
    if (wanted("tools/list")) {
      const lists = listsOf(allowed);
      server.setRequestHandler(
        "tools/list",
        (_request, ctx) =>
          ctx.mcpReq.envelope === undefined
            ? lists.legacy
            : exchange.toolset?.narrowed
            ? lists.private
            : lists.public,
      );
    }
    if (wanted("resources/list")) {
      server.setRequestHandler(
        "resources/list",
        (_request, ctx) =>
          ctx.mcpReq.envelope === undefined ? resourceLists.legacy : resourceLists.modern,
      );
    }
    if (wanted("resources/read")) {
      server.setRequestHandler("resources/read", (request, ctx) => {
        if (request.params.uri !== REVIEW_CARD_URI) {
          throw new ResourceNotFoundError(request.params.uri.slice(0, 256));
        }
        return ctx.mcpReq.envelope === undefined ? cardReads.legacy : cardReads.modern;
      });
    }
    if (!wanted("tools/call")) return server;
    server.setRequestHandler("tools/call", async (request, ctx) => {
      const name = request.params.name;
      const tool = allowed === undefined || allowed.has(name) ? byName.get(name) : undefined;
      if (!tool) {
        // The SDK's own answer to an unknown name (McpServer), also for a tool of another URL.
        throw new ProtocolError(
          ProtocolErrorCode.InvalidParams,
          `Tool ${name.slice(0, 64)} not found`,
        );
      }
      exchange.record.tool = tool.name;
      const ask = exchange.ask;
      const confirm = declaresFormElicitation(ctx)
        ? confirmVia(ctx)
        : ask
        ? (question: ConfirmRequest) => ask(question, ctx.mcpReq.id)
        : undefined;
      const args = request.params.arguments;
      // The calls of one HTTP request (a batch) run one after another, so that once VertexSMS
      // rejects the token the others do not call it again.
      const turn = (exchange.queue ?? Promise.resolve()).catch(() => {})
        .then(() => callTool(tool, args, exchange, ctx.mcpReq.signal, confirm, clientNameOf(ctx)));
      exchange.queue = turn;
      const result = await turn;
      if (result instanceof InputNeeded) return result.result;
      return server.projectCallToolResult(result, described(tool).outputSchema);
    });
    return server;
  };

  const callTool = async (
    tool: AnyTool,
    args: unknown,
    exchange: Exchange,
    signal: AbortSignal,
    confirm: ToolContext["confirm"],
    clientName: string | undefined,
  ): Promise<CallToolResult | InputNeeded> => {
    const ctx: ToolContext = {
      vertex: options.vertex.as({
        token: exchange.token,
        requestId: exchange.requestId,
        signal,
        observe: (event: UpstreamEvent) => {
          if (event.status === null) return;
          exchange.record.upstreamStatus = event.status;
          if (event.status === 401) exchange.tokenVerdict = "rejected";
          else if (event.status < 500 && exchange.tokenVerdict === undefined) {
            exchange.tokenVerdict = "accepted";
          }
        },
      }),
      principal: exchange.principal,
      requestId: exchange.requestId,
      signal,
      services: options.services,
      idempotencyKey: exchange.idempotencyKey,
      confirm,
      clientName: clientName ?? (exchange.session?.claims.n || undefined),
    };
    try {
      if (exchange.tokenVerdict === "rejected" && exchange.httpFailure) {
        // An earlier call of this batch found the token rejected: do not try it again.
        throw exchange.httpFailure.error;
      }
      const poisoned = exchange.poisoned;
      if (poisoned !== undefined) {
        throw new ServiceError(
          "INVALID_INPUT",
          `Invalid arguments for ${tool.name}: ${poisoned}: unknown field`,
          { details: [{ path: poisoned, message: "unknown field" }] },
        );
      }
      const parsed = tool.input.safeParse(args ?? {});
      if (!parsed.success) {
        const details = fieldIssues(parsed.error);
        throw new ServiceError(
          "INVALID_INPUT",
          `Invalid arguments for ${tool.name}: ${
            details.map((d) => `${d.path}: ${d.message}`).join("; ")
          }`,
          { details },
        );
      }
      const output = await tool.handler(parsed.data, ctx);
      return {
        content: [{ type: "text", text: JSON.stringify(output) }],
        structuredContent: output as Record<string, unknown>,
      };
    } catch (thrown) {
      if (thrown instanceof InputNeeded) return thrown;
      const error = asServiceError(thrown);
      exchange.record.errorCode = error.code;
      if (error.code === "INTERNAL_ERROR") {
        logger.error("tool failed", {
          request_id: exchange.requestId,
          tool: tool.name,
          error: thrown instanceof Error ? `${thrown.name}: ${thrown.message}` : "non-error thrown",
        });
      }
      const scoped = error.facts.requiredScope !== undefined;
      if (error.code === "AUTH_INVALID" && (!scoped || options.scopeChallenge === "http")) {
        // The scope that was missing: usually the tool's, but a guard may read other routes.
        const scope = (error.facts.requiredScope as Scope | undefined) ?? tool.scope;
        exchange.httpFailure = { error, scope };
      }
      // A readable line first, the envelope second (see `readableLine`): the model of a
      // client that only shows the first block still reads the code and the message.
      return {
        content: [
          { type: "text", text: readableLine(error) },
          { type: "text", text: JSON.stringify(toEnvelope(error, exchange.requestId, links)) },
        ],
        isError: true,
      };
    }
  };

  // No `responseMode`: the default ("auto") answers one JSON body unless a handler sends a
  // related message before its result, which no tool here does, so the response is still
  // built only once the tool is done and an upstream 401 can still become HTTP 401.
  // (`responseMode: "json"` would do the same and print a warning at every start.)
  const modern = createMcpHandler(factory, {
    legacy: "reject",
    maxRequestBodySize: options.maxBodyBytes,
  });

  const legacy = async (request: Request, body: unknown, authInfo: AuthInfo) => {
    const exchange = exchangeOf(authInfo);
    const server = factory({ authInfo });
    // A client that declares form elicitation gets a self-contained session id at initialize:
    // only then can a later call ask it something.
    const init = initializeParams(body);
    const minted = init && declaresForm(init.capabilities?.elicitation)
      ? await options.sessions.mint(init)
      : undefined;
    const session = exchange.session;
    const streamed = session !== undefined && declaresForm(session.claims.el) &&
      REVIEWED_TOOLS.has(toolCalled(body) ?? "");
    const transport = new WebStandardStreamableHTTPServerTransport({
      // Only on initialize: the transport puts `Mcp-Session-Id` on its answer. On later requests
      // there is no generator, so it ignores the header (verified at the HTTP layer).
      sessionIdGenerator: minted === undefined ? undefined : () => minted,
      enableJsonResponse: !streamed,
      maxRequestBodySize: options.maxBodyBytes,
    });
    const hangUp = new AbortController();
    if (streamed) {
      exchange.ask = async (question, callId) => {
        const asked = await options.answers.open({
          session: session.id,
          principal: await exchange.principal(),
          call: String(callId),
        });
        try {
          // Our own id (unique across instances), on this call's stream (relatedRequestId).
          await transport.send({
            jsonrpc: "2.0",
            id: asked.id,
            method: "elicitation/create",
            params: { mode: "form", message: question.message, requestedSchema: CONFIRM_FORM },
          }, { relatedRequestId: callId });
          const reply = await asked.wait(CONFIRM_TTL_SECONDS * 1000, hangUp.signal);
          // The question's id is the answer's receipt: an answer counts for one send.
          return { action: actionOf(reply), receipt: asked.id };
        } finally {
          await asked.close();
        }
      };
    }
    await server.connect(transport);
    // No close(): with JSON responses the exchange is over once the response exists, and
    // nothing of this pair outlives it. Closing would only build a "Connection closed"
    // error (with its stack trace) per request for handlers that are already done.
    const response = await transport.handleRequest(request, { authInfo, parsedBody: body });
    return streamed ? await firstEventDecides(response, hangUp) : response;
  };

  return async (request, body, exchange) => {
    const authInfo: AuthInfo = {
      token: exchange.token,
      clientId: "bearer-pass-through",
      scopes: [],
      extra: { exchange, methods: methodsOf(body) },
    };
    return await isLegacy(request, body)
      ? await legacy(request, body, authInfo)
      : await modern.fetch(request, { authInfo, parsedBody: body });
  };
}

/** The request methods a body names (one message, or each of a batch). */
function methodsOf(body: unknown): ReadonlySet<string> {
  const methods = new Set<string>();
  for (const message of Array.isArray(body) ? body : [body]) {
    const method = (message as { method?: unknown } | null)?.method;
    if (typeof method === "string") methods.add(method);
  }
  return methods;
}

/** The `tools/list` results of one toolset, per era and cache scope. */
interface ListResults {
  legacy: { tools: Tool[] };
  public: { tools: Tool[]; ttlMs: number; cacheScope: "public" };
  private: { tools: Tool[]; ttlMs: number; cacheScope: "private" };
}

/** The same for every caller of a URL, so shared caches may keep them for {@link LIST_TTL_MS}. */
const PUBLIC_CACHE = { ttlMs: LIST_TTL_MS, cacheScope: "public" } as const;

/**
 * A toolset's `tools/list` results. On 2026-07-28 they carry their cache
 * fields: public, but private for a list narrowed by the `X-MCP-Tools`
 * header (it depends on a request header a cache key does not hold). Set by
 * the handler rather than the SDK's `cacheHints`, whose fallback reaches the
 * wire through a copy V8 keeps in dictionary mode: serializing a 20 KB list
 * under it took three times as long.
 */
function listResults(tools: Tool[]): ListResults {
  return {
    legacy: { tools },
    public: { tools, ...PUBLIC_CACHE },
    private: { tools, ttlMs: LIST_TTL_MS, cacheScope: "private" },
  };
}

/** `clientInfo.name` of a 2026-07-28 request's envelope. */
function clientNameOf(ctx: ServerContext): string | undefined {
  const envelope = ctx.mcpReq.envelope as Record<string, unknown> | undefined;
  const info = envelope?.[CLIENT_INFO_META_KEY] as { name?: unknown } | undefined;
  return typeof info?.name === "string" ? info.name.slice(0, 64) : undefined;
}

/** `initialize` params of a single 2025-era initialize request. */
function initializeParams(body: unknown) {
  const b = body as { method?: unknown; params?: Record<string, unknown> } | null;
  if (b === null || typeof b !== "object" || Array.isArray(b) || b.method !== "initialize") {
    return undefined;
  }
  const params = b.params ?? {};
  return {
    protocolVersion: params.protocolVersion,
    clientInfo: params.clientInfo,
    capabilities: params.capabilities as { elicitation?: unknown } | undefined,
  };
}

/** The tool a body calls, when it is a single `tools/call`. */
function toolCalled(body: unknown): string | undefined {
  const b = body as { method?: unknown; params?: { name?: unknown } } | null;
  const single = b !== null && typeof b === "object" && !Array.isArray(b);
  return single && b.method === "tools/call" && typeof b.params?.name === "string"
    ? b.params.name
    : undefined;
}

/** The user's action in an `elicitation/create` reply; anything else counts as cancel. */
function actionOf(reply: ElicitReply | null): ConfirmAnswer {
  if (!reply || !("result" in reply)) return "cancel";
  const action = reply.result?.action;
  return action === "accept" || action === "decline" ? action : "cancel";
}

/**
 * Hold a streamed (SSE) answer until its first event, which decides what the
 * HTTP response is:
 * - `elicitation/create`: the question is out; the stream is the answer (200,
 *   committed). Later failures can only be tool errors inside the stream.
 * - the call's own result (nothing was asked: the policy is off, or the token
 *   was rejected while pricing the question): a plain JSON response, so the
 *   HTTP layer may still turn an `AUTH_INVALID` into HTTP 401 as on the JSON
 *   path.
 * A client hanging up aborts `hangUp`: a pending question ends as cancelled.
 */
async function firstEventDecides(response: Response, hangUp: AbortController): Promise<Response> {
  if (!response.body || !response.headers.get("content-type")?.includes("text/event-stream")) {
    return response;
  }
  const reader = response.body.getReader();
  const held: Uint8Array[] = [];
  const decoder = new TextDecoder();
  let text = "";
  let first: { method?: string } | undefined;
  // Read whole events (they end with a blank line), however the stream is chunked.
  while (first === undefined) {
    const { value, done } = await reader.read();
    if (done) break;
    held.push(value);
    text += decoder.decode(value, { stream: true });
    for (let end = text.indexOf("\n\n"); end >= 0; end = text.indexOf("\n\n")) {
      const event = text.slice(0, end);
      text = text.slice(end + 2);
      const data = event.split("\n").filter((l) => l.startsWith("data:"))
        .map((l) => l.slice(5).trimStart()).join("\n");
      if (data) {
        first = JSON.parse(data);
        break;
      }
    }
  }
  if (first && first.method === undefined) {
    // The final result came first: nothing was asked. Answer with plain JSON.
    await reader.cancel().catch(() => {});
    const headers = new Headers(response.headers);
    headers.set("Content-Type", "application/json");
    for (const h of ["Cache-Control", "Connection", "X-Accel-Buffering"]) headers.delete(h);
    return new Response(JSON.stringify(first), { status: 200, headers });
  }
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of held) controller.enqueue(chunk);
    },
    async pull(controller) {
      const { value, done } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel(reason) {
      hangUp.abort();
      return reader.cancel(reason);
    },
  });
  return new Response(stream, { status: response.status, headers: response.headers });
}
