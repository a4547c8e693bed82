/**
 * Read and parse the JSON-RPC body of `POST /mcp` once: 415 for a wrong
 * content type, 413 over the limit (before parsing), 400 for invalid JSON.
 * The answers are the SDK's own JSON-RPC error bodies.
 */
import { isJsonContentType, readRequestBody } from "@modelcontextprotocol/server";
import type { Context, MiddlewareHandler } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { AppEnv, RpcBody } from "./types.ts";

/** A JSON-RPC error answered at HTTP level, shaped like the SDK's own. */
export function rpcError(
  c: Context<AppEnv>,
  status: ContentfulStatusCode,
  code: number,
  message: string,
  headers?: Record<string, string>,
): Response {
  return c.json({ jsonrpc: "2.0", error: { code, message }, id: null }, status, headers);
}

/**
 * The path of the first `__proto__` key a parsed body carries as its own
 * (JSON.parse makes one): parsers downstream drop it silently, and a dropped
 * field must not change what a call does (`{"__proto__": {"dryRun": true}}`
 * is not a dry run). Such a call is refused like any other unknown field.
 */
export function prototypeKey(value: unknown): string | undefined {
  // Iterative, with parent links: arguments may nest deeper than the call stack goes.
  interface Node {
    item: object;
    parent?: Node;
    key?: string;
  }
  const pathOf = (node: Node, last: string) => {
    const keys = [last];
    for (let n: Node | undefined = node; n?.key !== undefined; n = n.parent) keys.push(n.key);
    return keys.reverse().join(".");
  };
  if (value === null || typeof value !== "object") return undefined;
  const stack: Node[] = [{ item: value }];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (!Array.isArray(node.item) && Object.hasOwn(node.item, "__proto__")) {
      return pathOf(node, "__proto__");
    }
    for (const [key, child] of Object.entries(node.item)) {
      if (child !== null && typeof child === "object") {
        stack.push({ item: child, parent: node, key });
      }
    }
  }
  return undefined;
}

const METHOD_NAME = /^[A-Za-z][A-Za-z0-9_/]{0,63}$/;

/** Peek at method and tool name of a single JSON-RPC request. */
export function peekRpc(body: unknown): RpcBody {
  if (body === null || typeof body !== "object" || Array.isArray(body)) return { body };
  const { method, params } = body as { method?: unknown; params?: unknown };
  const out: RpcBody = { body };
  if (typeof method === "string") out.method = METHOD_NAME.test(method) ? method : "(invalid)";
  if (out.method === "tools/call" && params && typeof params === "object") {
    const name = (params as { name?: unknown }).name;
    if (typeof name === "string") out.tool = name.slice(0, 64);
    out.poisoned = prototypeKey((params as { arguments?: unknown }).arguments);
  }
  return out;
}

/** Parse the body into `c.get("rpc")`, or answer 413/415/400. */
export function rpcBody(maxBytes: number): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (!isJsonContentType(c.req.header("content-type") ?? null)) {
      return rpcError(
        c,
        415,
        -32000,
        "Unsupported Media Type: Content-Type must be application/json",
      );
    }
    let text: string;
    try {
      const declared = Number(c.req.header("content-length") ?? NaN);
      // Fast path: a declared length within the limit is read in one go (Deno takes the
      // whole body at once); otherwise the SDK's reader stops as soon as the limit is passed.
      const read = Number.isInteger(declared) && declared <= maxBytes
        ? { tooLarge: false as const, text: await c.req.raw.text() }
        : await readRequestBody(c.req.raw, maxBytes);
      if (read.tooLarge || read.text.length > maxBytes) {
        return rpcError(
          c,
          413,
          -32000,
          `Payload Too Large: Request body must not exceed ${maxBytes} bytes`,
        );
      }
      text = read.text;
    } catch {
      return rpcError(c, 400, -32700, "Parse error: the request body could not be read");
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return rpcError(c, 400, -32700, "Parse error: the request body is not valid JSON");
    }
    const rpc = peekRpc(body);
    if (rpc.poisoned === undefined && prototypeKey(body) !== undefined) {
      // A `__proto__` key elsewhere than a single call's arguments: refuse the whole request.
      return rpcError(c, 400, -32602, "Invalid params: __proto__ keys are not accepted");
    }
    c.set("rpc", rpc);
    // The tool name is logged only once the MCP layer knows it is one of ours.
    c.get("record").rpcMethod = rpc.method;
    await next();
  };
}
