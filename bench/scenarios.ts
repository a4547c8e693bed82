import { TOOLS } from "../tools/mod.ts";

/**
 * The MCP requests the benchmarks send, as the SDK clients send them: the
 * 2025 era (`MCP-Protocol-Version: 2025-11-25`, no envelope) and 2026-07-28
 * (the `Mcp-Method` / `Mcp-Name` headers and the `_meta` envelope). Each
 * comes with the check its every response must pass.
 */

/** The two protocol eras. */
export type Era = "2025" | "2026";

/** The 2026-07-28 revision. */
export const MODERN = "2026-07-28";
/** The 2025-era revision the v1 SDK client sends. */
export const LEGACY = "2025-11-25";

/** How one response is judged. */
export type Verdict = "ok" | "tool-error" | "wrong";

/** One kind of request: where it goes, what it sends, how its answers are judged. */
export interface Scenario {
  url: string;
  method?: "GET" | "POST";
  headers?: Record<string, string>;
  /** The body for JSON-RPC id `id`; omitted for GET. */
  body?: (id: number) => string;
  /** Classify one response body. */
  check: (status: number, body: string) => Verdict;
}

/** A scenario of this server, named `<what>-<era>`. */
export interface McpScenario extends Scenario {
  id: string;
  what: "rates" | "send" | "list";
  era: Era;
  body: (id: number) => string;
}

/** The body of a request of `era` with JSON-RPC id `id`. */
export function rpcBody(era: Era, method: string, params: Record<string, unknown>) {
  return (id: number): string =>
    JSON.stringify({
      jsonrpc: "2.0",
      id,
      method,
      params: era === "2026"
        ? {
          ...params,
          _meta: {
            "io.modelcontextprotocol/protocolVersion": MODERN,
            "io.modelcontextprotocol/clientInfo": { name: "bench", version: "1.0.0" },
            "io.modelcontextprotocol/clientCapabilities": {},
          },
        }
        : params,
    });
}

/** The headers of a request of `era` (with a bearer token). */
export function eraHeaders(
  era: Era,
  token: string,
  method: string,
  name?: string,
): Record<string, string> {
  const common = {
    "Content-Type": "application/json",
    "Accept": "application/json, text/event-stream",
    "Authorization": `Bearer ${token}`,
  };
  return era === "2026"
    ? {
      ...common,
      "MCP-Protocol-Version": MODERN,
      "Mcp-Method": method,
      ...(name && { "Mcp-Name": name }),
    }
    : { ...common, "MCP-Protocol-Version": LEGACY };
}

/** A check of a JSON-RPC result: HTTP 200, a result, no `isError`, and `check` on it. */
export function rpcCheck(check: (result: Record<string, unknown>) => boolean): Scenario["check"] {
  return (status, body) => {
    if (status !== 200) return "wrong";
    try {
      const result = JSON.parse(body).result;
      if (!result) return "wrong";
      if (result.isError) return "tool-error";
      return check(result) ? "ok" : "wrong";
    } catch {
      return "wrong";
    }
  };
}

/**
 * A `tools/list` answer of `tools` tools, checked without parsing 20 KB of
 * JSON per response (which would make the load generator the bottleneck):
 * HTTP 200, a result's tool array and exactly `tools` input schemas in it.
 */
function listCheck(tools: number): Scenario["check"] {
  return (status, body) => {
    if (status !== 200 || !body.includes('"result":{"tools":[')) return "wrong";
    let count = 0;
    for (
      let at = body.indexOf('"inputSchema":');
      at >= 0;
      at = body.indexOf('"inputSchema":', at + 1)
    ) {
      count++;
    }
    return count === tools ? "ok" : "wrong";
  };
}

type Structured = { structuredContent?: Record<string, unknown> };

const RATES_OK = rpcCheck((r) => {
  const out = (r as Structured).structuredContent;
  return out?.country === "LT" && Array.isArray(out.rates) && out.rates.length === 4;
});
const SENT_OK = rpcCheck((r) => (r as Structured).structuredContent?.status === "sent");

/**
 * `get_sms_status` for messages this token sent (`ids`), in `era`: every id
 * answered, in order, none unknown (each `sent` or already reported).
 */
export function statusScenario(mcpUrl: string, token: string, era: Era, ids: string[]): Scenario {
  return {
    url: mcpUrl,
    headers: eraHeaders(era, token, "tools/call", "get_sms_status"),
    body: rpcBody(era, "tools/call", { name: "get_sms_status", arguments: { messageIds: ids } }),
    check: rpcCheck((r) => {
      const results = (r as Structured).structuredContent?.results as
        | { message_id: string; status: string }[]
        | undefined;
      return results?.length === ids.length &&
        results.every((x, i) => x.message_id === ids[i] && x.status !== "unknown");
    }),
  };
}

/**
 * This server's scenarios at `mcpUrl`: cached rates, a send, the tool list, in
 * both eras (`get_sms_status` needs sent messages: {@link statusScenario}).
 */
export function scenarios(
  mcpUrl: string,
  token: string,
  tools = TOOLS.length,
): McpScenario[] {
  const call = (era: Era, name: string, args: Record<string, unknown>) => ({
    url: mcpUrl,
    headers: eraHeaders(era, token, "tools/call", name),
    body: rpcBody(era, "tools/call", { name, arguments: args }),
  });
  return (["2025", "2026"] as const).flatMap((era): McpScenario[] => [
    {
      id: `rates-${era}`,
      what: "rates",
      era,
      ...call(era, "get_sms_rates", { country: "LT" }),
      check: RATES_OK,
    },
    {
      id: `send-${era}`,
      what: "send",
      era,
      ...call(era, "send_sms", { to: "+37069912345", from: "Bench", message: "Benchmark message" }),
      check: SENT_OK,
    },
    {
      id: `list-${era}`,
      what: "list",
      era,
      url: mcpUrl,
      headers: eraHeaders(era, token, "tools/list"),
      body: rpcBody(era, "tools/list", {}),
      check: listCheck(tools),
    },
  ]);
}

/** `n` different Lithuanian mobile numbers. */
function recipients(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `+370695${String(i).padStart(5, "0")}`);
}

/**
 * `send_sms_batch` to `n` recipients in `era` (no key, so every request sends
 * them all): each answer must say all `n` were sent.
 */
export function batchScenario(mcpUrl: string, token: string, era: Era, n: number): Scenario {
  const args = { to: recipients(n), from: "Bench", message: "Benchmark batch message" };
  return {
    url: mcpUrl,
    headers: eraHeaders(era, token, "tools/call", "send_sms_batch"),
    body: rpcBody(era, "tools/call", { name: "send_sms_batch", arguments: args }),
    check: rpcCheck((r) => {
      const out = (r as Structured).structuredContent;
      return out?.status === "sent" && out.sent === n;
    }),
  };
}
