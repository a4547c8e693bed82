/**
 * One small fix carried on top of the MCP SDK (`@modelcontextprotocol/server`
 * 2.4.0), measured in `bench/per_request.ts` (the SDK alone, as shipped and
 * with the fix) and checked against the SDK's own behaviour in
 * `sdk_patches_test.ts`. Applied once per process by {@link patchSdk}.
 *
 * Failing zod guards. The SDK tells JSON-RPC messages apart with zod
 * (`isJSONRPCResultResponse(m)` is `JSONRPCResultResponseSchema
 * .safeParse(m).success`) and asks first the questions whose answer is
 * usually "no": every request is classified at the entry, again by the
 * transport and again by the protocol layer, each time parsed first as a
 * result response, then as an error response, then (by the transport) as
 * an `initialize` request. A failed zod parse is the costly kind: it builds
 * an issue list with formatted messages, for `.success` alone to be read.
 * The fix answers "no" at once when a value lacks what the schema requires
 * (no `result` key for a result response, no `error` key for an error
 * response, a `method` other than `initialize`), and otherwise runs the
 * schema. The answer is the same either way: the short cut returns
 * `success: false` and, should anyone read it, the schema's own `error`,
 * computed then. It changes the SDK's own schema objects (the ones
 * `specTypeSchemas` exports and its guards use).
 *
 * A second fix was tried and dropped: the 2026-07-28 entry closes its
 * per-request protocol instance after every exchange, and closing builds a
 * "Connection closed" `SdkError` to abort the handler still registered
 * (its answer already sent). Building it with `Error.stackTraceLimit = 0`
 * saved nothing measurable: on Deno 2.9 a `new Error()` costs about 1–3 µs
 * whatever the limit (on Node the limit cuts it to a third). Not building it
 * would mean replacing the SDK's close, which is not a small fix.
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

/** Install the fix (once; later calls do nothing). */
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
