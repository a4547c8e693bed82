/**
 * The conformance harness: starts the fake VertexSMS and the server in
 * process on ephemeral loopback ports, and connects real MCP clients to it —
 * the v1 SDK client (2025-era protocol) and the v2 client pinned to
 * 2026-07-28.
 */
import { Client as V2Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
// @ts-types="@modelcontextprotocol/sdk/client/index"
import { Client as V1Client } from "@modelcontextprotocol/sdk/client/index.js";
// @ts-types="@modelcontextprotocol/sdk/types"
import { ElicitRequestSchema as V1ElicitRequest } from "@modelcontextprotocol/sdk/types.js";
// @ts-types="@modelcontextprotocol/sdk/client/streamableHttp"
import { StreamableHTTPClientTransport as V1Transport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import assert from "node:assert/strict";
import { Logger } from "../core/log.ts";
import { type RunningServer, startServer } from "../server/mod.ts";
import { kvState, memoryState, redisState, type SharedState, type Store } from "../state/mod.ts";
import { TOOLS } from "../tools/mod.ts";
import type { AnyTool } from "../tools/mod.ts";
import { DEMO_TOKENS, type FakeOptions, type FakeVertex, startFake } from "./fake/mod.ts";
import { consoleLines, findLeaks, type LeakReport, type Secret, secretsOf } from "./leaks.ts";
import { type RedisServer, redisTest, startRedis } from "./redis.ts";

export { DEMO_TOKENS };

/** The modern protocol revision the v2 client is pinned to. */
export const MODERN = "2026-07-28";

/** A fake and a server, wired together. */
export interface Harness {
  fake: FakeVertex;
  server: RunningServer;
  /** `<base>/mcp` */
  mcpUrl: string;
  /** Every log line the server wrote. */
  logs: string[];
  /**
   * Scan the server's log lines, and everything printed to the console since
   * the harness started, for the fake's secrets (see `leaks.ts`) and `extra`.
   */
  scan(extra?: Iterable<Secret>): LeakReport;
  /** Stop the server (and the fake it started); throws when the scan finds a leak. */
  close(): Promise<void>;
}

/** Options of {@link startHarness}. */
export interface HarnessOptions {
  /** Extra environment for the server (`VERTEXSMS_API_URL` defaults to the fake). */
  env?: Record<string, string>;
  /** Use this fake instead of starting one (it is then not shut down by `close`). */
  fake?: FakeVertex;
  fakeOptions?: FakeOptions;
  kv?: Deno.Kv | null;
  /** The money guards' store (default: on `kv`, or in memory). */
  store?: Store;
  /** The whole shared state (instead of `kv` and `store`). */
  state?: SharedState;
  tools?: readonly AnyTool[];
}

/** Start a fake (unless given) and a server pointed at it. */
export function startHarness(options: HarnessOptions = {}): Harness {
  const ownFake = options.fake === undefined;
  const fake = options.fake ?? startFake(options.fakeOptions);
  const logs: string[] = [];
  const printed = consoleLines();
  const printedFrom = printed.length;
  const server = startServer({
    env: {
      PORT: "0",
      BIND_HOST: "127.0.0.1",
      VERTEXSMS_API_URL: fake.url,
      LOG_LEVEL: "debug",
      ...options.env,
    },
    tools: options.tools ?? TOOLS,
    logger: new Logger("debug", (line) => logs.push(line)),
    state: options.state ??
      (options.kv ? kvState(options.kv, options.store) : memoryState(options.store)),
  });
  const scan = (extra: Iterable<Secret> = []) =>
    findLeaks([...logs, ...printed.slice(printedFrom)], [...secretsOf(fake), ...extra]);
  return {
    fake,
    server,
    mcpUrl: `${server.url}/mcp`,
    logs,
    scan,
    close: async () => {
      await server.shutdown();
      if (ownFake) await fake.shutdown();
      const { leaks } = scan();
      if (leaks.length > 0) {
        throw new Error(
          `${leaks.length} secret(s) in the logs:\n` +
            leaks.map((l) => `  ${l.kind} ${l.hint}: ${l.line}`).join("\n"),
        );
      }
    },
  };
}

/** Where two instances share their state: one Deno KV file, or one Redis server. */
export type Backend = "kv" | "redis";

/**
 * The shared backends, each with the `Deno.test` to register its runs with
 * (Redis runs are ignored, loudly, where `redis-server` is not installed).
 */
export const SHARED_BACKENDS: readonly {
  backend: Backend;
  test: (name: string, fn: () => Promise<void>) => void;
}[] = [
  { backend: "kv", test: (name, fn) => Deno.test(name, fn) },
  { backend: "redis", test: redisTest },
];

/** Two server instances on one fake and one shared state, as behind a load balancer. */
export interface Pair {
  fake: FakeVertex;
  a: Harness;
  b: Harness;
  backend: Backend;
  /** The shared KV file (`""` with Redis). */
  path: string;
  /** The shared Redis server (with Redis). */
  redis?: RedisServer;
  close(): Promise<void>;
}

/**
 * Start instances B then A, sharing a fake and a fresh state (a KV file, or
 * a Redis server of their own); `envA` may derive A's extra environment from
 * B (e.g. `PUBLIC_URL` pointing at B).
 */
export async function startPair(
  env: Record<string, string> = {},
  envA: (b: Harness) => Record<string, string> = () => ({}),
  backend: Backend = "kv",
): Promise<Pair> {
  let path = "";
  let redis: RedisServer | undefined;
  let stateA: SharedState;
  let stateB: SharedState;
  let release: () => Promise<void>;
  if (backend === "redis") {
    const server = redis = await startRedis();
    stateA = await redisState({ url: server.url, pollMs: 100 });
    stateB = await redisState({ url: server.url, pollMs: 100 });
    release = async () => {
      await stateA.close();
      await stateB.close();
      await server.close();
    };
  } else {
    const file = path = await Deno.makeTempFile({ suffix: ".sqlite" });
    const kvA = await Deno.openKv(file);
    const kvB = await Deno.openKv(file);
    stateA = kvState(kvA);
    stateB = kvState(kvB);
    release = async () => {
      kvA.close();
      kvB.close();
      await Deno.remove(file).catch(() => {});
    };
  }
  const fake = startFake();
  const b = startHarness({ fake, state: stateB, env });
  const a = startHarness({ fake, state: stateA, env: { ...env, ...envA(b) } });
  return {
    fake,
    a,
    b,
    backend,
    path,
    redis,
    close: async () => {
      await a.close();
      await b.close();
      await fake.shutdown();
      await release();
    },
  };
}

/** A connected client of either era, with the calls the suite uses. */
export interface Connected {
  era: "2025" | "2026";
  client: {
    // deno-lint-ignore no-explicit-any
    callTool(params: any): Promise<any>;
    // deno-lint-ignore no-explicit-any
    listTools(): Promise<any>;
    /** `serverInfo`, as `initialize` (2025) or `server/discover` (2026) gave it. */
    getServerVersion(): Record<string, unknown> | undefined;
  };
  close(): Promise<void>;
}

/** The user's side of an elicitation, as a test plays it. */
export type ElicitationAnswer = { action: "accept" | "decline" | "cancel" };

/** Optional client behaviour for {@link connectV1} and {@link connectV2}. */
export interface ConnectOptions {
  /** Extra HTTP headers on every request (e.g. `Idempotency-Key`). */
  headers?: Record<string, string>;
  /** Declare form elicitation and answer every `elicitation/create` with this. */
  elicitation?: (params: { message: string }) => ElicitationAnswer;
  /** The transport's fetch (e.g. {@link recordingFetch}, or a load balancer between instances). */
  fetch?: typeof fetch;
}

/** `requestInit` sending `Authorization: Bearer <token>` (none for `null`) and extra headers. */
function bearer(token: string | null, headers: Record<string, string> = {}): RequestInit {
  return { headers: token === null ? headers : { Authorization: `Bearer ${token}`, ...headers } };
}

/** Connect the v1 SDK client (2025-era protocol) with a bearer token (`null`: none). */
export async function connectV1(
  mcpUrl: string,
  token: string | null,
  options: ConnectOptions = {},
): Promise<Connected> {
  const client = new V1Client(
    { name: "conformance-v1", version: "1.0.0" },
    options.elicitation ? { capabilities: { elicitation: { form: {} } } } : undefined,
  );
  const answer = options.elicitation;
  if (answer) {
    client.setRequestHandler(V1ElicitRequest, (request) => answer(request.params));
  }
  const transport = new V1Transport(new URL(mcpUrl), {
    requestInit: bearer(token, options.headers),
    fetch: options.fetch,
  });
  await client.connect(transport);
  return { era: "2025", client, close: () => client.close() };
}

/** Connect the v2 client pinned to 2026-07-28 with a bearer token (`null`: none). */
export async function connectV2(
  mcpUrl: string,
  token: string | null,
  options: ConnectOptions = {},
): Promise<Connected> {
  const client = new V2Client(
    { name: "conformance-v2", version: "1.0.0" },
    {
      versionNegotiation: { mode: { pin: MODERN } },
      ...(options.elicitation ? { capabilities: { elicitation: { form: {} } } } : {}),
    },
  );
  const answer = options.elicitation;
  if (answer) {
    client.setRequestHandler("elicitation/create", (request) => answer(request.params));
  }
  const transport = new StreamableHTTPClientTransport(new URL(mcpUrl), {
    requestInit: bearer(token, options.headers),
    fetch: options.fetch,
  });
  await client.connect(transport);
  return { era: "2026", client, close: () => client.close() };
}

/** Both eras, for tests that run once per client. */
export const CLIENTS = [
  { era: "2025", connect: connectV1 },
  { era: "2026", connect: connectV2 },
] as const;

/** One HTTP exchange a client made, as the wire carried it. */
export interface WireExchange {
  method: string;
  url: string;
  requestHeaders: Headers;
  requestBody: string;
  status: number;
  headers: Headers;
  /** The response body as text (read from a clone; the client reads the original). */
  body: string;
}

/** A fetch for a client's transport that records every exchange it carries. */
export interface RecordingFetch {
  fetch: typeof fetch;
  exchanges: WireExchange[];
  /** The latest exchange (throws when there is none). */
  last(): WireExchange;
}

/** Record what a real client sends and receives, without changing either. */
export function recordingFetch(): RecordingFetch {
  const exchanges: WireExchange[] = [];
  const recording = async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    const requestBody = await request.clone().text();
    const response = await fetch(request);
    exchanges.push({
      method: request.method,
      url: request.url,
      requestHeaders: request.headers,
      requestBody,
      status: response.status,
      headers: response.headers,
      body: await response.clone().text(),
    });
    return response;
  };
  return {
    fetch: recording as typeof fetch,
    exchanges,
    last: () => {
      const exchange = exchanges.at(-1);
      if (!exchange) throw new Error("no exchange recorded");
      return exchange;
    },
  };
}

/** Raw JSON-RPC POST to `/mcp` (2025-era headers unless overridden). */
export function rpc(
  mcpUrl: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(mcpUrl, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      "Accept": "application/json, text/event-stream",
      ...headers,
    },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** What a raw 2026-07-28 call may add to the v2 client's defaults. */
export interface ModernCallOptions {
  /** `clientCapabilities` of the envelope (default none). */
  capabilities?: Record<string, unknown>;
  /** More `params` (`requestState`, `inputResponses`). */
  params?: Record<string, unknown>;
}

/** A 2026-07-28 `tools/call` as the v2 client sends it (headers and `_meta`). */
export function modernCall(
  mcpUrl: string,
  name: string,
  args: unknown,
  headers: Record<string, string> = {},
  options: ModernCallOptions = {},
): Promise<Response> {
  return rpc(mcpUrl, {
    jsonrpc: "2.0",
    id: 1,
    method: "tools/call",
    params: {
      name,
      arguments: args,
      _meta: {
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientInfo": { name: "raw", version: "1.0.0" },
        "io.modelcontextprotocol/clientCapabilities": options.capabilities ?? {},
      },
      ...options.params,
    },
  }, {
    "MCP-Protocol-Version": MODERN,
    "Mcp-Method": "tools/call",
    "Mcp-Name": name,
    ...headers,
  });
}

/** A 2025-era `tools/call` over raw HTTP (no session, no protocol header). */
export function legacyCall(
  mcpUrl: string,
  name: string,
  args: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  return rpc(mcpUrl, {
    jsonrpc: "2.0",
    id: 1,
    method: "tools/call",
    params: { name, arguments: args },
  }, headers);
}

/** The JSON-RPC `result` of a 200 answer (fails on any other status). */
export async function resultOf(res: Response | Promise<Response>) {
  const answer = await res;
  if (answer.status !== 200) {
    throw new Error(`HTTP ${answer.status}: ${(await answer.text()).slice(0, 300)}`);
  }
  // deno-lint-ignore no-explicit-any
  return (await answer.json()).result as any;
}

/** A tool result as it travels, of either SDK. */
export interface ToolResultLike {
  content?: { type: string; text?: string }[];
  structuredContent?: unknown;
  isError?: boolean;
}

/**
 * What Gemini CLI (0.61.0, `fixStructuredContent` in its MCP transport) puts
 * into `structuredContent` before its SDK sees the result: when the result has
 * none, `JSON.parse` of the first content block if that is text and parses.
 * Its SDK then validates that value against the tool's `outputSchema` even on
 * `isError`, and replaces the whole result with an MCP error -32602, so the
 * model never reads the tool's error. `undefined`: Gemini leaves it alone.
 */
export function geminiStructuredContent(result: ToolResultLike): unknown {
  if (result.structuredContent !== undefined && result.structuredContent !== null) {
    return result.structuredContent;
  }
  const first = result.content?.[0];
  if (first?.type !== "text" || typeof first.text !== "string") return undefined;
  try {
    return JSON.parse(first.text);
  } catch {
    return undefined;
  }
}

/**
 * Check the shape of an `isError` tool result: no `structuredContent`, a
 * first text block that is one readable line (`Error <CODE>: <message>`) and
 * that Gemini CLI cannot turn into `structuredContent`, then the envelope as
 * JSON text. Returns the envelope's `error` object; throws on any other shape.
 */
export function checkErrorResult(result: ToolResultLike): Record<string, unknown> {
  assert.equal(result.isError, true, "an isError result");
  assert.equal(result.structuredContent, undefined, "no structuredContent on an error");
  const texts = (result.content ?? []).map((c) => c.type === "text" ? c.text : undefined);
  assert.equal(texts.length, 2, "two content blocks: a readable line, then the envelope");
  const [line, json] = texts;
  assert.ok(typeof line === "string" && typeof json === "string", "both blocks are text");
  const error = JSON.parse(json).error as Record<string, unknown>;
  const message = String(error.message).replace(/\s+/g, " ").trim();
  assert.equal(line, `Error ${error.code}: ${message}`, "the first block is the readable line");
  assert.equal(
    geminiStructuredContent(result),
    undefined,
    "Gemini CLI would copy the first block into structuredContent and reject the result",
  );
  return error;
}

/** The error envelope inside an `isError` tool result (its shape checked: {@link checkErrorResult}). */
export function envelopeOf(result: ToolResultLike): Record<string, unknown> {
  return checkErrorResult(result);
}

/** The HTTP status an SDK client error carries (v1: `code`; v2: `status`). */
export function httpStatusOf(error: unknown): number | undefined {
  const e = error as { status?: unknown; code?: unknown; data?: { status?: unknown } };
  for (const value of [e?.status, e?.data?.status, e?.code]) {
    if (typeof value === "number" && value >= 100 && value < 600) return value;
  }
  return undefined;
}
