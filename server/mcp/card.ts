/**
 * The review card's wiring (`review_card.ts` is the card): its resource as
 * the per-request `McpServer` of `resources.ts` serves it, with its
 * `resources/list` entry and `resources/read` result built once per process
 * (2026-07-28 answers carry public cache fields: the card is the same for
 * every caller).
 */
import type { McpServer } from "@modelcontextprotocol/server";
import { readReviewCard, reviewCardResource } from "../review_card.ts";
import { PUBLIC_CACHE } from "./listing.ts";

/** Registers the card on one request's server. */
export type CardRegistration = (mcp: McpServer) => void;

/** The card's registration for a server at `publicUrl`. */
export function cardRegistration(publicUrl: string): CardRegistration {
  const { uri, name, ...metadata } = reviewCardResource(publicUrl);
  const config = { ...metadata, cacheHint: PUBLIC_CACHE };
  const card = readReviewCard(publicUrl);
  return (mcp) => {
    mcp.registerResource(name, uri, config, () => card);
  };
}
