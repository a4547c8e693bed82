import assert from "node:assert/strict";
import { BLOCKS, DENO_JSON, normalizeTables, PAGES, render, ROOT } from "./readme.ts";

/** README.md and every Markdown page under docs/, as paths from the repository root. */
async function documents(): Promise<string[]> {
  const docs: string[] = [];
  for await (const entry of Deno.readDir(new URL("docs/", ROOT))) {
    if (entry.isFile && entry.name.endsWith(".md")) docs.push(`docs/${entry.name}`);
  }
  return ["README.md", ...docs.sort()];
}

Deno.test("every generated table lives on exactly one page", () => {
  const placed = Object.values(PAGES).flat();
  assert.deepEqual([...placed].sort(), Object.keys(BLOCKS).sort());
});

for (const [path, names] of Object.entries(PAGES)) {
  Deno.test(`${path}'s generated tables match the code`, async () => {
    const page = await Deno.readTextFile(new URL(path, ROOT));
    for (const name of names) {
      assert.ok(page.includes(`<!-- generated:${name} -->`), `${path} lacks the ${name} table`);
    }
    assert.equal(
      normalizeTables(page),
      normalizeTables(render(page, names, path)),
      `${path}: tables are stale: run \`deno task readme\``,
    );
  });
}

Deno.test("no page keeps a generated table that is rendered elsewhere", async () => {
  const strays: string[] = [];
  for (const path of await documents()) {
    const page = await Deno.readTextFile(new URL(path, ROOT));
    for (const [, name] of page.matchAll(/^<!-- generated:([\w-]+) -->$/gm)) {
      if (!PAGES[path]?.includes(name!)) strays.push(`${path}: ${name}`);
    }
  }
  assert.deepEqual(strays, [], "a table nobody renders goes stale: move it or list it in PAGES");
});

Deno.test("every `deno task` the README and docs/ name is a task of deno.json", async () => {
  const tasks = Object.keys(JSON.parse(await Deno.readTextFile(DENO_JSON)).tasks);
  const unknown: string[] = [];
  for (const path of await documents()) {
    const page = await Deno.readTextFile(new URL(path, ROOT));
    for (const [, name] of page.matchAll(/deno task ([\w:-]+)/g)) {
      if (!tasks.includes(name!)) unknown.push(`${path}: deno task ${name}`);
    }
  }
  assert.deepEqual(unknown, []);
});
