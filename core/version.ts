/**
 * This server's identity, written once: name and version (from `deno.json`),
 * and what MCP `serverInfo` and the MCP Registry entry (`server.json`, checked
 * against these by `conformance/registry_test.ts`) show people.
 */
import manifest from "../deno.json" with { type: "json" };

/** Server version, as in `deno.json`. */
export const VERSION: string = manifest.version;

/** Server name in MCP `serverInfo` and the upstream `User-Agent`. */
export const SERVER_NAME = "vertexsms-mcp";

/** Display name in `serverInfo` and the registry entry. */
export const SERVER_TITLE = "VertexSMS";

/** One sentence for people choosing a server (the MCP Registry allows 100 characters). */
export const SERVER_DESCRIPTION =
  "Send SMS, check rates, register sender IDs and run HLR lookups with your VertexSMS account.";

/** The product's home page. */
export const WEBSITE_URL = "https://vertexsms.com";

/** Where the server serves its icon (an SVG), relative to `PUBLIC_URL`. */
export const ICON_PATH = "/icon.svg";
