/**
 * The fake's token table. Demo tokens are public, made-up strings: they open
 * the fake only, never the real API.
 */

/** The five scopes as the fake VertexSMS models token route permissions. */
export type FakeScope = "sms:send" | "sms:rates" | "sender:write" | "hlr:lookup" | "numbers:read";

/** Every scope. */
export const FAKE_SCOPES: readonly FakeScope[] = [
  "sms:send",
  "sms:rates",
  "sender:write",
  "hlr:lookup",
  "numbers:read",
];

/** Demo tokens: one with every route, one per scope, and one already revoked. */
export const DEMO_TOKENS = {
  full: "demo-full-5f2c9a1e7b3d",
  "sms:send": "demo-sms-send-8a41c6d2",
  "sms:rates": "demo-sms-rates-3e9b7f10",
  "sender:write": "demo-sender-write-c47d2a95",
  "hlr:lookup": "demo-hlr-lookup-61f0e8b3",
  "numbers:read": "demo-numbers-read-9d3a5c72",
  revoked: "demo-revoked-0b6e4f1a",
} as const;

/** The table the fake starts with: token → scopes (empty for revoked). */
export function demoTokenTable(): Map<string, Set<FakeScope>> {
  const table = new Map<string, Set<FakeScope>>();
  table.set(DEMO_TOKENS.full, new Set(FAKE_SCOPES));
  for (const scope of FAKE_SCOPES) table.set(DEMO_TOKENS[scope], new Set([scope]));
  return table;
}

/**
 * Which scope VertexSMS requires for a route (its per-route token
 * permissions, as `vertexsms-api.md` maps them). Kept apart from the server's
 * own endpoint table on purpose: the fake is the oracle the server is tested
 * against, so it must not share the server's mapping.
 */
export function scopeForRoute(method: string, path: string): FakeScope | undefined {
  const p = path.split("?")[0] as string;
  if (method === "POST" && p === "/sms") return "sms:send";
  if (method === "GET" && (p === "/rates" || p === "/rates/")) return "sms:rates";
  if (method === "POST" && (p === "/senderId" || p.startsWith("/senderId/confirm/"))) {
    return "sender:write";
  }
  if (method === "POST" && p === "/hlr") return "hlr:lookup";
  if (method === "GET" && /^\/(operators|mccmnc|prefixes)\/[^/]+$/.test(p)) return "numbers:read";
  if (method === "POST" && p === "/numbers/correct") return "numbers:read";
  return undefined;
}
