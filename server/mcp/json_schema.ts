/**
 * A tool's zod schema as the JSON Schema `tools/list` advertises, spelled
 * the portable way: zod writes a nullable primitive as a `type` array
 * (`["string", "null"]`), which is legal JSON Schema but rejected or
 * mis-read by clients that map tool schemas onto a single-`type` dialect
 * (Gemini CLI rejects it in input schemas; the MCP Inspector's `--strict`
 * check warns on it). Every `type` array becomes `anyOf` branches of one
 * `type` each, in place: the same contract, as both SDK clients validate it.
 */
import type { Tool } from "@modelcontextprotocol/server";
import { z } from "zod";

/** Keywords whose value is a schema (or, for `items` in older drafts, a list of them). */
const SCHEMA = new Set([
  "items",
  "additionalItems",
  "unevaluatedItems",
  "contains",
  "additionalProperties",
  "unevaluatedProperties",
  "propertyNames",
  "not",
  "if",
  "then",
  "else",
]);
/** Keywords whose value is a list of schemas. */
const SCHEMA_LIST = new Set(["anyOf", "oneOf", "allOf", "prefixItems"]);
/** Keywords whose value maps names to schemas. */
const SCHEMA_MAP = new Set([
  "properties",
  "patternProperties",
  "dependentSchemas",
  "$defs",
  "definitions",
]);

/** Convert a zod schema to the JSON Schema `tools/list` advertises (an object, no type arrays). */
export function jsonSchema(schema: z.ZodType, io: "input" | "output"): Tool["inputSchema"] {
  const json = z.toJSONSchema(schema, { io, target: "draft-2020-12" }) as Record<string, unknown>;
  delete json.$schema;
  return { ...portable(json) as Record<string, unknown>, type: "object" } as Tool["inputSchema"];
}

/**
 * A copy of a JSON Schema with each `type` array split into `anyOf` branches
 * (where the `type` was; inside `allOf` when the node already has an `anyOf`).
 * Values that are not schemas (`enum`, `const`, `default`, `examples`, ...)
 * are kept as they are.
 */
export function portable(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(portable);
  if (!isRecord(node)) return node;
  const union = Array.isArray(node.type) ? node.type.map((type) => ({ type })) : undefined;
  const nested = union !== undefined && node.anyOf !== undefined;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === "type" && union !== undefined) {
      if (!nested) out.anyOf = union;
    } else if (SCHEMA.has(key) || SCHEMA_LIST.has(key)) {
      out[key] = portable(value);
    } else if (SCHEMA_MAP.has(key) && isRecord(value)) {
      out[key] = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, portable(v)]));
    } else {
      out[key] = value;
    }
  }
  if (nested) out.allOf = [...(Array.isArray(out.allOf) ? out.allOf : []), { anyOf: union }];
  return out;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
