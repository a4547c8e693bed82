/**
 * The per-token rates cache behind `get_sms_rates`.
 *
 * VertexSMS returns the whole world's price list in one answer, and prices
 * can be account-specific, so the parsed table is kept per token: keyed by
 * the token's keyed hash (never the token), indexed by country once per fill,
 * bounded in entries (least recently used first out), and concurrent misses
 * for one token share one upstream call.
 *
 * Most accounts see the same price list, so identical tables are interned:
 * each parsed index (about 430 KB for the world list) is held once, however
 * many tokens it answers, and a token's entry only adds its own age.
 */
import type { Rate, VertexApi } from "../vertex/mod.ts";

/** Who asks for rates: a caller's keyed hash and its view of VertexSMS. */
export interface RatesCaller {
  /** A keyed hash of the caller's token: the cache key, never the token. */
  principal: () => Promise<string>;
  vertex: Pick<VertexApi, "getRates">;
}

/** Rates of one country, from the per-token cache. */
export interface CachedRates {
  /** Rows of the country, already in output shape. */
  rows: readonly Rate[];
  countryName: string | null;
  ageSeconds: number;
}

/** Source of the per-token rates table. */
export interface RatesSource {
  forCountry(caller: RatesCaller, country: string): Promise<CachedRates>;
}

type Index = Map<string, { rows: Rate[]; name: string | null }>;

interface Table {
  fetchedAt: number;
  byCountry: Index;
}

interface Entry {
  table?: Table;
  pending?: Promise<Table>;
}

/** Options of {@link RatesCache}. */
export interface RatesCacheOptions {
  ttlSeconds: number;
  /** Tokens held at most (default 256). */
  maxEntries?: number;
  now?: () => number;
}

function index(rows: Rate[]): Index {
  const byCountry: Index = new Map();
  for (const row of rows) {
    let country = byCountry.get(row.country);
    if (!country) byCountry.set(row.country, country = { rows: [], name: row.country_name });
    country.rows.push(row);
  }
  return byCountry;
}

/** A content fingerprint of a rates table (SHA-256 of its JSON). */
async function fingerprint(rows: Rate[]): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(JSON.stringify(rows)),
  );
  return new Uint8Array(digest).toBase64();
}

/** A bounded, per-token, single-flight cache of the rates table. */
export class RatesCache implements RatesSource {
  readonly #entries = new Map<string, Entry>();
  /** Interned indexes by content; weak, so an index lives as long as a token uses it. */
  readonly #interned = new Map<string, WeakRef<Index>>();
  readonly #ttlMs: number;
  readonly #max: number;
  readonly #now: () => number;

  constructor(options: RatesCacheOptions) {
    this.#ttlMs = options.ttlSeconds * 1000;
    this.#max = options.maxEntries ?? 256;
    this.#now = options.now ?? Date.now;
  }

  /** Tokens currently held. */
  get size(): number {
    return this.#entries.size;
  }

  /** Forget every table. */
  clear(): void {
    this.#entries.clear();
    this.#interned.clear();
  }

  /** Rates of one country for the caller's token. */
  async forCountry(ctx: RatesCaller, country: string): Promise<CachedRates> {
    const table = await this.#table(ctx);
    const hit = table.byCountry.get(country);
    return {
      rows: hit?.rows ?? [],
      countryName: hit?.name ?? null,
      ageSeconds: Math.max(0, Math.floor((this.#now() - table.fetchedAt) / 1000)),
    };
  }

  async #table(ctx: RatesCaller): Promise<Table> {
    const key = await ctx.principal();
    const entry = this.#entries.get(key);
    if (entry?.table && this.#now() - entry.table.fetchedAt < this.#ttlMs) {
      // Refresh the entry's place in the LRU order.
      this.#entries.delete(key);
      this.#entries.set(key, entry);
      return entry.table;
    }
    if (entry?.pending) return await entry.pending;
    const fresh: Entry = {};
    const pending = ctx.vertex.getRates().then(async (rows) => ({
      fetchedAt: this.#now(),
      byCountry: await this.#intern(rows),
    }));
    fresh.pending = pending;
    this.#entries.delete(key);
    this.#entries.set(key, fresh);
    this.#evict();
    try {
      const table = await pending;
      fresh.table = table;
      return table;
    } catch (error) {
      if (this.#entries.get(key) === fresh) this.#entries.delete(key);
      throw error;
    } finally {
      fresh.pending = undefined;
      if (this.#ttlMs === 0 && this.#entries.get(key) === fresh) this.#entries.delete(key);
    }
  }

  /** The index of `rows`, shared with every other token whose table is identical. */
  async #intern(rows: Rate[]): Promise<Index> {
    const print = await fingerprint(rows);
    const shared = this.#interned.get(print)?.deref();
    if (shared) return shared;
    const built = index(rows);
    for (const [key, ref] of this.#interned) if (!ref.deref()) this.#interned.delete(key);
    this.#interned.set(print, new WeakRef(built));
    return built;
  }

  /** Distinct indexes currently held (identical tables count once). */
  get distinctTables(): number {
    return new Set([...this.#entries.values()].map((e) => e.table?.byCountry)).size;
  }

  #evict(): void {
    while (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
  }
}
