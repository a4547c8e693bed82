/**
 * Confirmation tokens (`send_sms`'s `confirmationToken`): a dry run mints one
 * for exactly its arguments and caller (HMAC-signed, bound to the token's
 * keyed hash, 10 minutes); a send that brings it back spends it, once.
 */
import { createRequestStateCodec, type ServerContext } from "@modelcontextprotocol/server";
import { canonicalJson } from "../core/canonical_json.ts";
import { ServiceError } from "../core/errors.ts";
import { deriveKey, memo, type SecretSource } from "../core/keys.ts";
import type { Store } from "../state/mod.ts";
import type { Digest } from "./digest.ts";
import type { ConfirmationToken, GuardContext } from "./types.ts";

/** How long a dry run's confirmation token is valid. */
export const CONFIRMATION_TTL_SECONDS = 600;

/** The request-state codec's context, for a codec without `bind` (which never reads it). */
const NO_CONTEXT = {} as ServerContext;

/** Options of {@link Confirmations}. */
export interface ConfirmationOptions {
  store: Store;
  secret: SecretSource;
  digest: Digest;
  now: () => number;
}

/** Mint, check and spend confirmation tokens. */
export class Confirmations {
  readonly #store: Store;
  readonly #digest: Digest;
  readonly #now: () => number;
  readonly #codec: () => Promise<ReturnType<typeof createRequestStateCodec<{ d: string }>>>;

  constructor(options: ConfirmationOptions) {
    this.#store = options.store;
    this.#digest = options.digest;
    this.#now = options.now;
    const key = deriveKey(options.secret, "confirmation");
    this.#codec = memo(async () =>
      createRequestStateCodec<{ d: string }>({
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
    const token = await (await this.#codec()).mint({ d: await this.binding(ctx, tool, args) });
    return { token, expiresInSeconds: CONFIRMATION_TTL_SECONDS };
  }

  /** Digest binding a confirmation to this caller, tool and exact arguments. */
  async binding(ctx: GuardContext, tool: string, args: Record<string, unknown>): Promise<string> {
    return await this.#digest("confirm", await ctx.principal(), tool, canonicalJson(args));
  }

  async check(token: string, binding: string): Promise<void> {
    let payload: { d?: unknown };
    try {
      // No `bind` is configured (the binding is inside the payload), so `verify` ignores its context.
      payload = await (await this.#codec()).verify(token, NO_CONTEXT) as { d?: unknown };
    } catch {
      throw tokenRefused(
        "is invalid or has expired (tokens last 10 minutes). Call send_sms with dryRun: true " +
          "again, show the user the quote, and send with the new confirmation_token.",
      );
    }
    if (payload?.d !== binding) {
      throw tokenRefused(
        "was issued for other arguments (or another token). Quote exactly what you send: call " +
          "send_sms with dryRun: true and these arguments, and confirm that quote with the user.",
      );
    }
  }

  /** Mark a confirmation token used; a second use is refused. */
  async spend(token: string): Promise<void> {
    const key = ["confirmation", await this.#digest("token", token)];
    const [entry] = await this.#store.getMany([key]);
    const now = this.#now();
    const used = entry!.value !== null && entry!.value.exp > now;
    const value = { exp: now + CONFIRMATION_TTL_SECONDS * 1000 };
    if (
      used || !(await this.#store.commit({ checks: [entry!], sets: [{ key, value }], deletes: [] }))
    ) {
      throw tokenRefused(
        "was already used for a send. Each confirmation covers one message: run a new dry run " +
          "and confirm again to send another.",
      );
    }
  }
}

/** Refusal of a send without a confirmation where one is required. */
export function confirmationNeeded(): ServiceError {
  return new ServiceError(
    "INVALID_INPUT",
    "This server requires the user's confirmation before an SMS is sent. Call send_sms with the " +
      "same arguments and dryRun: true, show the user the quote (recipient, text, parts, cost), " +
      "and when they agree, call again with confirmationToken set to the quote's confirmation_token.",
    { details: [{ path: "confirmationToken", message: "required: take it from a dry run" }] },
  );
}

function tokenRefused(why: string): ServiceError {
  return new ServiceError("INVALID_INPUT", `The confirmationToken ${why}`, {
    details: [{ path: "confirmationToken", message: why.split(".")[0]! }],
  });
}
