/**
 * `tools/call`: find the tool (within the request's toolset), build its
 * context, validate the arguments with the tool's zod schema (our
 * `INVALID_INPUT` envelope), run the handler, and map any failure to the
 * envelope in one place. The calls of one HTTP request (a JSON-RPC batch)
 * run one after another, so that once VertexSMS rejects the token the others
 * do not call it again.
 */
import {
  type CallToolResult,
  CLIENT_INFO_META_KEY,
  type InputRequiredResult,
  ProtocolError,
  ProtocolErrorCode,
  type Server,
  type ServerContext,
} from "@modelcontextprotocol/server";
import type { z } from "zod";
import {
  asServiceError,
  type AuthLinks,
  type FieldIssue,
  readableLine,
  ServiceError,
  toEnvelope,
} from "../../core/errors.ts";
import type { Logger } from "../../core/log.ts";
import type { Scope } from "../../core/scopes.ts";
import type { AnyTool, ToolContext, ToolServices } from "../../tools/mod.ts";
import type { UpstreamEvent, VertexClient } from "../../vertex/mod.ts";
import { InputNeeded } from "./confirm_round.ts";
import type { Exchange } from "./exchange.ts";
import type { Listing } from "./listing.ts";

/** What running a tool needs, given once at start-up. */
export interface DispatchOptions {
  tools: readonly AnyTool[];
  listing: Listing;
  services: ToolServices;
  vertex: VertexClient;
  links: AuthLinks;
  scopeChallenge: "tool" | "http";
  logger: Logger;
}

/** The parts of one call that depend on its request. */
interface Call {
  exchange: Exchange;
  signal: AbortSignal;
  confirm: ToolContext["confirm"];
  clientName: string | undefined;
}

/** Render zod issues as `details` entries naming each field. */
export function fieldIssues(error: z.ZodError): FieldIssue[] {
  return error.issues.map((issue) => ({
    path: issue.path.length > 0 ? issue.path.map(String).join(".") : "(arguments)",
    message: issue.message,
  }));
}

/** Runs the tools for `tools/call`. */
export class Dispatch {
  readonly #options: DispatchOptions;
  readonly #byName: Map<string, AnyTool>;

  constructor(options: DispatchOptions) {
    this.#options = options;
    this.#byName = new Map(options.tools.map((tool) => [tool.name, tool]));
  }

  /** The `tools/call` handler of one request's `server`; `confirm` picks how it may ask the user. */
  handler(
    server: Server,
    exchange: Exchange,
    confirm: (ctx: ServerContext) => ToolContext["confirm"],
  ) {
    return async (
      request: { params: { name: string; arguments?: Record<string, unknown> } },
      ctx: ServerContext,
    ): Promise<CallToolResult | InputRequiredResult> => {
      const tool = this.#find(request.params.name, exchange.toolset?.names);
      exchange.record.tool = tool.name;
      const call = {
        exchange,
        signal: ctx.mcpReq.signal,
        confirm: confirm(ctx),
        clientName: clientNameOf(ctx),
      };
      const args = request.params.arguments;
      const turn = (exchange.queue ?? Promise.resolve()).catch(() => {})
        .then(() => this.#run(tool, args, call));
      exchange.queue = turn;
      const result = await turn;
      if (result instanceof InputNeeded) return result.result;
      return server.projectCallToolResult(
        result,
        this.#options.listing.described(tool).outputSchema,
      );
    };
  }

  /** The tool of `name`, if the request's toolset (all when absent) holds it. */
  #find(name: string, allowed: ReadonlySet<string> | undefined): AnyTool {
    const tool = allowed === undefined || allowed.has(name) ? this.#byName.get(name) : undefined;
    // The SDK's own answer to an unknown name (McpServer), also for a tool of another URL.
    if (!tool) {
      throw new ProtocolError(
        ProtocolErrorCode.InvalidParams,
        `Tool ${name.slice(0, 64)} not found`,
      );
    }
    return tool;
  }

