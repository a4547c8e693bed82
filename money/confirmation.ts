/**
 * Confirmations are single-use. A dry run's `confirmationToken` is minted for
 * exactly its arguments and caller (HMAC-signed, bound to the token's keyed
 * hash, 10 minutes) with a random nonce inside the signed payload; a send
 * that brings it back spends that nonce, once. The same holds for an
 * "accept" answered to an in-band question (its receipt is the question's
 * nonce). Spending is by nonce, never by the token's text, and only the
 * canonical spelling of a token is accepted: appended padding, whitespace,
 * a newline inside the signature or flipped spare bits of the last base64url
 * character do not make another token. Tokens and receipts are bound to the
 * test mode they were given in (`SMS_TEST_MODE`, in the binding digest):
 * one from a simulated send never confirms a real one.
 */
import { createRequestStateCodec, type ServerContext } from "@modelcontextprotocol/server";
import { canonicalJson } from "../core/canonical_json.ts";
import type { SmsTestMode } from "../core/config.ts";
import { ServiceError } from "../core/errors.ts";
import {
  base64url,
  deriveKey,
  fromBase64url,
  memo,
  randomId,
  type SecretSource,
} from "../core/keys.ts";
import type { Store } from "../state/mod.ts";
import type { Digest } from "./digest.ts";
import type { ConfirmationToken, GuardContext } from "./types.ts";

/** How long a dry run's confirmation token is valid. */
export const CONFIRMATION_TTL_SECONDS = 600;

/** The request-state codec's context, for a codec without `bind` (which never reads it). */
const NO_CONTEXT = {} as ServerContext;

/** How long a spent nonce is remembered: longer than any token or question lives. */
const SPENT_TTL_MS = 2 * CONFIRMATION_TTL_SECONDS * 1000;

const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** Whether `text` is base64url exactly as this server writes it (unpadded, spare bits zero). */
export function canonicalBase64url(text: string): boolean {
  if (!BASE64URL.test(text)) return false;
  try {
    return base64url(fromBase64url(text)) === text;
  } catch {
    return false;
  }
}

/**
 * Whether a signed state (`v1.<body>.<mac>`, the SDK's request-state format)
 * is spelled canonically: the only spelling this server ever writes.
 */
export function canonicalSignedState(state: string): boolean {
  const parts = state.split(".");
  return parts.length === 3 && parts[0] === "v1" && canonicalBase64url(parts[1]!) &&
    canonicalBase64url(parts[2]!);
}

/** Options of {@link Confirmations}. */
export interface ConfirmationOptions {
  store: Store;
  secret: SecretSource;
  digest: Digest;
  now: () => number;
  /** `SMS_TEST_MODE` of this instance: part of every binding. */
  mode: SmsTestMode;
}

/** A confirmation token's signed payload: binding, nonce, and the test mode it was given in. */
interface TokenPayload {
  d: string;
  n: string;
  /** `SMS_TEST_MODE` when it was not `off`. */
  m?: string;
}

/** Mint, check and spend confirmation tokens. */
export class Confirmations {
  readonly #store: Store;
  readonly #digest: Digest;
  readonly #now: () => number;
  readonly #mode: SmsTestMode;
  readonly #codec: () => Promise<ReturnType<typeof createRequestStateCodec<TokenPayload>>>;

  constructor(options: ConfirmationOptions) {
    this.#store = options.store;
    this.#digest = options.digest;
    this.#now = options.now;
    this.#mode = options.mode;
    const key = deriveKey(options.secret, "confirmation");
    this.#codec = memo(async () =>
      createRequestStateCodec<TokenPayload>({
        key: await key(),
        ttlSeconds: CONFIRMATION_TTL_SECONDS,
      })
    );
  }

  /** A token confirming exactly these arguments for this caller. */
  async mint(
    ctx: GuardContext,
    tool: string,
    args: Record<string, unknown>,
  ): Promise<ConfirmationToken> {
    const binding = await this.binding(ctx, tool, args);
    const mode = this.#mode === "off" ? {} : { m: this.#mode };
    const token = await (await this.#codec()).mint({ d: binding, n: randomId(), ...mode });
    return { token, expiresInSeconds: CONFIRMATION_TTL_SECONDS };
  }

  /**
   * Digest binding a confirmation (a token, an in-band answer, an approval)
   * to this caller, tool, exact arguments and test mode.
   */
  async binding(ctx: GuardContext, tool: string, args: Record<string, unknown>): Promise<string> {
    const principal = await ctx.principal();
    return await this.#digest("confirm", principal, tool, this.#mode, canonicalJson(args));
  }

  /** Verify a dry run's token for these arguments; its nonce, to spend once the send goes ahead. */
  async check(token: string, binding: string, tool = "send_sms"): Promise<string> {
    let payload: { d?: unknown; n?: unknown; m?: unknown };
    try {
      if (!canonicalSignedState(token)) throw new Error("not canonical");
      // No `bind` is configured (the binding is inside the payload), so `verify` ignores its context.
      payload = await (await this.#codec()).verify(token, NO_CONTEXT) as typeof payload;
    } catch {
      throw tokenRefused(
        `is invalid or has expired (tokens last 10 minutes). Call ${tool} with dryRun: true ` +
          "again, show the user the quote, and send with the new confirmation_token.",
      );
    }
    if ((payload?.m ?? "off") !== this.#mode) {
      throw tokenRefused(
        payload?.m === undefined
          ? "was issued for a real send, and this server runs in SMS test mode. Run a new dry " +
            "run here and confirm that quote."
          : "was issued in SMS test mode, for a simulated send; this server sends real SMS. " +
            "Run a new dry run and confirm that quote with the user before sending for real.",
      );
    }
    if (payload?.d !== binding || typeof payload.n !== "string") {
      throw tokenRefused(
        "was issued for other arguments (or another token). Quote exactly what you send: call " +
          `${tool} with dryRun: true and these arguments, and confirm that quote with the user.`,
      );
    }
    return payload.n;
  }

  /** Spend a dry-run token's nonce; a second use is refused. */
  async spend(ctx: GuardContext, nonce: string): Promise<void> {
    if (!(await this.#spendOnce(ctx, "token", nonce))) {
      throw tokenRefused(
        "was already used for a send. Each confirmation covers one message: run a new dry run " +
          "and confirm again to send another.",
      );
    }
  }

  /** Spend the receipt of an in-band "accept"; `false` when it was already spent. */
  spendReceipt(ctx: GuardContext, receipt: string): Promise<boolean> {
    return this.#spendOnce(ctx, "receipt", receipt);
  }

  /** Mark a nonce used, atomically; `false` when it already was. */
  async #spendOnce(ctx: GuardContext, kind: string, nonce: string): Promise<boolean> {
    const key = ["confirmation", await ctx.principal(), await this.#digest(kind, nonce)];
    const [entry] = await this.#store.getMany([key]);
    const now = this.#now();
    if (entry!.value !== null && entry!.value.exp > now) return false;
    const value = { exp: now + SPENT_TTL_MS };
    return await this.#store.commit({ checks: [entry!], sets: [{ key, value }], deletes: [] });
  }
}

function tokenRefused(why: string): ServiceError {
  return new ServiceError("INVALID_INPUT", `The confirmationToken ${why}`, {
    details: [{ path: "confirmationToken", message: why.split(".")[0]! }],
  });
}
