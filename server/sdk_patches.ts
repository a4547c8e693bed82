/**
 * One small fix carried on top of the MCP SDK (`@modelcontextprotocol/server`
 * 2.4.0), measured in `bench/per_request.ts` and proven equivalent in
 * `sdk_patches_test.ts`.
 *
 * The SDK tells JSON-RPC messages apart with zod type guards
 * (`isJSONRPCResultResponse(m)` is `JSONRPCResultResponseSchema.safeParse(m)
 * .success`), and asks the questions whose answer is usually "no" first: every
 * request is classified at the entry, again by the transport and again by the
 * protocol layer, and each time it is first parsed as a result response, then
 * as an error response, then (by the transport) as an `initialize` request. A
 * failed zod parse is the expensive one: it builds an issue list with
 * formatted messages, only for `.success` to be read. Those failures were 30 %
 * of the memory a request allocates in the SDK (80 of 83 KiB... see the
 * README's Performance section for the figures).
 *
 * The fix answers "no" at once when a value lacks what the schema requires
 * (no `result` key for a result response, no `error` key for an error
 * response, a `method` other than `initialize`), and otherwise runs the
 * schema. The answer is the same either way: the short cut returns
 * `success: false` and, should anyone read it, the schema's own `error`,
 * computed on demand. Applied once per process, to the SDK's own schema
 * objects (the ones `specTypeSchemas` exports and its guards use).
 */
import { specTypeSchemas } from "@modelcontextprotocol/server";

type SafeParse = (value: unknown, params?: unknown) => { success: boolean; error?: unknown };

/** The spec types whose guards get the short cut, and when a value certainly fails each. */
export const SHORT_CUTS = {
  JSONRPCResultResponse: (value: Record<string, unknown>) => value.result === undefined,
  JSONRPCErrorResponse: (value: Record<string, unknown>) => value.error === undefined,
  InitializeRequest: (value: Record<string, unknown>) => value.method !== "initialize",
} as const;

const PATCHED = Symbol.for("vertexsms-mcp.sdk-patched");

/** Install the short cuts (once; later calls do nothing). */
export function patchSdk(): void {
  for (const [name, certainlyFails] of Object.entries(SHORT_CUTS)) {
    const schema = specTypeSchemas[name as keyof typeof SHORT_CUTS] as unknown as
      & { safeParse: SafeParse }
      & Record<symbol, unknown>;
    if (schema[PATCHED]) continue;
    const original: SafeParse = schema.safeParse.bind(schema);
    Object.defineProperty(schema, "safeParse", {
      configurable: true,
      writable: true,
      value: (value: unknown, params?: unknown) => {
        if (
          value === null || typeof value !== "object" || Array.isArray(value) ||
          !certainlyFails(value as Record<string, unknown>)
        ) {
          return original(value, params);
        }
        let error: unknown;
        return {
          success: false,
          get error() {
            return error ??= original(value, params).error;
          },
        };
      },
    });
    Object.defineProperty(schema, PATCHED, { value: true });
  }
}
