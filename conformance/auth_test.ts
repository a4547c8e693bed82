/**
 * Authentication at HTTP level: the 401 `AUTH_REQUIRED` challenge read the
 * way RFC 6750 / RFC 7235 define it (every parameter a quoted string, the
 * path-inserted metadata URL, `scope` narrowed to the tool a request names),
 * the v2 SDK's own parser reading the same values, both SDKs surfacing it as
 * an authentication error; and revocation: a token VertexSMS starts refusing
 * mid-session turns the very next tool call into HTTP 401 `invalid_token`,
 * in both eras — never a 200 tool error.
 */
import assert from "node:assert/strict";
import { extractWWWAuthenticateParams } from "@modelcontextprotocol/client";
import { ALL_SCOPES } from "../tools/mod.ts";
import { TOOLS } from "../tools/mod.ts";
import {
  CLIENTS,
  connectV1,
  connectV2,
  httpStatusOf,
  MODERN,
  modernCall,
  recordingFetch,
  rpc,
  startHarness,
} from "../testing/harness.ts";

/** RFC 7230 `token` and `quoted-string`, as RFC 7235 auth-params use them. */
const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const QUOTED = '"(?:[^"\\\\]|\\\\.)*"';

/**
 * Parse a `Bearer` challenge strictly: every parameter must be
 * `name="quoted string"` (RFC 6750 §3 requires quoted values), none repeated.
 */
function parseBearerChallenge(header: string): Record<string, string> {
  const match = new RegExp(`^Bearer (.*)$`).exec(header);
  assert.ok(match, `a Bearer challenge: ${header}`);
  const params: Record<string, string> = {};
  const param = new RegExp(`^(${TOKEN})=(${QUOTED})(?:, *|$)`);
  let rest = match[1]!;
  while (rest.length > 0) {
    const p = param.exec(rest);
    assert.ok(p, `a quoted auth-param at: ${rest}`);
    const name = p[1]!.toLowerCase();
    assert.ok(!(name in params), `${name} appears once`);
    params[name] = p[2]!.slice(1, -1).replace(/\\(.)/g, "$1");
    rest = rest.slice(p[0].length);
  }
  return params;
}

Deno.test("401 AUTH_REQUIRED: every envelope field, request id, quoted challenge, narrowed scope", async () => {
  const h = startHarness();
  const metadataUrl = `${h.server.url}/.well-known/oauth-protected-resource/mcp`;
  const everyScope = ALL_SCOPES.join(" ");
  try {
    const unnamed = [
      () => rpc(h.mcpUrl, { jsonrpc: "2.0", id: 1, method: "tools/list" }),
      () =>
        rpc(h.mcpUrl, {
          jsonrpc: "2.0",
          id: 1,
          method: "initialize",
          params: {
            protocolVersion: "2025-06-18",
            capabilities: {},
            clientInfo: { name: "raw", version: "1" },
          },
        }),
      () => modernCall(h.mcpUrl, "no_such_tool", {}),
      () =>
        rpc(h.mcpUrl, { jsonrpc: "2.0", id: 1, method: "tools/list" }, {
          Authorization: "Basic dXNlcjpwdw==",
        }),
    ];
    const named = TOOLS.flatMap((tool) => [
      {
        scope: tool.scope,
        send: () =>
          rpc(h.mcpUrl, {
            jsonrpc: "2.0",
            id: 1,
            method: "tools/call",
            params: { name: tool.name, arguments: {} },
          }),
      },
      { scope: tool.scope, send: () => modernCall(h.mcpUrl, tool.name, {}) },
    ]);
    const cases = [
      ...unnamed.map((send) => ({ scope: everyScope, send })),
      ...named,
    ];
    for (const { scope, send } of cases) {
      const res = await send();
      assert.equal(res.status, 401);
      assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
      const requestId = res.headers.get("x-request-id");
      assert.ok(requestId);
      assert.deepEqual(await res.json(), {
        error: {
          code: "AUTH_REQUIRED",
          message:
            "A VertexSMS API token is required. Send it as `Authorization: Bearer <token>` " +
            "on every request (create one in the VertexSMS dashboard under Settings → API), or " +
            "connect with OAuth.",
          retryable: false,
          signup_url: "https://vertexsms.com/en/contact",
          signin_url: "https://vertexsms.com/en/login",
          token_url: "https://tool.vertexsms.com/settings/api",
          vertex_error_code: null,
          request_id: requestId,
        },
      });
      const header = res.headers.get("www-authenticate") ?? "";
      assert.deepEqual(parseBearerChallenge(header), {
        resource_metadata: metadataUrl,
        scope,
      });
      // The v2 SDK's own parser, which its OAuth discovery uses, reads the same.
      const sdk = extractWWWAuthenticateParams(new Response(null, { headers: res.headers }));
      assert.equal(String(sdk.resourceMetadataUrl), metadataUrl);
      assert.equal(sdk.scope, scope);
    }
    assert.equal(h.fake.requests.length, 0, "nothing reached VertexSMS");
  } finally {
    await h.close();
  }
});

Deno.test("both SDKs surface the 401 as an authentication error", async () => {
  const h = startHarness();
  try {
    await assert.rejects(connectV1(h.mcpUrl, null), (error) => {
      assert.equal((error as { code?: number }).code, 401);
      assert.match(String(error), /AUTH_REQUIRED/);
      return true;
    });
    await assert.rejects(connectV2(h.mcpUrl, null), (error) => {
      const e = error as { code?: string; data?: { status?: number; text?: string } };
      assert.equal(e.code, "CLIENT_HTTP_AUTHENTICATION");
      assert.equal(e.data?.status, 401);
      assert.equal(JSON.parse(e.data?.text ?? "{}").error.code, "AUTH_REQUIRED");
      return true;
    });
  } finally {
    await h.close();
  }
});

for (const { era, connect } of CLIENTS) {
  Deno.test(`${era}: a token revoked mid-session: the very next call is HTTP 401 invalid_token`, async () => {
    const h = startHarness();
    const token = `mid-run-${era}-${crypto.randomUUID()}`;
    h.fake.addToken(token, ALL_SCOPES);
    const wire = recordingFetch();
    const c = await connect(h.mcpUrl, token, { fetch: wire.fetch });
    try {
      const before = await c.client.callTool({
        name: "get_operator",
        arguments: { operatorId: 2 },
      });
      assert.notEqual(before.isError, true);
      h.fake.revoke(token);
      await assert.rejects(
        () => c.client.callTool({ name: "get_operator", arguments: { operatorId: 2 } }),
        (error) => httpStatusOf(error) === 401,
      );
      const exchange = wire.last();
      assert.equal(exchange.status, 401, "never a 200 tool error");
      if (era === "2026") assert.equal(exchange.requestHeaders.get("mcp-protocol-version"), MODERN);
      assert.deepEqual(parseBearerChallenge(exchange.headers.get("www-authenticate") ?? ""), {
        error: "invalid_token",
        resource_metadata: `${h.server.url}/.well-known/oauth-protected-resource/mcp`,
        scope: "numbers:read",
        error_description: "VertexSMS rejected the token",
      });
      const envelope = JSON.parse(exchange.body).error;
      assert.equal(envelope.code, "AUTH_INVALID");
      assert.equal(envelope.retryable, false);
      assert.equal(envelope.request_id, exchange.headers.get("x-request-id"));
      assert.equal(h.fake.count("GET /operators/2", token), 2, "VertexSMS was asked both times");
    } finally {
      await c.close();
      await h.close();
    }
  });
}
