import assert from "node:assert/strict";
import { BLOCKS, normalizeTables, README, render } from "./readme.ts";

Deno.test("the README's generated tables match the code", async () => {
  const readme = await Deno.readTextFile(README);
  for (const name of Object.keys(BLOCKS)) {
    assert.ok(readme.includes(`<!-- generated:${name} -->`), `README lacks the ${name} table`);
  }
  assert.equal(
    normalizeTables(readme),
    normalizeTables(render(readme)),
    "README tables are stale: run `deno task readme`",
  );
});
