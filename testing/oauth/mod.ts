/**
 * A small OAuth 2.1 authorization server standing in for
 * `tool.vertexsms.com` in the one-click tests: a real HTTP server on an
 * ephemeral loopback port with RFC 8414 metadata, RFC 7591 dynamic client
 * registration, the authorization-code grant with PKCE (S256 only), RFC 9207
 * `iss` in the redirect, and a token endpoint. Each access token it issues is
 * handed to `onToken` with the scopes granted, so the fake VertexSMS accepts
 * exactly those routes.
 *
 * The consent screen is a function: by default the user grants every scope
 * asked for; a test can make the user grant fewer (as a real consent screen
 * with checkboxes allows), which is how a step-up becomes necessary.
 */
import { Hono } from "hono";

/** One authorization request, as the server received it. */
export interface AuthorizationRecord {
  clientId: string;
  redirectUri: string;
  /** Requested scopes, in request order. */
  scopes: string[];
  resource: string | null;
  codeChallengeMethod: string;
  /** What the consent screen granted. */
  granted: string[];
}

/** One access token it issued. */
export interface IssuedToken {
  token: string;
  clientId: string;
  scopes: string[];
  resource: string | null;
}

/** Options of {@link startAuthServer}. */
export interface AuthServerOptions {
  /** The scopes it knows (`scopes_supported`); others are `invalid_scope`. */
  scopes: readonly string[];
  /** Called for each issued access token (register it with the fake VertexSMS). */
  onToken: (token: string, scopes: string[]) => void;
}

/** A running test authorization server. */
export interface AuthServer {
  /** The issuer: `http://127.0.0.1:<port>` (no trailing slash). */
  url: string;
  /** The consent screen: which of the requested scopes the user grants. */
  consent: (requested: string[]) => string[];
  authorizations: AuthorizationRecord[];
  tokens: IssuedToken[];
  /** Registered client ids. */
  clients: string[];
  shutdown(): Promise<void>;
}

interface Client {
  redirectUris: string[];
}

interface PendingCode {
  clientId: string;
  redirectUri: string;
  challenge: string;
  scopes: string[];
  resource: string | null;
  expiresAt: number;
}

const CODE_TTL_MS = 60_000;

/** Unpadded base64url (RFC 4648 §5). */
function base64url(bytes: Uint8Array): string {
  return bytes.toBase64({ alphabet: "base64url", omitPadding: true });
}

/** A random URL-safe string of `bytes` random bytes. */
function randomToken(bytes: number): string {
  return base64url(crypto.getRandomValues(new Uint8Array(bytes)));
}

/** RFC 7636 S256: BASE64URL(SHA256(verifier)). */
async function s256(verifier: string): Promise<string> {
  const data = new TextEncoder().encode(verifier);
  return base64url(new Uint8Array(await crypto.subtle.digest("SHA-256", data)));
}

