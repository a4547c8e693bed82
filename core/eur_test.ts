import assert from "node:assert/strict";
import { eurToMicros, formatEur } from "./eur.ts";

Deno.test("EUR decimals become exact micro-euros, rounding past the sixth decimal up", () => {
  assert.equal(eurToMicros("0.045"), 45_000);
  assert.equal(eurToMicros("25"), 25_000_000);
  assert.equal(eurToMicros("12.50"), 12_500_000);
  assert.equal(eurToMicros("0.0000001"), 1);
  assert.equal(eurToMicros("0.1234560"), 123_456);
  for (const bad of ["", "-1", "1,5", "€2", "1e3", ".5"]) assert.equal(eurToMicros(bad), undefined);
});

Deno.test("micro-euros print with at least two decimals and no trailing zeros", () => {
  assert.equal(formatEur(100_000), "0.10");
  assert.equal(formatEur(45_000), "0.045");
  assert.equal(formatEur(12_500_000), "12.50");
  assert.equal(formatEur(1_234_567), "1.234567");
  assert.equal(formatEur(eurToMicros("0.0957")! * 3), "0.2871");
});
