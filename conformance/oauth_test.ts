/**
 * The OAuth one-click path, end to end, with the v2 client's own OAuth code:
 * it starts with no token, meets the 401, finds the protected-resource
 * metadata from `WWW-Authenticate`, discovers the test authorization server,
 * registers, authorizes with PKCE for the scopes the challenge named, and
 * its tool call succeeds with the token the fake VertexSMS now accepts.
 * A token revoked mid-session sends the client back through authorization;
 * with `SCOPE_CHALLENGE=http`, a call outside the granted scope triggers the
 * SDK's step-up (403 `insufficient_scope` → wider authorization request).
 *
 * Authorization-code flows are interactive: after redirecting the user the
 * SDK stops with `UnauthorizedError`, and the host hands it the redirect's
 * parameters (`transport.finishAuth`) and repeats the operation. The tests do
 * exactly that, as a desktop client does when its loopback listener fires.
 */
import assert from "node:assert/strict";
import {
  Client,
  StreamableHTTPClientTransport,
  UnauthorizedError,
} from "@modelcontextprotocol/client";
import { ALL_SCOPES } from "../tools/mod.ts";
import { type FakeScope, startFake } from "../testing/fake/mod.ts";
import {
  type Harness,
  MODERN,
  type RecordingFetch,
  recordingFetch,
  startHarness,
} from "../testing/harness.ts";
import { type AuthServer, startAuthServer } from "../testing/oauth/mod.ts";
import { ClickThroughProvider } from "../testing/oauth/provider.ts";

/** A fake, the test authorization server, and a server that names it. */
function startOAuthHarness(env: Record<string, string> = {}) {
  const fake = startFake();
  const as = startAuthServer({
    scopes: ALL_SCOPES,
    onToken: (token, scopes) => fake.addToken(token, scopes as FakeScope[]),
  });
  const h = startHarness({ fake, env: { VERTEXSMS_AUTH_SERVER: as.url, ...env } });
  return {
    h,
    as,
    close: async () => {
      await h.close();
      await as.shutdown();
      await fake.shutdown();
    },
  };
}

/** A v2 client (2026-07-28) whose transport authenticates with `provider`. */
function oauthClient(h: Harness, provider: ClickThroughProvider, wire: RecordingFetch) {
  const client = new Client(
    { name: "conformance-oauth", version: "1.0.0" },
    { versionNegotiation: { mode: { pin: MODERN } } },
  );
  const transport = new StreamableHTTPClientTransport(new URL(h.mcpUrl), {
    authProvider: provider,
    fetch: wire.fetch,
  });
  return { client, transport };
}

/** Connect with no token; authorize; connect again with the token. */
async function authorizeAndConnect(
  h: Harness,
  provider: ClickThroughProvider,
  wire: RecordingFetch,
) {
  const first = oauthClient(h, provider, wire);
  await assert.rejects(() => first.client.connect(first.transport), UnauthorizedError);
  await first.transport.finishAuth(provider.takeCallback());
  await first.client.close();
  const second = oauthClient(h, provider, wire);
  await second.client.connect(second.transport);
  return second;
}

/** The upstream token of the fake's latest request to `route`. */
function lastUpstreamToken(as: AuthServer, h: Harness, route: string): string | null {
  const seen = h.fake.requests.filter((r) => `${r.method} ${r.path}`.startsWith(route));
  assert.ok(seen.length > 0, `VertexSMS saw ${route}`);
  assert.ok(as.tokens.length > 0);
  return seen.at(-1)!.token;
}

