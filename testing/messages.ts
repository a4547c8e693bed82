/**
 * Generated JSON-RPC traffic for the property tests that check a short cut
 * against the SDK: messages as clients send them, near misses (a wrong
 * `jsonrpc`, a `null` id, a claim of another version, an envelope that is an
 * array) and any JSON value at all, alone or in batches.
 */
import fc from "fast-check";

const MODERN = "2026-07-28";
const VERSION_KEY = "io.modelcontextprotocol/protocolVersion";

const anyJson = fc.jsonValue({ maxDepth: 2 });

const envelope = fc.record({
  [VERSION_KEY]: fc.oneof(fc.constantFrom(MODERN, "2025-11-25", "2099-01-01", ""), anyJson),
  "io.modelcontextprotocol/clientCapabilities": fc.oneof(fc.constant({}), anyJson),
  "io.modelcontextprotocol/clientInfo": fc.oneof(
    fc.constant({ name: "client", version: "1.0.0" }),
    anyJson,
  ),
}, { requiredKeys: [] });

const params = fc.oneof(
  fc.constant(undefined),
  anyJson,
  fc.record({
    name: fc.constantFrom("get_sms_rates", "send_sms"),
    arguments: fc.oneof(fc.constant({ country: "LT" }), anyJson),
    protocolVersion: fc.constantFrom("2025-11-25", MODERN),
    capabilities: fc.constant({}),
    clientInfo: fc.constant({ name: "c", version: "1" }),
    _meta: fc.oneof(envelope, anyJson, fc.constant([])),
  }, { requiredKeys: [] }),
);

/** One JSON-RPC message, well formed or nearly. */
export const rpcMessage: fc.Arbitrary<Record<string, unknown>> = fc.record({
  jsonrpc: fc.oneof(fc.constant("2.0"), fc.constant("1.0"), fc.integer()),
  id: fc.oneof(fc.integer(), fc.string({ maxLength: 8 }), fc.constant(null), anyJson),
  method: fc.oneof(
    fc.constantFrom(
      "initialize",
      "tools/call",
      "tools/list",
      "notifications/initialized",
      "resources/list",
      "server/discover",
      "ping",
    ),
    fc.string({ maxLength: 12 }),
    anyJson,
  ),
  params,
  result: fc.oneof(fc.constant({}), fc.constant({ content: [] }), anyJson),
  error: fc.oneof(fc.constant({ code: -32600, message: "x" }), fc.constant({}), anyJson),
}, { requiredKeys: [] }).map((m) => {
  // Keys whose value is undefined: absent, as after JSON.parse.
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(m)) if (v !== undefined) out[k] = v;
  return out;
});

/** A message with an envelope claim (its value and the rest still vary). */
const claimed = fc.tuple(rpcMessage, envelope, fc.oneof(anyJson, fc.constant(MODERN))).map(
  ([m, meta, version]) => {
    const { result: _r, error: _e, ...rest } = m;
    const p = rest.params !== null && typeof rest.params === "object" && !Array.isArray(rest.params)
      ? rest.params
      : {};
    return { ...rest, params: { ...p, _meta: { ...meta, [VERSION_KEY]: version } } };
  },
);

/** A parsed request body: a message, a batch of them, or any JSON value. */
export const rpcBody: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: rpcMessage },
  { weight: 3, arbitrary: claimed },
  { weight: 1, arbitrary: fc.array(rpcMessage, { maxLength: 3 }) },
  { weight: 1, arbitrary: anyJson },
);

/** The headers a POST may carry that steer the SDK's classification. */
export const rpcHeaders: fc.Arbitrary<Record<string, string>> = fc.record({
  "mcp-protocol-version": fc.constantFrom("2025-11-25", "2025-03-26", MODERN, "garbage"),
  "mcp-method": fc.constantFrom("tools/call", "tools/list", "initialize"),
}, { requiredKeys: [] }).map((h) => {
  const out: Record<string, string> = { "content-type": "application/json" };
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k] = v;
  return out;
});
