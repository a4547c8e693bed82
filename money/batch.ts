/**
 * The run of a batch (`send_sms_batch`), once the guards let it go ahead
 * (`Money.sendBatch`: idempotency, then one confirmation for all):
 *
 * 1. every recipient left to send is judged again by the consent guards (a
 *    refused one is `not_sent`, counting nothing; each other one counts
 *    against its per-recipient limit); the rest are priced for the spend cap
 *    (an unpriced one refuses the batch, naming `to.<index>`) and counted
 *    against the limits in one commit: the batch fits whole or is refused
 *    whole;
 * 2. the confirmation is spent, once for the batch;
 * 3. the messages go out in input order, at most {@link BATCH_IN_FLIGHT} at
 *    a time. A recipient VertexSMS refuses, or whose send may or may not have
 *    left, gets its own outcome and the others go on; VertexSMS rejecting the
 *    token (or the caller going away) stops the batch: no further sends;
 * 4. definite refusals give back what they counted, sent messages correct
 *    the spend to the parts VertexSMS billed; each sent message is handed
 *    over (the ledger) the moment VertexSMS accepted it.
 *
 * A batch that stopped early throws {@link Stopped} with its progress (each
 * recipient's outcome, `null` for those never sent), which the idempotency
 * record keeps: a retry with the same key sends only the rest.
 */
import { asServiceError, ServiceError } from "../core/errors.ts";
import { base64url, randomBytes } from "../core/keys.ts";
import type { Authorized } from "./authorize.ts";
import type { Consent } from "./consent.ts";
import type { RecipientLease } from "./recipient_windows.ts";
import { Stopped } from "./idempotency_records.ts";
import type { Lease } from "./limit_windows.ts";
import { billedCost, costsForCap, type Limits } from "./limits.ts";
import { asUnknownOutcome, definitelyNotBilled, tokenRejected } from "./outcome.ts";
import type { BatchCall, BatchQuote, GuardContext, RecipientOutcome } from "./types.ts";

/** Sends of one batch in flight at most. */
export const BATCH_IN_FLIGHT = 5;

/** A stopped batch resumed under its key: it was authorized when it started. */
export const RESUMED: Authorized<never> = { spend: () => Promise.resolve() };

/** What a stopped batch leaves for a retry with the same key. */
interface Progress {
  batchId: string;
  outcomes: (RecipientOutcome | null)[];
  /** The test mode (`SMS_TEST_MODE`) it was authorized and started in. */
  mode: string;
}

/**
 * Whether a stopped batch may go on without being confirmed again: only in
 * the test mode it was authorized in (a simulated batch's approval never
 * sends for real, nor the other way round).
 */
export function resumableIn(progress: object, mode: string): boolean {
  return (progress as Partial<Progress>).mode === mode;
}

/** What a run needs besides the call. */
export interface RunOptions {
  limits: Limits;
  consent: Consent;
  authorized: Authorized<BatchQuote>;
  /** The kept progress of an earlier run that stopped (resuming it), or null. */
  progress: object | null;
  /** Whether the call has an idempotency key (a retry under it sends only the rest). */
  keyed: boolean;
  /** The server's test mode, kept with a stopped batch's progress. */
  mode: string;
}

/** Count, then send every recipient not sent yet; the result, or {@link Stopped}. */
export async function runBatch<T>(
  ctx: GuardContext,
  call: BatchCall<T>,
  { limits, consent, authorized, progress, keyed, mode }: RunOptions,
): Promise<T> {
  const earlier = progress as Progress | null;
  const batchId = earlier?.batchId ?? base64url(randomBytes(12));
  const outcomes = earlier?.outcomes.slice() ?? call.recipients.map(() => null);
  const { todo, counted } = await admit(ctx, call, consent, outcomes);
  if (todo.length === 0) return await call.result(batchId, outcomes as RecipientOutcome[]);
  const giveBack = (...j: number[]) => consent.release(...j.map((k) => counted[k]!));
  const { leases, costs } = await countAndSpend(ctx, call, limits, authorized, todo, giveBack);

  const refunds: Lease[] = [];
  const unsent: number[] = [];
  const corrections: { lease: Lease; billedMicros: number }[] = [];
  let stop: ServiceError | undefined;
  await inOrder(todo.length, BATCH_IN_FLIGHT, async (j) => {
    const i = todo[j]!;
    if (stop || ctx.signal.aborted) {
      refunds.push(leases[j]!); // never sent: free for a retry
      unsent.push(j);
      return;
    }
    try {
      const { messageId, billedParts } = await call.send(i);
      const parts = billedParts ?? call.parts;
      outcomes[i] = { status: "sent", messageId, parts };
      // Handed over at once: its delivery report may follow within milliseconds.
      await call.sent?.(batchId, { index: i, messageId, parts }).catch(() => {});
      const cost = costs[j];
      if (cost != null && billedParts !== null && billedParts !== call.parts) {
        const billedMicros = billedCost(cost, call.parts, billedParts);
        corrections.push({ lease: leases[j]!, billedMicros });
      }
    } catch (thrown) {
      const error = asServiceError(thrown);
      if (!definitelyNotBilled(error, ctx.signal)) {
        outcomes[i] = failed(asUnknownOutcome(error), true);
        return;
      }
      refunds.push(leases[j]!);
      unsent.push(j);
      // The token itself was refused: nothing more goes out, and this one may go in a retry.
      if (tokenRejected(error)) stop ??= error;
      else outcomes[i] = failed(error, false);
    }
  });
  // Best effort, as for one send: the shared state failing now keeps the counts (failing
  // closed) and must not turn sent messages into an error.
  await limits.refund(...refunds).catch(() => {});
  await giveBack(...unsent).catch(() => {});
  await limits.reconcile(...corrections).catch(() => {});

  const open = outcomes.filter((o) => o === null).length;
  if (open === 0) return await call.result(batchId, outcomes as RecipientOutcome[]);
  const done = outcomes.length - open;
  const kept: Progress | null = done > 0 ? { batchId, outcomes, mode } : null;
  throw new Stopped(stopped(stop, done, outcomes.length, keyed), kept);
}

