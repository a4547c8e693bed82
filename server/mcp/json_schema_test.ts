import assert from "node:assert/strict";
import { Ajv } from "ajv";
import { z } from "zod";
import { TOOLS } from "../../tools/mod.ts";
import { jsonSchema, portable } from "./json_schema.ts";

/** Every `type` array left in `node` (by path). */
function typeArrays(node: unknown, path = "#"): string[] {
  if (node === null || typeof node !== "object") return [];
  const own = !Array.isArray(node) && Array.isArray((node as { type?: unknown }).type)
    ? [path]
    : [];
  return [
    ...own,
    ...Object.entries(node).flatMap(([k, v]) => typeArrays(v, `${path}/${k}`)),
  ];
}

/** The inverse rewrite (zod's own compaction): `anyOf` of bare single types back to a `type` array. */
function compacted(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(compacted);
  if (node === null || typeof node !== "object") return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    const bare = key === "anyOf" && Array.isArray(value) &&
      value.every((b) => Object.keys(b).length === 1 && typeof b.type === "string");
    if (bare) out.type = value.map((b) => b.type);
    else out[key] = compacted(value);
  }
  return out;
}

Deno.test("every tool's schemas: no type array left, and the same schema as zod's once compacted again", () => {
  for (const tool of TOOLS) {
    for (const [io, schema] of [["input", tool.input], ["output", tool.output]] as const) {
      const listed = jsonSchema(schema, io);
      assert.deepEqual(typeArrays(listed), [], `${tool.name} ${io}`);
      assert.equal(listed.type, "object");
      const original = z.toJSONSchema(schema, { io, target: "draft-2020-12" });
      delete original.$schema;
      assert.equal(
        JSON.stringify(compacted(listed)),
        JSON.stringify({ ...original, type: "object" }),
        `${tool.name} ${io}: only the spelling changed`,
      );
    }
  }
});

Deno.test("a type array becomes anyOf where it stood; values that are not schemas are kept", () => {
  const schema = {
    type: "object",
    properties: {
      a: { description: "a", type: ["string", "null"], pattern: "^x" },
      b: { type: "string", default: { type: ["kept"] }, enum: [{ type: ["kept"] }] },
      c: { anyOf: [{ type: "integer" }, { type: "string" }], type: ["integer", "string", "null"] },
    },
    items: [{ type: ["number", "null"] }],
  };
  assert.deepEqual(portable(schema), {
    type: "object",
    properties: {
      a: { description: "a", anyOf: [{ type: "string" }, { type: "null" }], pattern: "^x" },
      b: { type: "string", default: { type: ["kept"] }, enum: [{ type: ["kept"] }] },
      c: {
        anyOf: [{ type: "integer" }, { type: "string" }],
        allOf: [{ anyOf: [{ type: "integer" }, { type: "string" }, { type: "null" }] }],
      },
    },
    items: [{ anyOf: [{ type: "number" }, { type: "null" }] }],
  });
  assert.deepEqual(Object.keys((portable(schema) as typeof schema).properties.a), [
    "description",
    "anyOf",
    "pattern",
  ]);
});

Deno.test("the portable spelling accepts and refuses exactly what the type array did", () => {
  const ajv = new Ajv({ strict: false });
  const original = {
    type: "object",
    properties: {
      a: { type: ["string", "null"], pattern: "^x" },
      n: { type: ["integer", "null"] },
    },
  };
  const before = ajv.compile(original);
  const after = ajv.compile(portable(original) as object);
  const samples = [
    { a: "xy" },
    { a: null },
    { a: "y" },
    { a: 1 },
    { n: 2 },
    { n: null },
    { n: 1.5 },
    { n: "2" },
    {},
  ];
  for (const sample of samples) {
    assert.equal(after(sample), before(sample), JSON.stringify(sample));
  }
  assert.deepEqual(samples.map((s) => after(s)), [
    true,
    true,
    false,
    false,
    true,
    true,
    false,
    false,
    true,
  ]);
});
