/**
 * The five OAuth scopes, defined once: their names, the consent-screen wording
 * of the public docs, and their order in the documentation. The tool
 * declarations, the upstream endpoint table, the discovery metadata and the
 * README all read this table.
 */

/** The five scopes, with the consent-screen wording of the public docs. */
export const SCOPES = {
  "sms:send": "Send SMS on your behalf.",
  "sms:rates": "Read SMS rates.",
  "sender:write": "Register and confirm Sender IDs on your account.",
  "hlr:lookup": "Run HLR lookups (billable per query).",
  "numbers:read": "Read mobile network metadata and validate phone numbers.",
} as const;

/** One of the five scopes. */
export type Scope = keyof typeof SCOPES;

/** All scopes, in documentation order. */
export const ALL_SCOPES: readonly Scope[] = Object.keys(SCOPES) as Scope[];
