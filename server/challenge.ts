/** The `WWW-Authenticate: Bearer` challenges of RFC 6750 and RFC 9728. */

/** Parameters of a `WWW-Authenticate: Bearer` challenge. */
export interface Challenge {
  error?: "invalid_token" | "insufficient_scope";
  errorDescription?: string;
  scope: string;
  resourceMetadata: string;
}

/** RFC 6750 quoted-string: only %x20-21 / %x23-5B / %x5D-7E survive. */
function quote(value: string): string {
  return `"${value.replace(/[^\x20\x21\x23-\x5B\x5D-\x7E]/g, "")}"`;
}

/** Render a `WWW-Authenticate` header value. */
export function bearerChallenge(c: Challenge): string {
  const params: string[] = [];
  if (c.error) params.push(`error=${quote(c.error)}`);
  if (c.error === "insufficient_scope") params.push(`scope=${quote(c.scope)}`);
  params.push(`resource_metadata=${quote(c.resourceMetadata)}`);
  if (c.error !== "insufficient_scope") params.push(`scope=${quote(c.scope)}`);
  if (c.errorDescription) params.push(`error_description=${quote(c.errorDescription)}`);
  return `Bearer ${params.join(", ")}`;
}
