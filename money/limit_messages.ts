/**
 * The refusals of the per-token limits (`limits.ts`): what each limit says
 * when a call would go over it — wait and retry, or split the batch when no
 * wait helps — and when too many calls are counted at once.
 */
import { ServiceError } from "../core/errors.ts";
import { formatEur } from "../core/eur.ts";

/** The limits a call is counted against; each has a refusal of its own. */
export type LimitName = "sends" | "recipients" | "spend" | "pins" | "pinsPerNumber" | "approvals";

/** A limit as its refusal names it: which, its maximum, and what each unit of the call adds. */
interface Over {
  name: LimitName;
  limit: number;
  amounts: readonly number[];
}

/** The open window a call would go over: what it counted, and when it closes (epoch ms). */
interface Counted {
  n: number;
  exp: number;
}

/** The refusal of a call (`what`: "This SMS", "This batch of 12 SMS") over a limit. */
export function overLimit(
  p: Over,
  window: Counted,
  add: number,
  now: number,
  what: string,
): ServiceError {
  const seconds = Math.max(1, Math.ceil((window.exp - now) / 1000));
  const batch = p.amounts.length > 1;
  if (add > p.limit) return overAlone(p, add, what, batch);
  const wait = `Nothing was sent. Try again in ${seconds} seconds.`;
  return new ServiceError("RATE_LIMITED", overWindow(p, window.n, add, what, batch, wait), {
    retryAfterSeconds: seconds,
  });
}

/** A call more than the limit on its own: no wait helps. */
function overAlone(p: Over, add: number, what: string, batch: boolean): ServiceError {
  const alone = p.name === "spend"
    ? `${what} alone is estimated at €${formatEur(add)}, more than the spend cap of ` +
      `€${formatEur(p.limit)} per 24 hours (SMS_DAILY_SPEND_CAP_EUR)`
    : p.name === "sends"
    ? `${what} alone is more than the ${p.limit} SMS a minute this server allows ` +
      `(SMS_SENDS_PER_MINUTE)`
    : `${what} alone reaches ${add} different recipients, more than the ${p.limit} an hour ` +
      "this server allows (SMS_RECIPIENTS_PER_HOUR)";
  const under = p.name === "spend" ? "this cap" : "this limit";
  const split = batch ? "; split it into smaller batches" : "";
  return new ServiceError(
    "RATE_LIMITED",
    `${alone}. Nothing was sent; it cannot be sent under ${under}${split}.`,
    { retryable: false },
  );
}

/** The message of a call the open window (`used` so far) has no room for yet. */
function overWindow(
  p: Over,
  used: number,
  add: number,
  what: string,
  batch: boolean,
  wait: string,
): string {
  // A batch says what it would add: the window alone may still have room for a smaller one.
  const adding = batch ? `, and ${what.replace(/^T/, "t")} would add ${add}, over the` : ", the";
  return p.name === "approvals"
    ? `This token already asked for ${used} approvals within an hour, the most this server ` +
      `allows. ${wait}`
    : p.name === "pins" || p.name === "pinsPerNumber"
    ? `${
      p.name === "pins" ? "This token" : "This number"
    } already got ${used} PIN texts within an hour, the limit of this server ` +
      `(PIN_TEXTS_PER_HOUR=${p.limit}). ${wait}`
    : p.name === "sends"
    ? `This token already sent ${used} SMS within a minute${adding} limit of this server ` +
      `(SMS_SENDS_PER_MINUTE=${p.limit}). ${wait}`
    : p.name === "recipients"
    ? `This token already messaged ${used} different recipients within an hour${adding} limit ` +
      `of this server (SMS_RECIPIENTS_PER_HOUR=${p.limit}). Recipients already messaged in this ` +
      `hour can still be reached. ${wait}`
    : `Sending would bring this token's estimated spend today to €${formatEur(used + add)}, over ` +
      `the cap of €${formatEur(p.limit)} per 24 hours (SMS_DAILY_SPEND_CAP_EUR). ${wait}`;
}

/** The refusal when a token's windows keep changing under its commit (many calls at once). */
export function tooBusy(): ServiceError {
  return new ServiceError(
    "RATE_LIMITED",
    "Too many calls are being counted for this token at once. Nothing was sent; try again in a second.",
    { retryAfterSeconds: 1 },
  );
}
