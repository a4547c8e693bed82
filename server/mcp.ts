/**
 * The MCP endpoint: both protocol eras, stateless, from one set of tool
 * declarations.
 *
 * - 2026-07-28 requests go to the SDK's strict modern handler
 *   (`createMcpHandler`, `legacy: "reject"`, JSON responses).
 * - 2025-era requests (classified by the SDK's own `isLegacyRequest`) go to a
 *   fresh stateless `WebStandardStreamableHTTPServerTransport` with JSON
 *   responses. The SDK's built-in fallback would answer with SSE, committing
 *   HTTP 200 before the tool runs; with JSON, the response is only built once
 *   the tool is done, so an upstream 401 can still become an HTTP 401.
 *
 * Each request builds a low-level `Server` with two handlers: `tools/list`
 * answers a list converted to JSON Schema once per process, and `tools/call`
 * validates with the tool's zod schema (our `INVALID_INPUT` envelope), runs
 * the handler and maps any failure to the envelope in one place.
 */
import {
  type AuthInfo,
  type CallToolResult,
  createMcpHandler,
  isLegacyRequest,
  ProtocolError,
  ProtocolErrorCode,
  Server,
  type Tool,
  WebStandardStreamableHTTPServerTransport,
} from "@modelcontextprotocol/server";
import { z } from "zod";
import type { AnyTool, Scope, ToolContext, ToolServices } from "../tools/define.ts";
import {
  asServiceError,
  type AuthLinks,
  type FieldIssue,
  ServiceError,
  toEnvelope,
} from "./errors.ts";
import type { Logger } from "./log.ts";
import type { PrincipalHasher } from "./principal.ts";
import type { UpstreamEvent, VertexClient } from "./vertex.ts";

/** What the HTTP layer records about one request for its log line. */
export interface RequestRecord {
  rpcMethod?: string;
  tool?: string;
  errorCode?: string;
  upstreamStatus?: number;
}

/** One `/mcp` exchange, as the HTTP layer hands it over. */
export interface Exchange {
  token: string;
  requestId: string;
  record: RequestRecord;
  /** Set by a tool call whose failure must be answered at HTTP level. */
  httpFailure?: { error: ServiceError; scope: Scope };
}

/** Everything the endpoint needs, given once at start-up. */
export interface McpEndpointOptions {
  name: string;
  version: string;
  tools: readonly AnyTool[];
  services: ToolServices;
  vertex: VertexClient;
  principal: PrincipalHasher;
  links: AuthLinks;
  scopeChallenge: "tool" | "http";
  maxBodyBytes: number;
  logger: Logger;
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
  const { tools, links, logger } = options;
  const byName = new Map(tools.map((tool) => [tool.name, tool]));
  // Converted once per process: every tools/list answers the same objects.
  const listed: Tool[] = tools.map((tool) => ({
    name: tool.name,
    title: tool.title,
    description: tool.description,
    inputSchema: jsonSchema(tool.input, "input"),
    outputSchema: jsonSchema(tool.output, "output"),
    annotations: { title: tool.title, ...tool.annotations },
  }));
  const outputJson = new Map(listed.map((t) => [t.name, t.outputSchema]));
  const serverInfo = { name: options.name, version: options.version };

  const exchangeOf = (authInfo: AuthInfo | undefined): Exchange => {
    const exchange = authInfo?.extra?.exchange as Exchange | undefined;
    if (!exchange) throw new Error("MCP request without an exchange");
    return exchange;
  };

  const factory = ({ authInfo }: { authInfo?: AuthInfo }): Server => {
    const exchange = exchangeOf(authInfo);
    const server = new Server(serverInfo, {
      capabilities: { tools: { listChanged: false } },
      instructions: INSTRUCTIONS,
    });
    server.setRequestHandler("tools/list", () => ({ tools: listed }));
    server.setRequestHandler("tools/call", async (request, ctx) => {
      const tool = byName.get(request.params.name);
      if (!tool) {
        throw new ProtocolError(
          ProtocolErrorCode.InvalidParams,
          `Unknown tool: ${request.params.name.slice(0, 64)}`,
        );
      }
      exchange.record.tool = tool.name;
      const result = await callTool(tool, request.params.arguments, exchange, ctx.mcpReq.signal);
      return server.projectCallToolResult(result, outputJson.get(tool.name));
    });
    return server;
  };

  const callTool = async (
    tool: AnyTool,
    args: unknown,
    exchange: Exchange,
    signal: AbortSignal,
  ): Promise<CallToolResult> => {
    let principal: string | undefined;
    const ctx: ToolContext = {
      vertex: options.vertex.as({
        token: exchange.token,
        requestId: exchange.requestId,
        signal,
        observe: (event: UpstreamEvent) => {
          if (event.status !== null) exchange.record.upstreamStatus = event.status;
        },
      }),
      principal: () => Promise.resolve(principal ??= options.principal(exchange.token)),
      requestId: exchange.requestId,
      signal,
      services: options.services,
    };
    try {
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
        exchange.httpFailure = { error, scope: tool.scope };
      }
      return {
        content: [{
          type: "text",
          text: JSON.stringify(toEnvelope(error, exchange.requestId, links)),
        }],
        isError: true,
      };
    }
  };

  const modern = createMcpHandler(factory, {
    legacy: "reject",
    responseMode: "json",
    maxRequestBodySize: options.maxBodyBytes,
  });

  const legacy = async (request: Request, body: unknown, authInfo: AuthInfo) => {
    const server = factory({ authInfo });
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
      maxRequestBodySize: options.maxBodyBytes,
    });
    await server.connect(transport);
    // No close(): with JSON responses the exchange is over once the response exists, and
    // nothing of this pair outlives it. Closing would only build a "Connection closed"
    // error (with its stack trace) per request for handlers that are already done.
    return await transport.handleRequest(request, { authInfo, parsedBody: body });
  };

  return async (request, body, exchange) => {
    const authInfo: AuthInfo = {
      token: exchange.token,
      clientId: "bearer-pass-through",
      scopes: [],
      extra: { exchange },
    };
    return await isLegacyRequest(request, body)
      ? await legacy(request, body, authInfo)
      : await modern.fetch(request, { authInfo, parsedBody: body });
  };
}
