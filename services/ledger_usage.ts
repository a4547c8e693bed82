/**
 * The ledger's usage tallies: per bucket of entries, the sends, parts, cost
 * and final statuses, sealed beside the entries (`ledger_records.ts`), so
 * that a token's usage reads a tally per bucket instead of every entry.
 */
import {
  type EntryValue,
  type Head,
  isFinal,
  type LedgerRecords,
  range,
  type Sealed,
  type SeqValue,
  type TallyValue,
} from "./ledger_records.ts";

/** The tally of one bucket of entries, as sealed. */
export interface Tally {
  count: number;
  parts: number;
  cost: number;
  delivered: number;
  undelivered: number;
  expired: number;
  first: number;
  last: number;
}

/** What a token sent since a moment, summed, and its most recent records. */
export interface UsageTotal {
  total: Tally;
  /** Newest first. */
  recent: Readonly<Sealed>[];
}

/** A tally of nothing yet, first and last at `now`. */
export function emptyTally(now: number): Tally {
  return {
    count: 0,
    parts: 0,
    cost: 0,
    delivered: 0,
    undelivered: 0,
    expired: 0,
    first: now,
    last: now,
  };
}

/** One record as a tally of its own. */
function tallyOf(r: Sealed): Tally {
  const tally = { ...emptyTally(r.at), count: 1, parts: r.parts, cost: r.cost ?? 0 };
  if (isFinal(r.status)) tally[r.status]++;
  return tally;
}

/** Add `tally` to `sum`. */
function add(sum: Tally, tally: Tally): void {
  sum.count += tally.count;
  sum.parts += tally.parts;
  sum.cost += tally.cost;
  sum.delivered += tally.delivered;
  sum.undelivered += tally.undelivered;
  sum.expired += tally.expired;
}

/**
 * The sum of a token's entries sent at or after `since` (epoch ms), and its
 * newest `recent` records.
 */
export async function usageOf(
  records: LedgerRecords,
  principal: string,
  { bound, bucket: B }: { bound: number; bucket: number },
  since: number,
  recent: number,
): Promise<UsageTotal> {
  const usage: UsageTotal = { total: emptyTally(0), recent: [] };
  const [head] = await records.read<Head>([records.key(principal, "head")]);
  const n = records.live(head!)?.n ?? 0;
  if (n === 0) return usage;
  const low = Math.max(0, n - bound);
  usage.recent = await bySeq(records, principal, Math.max(low, n - recent), n);
  usage.recent.reverse();
  // Whole buckets from their tallies, newest first; the one that straddles `since` (or the
  // bound) entry by entry.
  for (let top = Math.floor((n - 1) / B); top >= Math.floor(low / B); top -= 10) {
    const numbers = range(Math.max(Math.floor(low / B), top - 9), top + 1).reverse();
    const tallies = await records.read<TallyValue>(
      numbers.map((k) => records.key(principal, "b", k)),
    );
    for (const [i, k] of numbers.entries()) {
      const value = records.live(tallies[i]!);
      if (!value) return usage;
      const tally = await records.open<Tally>(tallies[i]!.key, value.box);
      if (tally.last < since) return usage;
      if (tally.first >= since && k * B >= low) {
        add(usage.total, tally);
        continue;
      }
      const entries = await bySeq(records, principal, Math.max(low, k * B), Math.min(n, k * B + B));
      for (const e of entries.filter((e) => e.at >= since)) add(usage.total, tallyOf(e));
      return usage;
    }
  }
  return usage;
}

/** The records `from` … `to - 1` of a token's sequence, oldest first (missing ones left out). */
async function bySeq(
  records: LedgerRecords,
  principal: string,
  from: number,
  to: number,
): Promise<Readonly<Sealed>[]> {
  const pointers = await records.read<SeqValue>(
    range(from, to).map((seq) => records.key(principal, "s", seq)),
  );
  const keys = pointers.flatMap((p) => {
    const value = records.live(p);
    return value ? [records.key(principal, "m", value.m)] : [];
  });
  const read = await records.read<EntryValue>(keys);
  const out: Readonly<Sealed>[] = [];
  for (const entry of read) {
    const value = records.live(entry);
    if (value) out.push(await records.record(entry.key, value.box));
  }
  return out;
}
