import {
  isInitializeRequest,
  isJSONRPCErrorResponse,
  isJSONRPCResultResponse,
  specTypeSchemas,
} from "@modelcontextprotocol/server";
import fc from "fast-check";
import assert from "node:assert/strict";
import { z } from "zod";
import { rpcBody, rpcMessage } from "../testing/messages.ts";
import { patchSdk, SHORT_CUTS } from "./sdk_patches.ts";

type Parse = (value: unknown) => { success: boolean; error?: { issues: unknown[] } };

patchSdk();
patchSdk(); // a second call changes nothing

const schemas = Object.keys(SHORT_CUTS).map((name) => {
  const schema = specTypeSchemas[name as keyof typeof SHORT_CUTS] as unknown as {
    safeParse: Parse;
  };
  // zod's own entry point, which the patch leaves alone.
  const original = (v: unknown) => z.safeParse(schema as unknown as z.ZodType, v);
  return { name, patched: (v: unknown) => schema.safeParse(v), original };
});

Deno.test("the patched guards answer exactly as the SDK's schemas do, errors included", () => {
  const shortCut = new Map(schemas.map((s) => [s.name, 0]));
  fc.assert(
    fc.property(fc.oneof(rpcMessage, rpcBody), (value) => {
      for (const { name, patched, original } of schemas) {
        const a = patched(value);
        const b = original(value);
        assert.equal(a.success, b.success, name);
        if (!a.success) {
          assert.deepEqual(a.error?.issues, b.error?.issues, name);
          shortCut.set(name, shortCut.get(name)! + 1);
        }
      }
    }),
    { numRuns: 5_000 },
  );
  for (const [name, n] of shortCut) assert.ok(n > 1_000, `${name} refused values (${n})`);
});

Deno.test("the SDK's own guards take the short cut: a request is refused without reading the rest", () => {
  const read: PropertyKey[] = [];
  const request = new Proxy({ jsonrpc: "2.0", id: 1, method: "tools/call", params: {} }, {
    get(target, key) {
      read.push(key);
      return Reflect.get(target, key);
    },
  });
  assert.equal(isJSONRPCResultResponse(request), false);
  assert.deepEqual(read, ["result"]);
  read.length = 0;
  assert.equal(isJSONRPCErrorResponse(request), false);
  assert.deepEqual(read, ["error"]);
  read.length = 0;
  assert.equal(isInitializeRequest(request), false);
  assert.deepEqual(read, ["method"]);
  // Values that may pass still go to the schema.
  assert.equal(isJSONRPCResultResponse({ jsonrpc: "2.0", id: 1, result: {} }), true);
  assert.equal(
    isJSONRPCErrorResponse({ jsonrpc: "2.0", id: 1, error: { code: 1, message: "m" } }),
    true,
  );
  assert.equal(
    isInitializeRequest({
      jsonrpc: "2.0",
      id: 1,
      method: "initialize",
      params: {
        protocolVersion: "2025-11-25",
        capabilities: {},
        clientInfo: { name: "c", version: "1" },
      },
    }),
    true,
  );
});
