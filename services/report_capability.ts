/**
 * The capability in a delivery-report URL (`/callbacks/dlr/{capability}`):
 * it names the token whose ledger a report may touch, and nothing needs
 * storing to check it. It is the owner's principal (the token's keyed hash)
 * and the day it was issued, sealed with AES-GCM under a key derived from the
 * master secret, so it is unguessable, unreadable and unforgeable; any
 * instance sharing the secret opens it. It expires with the ledger's
 * retention (a report for a message the ledger no longer holds has nothing
 * to update), so one that leaked stops working within days.
 *
 * Like a token, it is never logged, exported in telemetry, stored or put in
 * an error message.
 */
import { seal, unseal } from "../core/seal.ts";

const DAY_MS = 86_400_000;
/** Additional data of every capability box: a box sealed for anything else does not open. */
const PLACE = "dlr-capability";
/** What a capability looks like on the wire (base64url, 99 to 110 characters). */
export const CAPABILITY = /^[A-Za-z0-9_-]{90,120}$/;

/** Capabilities remembered each way (a cache: sealing and opening cost a crypto call each). */
const REMEMBERED = 10_000;

/** Issue and open delivery-report capabilities. */
export class ReportCapabilities {
  readonly #key: () => Promise<CryptoKey>;
  readonly #days: number;
  readonly #now: () => number;
  /** Per principal, today's capability: every send of a day carries the same. */
  readonly #issued = new Map<string, { day: number; capability: string }>();
  /** Capabilities already opened, and what they name. */
  readonly #opened = new Map<string, { principal: string; day: number }>();

  /** `days`: how long a capability stays valid after the day it was issued. */
  constructor(key: () => Promise<CryptoKey>, days: number, now: () => number = Date.now) {
    this.#key = key;
    this.#days = days;
    this.#now = now;
  }

  /** A capability for `principal`, valid from today for the retention period. */
  async issue(principal: string): Promise<string> {
    const day = Math.floor(this.#now() / DAY_MS);
    const known = this.#issued.get(principal);
    if (known?.day === day) return known.capability;
    const capability = await seal(await this.#key(), PLACE, `${principal}.${day}`);
    remember(this.#issued, principal, { day, capability });
    return capability;
  }

  /** The principal a capability names, or `null` (malformed, forged, or expired). */
  async open(capability: string): Promise<string | null> {
    if (!CAPABILITY.test(capability)) return null;
    let named = this.#opened.get(capability);
    if (!named) {
      let text: string;
      try {
        text = await unseal(await this.#key(), PLACE, capability);
      } catch {
        return null;
      }
      const dot = text.lastIndexOf(".");
      const day = Number(text.slice(dot + 1));
      if (dot <= 0 || !Number.isInteger(day)) return null;
      named = { principal: text.slice(0, dot), day };
      remember(this.#opened, capability, named);
    }
    const today = Math.floor(this.#now() / DAY_MS);
    // A report may arrive until the message leaves the ledger; tomorrow allows for clock skew.
    if (named.day < today - this.#days - 1 || named.day > today + 1) return null;
    return named.principal;
  }
}

/** Set `key` in a bounded map, forgetting the oldest entry when it is full. */
function remember<K, V>(map: Map<K, V>, key: K, value: V): void {
  map.delete(key);
  if (map.size >= REMEMBERED) map.delete(map.keys().next().value as K);
  map.set(key, value);
}
