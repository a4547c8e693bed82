import assert from "node:assert/strict";
import type { Rate } from "../server/vertex.ts";
import type { RatesSource, ToolContext } from "./define.ts";
import { countriesOf, quoteSms } from "./pricing.ts";

Deno.test("the country of an E.164 number, from its calling code", () => {
  const cases: [string, string[]][] = [
    ["+37069912345", ["LT"]],
    ["+4915112345678", ["DE"]],
    ["+447700900123", ["GB"]],
    ["+35312345678", ["IE"]],
    ["+2348012345678", ["NG"]],
    ["+27821234567", ["ZA"]],
    ["+77011234567", ["KZ"]],
    ["+79161234567", ["RU"]],
    ["+18765551234", ["JM"]],
    ["+17875551234", ["PR"]],
    ["+12125551234", ["US", "CA"]],
    ["+88213456789", []],
  ];
  for (const [number, countries] of cases) assert.deepEqual(countriesOf(number), countries, number);
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
    costEur: "0.15",
    costMicros: 150_000,
  });
});

Deno.test("correctBy decides the country; US-or-CA takes the dearer; unknown is null", async () => {
  const { ctx, asked } = ratesContext({ LV: ["0.03"], US: ["0.10"], CA: ["0.13"] });
  assert.equal(
    (await quoteSms(ctx, { to: "861234567", correctBy: "LV", parts: 1 })).rateEur,
    "0.03",
  );
  const nanp = await quoteSms(ctx, { to: "+12125551234", parts: 1 });
  assert.deepEqual([nanp.country, nanp.rateEur], [null, "0.13"]);
  assert.deepEqual(asked, ["LV", "US", "CA"]);
  assert.deepEqual(await quoteSms(ctx, { to: "+88213456789", parts: 1 }), {
    country: null,
    rateEur: null,
    costEur: null,
    costMicros: null,
  });
});
