/** The client address of a request. */
import type { Context } from "hono";
import type { AppEnv } from "./types.ts";

/**
 * The peer address, or, when `trustProxy` is set, the last `X-Forwarded-For`
 * entry (the one our own proxy appended; earlier entries are client-supplied).
 */
export function clientIp(c: Context<AppEnv>, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = c.req.header("x-forwarded-for");
    const last = forwarded?.split(",").map((s) => s.trim()).filter(Boolean).pop();
    if (last) return last;
  }
  return c.env?.remoteAddr?.hostname ?? "unknown";
}
