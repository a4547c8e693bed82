/** The client address of a request, and the allow-lists of the callback routes. */
import type { Context, Hono } from "hono";
import { ipRestriction } from "hono/ip-restriction";
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

/**
 * Answer `404 Not Found` on `path` to a client whose address (see
 * {@link clientIp}) is outside `allowedIps` (CIDRs or addresses); an empty
 * list allows any.
 */
export function restrictToIps(
  app: Hono<AppEnv>,
  path: string,
  allowedIps: readonly string[],
  trustProxy: boolean,
): void {
  if (allowedIps.length === 0) return;
  app.use(
    path,
    ipRestriction(
      (c) => clientIp(c, trustProxy),
      { allowList: [...allowedIps] },
      (_remote, c) => c.text("Not Found", 404),
    ),
  );
}
