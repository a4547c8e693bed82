/**
 * The per-token rates cache behind `get_sms_rates`.
 *
 * VertexSMS returns the whole world's price list in one answer, and prices
 * can be account-specific, so the parsed table is kept per token: keyed by
 * the token's keyed hash (never the token), indexed by country once per fill,
 * bounded in entries (least recently used first out), and concurrent misses
 * for one token share one upstream call.
 */
import type { CachedRates, RatesSource, ToolContext } from "../tools/define.ts";
import type { Rate } from "./vertex.ts";

interface Table {
  fetchedAt: number;
  byCountry: Map<string, { rows: Rate[]; name: string | null }>;
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

function index(rows: Rate[], fetchedAt: number): Table {
  const byCountry = new Map<string, { rows: Rate[]; name: string | null }>();
  for (const row of rows) {
    let country = byCountry.get(row.country);
    if (!country) byCountry.set(row.country, country = { rows: [], name: row.country_name });
    country.rows.push(row);
  }
  return { fetchedAt, byCountry };
}

/** A bounded, per-token, single-flight cache of the rates table. */
export class RatesCache implements RatesSource {
  readonly #entries = new Map<string, Entry>();
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
  }

  /** Rates of one country for the caller's token. */
  async forCountry(ctx: ToolContext, country: string): Promise<CachedRates> {
    const table = await this.#table(ctx);
    const hit = table.byCountry.get(country);
    return {
      rows: hit?.rows ?? [],
      countryName: hit?.name ?? null,
      ageSeconds: Math.max(0, Math.floor((this.#now() - table.fetchedAt) / 1000)),
    };
  }

  async #table(ctx: ToolContext): Promise<Table> {
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
    const pending = ctx.vertex.getRates().then((rows) => index(rows, this.#now()));
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

  #evict(): void {
    while (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
  }
}
