/**
 * Discovery: the RFC 9728 protected-resource metadata of each MCP path,
 * readable from any origin (`Access-Control-Allow-Origin: *`), and the 404
 * every unknown path gets, which under `/mcp/` (or its metadata URL) names
 * the toolset URLs and the scopes.
 */
import type { Context, Hono } from "hono";
import { cors } from "hono/cors";
import { rawPathOf } from "../capabilities.ts";
import type { AppEnv } from "../middleware/types.ts";
import { MCP_ROUTES, noSuchToolset, type Toolset, type Toolsets } from "../toolsets.ts";

/** RFC 9728 metadata lives at this prefix + the resource's path. */
const WELL_KNOWN = "/.well-known/oauth-protected-resource";

/** The metadata URL of one MCP path (what its challenges name). */
export function metadataUrl(publicUrl: string, set: Toolset): string {
  return `${publicUrl}${WELL_KNOWN}${set.path}`;
}

/** What the metadata routes need. */
export interface DiscoveryOptions {
  toolsets: Toolsets;
  /** `PUBLIC_URL`: each resource is this + its path. */
  publicUrl: string;
  /** `VERTEXSMS_AUTH_SERVER`. */
  authServer: string;
}

/** RFC 9728 metadata of one MCP path: its own `resource`, its tools' scopes. */
function metadataOf(set: Toolset, options: DiscoveryOptions) {
  return {
    resource: `${options.publicUrl}${set.path}`,
    authorization_servers: [options.authServer],
    bearer_methods_supported: ["header"],
    scopes_supported: set.scopes,
    resource_name: "VertexSMS",
  };
}

/** Add the metadata routes to `app`. */
export function discoveryRoutes(app: Hono<AppEnv>, options: DiscoveryOptions): void {
  const discovery = cors({ origin: "*", allowMethods: ["GET", "OPTIONS"] });
  // The bare URL is /mcp's (clients differ in which they try); each MCP path has its own.
  for (const [route, path] of [[WELL_KNOWN, "/mcp"], ...MCP_ROUTES.map((r) => [WELL_KNOWN + r])]) {
    app.use(route as string, discovery);
    app.get(route as string, (c) => {
      const set = options.toolsets.forPath(path ?? rawPathOf(c.req.url).slice(WELL_KNOWN.length));
      if (!set) return notFound(c);
      return c.json(metadataOf(set, options), 200, { "Cache-Control": "public, max-age=3600" });
    });
  }
}

/**
 * 404; under `/mcp/` (or its metadata URL), naming the toolset URLs and the
 * scopes. The path is the request's exactly as sent (not percent-decoded):
 * a toolset's `resource` is that URL.
 */
export function notFound(c: Context<AppEnv>): Response {
  const path = rawPathOf(c.req.url);
  const message = noSuchToolset(
    path.startsWith(WELL_KNOWN) ? path.slice(WELL_KNOWN.length) : path,
  );
  return c.json({ error: { code: "NOT_FOUND", message: message ?? "No such route." } }, 404);
}
