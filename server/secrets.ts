/**
 * The server's master secret, verified against its state database before
 * anything listens (`main.ts`, the demo), or on first use (an app built
 * without it, as tests do). See `state/secret.ts` for the rules and
 * `docs/operations.md` for the operator's side.
 */
import type { Config } from "../core/config.ts";
import { createPrincipalHasher, deriveKey, memo, type PrincipalHasher } from "../core/keys.ts";
import type { Logger } from "../core/log.ts";
import { IDEMPOTENCY_TTL_MS } from "../money/mod.ts";
import { type SharedState, type StateSecrets, verifySecret } from "../state/mod.ts";

/** Longest an HLR lookup waits for its callback (`lookup_hlr`'s `waitSeconds` maximum). */
export const LONGEST_HLR_WAIT_MS = 30_000;

/** Longest a billable call can take: one upstream call, the HLR callback wait, and slack. */
export function billableLeaseMs(config: Config): number {
  return config.upstreamTimeoutMs + LONGEST_HLR_WAIT_MS + 30_000;
}

/**
 * Resolve and verify the master secret of `state`: throws
 * `SecretMismatchError`, one line naming the database and the remedy.
 */
export async function verifyStateSecrets(
  config: Config,
  state: SharedState,
): Promise<StateSecrets> {
  return await verifySecret({
    configured: config.stateSecret,
    previous: config.stateSecretPrevious,
    vault: state.vault,
    where: whereOf(state),
    // Records made under the previous secret live this long after a rotation.
    windowMs: IDEMPOTENCY_TTL_MS + billableLeaseMs(config),
  });
}

/** The master secret as the app uses it, and the keyed hashes of tokens under it. */
export interface SecretKeys {
  /** The current secret (verified on first use when the app was not given it). */
  secret: () => Promise<Uint8Array<ArrayBuffer>>;
  /** The previous secret while records made under it may be live (a rotation), else undefined. */
  previousSecret: () => Promise<Uint8Array<ArrayBuffer> | undefined>;
  /** A token's keyed hash under the current secret. */
  principal: PrincipalHasher;
  /** A token's keyed hash under the previous secret during a rotation, else undefined. */
  previousPrincipal: (token: string) => Promise<string | undefined>;
}

/**
 * The secrets of `state`: `given` (verified before listening, `main.ts`),
 * else verified on first use. Every key derives from it, and a secret the
 * state database does not know refuses every guard.
 */
export function secretKeys(
  config: Config,
  state: SharedState,
  logger: Logger,
  given?: StateSecrets,
): SecretKeys {
  if (given) logSecrets(given, state, logger);
  const secrets = given ? () => Promise.resolve(given) : memo(async () => {
    const verified = await verifyStateSecrets(config, state);
    logSecrets(verified, state, logger);
    return verified;
  });
  const secret = async () => (await secrets()).current;
  const previousSecret = async () => {
    const previous = (await secrets()).previous;
    return previous && Date.now() < previous.until ? previous.secret : undefined;
  };
  const previousHasher = memo(async () => {
    const previous = (await secrets()).previous;
    return previous ? createPrincipalHasher(deriveKey(previous.secret, "principal")) : undefined;
  });
  return {
    secret,
    previousSecret,
    principal: createPrincipalHasher(deriveKey(secret, "principal")),
    previousPrincipal: async (token) =>
      await previousSecret() ? (await previousHasher())?.(token) : undefined,
  };
}

/** Log where the secret came from and any rotation under way (once the server runs). */
export function logSecrets(secrets: StateSecrets, state: SharedState, logger: Logger): void {
  const until = secrets.previous ? new Date(secrets.previous.until).toISOString() : undefined;
  logger.info("state secret", {
    origin: secrets.origin,
    rotated: secrets.rotated,
    previous_honoured_until: until,
  });
  if (secrets.previousUnused) {
    logger.warn("STATE_SECRET_PREVIOUS is not needed", {
      hint: `no rotation from it is under way on ${whereOf(state)}: remove it`,
    });
  }
}

function whereOf(state: SharedState): string {
  return state.where ?? `(the ${state.kind} state this server was given)`;
}
