/**
 * The review card's wiring (`review_card.ts` is the card): the
 * `resources/list` and `resources/read` answers, built once per process, per
 * era (the 2026-07-28 ones carry their public cache fields).
 */
import { ResourceNotFoundError, type ServerContext } from "@modelcontextprotocol/server";
import { readReviewCard, REVIEW_CARD_URI, reviewCardResource } from "../review_card.ts";
import { PUBLIC_CACHE } from "./listing.ts";

/** The card's resource handlers. */
export interface CardResources {
  /** The `resources/list` result. */
  list(ctx: ServerContext): { resources: ReturnType<typeof reviewCardResource>[] };
  /** The `resources/read` result of `uri`; an unknown URI is `ResourceNotFoundError`. */
  read(uri: string, ctx: ServerContext): ReturnType<typeof readReviewCard>;
}

/** The card's resources for a server at `publicUrl`. */
export function cardResources(publicUrl: string): CardResources {
  const listed = { resources: [reviewCardResource(publicUrl)] };
  const lists = { legacy: listed, modern: { ...listed, ...PUBLIC_CACHE } };
  const card = readReviewCard(publicUrl);
  const reads = { legacy: card, modern: { ...card, ...PUBLIC_CACHE } };
  return {
    list: (ctx) => ctx.mcpReq.envelope === undefined ? lists.legacy : lists.modern,
    read: (uri, ctx) => {
      if (uri !== REVIEW_CARD_URI) throw new ResourceNotFoundError(uri.slice(0, 256));
      return ctx.mcpReq.envelope === undefined ? reads.legacy : reads.modern;
    },
  };
}
