import assert from "node:assert/strict";
import type { RatesSource } from "../services/mod.ts";
import type { Rate } from "../vertex/mod.ts";
import type { ToolContext } from "./context.ts";
import { countriesOf, destinationsOf, quoteSms } from "./pricing.ts";

Deno.test("the country of an E.164 number, territories sharing a calling code included", async () => {
  const cases: [string, string[]][] = [
    ["+37069912345", ["LT"]],
    ["+4915112345678", ["DE"]],
    ["+447400123456", ["GB"]],
    ["+441481256789", ["GG"]], // Guernsey landline
    ["+447781123456", ["GG"]], // Guernsey mobile
    ["+441534123456", ["JE"]], // Jersey
    ["+447797123456", ["JE"]],
    ["+441624123456", ["IM"]], // Isle of Man
    ["+447624123456", ["IM"]],
    ["+393123456789", ["IT"]],
    ["+390669812345", ["VA"]], // the Vatican, inside +39 06
    ["+5997123456", ["BQ"]], // Bonaire, inside +599
    ["+59996951234", ["CW"]], // Curaçao
    ["+35312345678", ["IE"]],
    ["+2348012345678", ["NG"]],
    ["+27821234567", ["ZA"]],
    ["+77011234567", ["KZ"]],
    ["+79161234567", ["RU"]],
    ["+18765551234", ["JM"]],
    ["+17875551234", ["PR"]],
    ["+12125551234", ["US"]],
    ["+14165551234", ["CA"]], // Toronto
    ["+16045551234", ["CA"]], // Vancouver
    ["+88213456789", []],
  ];
  for (const [number, countries] of cases) {
    assert.deepEqual(await countriesOf(number), countries, number);
  }
  // Ofcom's drama range is valid in every +44 territory: all stay possible.
  assert.deepEqual(await countriesOf("+447700900123"), ["GB", "GG", "IM", "JE"]);
});

Deno.test("correctBy adds its country to the number's own; a national number has only it", async () => {
  assert.deepEqual(await destinationsOf("+4915112345678", "US"), ["US", "DE"]);
  assert.deepEqual(await destinationsOf("+4915112345678", "DE"), ["DE"]);
  assert.deepEqual(await destinationsOf("861234567", "LT"), ["LT"]);
  assert.deepEqual(await destinationsOf("+37069912345"), ["LT"]);
});

/** A rates source answering from a fixed table, counting lookups. */
function ratesContext(table: Record<string, string[]>): { ctx: ToolContext; asked: string[] } {
  const asked: string[] = [];
  const rates: RatesSource = {
    forCountry: (_ctx, country) => {
      asked.push(country);
      const rows = (table[country] ?? []).map((rate_eur): Rate => ({
        country,
        country_name: null,
        operator: "Op",
        network: "Net",
        rate_eur,
        mcc: null,
        mnc: null,
      }));
      return Promise.resolve({ rows, countryName: null, ageSeconds: 0 });
    },
  };
  const ctx = { services: { rates } } as unknown as ToolContext;
  return { ctx, asked };
}

Deno.test("a quote uses the destination's highest rate, times the parts", async () => {
  const { ctx } = ratesContext({ LT: ["0.045", "0.050", "0.044"] });
  assert.deepEqual(await quoteSms(ctx, { to: "+37069912345", parts: 3 }), {
    country: "LT",
    rateEur: "0.050",
    rateMicros: 50_000,
    costEur: "0.15",
    costMicros: 150_000,
  });
});

Deno.test("correctBy decides a national number; several candidates take the dearest; unknown is null", async () => {
  const { ctx, asked } = ratesContext({
    LV: ["0.03"],
    US: ["0.011"],
    DE: ["0.077"],
    GB: ["0.04"],
    GG: ["0.09"],
    IM: ["0.05"],
    JE: ["0.06"],
  });
  assert.equal(
    (await quoteSms(ctx, { to: "861234567", correctBy: "LV", parts: 1 })).rateEur,
    "0.03",
  );
  // A German number sent with correctBy US is priced at the German rate, not the US one.
  const mismatch = await quoteSms(ctx, { to: "+4915112345678", correctBy: "US", parts: 2 });
  assert.deepEqual([mismatch.country, mismatch.rateEur, mismatch.costMicros], [
    null,
    "0.077",
    154_000,
  ]);
  const shared = await quoteSms(ctx, { to: "+447700900123", parts: 1 });
  assert.deepEqual([shared.country, shared.rateEur], [null, "0.09"]);
  assert.deepEqual(asked, ["LV", "US", "DE", "GB", "GG", "IM", "JE"]);
  assert.deepEqual(await quoteSms(ctx, { to: "+88213456789", parts: 1 }), {
    country: null,
    rateEur: null,
    rateMicros: null,
    costEur: null,
    costMicros: null,
  });
});