  /** One call: its result, its failure as the envelope, or the question that ends its round. */
  async #run(tool: AnyTool, args: unknown, call: Call): Promise<CallToolResult | InputNeeded> {
    try {
      const { exchange } = call;
      if (exchange.tokenVerdict === "rejected" && exchange.httpFailure) {
        // An earlier call of this batch found the token rejected: do not try it again.
        throw exchange.httpFailure.error;
      }
      const output = await tool.handler(validArguments(tool, args, exchange), this.#context(call));
      return {
        content: [{ type: "text", text: JSON.stringify(output) }],
        structuredContent: output as Record<string, unknown>,
      };
    } catch (thrown) {
      if (thrown instanceof InputNeeded) return thrown;
      return this.#failure(tool, thrown, call.exchange);
    }
  }

  /** The tool's context: VertexSMS as the caller (its answers judge the token), services, asking. */
  #context({ exchange, signal, confirm, clientName }: Call): ToolContext {
    return {
      vertex: this.#options.vertex.as({
        token: exchange.token,
        requestId: exchange.requestId,
        signal,
        observe: (event: UpstreamEvent) => {
          if (event.cause !== undefined) exchange.record.upstreamError = event.cause;
          if (event.status === null) return;
          exchange.record.upstreamStatus = event.status;
          const before = exchange.tokenVerdict;
          if (event.status === 401) exchange.tokenVerdict = "rejected";
          else if (event.status < 500 && before === undefined) exchange.tokenVerdict = "accepted";
          if (exchange.tokenVerdict !== before) exchange.onTokenVerdict?.(exchange.tokenVerdict!);
        },
      }),
      principal: exchange.principal,
      requestId: exchange.requestId,
      signal,
      services: this.#options.services,
      idempotencyKey: exchange.idempotencyKey,
      confirm,
      clientName: clientName ?? (exchange.session?.claims.n || undefined),
    };
  }

  /** A failure as the tool result clients read; an HTTP-level one is noted on the exchange. */
  #failure(tool: AnyTool, thrown: unknown, exchange: Exchange): CallToolResult {
    const error = asServiceError(thrown);
    exchange.record.errorCode = error.code;
    if (error.code === "INTERNAL_ERROR") {
      this.#options.logger.error("tool failed", {
        request_id: exchange.requestId,
        tool: tool.name,
        error: thrown instanceof Error ? `${thrown.name}: ${thrown.message}` : "non-error thrown",
      });
    }
    const scoped = error.facts.requiredScope !== undefined;
    if (error.code === "AUTH_INVALID" && (!scoped || this.#options.scopeChallenge === "http")) {
      // The scope that was missing: usually the tool's, but a guard may read other routes.
      const scope = (error.facts.requiredScope as Scope | undefined) ?? tool.scope;
      exchange.httpFailure = { error, scope };
    }
    // A readable line first, the envelope second (see `readableLine`): the model of a
    // client that only shows the first block still reads the code and the message.
    return {
      content: [
        { type: "text", text: readableLine(error) },
        {
          type: "text",
          text: JSON.stringify(toEnvelope(error, exchange.requestId, this.#options.links)),
        },
      ],
      isError: true,
    };
  }
}

/** The call's arguments, parsed by the tool's schema; `INVALID_INPUT` naming each bad field. */
function validArguments(tool: AnyTool, args: unknown, exchange: Exchange): unknown {
  const poisoned = exchange.poisoned;
  if (poisoned !== undefined) {
    throw new ServiceError(
      "INVALID_INPUT",
      `Invalid arguments for ${tool.name}: ${poisoned}: unknown field`,
      { details: [{ path: poisoned, message: "unknown field" }] },
    );
  }
  const parsed = tool.input.safeParse(args ?? {});
  if (parsed.success) return parsed.data;
  const details = fieldIssues(parsed.error);
  throw new ServiceError(
    "INVALID_INPUT",
    `Invalid arguments for ${tool.name}: ${
      details.map((d) => `${d.path}: ${d.message}`).join("; ")
    }`,
    { details },
  );
}

/** `clientInfo.name` of a 2026-07-28 request's envelope. */
function clientNameOf(ctx: ServerContext): string | undefined {
  const envelope = ctx.mcpReq.envelope as Record<string, unknown> | undefined;
  const info = envelope?.[CLIENT_INFO_META_KEY] as { name?: unknown } | undefined;
  return typeof info?.name === "string" ? info.name.slice(0, 64) : undefined;
}
