/**
 * Admission of requests whose bearer token VertexSMS has not accepted
 * recently, per client address (`UNAUTH_RATE_LIMIT_PER_MINUTE` in a window).
 *
 * Each such request takes a place in its address's window before it goes on
 * — not after VertexSMS answered, so concurrent requests cannot all pass a
 * limit not yet reached — and keeps it when VertexSMS rejects the token (401).
 * It gives the place back as soon as VertexSMS accepts the token (which is
 * then vouched for, {@link VouchedTokens}), or when the request ends without
 * asking VertexSMS. Of concurrent requests with one unknown token from one
 * address, the first asks alone and the others wait for its verdict (or, if
 * it ended without asking, the next one asks alone), so a real token's burst
 * costs one place, not one per request.
 */
import type { FixedWindowLimiter } from "./rate_limit.ts";

/** What VertexSMS said of a token. */
export type TokenVerdict = "accepted" | "rejected";

/** Tokens VertexSMS accepted recently, by keyed hash (bounded, oldest first out). */
export class VouchedTokens {
  readonly #seen = new Map<string, number>();

  constructor(
    readonly maxEntries = 10_000,
    readonly ttlMs = 15 * 60_000,
    readonly now: () => number = Date.now,
  ) {}

  /** Whether VertexSMS accepted this token within the TTL. */
  has(principal: string): boolean {
    const at = this.#seen.get(principal);
    return at !== undefined && this.now() - at < this.ttlMs;
  }

  /** Remember that VertexSMS accepted this token now. */
  add(principal: string): void {
    this.#seen.delete(principal);
    while (this.#seen.size >= this.maxEntries) {
      this.#seen.delete(this.#seen.keys().next().value as string);
    }
    this.#seen.set(principal, this.now());
  }

  /** Tokens held. */
  get size(): number {
    return this.#seen.size;
  }
}

/**
 * An admitted request: report VertexSMS's verdict as soon as it is known
 * (again with the same verdict changes nothing), and the request's end.
 */
export interface Admitted {
  judged(verdict: TokenVerdict): void;
  ended(): void;
}

/** The per-address admission of requests with tokens (see the module). */
export class TokenAdmission {
  /**
   * The request asking VertexSMS first, per address and token: settled with
   * its verdict, or with none when it ended without asking.
   */
  readonly #asking = new Map<string, Promise<TokenVerdict | undefined>>();

  constructor(
    readonly rejected: FixedWindowLimiter,
    readonly vouched: VouchedTokens,
  ) {}

  /** Admit a request with this token (its keyed hash) from `ip`, or say when to try again. */
  async admit(ip: string, principal: string): Promise<Admitted | { retryAfterSeconds: number }> {
    const key = `${ip}\u0000${principal}`;
    // A first request that ended without asking VertexSMS (a tool that never calls it) hands
    // the asking on to the next one, so a burst still costs one place until a verdict.
    for (let first = this.#asking.get(key); first && !this.vouched.has(principal);) {
      if (await first !== undefined) break;
      first = this.#asking.get(key);
    }
    const place = this.vouched.has(principal) ? undefined : this.rejected.take(ip);
    if (place && !place.ok) return place;
    let settle: ((verdict: TokenVerdict | undefined) => void) | undefined;
    if (place && !this.#asking.has(key)) {
      this.#asking.set(key, new Promise((resolve) => settle = resolve));
    }
    // Holding a place that may yet be given back; settled once judged or ended.
    let holding = place !== undefined;
    const settled = (verdict?: TokenVerdict) => {
      holding = false;
      if (settle) this.#asking.delete(key);
      settle?.(verdict);
      settle = undefined;
    };
    let last: TokenVerdict | undefined;
    return {
      judged: (verdict) => {
        if (verdict === last) return;
        last = verdict;
        if (verdict === "accepted") {
          this.vouched.add(principal);
          if (holding) place?.giveBack();
        } else if (!holding) {
          // A vouched token (or one already given back) that VertexSMS rejects now.
          this.rejected.hit(ip);
        }
        settled(verdict);
      },
      ended: () => {
        if (holding) place?.giveBack();
        settled();
      },
    };
  }

  /** Requests asking VertexSMS first right now (for tests). */
  get asking(): number {
    return this.#asking.size;
  }
}
