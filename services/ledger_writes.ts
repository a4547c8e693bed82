/**
 * The ledger's two writes, each one check-and-set commit retried when it
 * loses a race: recording new entries (serialised per token by its head) and
 * applying a delivery report (one entry and its tally).
 */
import type { StoreEntry, StoreKey } from "../state/mod.ts";
import type { DeliveryReport } from "../vertex/mod.ts";
import {
  type EntryValue,
  type Head,
  isFinal,
  type LedgerRecords,
  range,
  retried,
  type Sealed,
  type SeqValue,
  type TallyValue,
  type Writes,
} from "./ledger_records.ts";
import { emptyTally, type Tally } from "./ledger_usage.ts";

const DAY_MS = 86_400_000;

/** How a token's ledger is bounded and kept. */
export interface Retention {
  /** Entries per token. */
  bound: number;
  /** Entries per tally. */
  bucket: number;
  /** `SMS_LEDGER_DAYS`. */
  days: number;
}

/**
 * Record one chunk of new records, all sent at `now`: one commit, serialised
 * per token by the head.
 */
export async function recordChunk(
  records: LedgerRecords,
  principal: string,
  news: readonly Sealed[],
  now: number,
  { bound, bucket: B, days }: Retention,
): Promise<void> {
  const exp = now + days * DAY_MS;
  const headKey = records.key(principal, "head");
  const keys = await Promise.all(news.map((r) => records.entryKey(principal, r.id)));
  // Sealed once, before the retries: a box does not depend on where the entry lands.
  const boxes = await Promise.all(news.map((r, i) => records.seal(keys[i]!, r)));
  await retried(async () => {
    const [head, ...known] = await records.read<Head | EntryValue>([headKey, ...keys]);
    // A message already recorded (a retried record) is not recorded twice.
    const fresh = news.map((r, i) => ({ r, key: keys[i]!, box: boxes[i]! }))
      .filter((_, i) => !records.live(known[i]!));
    if (fresh.length === 0) return true;
    const n0 = (records.live(head!) as Head | null)?.n ?? 0;
    const n1 = n0 + fresh.length;
    const touched = range(Math.floor(n0 / B), Math.floor((n1 - 1) / B) + 1);
    const dropped = range(Math.max(0, n0 - bound), n1 - bound);
    const extra = await records.read<TallyValue | SeqValue>([
      ...touched.map((k) => records.key(principal, "b", k)),
      ...dropped.map((seq) => records.key(principal, "s", seq)),
    ]);
    const tallyReads = extra.slice(0, touched.length) as StoreEntry<TallyValue>[];
    const sets: Writes = [{ key: headKey, value: { n: n1, exp } }];
    const tallies = await Promise.all(tallyReads.map(async (t) => {
      const value = records.live(t);
      return value ? await records.open<Tally>(t.key, value.box) : emptyTally(now);
    }));
    for (const [i, { r, key, box }] of fresh.entries()) {
      const seq = n0 + i;
      sets.push({ key, value: { seq, exp, box } });
      sets.push({ key: records.key(principal, "s", seq), value: { m: key[3] as string, exp } });
      const tally = tallies[Math.floor(seq / B) - touched[0]!]!;
      tally.count++;
      tally.parts += r.parts;
      tally.cost += r.cost ?? 0;
      tally.last = now;
    }
    for (const [i, t] of tallyReads.entries()) {
      sets.push({ key: t.key, value: { exp, box: await records.seal(t.key, tallies[i]!) } });
    }
    const pointers = extra.slice(touched.length) as StoreEntry<SeqValue>[];
    const deletes = dropKeys(records, principal, dropped, pointers, B);
    if (await records.commit({ checks: [head!, ...tallyReads], sets, deletes })) return true;
    return undefined; // another write landed first: read again
  }, () => new Error("too many concurrent ledger writes for one token"));
}

/** The keys entries `dropped` leave behind: pointer, entry and, with a bucket's last, its tally. */
function dropKeys(
  records: LedgerRecords,
  principal: string,
  dropped: readonly number[],
  pointers: readonly StoreEntry<SeqValue>[],
  B: number,
): StoreKey[] {
  const deletes: StoreKey[] = [];
  for (const [i, seq] of dropped.entries()) {
    const pointer = records.live(pointers[i]!);
    deletes.push(records.key(principal, "s", seq));
    if (pointer) deletes.push(records.key(principal, "m", pointer.m));
    if (seq % B === B - 1) deletes.push(records.key(principal, "b", Math.floor(seq / B)));
  }
  return deletes;
}

/** `Ledger.deliver`'s write: one report into its entry and the entry's tally. */
export async function applyReport(
  records: LedgerRecords,
  principal: string,
  report: DeliveryReport,
  bucket: number,
  now: () => number,
): Promise<boolean> {
  const key = await records.entryKey(principal, report.messageId);
  return await retried(async () => {
    const [read] = await records.read<EntryValue>([key]);
    const entry = records.live(read!);
    if (!entry) return false;
    const record = await records.record(key, entry.box);
    if (record.id !== report.messageId) return false;
    // A final status is kept: repeated, late or out-of-order reports never replace it.
    if (isFinal(record.status) || report.status === null) return true;
    const updated: Sealed = {
      ...record,
      status: report.status,
      code: report.errorCode ?? (report.status === "delivered" ? 0 : null),
      up: now(),
    };
    const tallyKey = records.key(principal, "b", Math.floor(entry.seq / bucket));
    const [tallyRead] = await records.read<TallyValue>([tallyKey]);
    const sets: Writes = [
      { key, value: { ...entry, box: await records.seal(key, updated) } },
    ];
    const tallyValue = records.live(tallyRead!);
    if (tallyValue) {
      const tally = await records.open<Tally>(tallyKey, tallyValue.box);
      tally[report.status]++;
      sets.push({
        key: tallyKey,
        value: { ...tallyValue, box: await records.seal(tallyKey, tally) },
      });
    }
    if (await records.commit({ checks: [read!, tallyRead!], sets, deletes: [] })) return true;
    return undefined; // another write landed first: read again
  }, () => records.unavailable(new Error("too many concurrent changes to one ledger entry")));
}
