/**
 * The server's icon, served at `/icon.svg` and named in `serverInfo.icons`:
 * a speech bubble with three dots. Kept in code so the compiled binary and a
 * Deno Deploy build need no file read. Plain shapes only (no script, no
 * external reference), served with a restrictive Content-Security-Policy, as
 * clients are told to be careful with SVG.
 */
import type { Context } from "hono";
import { VERSION } from "../core/version.ts";

/** The SVG document. */
export const ICON_SVG =
  `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" width="64" height="64">
<rect width="64" height="64" rx="14" fill="#0b6bcb"/>
<path d="M14 18h36a4 4 0 0 1 4 4v18a4 4 0 0 1-4 4H30l-10 8v-8h-6a4 4 0 0 1-4-4V22a4 4 0 0 1 4-4z" fill="#fff"/>
<circle cx="22" cy="31" r="3.2" fill="#0b6bcb"/><circle cx="32" cy="31" r="3.2" fill="#0b6bcb"/>
<circle cx="42" cy="31" r="3.2" fill="#0b6bcb"/>
</svg>
`;

/** Changes with the version, so a new icon reaches caches that revalidate. */
const ETAG = `"icon-${VERSION}"`;

/** How long clients and shared caches may keep the icon: 30 days. */
export const ICON_MAX_AGE_SECONDS = 30 * 24 * 3600;

/** Answer `GET /icon.svg` (304 when the client has this version). */
export function serveIcon(c: Context): Response {
  const headers = {
    "Content-Type": "image/svg+xml",
    "Cache-Control": `public, max-age=${ICON_MAX_AGE_SECONDS}`,
    "ETag": ETAG,
    "Access-Control-Allow-Origin": "*",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
    "X-Content-Type-Options": "nosniff",
  };
  if (c.req.header("if-none-match") === ETAG) return c.body(null, 304, headers);
  return c.body(ICON_SVG, 200, headers);
}