/**
 * The recipients left to send (`todo`) priced for the spend cap and counted
 * against the limits in one commit, then the confirmation spent: each
 * one's lease and estimate. A refusal on the way gives back what was
 * counted, and (`giveBack`) the recipients' own counts.
 */
async function countAndSpend<T>(
  ctx: GuardContext,
  call: BatchCall<T>,
  limits: Limits,
  authorized: Authorized<BatchQuote>,
  todo: readonly number[],
  giveBack: (...j: number[]) => Promise<void>,
): Promise<{ leases: Lease[]; costs: (number | null)[] }> {
  const pick = (quote: BatchQuote) => todo.map((i) => quote.recipients[i]!);
  try {
    const costs = limits.capped
      ? await costsForCap(
        async () => pick(await call.quote()),
        authorized.quote && pick(authorized.quote),
        (j) => `to.${todo[j]}`,
      )
      : todo.map(() => null);
    const leases = await limits.reserveBatch(ctx, todo.map((i) => call.recipients[i]!), costs);
    try {
      await authorized.spend();
    } catch (thrown) {
      await limits.refund(...leases).catch(() => {});
      throw thrown;
    }
    return { leases, costs };
  } catch (thrown) {
    await giveBack(...todo.keys()).catch(() => {});
    throw thrown;
  }
}

/**
 * Consent, judged again for every recipient left to send: a refused one
 * gets its `not_sent` outcome (and counts nothing); the others are `todo`,
 * each with what it counted against its per-recipient limit.
 */
async function admit<T>(
  ctx: GuardContext,
  call: BatchCall<T>,
  consent: Consent,
  outcomes: (RecipientOutcome | null)[],
): Promise<{ todo: number[]; counted: (RecipientLease | null)[] }> {
  const left = outcomes.flatMap((o, i) => (o === null ? [i] : []));
  const admitted = await consent.admit(ctx, left.map((i) => call.recipients[i]!), call.scheduled);
  const todo: number[] = [];
  const counted: (RecipientLease | null)[] = [];
  admitted.forEach((a, j) => {
    if ("refused" in a) outcomes[left[j]!] = refusedOutcome(a.refused);
    else {
      todo.push(left[j]!);
      counted.push(a.lease);
    }
  });
  return { todo, counted };
}

/** Run `task(0..n-1)`, at most `width` at a time, starting them in order. */
async function inOrder(n: number, width: number, task: (j: number) => Promise<void>) {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(width, n) }, async () => {
    while (next < n) await task(next++);
  }));
}

function failed(error: ServiceError, outcomeUnknown: boolean): RecipientOutcome {
  return { status: "failed", error: { code: error.code, message: error.message, outcomeUnknown } };
}

/** A recipient a consent guard refused (`SEND_NOT_ALLOWED`): not sent, nothing counted. */
export function refusedOutcome(error: ServiceError): RecipientOutcome {
  const f = error.facts;
  return {
    status: "not_sent",
    error: {
      code: error.code,
      message: error.message,
      outcomeUnknown: false,
      ...(f.reason ? { reason: f.reason } : {}),
      ...(f.nextAllowedAt ? { nextAllowedAt: f.nextAllowedAt } : {}),
      ...(f.retryAfterSeconds !== undefined ? { retryAfterSeconds: f.retryAfterSeconds } : {}),
    },
  };
}

/** Why a batch stopped before its last recipient, saying how far it got and how to go on. */
function stopped(
  cause: ServiceError | undefined,
  done: number,
  count: number,
  keyed: boolean,
): ServiceError {
  // Nothing handled, nothing kept: the batch failed like one send.
  if (done === 0 && cause) return cause;
  const sofar = `${done} of the ${count} recipients of this batch were handled before it ` +
    "stopped; the others were not sent.";
  const rest = keyed
    ? "repeat the call with the same idempotencyKey and the same token to send only the rest."
    : "this call had no idempotencyKey, so repeating it would send to every recipient again.";
  if (!cause) {
    return new ServiceError(
      "UPSTREAM_UNAVAILABLE",
      `The call was cancelled mid-batch. ${sofar} To finish it, ${rest}`,
      { retryable: false, outcomeUnknown: true },
    );
  }
  return new ServiceError(
    cause.code,
    `${cause.message} ${sofar} Once VertexSMS accepts the token again, ${rest}`,
    cause.facts,
    { cause },
  );
}
