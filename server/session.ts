/**
 * Self-contained `Mcp-Session-Id`s for 2025-era clients that can be asked
 * things (they declared form elicitation at `initialize`).
 *
 * An id is `s1.<claims>.<mac>`: base64url JSON claims (the protocol version,
 * the client's name, the capabilities this server acts on, an expiry, a
 * nonce) and an HMAC-SHA256 over `s1.<claims>` under a key derived from the
 * master secret. Any instance holding the secret verifies it; nothing is
 * stored, so no server keeps a session table. Visible ASCII only, as the
 * transport asks.
 */
import { base64url, fromBase64url, memo, randomBytes } from "../core/keys.ts";

/** What a session id carries. */
export interface SessionClaims {
  /** Protocol version the client asked for at `initialize`. */
  v: string;
  /** `clientInfo.name` (at most 64 characters). */
  n: string;
  /** The `elicitation` capability as declared (`{}`, `{ form: {} }`, `{ url: {} }`, ...). */
  el?: Record<string, unknown>;
  /** Expiry, seconds since the epoch. */
  e: number;
  /** 96 random bits: two initializes never share an id. */
  r: string;
}

/** A verified session: its id and claims. */
export interface Session {
  id: string;
  claims: SessionClaims;
}

/** How long a session id is honoured (a client re-initializes after a 404). */
export const SESSION_TTL_SECONDS = 24 * 60 * 60;

const PREFIX = "s1.";
const MAX_ID_LENGTH = 2048;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Whether declared capabilities include form-mode elicitation (`{}` counts, as in the spec). */
export function declaresForm(elicitation: unknown): boolean {
  if (elicitation === null || typeof elicitation !== "object" || Array.isArray(elicitation)) {
    return false;
  }
  const e = elicitation as { form?: unknown; url?: unknown };
  return e.form !== undefined || e.url === undefined;
}

/** Mint and verify session ids under one key. */
export class SessionCodec {
  readonly #key: () => Promise<CryptoKey>;
  readonly #now: () => number;

  constructor(key: () => Promise<Uint8Array<ArrayBuffer>>, now: () => number = Date.now) {
    this.#key = memo(async () =>
      await crypto.subtle.importKey("raw", await key(), { name: "HMAC", hash: "SHA-256" }, false, [
        "sign",
        "verify",
      ])
    );
    this.#now = now;
  }

  /** A fresh id for an `initialize` request's params. */
  async mint(init: { protocolVersion?: unknown; clientInfo?: unknown; capabilities?: unknown }) {
    const caps = (init.capabilities ?? {}) as { elicitation?: Record<string, unknown> };
    const name = (init.clientInfo as { name?: unknown } | undefined)?.name;
    const claims: SessionClaims = {
      v: String(init.protocolVersion ?? "").slice(0, 32),
      n: typeof name === "string" ? name.slice(0, 64) : "",
      ...(declaresForm(caps.elicitation) ? { el: caps.elicitation } : {}),
      e: Math.floor(this.#now() / 1000) + SESSION_TTL_SECONDS,
      r: base64url(randomBytes(12)),
    };
    const body = PREFIX + base64url(encoder.encode(JSON.stringify(claims)));
    const mac = await crypto.subtle.sign("HMAC", await this.#key(), encoder.encode(body));
    return `${body}.${base64url(new Uint8Array(mac))}`;
  }

  /** The session of a genuine, unexpired id; `null` for anything else. */
  async verify(id: string): Promise<Session | null> {
    if (id.length > MAX_ID_LENGTH || !id.startsWith(PREFIX)) return null;
    const dot = id.lastIndexOf(".");
    if (dot <= PREFIX.length) return null;
    const body = id.slice(0, dot);
    try {
      const mac = fromBase64url(id.slice(dot + 1));
      if (base64url(mac) !== id.slice(dot + 1)) return null; // only the spelling we wrote
      if (!(await crypto.subtle.verify("HMAC", await this.#key(), mac, encoder.encode(body)))) {
        return null;
      }
      const claims = JSON.parse(decoder.decode(fromBase64url(body.slice(PREFIX.length))));
      if (typeof claims?.e !== "number" || claims.e * 1000 <= this.#now()) return null;
      return { id, claims };
    } catch {
      return null;
    }
  }
}
