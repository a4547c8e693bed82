/**
 * What a caller sees when the shared state cannot be used: one catalog error,
 * raised before anything billable leaves (the guards read and count in the
 * shared state first), so the message can promise that nothing was sent.
 *
 * The catalog (`core/errors.ts`, `errors.md`) has no code of its own for
 * this, and a new code would change the public contract: the state store is,
 * for a client, one more upstream this server depends on, and
 * `UPSTREAM_UNAVAILABLE` with `retryable: true` is already "nothing was done,
 * try again shortly" (`money/outcome.ts` counts it as a definite refusal, so
 * an idempotency key and a throttle's count are given back).
 */
import { ServiceError } from "../core/errors.ts";

/** Whether `error` is the refusal {@link stateUnavailable} makes. */
export function isStateUnavailable(error: unknown): error is ServiceError {
  return error instanceof ServiceError && error.cause instanceof StateFailure;
}

/** The backend's own error, kept as the `cause` (logged by name, never shown). */
export class StateFailure extends Error {
  constructor(readonly backend: string, cause: unknown) {
    super(
      `${backend}: ${cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause)}`,
      { cause },
    );
    this.name = "StateFailure";
  }
}

/**
 * The error of a state operation that failed (the backend is down, hung,
 * refused the write): `UPSTREAM_UNAVAILABLE`, retryable, and nothing sent.
 */
export function stateUnavailable(backend: string, cause: unknown): ServiceError {
  return new ServiceError(
    "UPSTREAM_UNAVAILABLE",
    `This server's shared state (${backend}) cannot be reached; nothing was sent. Try again shortly.`,
    { retryable: true },
    { cause: new StateFailure(backend, cause) },
  );
}

/** How each backend is called in errors and logs. */
export const BACKEND_NAMES: Readonly<Record<"kv" | "redis" | "memory", string>> = {
  kv: "Deno KV",
  redis: "Redis",
  memory: "memory",
};

/**
 * The error of a state read that failed (the ledger, the guards' windows):
 * `UPSTREAM_UNAVAILABLE`, retryable, naming `what` could not be read — never
 * an empty answer that would look true. A `ServiceError` that is not a state
 * failure passes through unchanged.
 */
export function readUnavailable(backend: string, what: string, error: unknown): ServiceError {
  if (error instanceof ServiceError && !isStateUnavailable(error)) return error;
  const cause = isStateUnavailable(error) ? error.cause : new StateFailure(backend, error);
  return new ServiceError(
    "UPSTREAM_UNAVAILABLE",
    `This server's shared state (${backend}) cannot be reached, so ${what} cannot be read right ` +
      "now. Try again shortly.",
    { retryable: true },
    { cause },
  );
}
