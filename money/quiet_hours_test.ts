import assert from "node:assert/strict";
import { parseQuietHours } from "../core/config.ts";
import { offsetMinutes, quietUntil, zonesOf } from "./quiet_hours.ts";

const NIGHT = parseQuietHours("21:00-08:00")!;
const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | null | undefined) =>
  typeof ms === "number" ? new Date(ms).toISOString().replace(".000Z", "Z") : ms;

Deno.test("zones: a geographic number by its prefix, any other by its whole country", async () => {
  // Fixed lines (and North America's numbers, fixed or mobile) tell their region.
  assert.deepEqual(await zonesOf("+12025550123"), ["America/New_York"]);
  assert.deepEqual(await zonesOf("+13105550123"), ["America/Los_Angeles"]);
  assert.deepEqual(await zonesOf("+74951234567"), ["Europe/Moscow"]);
  assert.deepEqual(await zonesOf("+61212345678"), ["Australia/Sydney"]);
  // Mobiles in most countries do not: every zone of the country code (+7: Russia and Kazakhstan).
  const russia = await zonesOf("+79161234567");
  assert.equal(russia.length, 16);
  assert.ok(russia.includes("Asia/Kamchatka") && russia.includes("Europe/Moscow"));
  const australia = await zonesOf("+61412345678");
  assert.ok(australia.includes("Australia/Perth") && australia.includes("Australia/Sydney"));
  // Brazil's mobiles are regional (libphonenumber's geographic mobile countries).
  assert.deepEqual(await zonesOf("+5511912345678"), ["America/Sao_Paulo"]);
  assert.deepEqual(await zonesOf("+37069912345"), ["Europe/Bucharest"], "Lithuania's offset rules");
  assert.deepEqual(await zonesOf("+80012345678"), [], "a non-geographic code has no zone");
});

Deno.test("offsets follow daylight saving time", () => {
  assert.equal(offsetMinutes("America/New_York", at("2026-01-15T12:00:00Z")), -300);
  assert.equal(offsetMinutes("America/New_York", at("2026-07-15T12:00:00Z")), -240);
  assert.equal(offsetMinutes("Asia/Calcutta", at("2026-07-15T12:00:00Z")), 330);
  assert.equal(offsetMinutes("Australia/Eucla", at("2026-07-15T12:00:00Z")), 525);
  assert.equal(offsetMinutes("UTC", at("2026-07-15T12:00:00Z")), 0);
});

Deno.test("one zone: quiet inside the window (across midnight), the next allowed time at its end", () => {
  const ny = ["America/New_York"];
  // 2026-12-07 is EST (UTC-5): 22:00 local is 03:00Z next day.
  assert.equal(quietUntil(NIGHT, ny, at("2026-12-07T18:00:00Z")), undefined, "13:00: allowed");
  assert.equal(iso(quietUntil(NIGHT, ny, at("2026-12-08T03:00:00Z"))), "2026-12-08T13:00:00Z");
  assert.equal(iso(quietUntil(NIGHT, ny, at("2026-12-08T02:00:00Z"))), "2026-12-08T13:00:00Z");
  assert.equal(quietUntil(NIGHT, ny, at("2026-12-08T01:59:59Z")), undefined, "20:59:59: allowed");
  assert.equal(quietUntil(NIGHT, ny, at("2026-12-08T13:00:00Z")), undefined, "08:00: allowed");
  const day = parseQuietHours("12:00-13:30")!;
  assert.equal(iso(quietUntil(day, ny, at("2026-12-07T17:10:00Z"))), "2026-12-07T18:30:00Z");
});

Deno.test("a change to daylight saving time overnight moves the end with it", () => {
  const ny = ["America/New_York"];
  // 2026-03-08: clocks go from 02:00 EST to 03:00 EDT; 08:00 EDT is 12:00Z (not 13:00Z).
  assert.equal(iso(quietUntil(NIGHT, ny, at("2026-03-08T06:00:00Z"))), "2026-03-08T12:00:00Z");
  // 2026-11-01: back from EDT to EST; 08:00 EST is 13:00Z.
  assert.equal(iso(quietUntil(NIGHT, ny, at("2026-11-01T05:00:00Z"))), "2026-11-01T13:00:00Z");
});

Deno.test("several zones: quiet while any is; allowed once none is (the widest window)", async () => {
  // A Russian mobile: zones from UTC+2 (Kaliningrad's offset) to UTC+12 (Kamchatka).
  const russia = await zonesOf("+79161234567");
  // 12:00Z is 15:00 in Moscow but midnight in Kamchatka: quiet.
  assert.equal(iso(quietUntil(NIGHT, russia, at("2026-12-07T12:00:00Z"))), "2026-12-08T06:00:00Z");
  // 07:00Z: 09:00 at UTC+2, 19:00 in Kamchatka: allowed.
  assert.equal(quietUntil(NIGHT, russia, at("2026-12-08T07:00:00Z")), undefined);
  // An Australian mobile in December (daylight saving time in the south-east).
  const australia = await zonesOf("+61412345678");
  assert.equal(
    iso(quietUntil(NIGHT, australia, at("2026-12-07T10:30:00Z"))),
    "2026-12-08T01:30:00Z",
    "21:30 in Sydney; then 08:00 on the Cocos Islands (UTC+6:30) is the first moment all allow",
  );
  // A Sydney landline knows its zone: allowed from 08:00 Sydney (21:00Z, UTC+11).
  assert.equal(
    iso(quietUntil(NIGHT, await zonesOf("+61212345678"), at("2026-12-07T10:30:00Z"))),
    "2026-12-07T21:00:00Z",
  );
});

Deno.test("no known zone, or zones that leave no time outside the window: never (null)", async () => {
  assert.equal(quietUntil(NIGHT, [], at("2026-12-07T12:00:00Z")), null);
  // A North American toll-free number: every NANP zone, from Pago Pago (UTC-11) through
  // Newfoundland (UTC-3:30) to Guam (UTC+10, the day after): 10.5 hours of local times at once.
  const nanp = await zonesOf("+18885558888");
  assert.ok(nanp.length > 40);
  // 21:00-08:00 leaves 13 hours a day, so 2.5 hours for all of them: from 08:00 in Guam (11:00
  // in Pago Pago, 18:30 in St. John's) to 21:00 in St. John's.
  assert.equal(iso(quietUntil(NIGHT, nanp, at("2026-12-07T12:00:00Z"))), "2026-12-07T22:00:00Z");
  assert.equal(quietUntil(NIGHT, nanp, at("2026-12-08T00:29:00Z")), undefined);
  assert.equal(iso(quietUntil(NIGHT, nanp, at("2026-12-08T00:30:00Z"))), "2026-12-08T22:00:00Z");
  // 18:00-10:00 leaves 8 hours: never all at once.
  assert.equal(quietUntil(parseQuietHours("18:00-10:00")!, nanp, at("2026-12-07T12:00:00Z")), null);
});