Deno.test("OAuth one-click: 401 → metadata from WWW-Authenticate → DCR + PKCE → token → tool call", async () => {
  const { h, as, close } = startOAuthHarness();
  const provider = new ClickThroughProvider();
  const wire = recordingFetch();
  try {
    const connected = await authorizeAndConnect(h, provider, wire);
    try {
      // The way in: the 401, then exactly the metadata URL its header names.
      const [challenge, metadata, asMetadata] = wire.exchanges;
      assert.equal(challenge!.status, 401);
      assert.equal(challenge!.requestHeaders.get("authorization"), null, "starts with no token");
      const header = challenge!.headers.get("www-authenticate") ?? "";
      const named = /resource_metadata="([^"]+)"/.exec(header)?.[1];
      assert.equal(named, `${h.server.url}/.well-known/oauth-protected-resource/mcp`);
      assert.equal(metadata!.method, "GET");
      assert.equal(metadata!.url, named);
      assert.equal(metadata!.status, 200);
      assert.equal(asMetadata!.url, `${as.url}/.well-known/oauth-authorization-server`);
      const probed = wire.exchanges.filter((e) =>
        e.url.startsWith(h.server.url) && e.url.includes("/.well-known/")
      );
      assert.deepEqual(probed.map((e) => e.url), [named], "no other discovery on the server");

      // Registration, then one authorization for the scopes the 401 named, with PKCE S256.
      assert.equal(as.clients.length, 1);
      assert.equal(as.authorizations.length, 1);
      const authz = as.authorizations[0]!;
      assert.equal(authz.clientId, as.clients[0]);
      assert.deepEqual(authz.scopes, ALL_SCOPES);
      assert.equal(authz.codeChallengeMethod, "S256");
      assert.equal(authz.resource, `${h.server.url}/mcp`);
      assert.equal(as.tokens.length, 1);
      const token = as.tokens[0]!;
      assert.deepEqual(token.scopes, ALL_SCOPES);
      assert.equal(token.resource, `${h.server.url}/mcp`);

      // The tool call carries the issued token through to VertexSMS.
      const result = await connected.client.callTool({
        name: "get_sms_rates",
        arguments: { country: "LT" },
      });
      assert.notEqual(result.isError, true, JSON.stringify(result.content));
      assert.equal((result.structuredContent as { country: string }).country, "LT");
      assert.equal(wire.last().requestHeaders.get("authorization"), `Bearer ${token.token}`);
      assert.equal(lastUpstreamToken(as, h, "GET /rates"), token.token);

      // Revoked mid-session: the next call is an HTTP 401 invalid_token, and the
      // SDK goes back through authorization on its own.
      h.fake.revoke(token.token);
      await assert.rejects(
        () => connected.client.callTool({ name: "get_operator", arguments: { operatorId: 493 } }),
        UnauthorizedError,
      );
      const rejected = wire.exchanges.findLast((e) => e.status === 401)!;
      assert.match(rejected.headers.get("www-authenticate") ?? "", /error="invalid_token"/);
      assert.equal(JSON.parse(rejected.body).error.code, "AUTH_INVALID");
      assert.equal(as.authorizations.length, 2, "a new authorization request");
      await connected.transport.finishAuth(provider.takeCallback());
      const fresh = as.tokens[1]!.token;
      assert.notEqual(fresh, token.token);
      const again = await connected.client.callTool({
        name: "get_operator",
        arguments: { operatorId: 493 },
      });
      assert.notEqual(again.isError, true, JSON.stringify(again.content));
      assert.equal(lastUpstreamToken(as, h, "GET /operators"), fresh);
    } finally {
      await connected.client.close();
    }
  } finally {
    await close();
  }
});

Deno.test("OAuth step-up (SCOPE_CHALLENGE=http): 403 insufficient_scope → wider authorization → call succeeds", async () => {
  const { h, as, close } = startOAuthHarness({ SCOPE_CHALLENGE: "http" });
  // The user grants only sms:rates on the first consent screen, everything after.
  as.consent = (requested) =>
    as.authorizations.length === 0 ? requested.filter((s) => s === "sms:rates") : requested;
  const provider = new ClickThroughProvider();
  const wire = recordingFetch();
  try {
    const connected = await authorizeAndConnect(h, provider, wire);
    try {
      assert.deepEqual(as.tokens.map((t) => t.scopes), [["sms:rates"]]);
      assert.equal(provider.tokens()?.scope, "sms:rates");
      const rates = await connected.client.callTool({
        name: "get_sms_rates",
        arguments: { country: "LT" },
      });
      assert.notEqual(rates.isError, true);

      // Outside the grant: the server answers 403 and the SDK starts the step-up.
      await assert.rejects(
        () => connected.client.callTool({ name: "get_operator", arguments: { operatorId: 493 } }),
        UnauthorizedError,
      );
      const forbidden = wire.exchanges.findLast((e) => e.status === 403)!;
      assert.equal(
        forbidden.headers.get("www-authenticate"),
        `Bearer error="insufficient_scope", scope="numbers:read", ` +
          `resource_metadata="${h.server.url}/.well-known/oauth-protected-resource/mcp", ` +
          `error_description="This token lacks the numbers:read scope"`,
      );
      assert.equal(JSON.parse(forbidden.body).error.required_scope, "numbers:read");
      // The SDK asked for the union of what it holds and what the challenge named.
      assert.equal(as.authorizations.length, 2);
      assert.deepEqual(as.authorizations[1]!.scopes.toSorted(), ["numbers:read", "sms:rates"]);
      assert.equal(
        provider.authorizationUrls[1]!.searchParams.get("scope")?.split(" ").toSorted().join(" "),
        "numbers:read sms:rates",
      );

      await connected.transport.finishAuth(provider.takeCallback());
      assert.deepEqual(as.tokens[1]!.scopes.toSorted(), ["numbers:read", "sms:rates"]);
      const operator = await connected.client.callTool({
        name: "get_operator",
        arguments: { operatorId: 493 },
      });
      assert.notEqual(operator.isError, true, JSON.stringify(operator.content));
      assert.equal((operator.structuredContent as { name: string }).name, "BITE");
      assert.equal(lastUpstreamToken(as, h, "GET /operators"), as.tokens[1]!.token);
    } finally {
      await connected.client.close();
    }
  } finally {
    await close();
  }
});
