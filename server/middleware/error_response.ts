/** The HTTP face of the error envelope. */
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { type AuthLinks, type ServiceError, toEnvelope } from "../../core/errors.ts";
import type { AppEnv } from "./types.ts";

/** Answer `error` at HTTP level: the envelope as body, `X-Request-Id`, extra headers. */
export function errorResponse(
  c: Context<AppEnv>,
  error: ServiceError,
  links: AuthLinks,
  status: ContentfulStatusCode,
  headers: Record<string, string> = {},
): Response {
  c.get("record").errorCode = error.code;
  return c.json(toEnvelope(error, c.get("requestId"), links), status, {
    "Cache-Control": "no-store",
    ...headers,
  });
}