/** Start the authorization server on 127.0.0.1 (ephemeral port). */
export function startAuthServer(options: AuthServerOptions): AuthServer {
  const clients = new Map<string, Client>();
  const codes = new Map<string, PendingCode>();
  const supported = new Set(options.scopes);
  const late: { url?: string } = {};
  const issuer = () => late.url as string;

  const state: AuthServer = {
    url: "",
    consent: (requested) => requested,
    authorizations: [],
    tokens: [],
    clients: [],
    shutdown: () => Promise.resolve(),
  };

  const app = new Hono();

  app.get("/.well-known/oauth-authorization-server", (c) =>
    c.json({
      issuer: issuer(),
      authorization_endpoint: `${issuer()}/authorize`,
      token_endpoint: `${issuer()}/token`,
      registration_endpoint: `${issuer()}/register`,
      scopes_supported: [...supported],
      response_types_supported: ["code"],
      grant_types_supported: ["authorization_code"],
      code_challenge_methods_supported: ["S256"],
      token_endpoint_auth_methods_supported: ["none"],
      authorization_response_iss_parameter_supported: true,
    }));

  app.post("/register", async (c) => {
    const body = await c.req.json().catch(() => null) as Record<string, unknown> | null;
    const uris = body?.redirect_uris;
    const valid = Array.isArray(uris) && uris.length > 0 &&
      uris.every((u) => typeof u === "string" && URL.canParse(u));
    if (!valid) {
      return c.json({
        error: "invalid_redirect_uri",
        error_description: "redirect_uris is required",
      }, 400);
    }
    const method = body?.token_endpoint_auth_method ?? "none";
    if (method !== "none") {
      return c.json({
        error: "invalid_client_metadata",
        error_description: "only public clients (token_endpoint_auth_method none)",
      }, 400);
    }
    const clientId = `client-${randomToken(12)}`;
    clients.set(clientId, { redirectUris: uris as string[] });
    state.clients.push(clientId);
    return c.json({
      ...body,
      client_id: clientId,
      client_id_issued_at: Math.floor(Date.now() / 1000),
      token_endpoint_auth_method: "none",
      grant_types: ["authorization_code"],
      response_types: ["code"],
    }, 201);
  });

  app.get("/authorize", (c) => {
    const q = new URL(c.req.url).searchParams;
    const clientId = q.get("client_id") ?? "";
    const redirectUri = q.get("redirect_uri") ?? "";
    const client = clients.get(clientId);
    // Never redirect to a URI that is not registered for the client.
    if (!client || !client.redirectUris.includes(redirectUri)) {
      return c.text("Unknown client or redirect_uri", 400);
    }
    const back = (params: Record<string, string>) => {
      const target = new URL(redirectUri);
      for (const [k, v] of Object.entries(params)) target.searchParams.set(k, v);
      const stateParam = q.get("state");
      if (stateParam !== null) target.searchParams.set("state", stateParam);
      target.searchParams.set("iss", issuer());
      return c.redirect(target.href, 302);
    };
    if (q.get("response_type") !== "code") return back({ error: "unsupported_response_type" });
    const challenge = q.get("code_challenge");
    if (!challenge || q.get("code_challenge_method") !== "S256") {
      return back({ error: "invalid_request", error_description: "PKCE S256 is required" });
    }
    const scopes = (q.get("scope") ?? "").split(" ").filter((s) => s.length > 0);
    if (scopes.length === 0 || scopes.some((s) => !supported.has(s))) {
      return back({ error: "invalid_scope" });
    }
    const granted = state.consent(scopes).filter((s) => scopes.includes(s));
    const resource = q.get("resource");
    state.authorizations.push({
      clientId,
      redirectUri,
      scopes,
      resource,
      codeChallengeMethod: "S256",
      granted,
    });
    if (granted.length === 0) return back({ error: "access_denied" });
    const code = randomToken(24);
    codes.set(code, {
      clientId,
      redirectUri,
      challenge,
      scopes: granted,
      resource,
      expiresAt: Date.now() + CODE_TTL_MS,
    });
    return back({ code });
  });

  app.post("/token", async (c) => {
    const form = new URLSearchParams(await c.req.text());
    const fail = (error: string, description: string) =>
      c.json({ error, error_description: description }, 400, { "Cache-Control": "no-store" });
    if (form.get("grant_type") !== "authorization_code") {
      return fail("unsupported_grant_type", "only authorization_code");
    }
    const code = form.get("code") ?? "";
    const pending = codes.get(code);
    codes.delete(code); // one use, whatever happens next
    if (!pending || pending.expiresAt < Date.now()) {
      return fail("invalid_grant", "unknown, used or expired code");
    }
    if (form.get("client_id") !== pending.clientId) {
      return fail("invalid_grant", "code was issued to another client");
    }
    if (form.get("redirect_uri") !== pending.redirectUri) {
      return fail("invalid_grant", "redirect_uri differs from the authorization request");
    }
    const verifier = form.get("code_verifier") ?? "";
    if (
      !/^[A-Za-z0-9\-._~]{43,128}$/.test(verifier) || await s256(verifier) !== pending.challenge
    ) {
      return fail("invalid_grant", "PKCE verification failed");
    }
    const resource = form.get("resource");
    if (pending.resource !== null && resource !== pending.resource) {
      return fail("invalid_target", "resource differs from the authorization request");
    }
    const token = `vx_${randomToken(32)}`;
    options.onToken(token, pending.scopes);
    state.tokens.push({
      token,
      clientId: pending.clientId,
      scopes: pending.scopes,
      resource: pending.resource,
    });
    return c.json(
      {
        access_token: token,
        token_type: "Bearer",
        expires_in: 3600,
        scope: pending.scopes.join(" "),
      },
      200,
      { "Cache-Control": "no-store" },
    );
  });

  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    app.fetch,
  );
  late.url = state.url = `http://127.0.0.1:${(server.addr as Deno.NetAddr).port}`;
  state.shutdown = () => server.shutdown();
  return state;
}
