/**
 * The consent state's own key. Opt-out lists are kept for good, so what
 * names and seals them must outlive a rotation of the master secret (whose
 * keys change, `state/secret.ts`): a random 256-bit key is made once per
 * state database and kept there wrapped (AES-GCM) under a key derived from
 * the master secret. A rotation re-wraps it (the first instance that opens
 * it with the previous secret writes it back under the new one; every
 * instance opens it at start, within the rotation's window), and the keys
 * derived from it stay the same: the token's lasting hash (an opt-out list's
 * owner), the keyed hash of a number, the seal of a listed number.
 */
import {
  createPrincipalHasher,
  deriveKey,
  memo,
  type PrincipalHasher,
  randomBytes,
  readSecret,
  type SecretSource,
} from "../core/keys.ts";
import { aesKey, seal, unseal } from "../core/seal.ts";
import type { Expiring, Store, StoreKey } from "../state/mod.ts";

/** What the consent guards derive from their key. */
export interface ConsentKeyring {
  /** A token's keyed hash that survives secret rotations (an opt-out list's owner). */
  owner: PrincipalHasher;
  /** The keyed hash of an E.164 number. */
  number: (e164: string) => Promise<string>;
  /** Seals the numbers a list must give back. */
  seal: CryptoKey;
}

/** A value that never expires in practice (stores want an expiry): 1 January 9999. */
export const FOREVER = Date.UTC(9999, 0, 1);

/** Where the wrapped key lives (owner part: the server itself). */
const KEY: StoreKey = ["consent", "server", "key"];

interface Wrapped extends Expiring {
  box: string;
}

/** The consent key cannot be opened with this server's secret (nor the previous one). */
export class ConsentKeyError extends Error {
  constructor() {
    super(
      "The opt-out lists in this state database were sealed under a secret this server does not " +
        "have (neither STATE_SECRET nor STATE_SECRET_PREVIOUS opens them). Start with the secret " +
        "the database is used with (see docs/consent.md).",
    );
    this.name = "ConsentKeyError";
  }
}

/** Options of {@link ConsentKeys}. */
export interface ConsentKeysOptions {
  store: Store;
  secret: SecretSource;
  /** During a rotation, the previous secret (`undefined` otherwise). */
  previousSecret?: () => Promise<Uint8Array<ArrayBuffer> | undefined>;
}

/** The consent key of one state database, opened (or made) on first use. */
export class ConsentKeys {
  readonly #o: ConsentKeysOptions;
  /** The keyring, once opened; a failure is not kept (the next use tries again). */
  readonly keyring: () => Promise<ConsentKeyring>;

  constructor(options: ConsentKeysOptions) {
    this.#o = options;
    this.keyring = memo(async () => ring(await this.#open()));
  }

  /** The raw key: read and unwrapped, re-wrapped after a rotation, or made by the first user. */
  async #open(): Promise<Uint8Array<ArrayBuffer>> {
    const { store } = this.#o;
    const current = await wrapKey(this.#o.secret);
    for (let attempt = 0; attempt < 20; attempt++) {
      const [entry] = await store.getMany<Wrapped>([KEY]);
      const found = entry!.value;
      if (!found) {
        const raw = randomBytes(32);
        const value = { box: await wrap(current, raw), exp: FOREVER };
        if (await store.commit({ checks: [entry!], sets: [{ key: KEY, value }], deletes: [] })) {
          return raw;
        }
        continue;
      }
      const mine = await unwrap(current, found.box);
      if (mine) return mine;
      const previous = await this.#o.previousSecret?.();
      const theirs = previous ? await unwrap(await wrapKey(previous), found.box) : undefined;
      if (!theirs) throw new ConsentKeyError();
      // A rotation: wrap it under the new secret, so it opens once the previous one is gone.
      const value = { box: await wrap(current, theirs), exp: FOREVER };
      if (await store.commit({ checks: [entry!], sets: [{ key: KEY, value }], deletes: [] })) {
        return theirs;
      }
    }
    throw new Error("the consent key kept changing while it was being opened");
  }
}

async function wrapKey(secret: SecretSource): Promise<CryptoKey> {
  const master = await readSecret(secret);
  return await aesKey(await deriveKey(master, "consent-wrap")());
}

async function wrap(key: CryptoKey, raw: Uint8Array<ArrayBuffer>): Promise<string> {
  return await seal(key, JSON.stringify(KEY), raw.toBase64());
}

async function unwrap(key: CryptoKey, box: string): Promise<Uint8Array<ArrayBuffer> | undefined> {
  try {
    return Uint8Array.fromBase64(await unseal(key, JSON.stringify(KEY), box));
  } catch {
    return undefined;
  }
}

async function ring(raw: Uint8Array<ArrayBuffer>): Promise<ConsentKeyring> {
  const numberHash = createPrincipalHasher(deriveKey(raw, "consent-number"));
  return {
    owner: createPrincipalHasher(deriveKey(raw, "consent-owner")),
    number: (e164) => numberHash(e164),
    seal: await aesKey(await deriveKey(raw, "consent-seal")()),
  };
}
