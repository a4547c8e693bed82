/**
 * Which protocol era serves a request, answered without the SDK's full
 * classification when the answer is certain.
 *
 * `isLegacyRequest` (the SDK's routing predicate) parses the body with zod,
 * and the 2026-07-28 handler then classifies it again: twice the same work
 * for every modern request. A single message whose params carry the envelope
 * claim (`_meta["io.modelcontextprotocol/protocolVersion"]`) is never legacy —
 * the SDK answers it on the modern path, or rejects it there — so such a
 * request goes straight to the modern handler; anything else (batches,
 * responses, `initialize`, claim-less messages) is still classified by
 * `isLegacyRequest`. `era_test.ts` checks the short answer against the SDK's
 * on generated messages.
 */
import { isLegacyRequest, PROTOCOL_VERSION_META_KEY } from "@modelcontextprotocol/server";

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/**
 * Whether a parsed body certainly goes to the 2026-07-28 handler: one
 * message, not a response (no `result`, no `error`), not `initialize`, with
 * the envelope claim in its params' `_meta`.
 */
export function claimsModernEra(body: unknown): boolean {
  if (!isPlainObject(body)) return false;
  if (body.result !== undefined || body.error !== undefined || body.method === "initialize") {
    return false;
  }
  const meta = isPlainObject(body.params) ? body.params._meta : undefined;
  return isPlainObject(meta) && PROTOCOL_VERSION_META_KEY in meta;
}

/** Whether a POST with this parsed body is served by the 2025-era leg. */
export async function isLegacy(request: Request, body: unknown): Promise<boolean> {
  return !claimsModernEra(body) && await isLegacyRequest(request, body);
}
