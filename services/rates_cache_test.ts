import assert from "node:assert/strict";
import type { Rate } from "../vertex/mod.ts";
import { RatesCache, type RatesCaller } from "./rates_cache.ts";

const ROW = (country: string, rate: string): Rate => ({
  country,
  country_name: country === "LT" ? "Lithuania" : null,
  operator: "Op",
  network: "Net",
  rate_eur: rate,
  mcc: "246",
  mnc: null,
});

/** A context whose VertexSMS counts calls and answers per token. */
function context(principal: string, calls: { n: number }, delayMs = 0): RatesCaller {
  const vertex = {
    getRates: async () => {
      calls.n++;
      await new Promise((r) => setTimeout(r, delayMs));
      return [ROW("LT", `rate-of-${principal}`), ROW("LV", "0.1")];
    },
  };
  return { vertex, principal: () => Promise.resolve(principal) };
}

Deno.test("one fill per token within the TTL; index by country; age reported", async () => {
  let now = 1_000_000;
  const cache = new RatesCache({ ttlSeconds: 60, now: () => now });
  const calls = { n: 0 };
  const a = await cache.forCountry(context("A", calls), "LT");
  assert.equal(a.rows[0]?.rate_eur, "rate-of-A");
  assert.equal(a.countryName, "Lithuania");
  assert.equal(a.ageSeconds, 0);
  now += 30_500;
  const again = await cache.forCountry(context("A", calls), "LV");
  assert.equal(again.ageSeconds, 30);
  assert.equal(calls.n, 1);
  const none = await cache.forCountry(context("A", calls), "ZZ");
  assert.deepEqual([none.rows, none.countryName], [[], null]);
  now += 30_000;
  await cache.forCountry(context("A", calls), "LT");
  assert.equal(calls.n, 2, "refilled after the TTL");
});

Deno.test("tokens never see each other's table", async () => {
  const cache = new RatesCache({ ttlSeconds: 60 });
  const calls = { n: 0 };
  const [a, b] = await Promise.all([
    cache.forCountry(context("A", calls), "LT"),
    cache.forCountry(context("B", calls), "LT"),
  ]);
  assert.equal(a.rows[0]?.rate_eur, "rate-of-A");
  assert.equal(b.rows[0]?.rate_eur, "rate-of-B");
  assert.equal(calls.n, 2);
});

Deno.test("concurrent misses for one token share one upstream call", async () => {
  const cache = new RatesCache({ ttlSeconds: 60 });
  const calls = { n: 0 };
  const results = await Promise.all(
    Array.from({ length: 20 }, () => cache.forCountry(context("A", calls, 20), "LT")),
  );
  assert.equal(calls.n, 1);
  assert.ok(results.every((r) => r.rows[0]?.rate_eur === "rate-of-A"));
});

Deno.test("failures are not cached, and the cache stays within its bound", async () => {
  const cache = new RatesCache({ ttlSeconds: 60, maxEntries: 10 });
  const failing = context("F", { n: 0 });
  (failing.vertex as { getRates: () => Promise<Rate[]> }).getRates = () =>
    Promise.reject(new Error("down"));
  await assert.rejects(() => cache.forCountry(failing, "LT"));
  assert.equal(cache.size, 0);
  const calls = { n: 0 };
  for (let i = 0; i < 50; i++) await cache.forCountry(context(`T${i}`, calls), "LT");
  assert.equal(cache.size, 10);
});

Deno.test("TTL 0 disables caching", async () => {
  const cache = new RatesCache({ ttlSeconds: 0 });
  const calls = { n: 0 };
  await cache.forCountry(context("A", calls), "LT");
  await cache.forCountry(context("A", calls), "LT");
  assert.equal(calls.n, 2);
  assert.equal(cache.size, 0);
});

Deno.test("identical tables are held once, different ones apart", async () => {
  const cache = new RatesCache({ ttlSeconds: 60 });
  const calls = { n: 0 };
  const same = (p: string): RatesCaller => {
    const ctx = context(p, calls);
    (ctx.vertex as { getRates: () => Promise<Rate[]> }).getRates = () =>
      Promise.resolve([ROW("LT", "0.045"), ROW("LV", "0.1")]);
    return ctx;
  };
  for (let i = 0; i < 20; i++) await cache.forCountry(same(`S${i}`), "LT");
  await cache.forCountry(context("D1", calls), "LT");
  await cache.forCountry(context("D2", calls), "LT");
  assert.equal(cache.size, 22);
  assert.equal(cache.distinctTables, 3);
  const d1 = await cache.forCountry(context("D1", calls), "LT");
  assert.equal(d1.rows[0]?.rate_eur, "rate-of-D1", "interning never mixes different tables");
});
