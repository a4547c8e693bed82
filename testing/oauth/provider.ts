/**
 * An `OAuthClientProvider` for the v2 client that "clicks through" the
 * authorization redirect programmatically: where a desktop client opens the
 * browser, it fetches the authorization URL, checks the redirect that comes
 * back (to its own redirect URI, with the `state` it sent), and keeps the
 * callback parameters for `transport.finishAuth()` — the step a real client
 * takes when its loopback listener receives the redirect.
 *
 * Everything else (discovery, registration, PKCE, scope selection, token
 * exchange, step-up) is the SDK's own code.
 */
import type {
  OAuthClientMetadata,
  OAuthClientProvider,
  OAuthDiscoveryState,
  StoredOAuthClientInformation,
  StoredOAuthTokens,
} from "@modelcontextprotocol/client";

/** The redirect URI the provider registers (never listened on: the redirect is read, not followed). */
export const REDIRECT_URI = "http://127.0.0.1:33418/oauth/callback";

/** An in-memory provider whose user approves every consent screen. */
export class ClickThroughProvider implements OAuthClientProvider {
  #client?: StoredOAuthClientInformation;
  #tokens?: StoredOAuthTokens;
  #verifier?: string;
  #discovery?: OAuthDiscoveryState;
  #state?: string;
  #callback?: URLSearchParams;
  /** Every authorization URL the SDK sent the "browser" to. */
  readonly authorizationUrls: URL[] = [];

  get redirectUrl(): string {
    return REDIRECT_URI;
  }

  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: "VertexSMS conformance suite",
      redirect_uris: [REDIRECT_URI],
      grant_types: ["authorization_code"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    };
  }

  state(): string {
    return this.#state = crypto.randomUUID();
  }

  clientInformation(): StoredOAuthClientInformation | undefined {
    return this.#client;
  }

  saveClientInformation(info: StoredOAuthClientInformation): void {
    this.#client = info;
  }

  tokens(): StoredOAuthTokens | undefined {
    return this.#tokens;
  }

  saveTokens(tokens: StoredOAuthTokens): void {
    this.#tokens = tokens;
  }

  saveCodeVerifier(verifier: string): void {
    this.#verifier = verifier;
  }

  codeVerifier(): string {
    if (!this.#verifier) throw new Error("no PKCE verifier saved");
    return this.#verifier;
  }

  saveDiscoveryState(state: OAuthDiscoveryState): void {
    this.#discovery = state;
  }

  discoveryState(): OAuthDiscoveryState | undefined {
    return this.#discovery;
  }

  invalidateCredentials(scope: "all" | "client" | "tokens" | "verifier" | "discovery"): void {
    if (scope === "all" || scope === "client") this.#client = undefined;
    if (scope === "all" || scope === "tokens") this.#tokens = undefined;
    if (scope === "all" || scope === "verifier") this.#verifier = undefined;
    if (scope === "all" || scope === "discovery") this.#discovery = undefined;
  }

  /** The "browser": open the consent page, approve, and catch the redirect. */
  async redirectToAuthorization(url: URL): Promise<void> {
    this.authorizationUrls.push(url);
    const response = await fetch(url, { redirect: "manual" });
    await response.body?.cancel();
    const location = response.headers.get("location");
    if (response.status !== 302 || !location) {
      throw new Error(`authorization answered HTTP ${response.status}, not a redirect`);
    }
    const back = new URL(location);
    if (`${back.origin}${back.pathname}` !== REDIRECT_URI) {
      throw new Error(`redirected to ${back.origin}${back.pathname}, not the redirect URI`);
    }
    if (back.searchParams.get("state") !== this.#state) throw new Error("state mismatch");
    if (back.searchParams.has("error")) {
      throw new Error(`authorization refused: ${back.searchParams.get("error")}`);
    }
    this.#callback = back.searchParams;
  }

  /** The callback parameters of the last approved authorization (once). */
  takeCallback(): URLSearchParams {
    const callback = this.#callback;
    if (!callback) throw new Error("no authorization redirect was caught");
    this.#callback = undefined;
    return callback;
  }
}
