/** The client address of a request. */
import type { Context } from "hono";
import type { AppEnv } from "./types.ts";

/** An IPv4 or IPv6 address as it appears in `X-Forwarded-For` (no port, no brackets). */
const IP_LIKE =
  /^(?:[0-9]{1,3}(?:\.[0-9]{1,3}){3}|[0-9A-Fa-f:]{2,39}(?::[0-9]{1,3}(?:\.[0-9]{1,3}){3})?)$/;

/**
 * The peer address, or, when `trustProxy` is set, the last `X-Forwarded-For`
 * entry (the one our own proxy appended; earlier entries are client-supplied).
 * An entry that is not an IP address is ignored: it becomes a rate-limit key,
 * so it must stay short and meaningful.
 */
export function clientIp(c: Context<AppEnv>, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = c.req.header("x-forwarded-for");
    const last = forwarded?.split(",").map((s) => s.trim()).filter(Boolean).pop();
    if (last && IP_LIKE.test(last)) return last;
  }
  return c.env?.remoteAddr?.hostname ?? "unknown";
}
