/**
 * Capability routes: paths whose last segment is itself a credential (an
 * approval id approves a send, an HLR callback id delivers a lookup's result,
 * a delivery-report capability delivers reports). This is the one list of
 * them; everything that must treat them differently asks it:
 *
 * - logs name the route (`/approvals/:id`), never the path, whatever the
 *   method, the status or the spelling (case, percent-encoding, repeated or
 *   trailing slashes, anything after the route's stem), and requests that
 *   match no route are logged the same way ({@link loggablePath});
 * - exported telemetry: the request span is named after the route, and the
 *   URL attributes Deno records itself are rewritten before they are
 *   recorded ({@link scrubSpanUrl}, installed by `core/telemetry.ts`);
 * - CORS: none. No answer carries `Access-Control-Allow-*` (a preflight
 *   finds no route: 404), so no other origin can read them;
 * - bodies: at most {@link MAX_CAPABILITY_BODY_BYTES}, refused with 413 from
 *   `Content-Length` before reading, or while reading a chunked body; a route
 *   that opens its capability before it reads (delivery reports: an unknown
 *   one is a 404 whatever the body) reads with that same bound itself.
 *
 * A capability is 256 random bits (43 base64url characters) or longer. The
 * state keeps only keyed hashes of them (`money/approvals.ts`,
 * `services/hlr_broker.ts`).
 */
import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { activeSpanUnscrubbed, nameRequestSpan } from "../core/telemetry.ts";
import type { Logger } from "../core/log.ts";
import type { AppEnv } from "./middleware/types.ts";

/** One capability route. */
export interface CapabilityRoute {
  /** The path up to the capability, lower case, without a trailing slash. */
  stem: string;
  /** The route as logs and spans name it. */
  route: string;
  /**
   * The route checks its capability before it reads the body, which it reads
   * itself at most {@link MAX_CAPABILITY_BODY_BYTES} long (413 beyond).
   */
  readsAfterCheck?: true;
}

/** Every capability route of this server (a new one is one more entry). */
export const CAPABILITY_ROUTES: readonly CapabilityRoute[] = [
  { stem: "/approvals", route: "/approvals/:id" },
  { stem: "/callbacks/hlr", route: "/callbacks/hlr/:id" },
  { stem: "/callbacks/dlr", route: "/callbacks/dlr/:capability", readsAfterCheck: true },
];

/** Largest body a capability route reads (`http.md`: 16 KiB). */
export const MAX_CAPABILITY_BODY_BYTES = 16 * 1024;

/** A run of base64url long enough to be a capability, wherever it appears. */
const LONG_RUN = /[A-Za-z0-9_-]{32,}/g;

/** `%XX` sequences decoded one by one (a malformed one is kept as it is). */
function decodePercents(text: string): string {
  return text.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
    try {
      return decodeURIComponent(run);
    } catch {
      return run;
    }
  });
}

/**
 * A path as a router that forgives everything would read it: percent-decoded
 * (twice over, for double encoding), lower case, backslashes as slashes,
 * repeated slashes collapsed, `.` and `..` segments resolved.
 */
export function normalizePath(path: string): string {
  let p = path;
  for (let i = 0; i < 3 && p.includes("%"); i++) p = decodePercents(p);
  p = p.toLowerCase();
  if (!/[\\]|\/\/|\/\.\.?(?:\/|$)/.test(p)) return p;
  const out: string[] = [];
  for (const segment of p.replaceAll("\\", "/").split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") out.pop();
    else out.push(segment);
  }
  return `/${out.join("/")}`;
}

/** The capability route `path` falls under, however spelled: anything after a stem counts. */
export function capabilityOf(path: string): CapabilityRoute | undefined {
  const p = normalizePath(path);
  return CAPABILITY_ROUTES.find((r) => p.startsWith(r.stem) && p.length > r.stem.length);
}

/** The path a log line may show: a capability route's name, else the path with long runs cut. */
export function loggablePath(path: string): string {
  return capabilityOf(path)?.route ?? path.replace(LONG_RUN, "…").slice(0, 200);
}

/**
 * A URL attribute as a span may record it (the scrubber `core/telemetry.ts`
 * installs): under a capability route, the route instead of the path and no
 * query; elsewhere, long runs cut.
 */
export function scrubSpanUrl(key: string, value: string): string {
  if (key === "url.query") return value.replace(LONG_RUN, "…");
  if (key === "url.path") return capabilityOf(value)?.route ?? value.replace(LONG_RUN, "…");
  const route = capabilityOf(rawPathOf(value))?.route;
  if (!route) return value.replace(LONG_RUN, "…");
  const start = value.indexOf("/", value.indexOf("//") + 2);
  return `${start < 0 ? value : value.slice(0, start)}${route}`;
}

/** The path of a request exactly as sent (not percent-decoded). */
export function rawPathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  const end = url.search(/[?#]/);
  return start < 0 ? "/" : url.slice(start, end < 0 ? undefined : end);
}

/**
 * In front of every route: for a capability path, name the span after its
 * route, bound the body, and make sure no answer carries
 * `Access-Control-Allow-Origin`.
 */
export function capabilityGuard(logger: Logger): MiddlewareHandler<AppEnv> {
  const limit = bodyLimit({
    maxSize: MAX_CAPABILITY_BODY_BYTES,
    onError: (c) => c.text("Payload Too Large", 413),
  });
  let warned = false;
  return async (c, next) => {
    const capability = capabilityOf(rawPathOf(c.req.url));
    if (!capability) return await next();
    nameRequestSpan(c.req.method, capability.route);
    if (!warned && activeSpanUnscrubbed()) {
      warned = true;
      logger.warn("telemetry", {
        warning: "this Deno records request URLs past the scrubber: capability URLs may be " +
          "exported; turn OpenTelemetry off (OTEL_DENO=false) until it is fixed",
      });
    }
    const refused = capability.readsAfterCheck ? await next() : await limit(c, next);
    if (refused) return refused;
    c.res.headers.delete("Access-Control-Allow-Origin");
  };
}
