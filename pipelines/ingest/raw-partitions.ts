import type { Pool, PoolClient } from 'pg';

/**
 * raw.events is partitioned by UTC day, and raw.first_copies holds the first loaded copy of each
 * request_id (migrations/2026-12-01T0900_partitioned_raw.ts): the loader's side of both.
 *
 * Makes sure raw.events has the partition of each UTC day (YYYY-MM-DD), in the caller's
 * transaction: a failed load rolls its new partitions back with its rows. Cheap when they exist.
 */
export async function ensureRawPartitions(client: PoolClient, days: Iterable<string>): Promise<void> {
    const list = [...new Set(days)].sort();
    if (list.length) await client.query('select tokenmart.ensure_raw_partition(day) from unnest($1::date[]) as days (day)', [list]);
}

/** How a load gets the partitions of its days: ensureRawPartitions (in its transaction), or committedPartitions. */
export type PartitionMaker = (client: PoolClient, days: Iterable<string>) => Promise<void>;

/** The lock ensure_raw_partition holds while it makes a day (its transaction's, to commit). */
const PARTITION_LOCK = "hashtext('tokenmart.raw_partition')";

/** raw.events' partition of a UTC day (YYYY-MM-DD), as ensure_raw_partition names it. */
const partitionOf = (day: string) => `raw.events_${day.replaceAll('-', '')}`;

/** Waits until no maker holds the creation lock: every day made so far has reached all sessions. */
async function waitForMakers(client: PoolClient): Promise<void> {
    await client.query('begin');
    try {
        // A maker commits within milliseconds; only a dry run holds the lock longer (its days roll
        // back, so there is nothing to wait for): give up after 2 s rather than wait for it.
        await client.query("set local lock_timeout = '2s'");
        await client.query(`select pg_advisory_xact_lock_shared(${PARTITION_LOCK})`);
        await client.query('commit');
    } catch (err) {
        await client.query('rollback');
        if ((err as { code?: string }).code !== '55P03') throw err; // lock_not_available
    }
}

/**
 * Creates the partitions at once, committed, on a connection of their own. Loads running side by
 * side then never wait for each other's commit to get a day (a partition made in a load's
 * transaction holds raw.events' attach lock until that load commits). A load that fails leaves
 * the partitions it made, empty; the next load of those days fills them.
 *
 * A day another load has just made is visible a moment before that load's cache invalidations
 * reach the other sessions (Postgres marks a transaction committed, then sends them, then
 * releases its locks): a COPY started in that moment routes with raw.events' old partition list
 * and refuses the day's rows ("no partition of relation events found for row", seen once in 99
 * files side by side at 10M events). So the maker waits for the creation lock to be free (every
 * maker has sent its invalidations), and the load then locks its new days: a lock it did not hold
 * makes its session read them before its COPY starts.
 */
export function committedPartitions(pool: Pool): PartitionMaker {
    return async (load, days) => {
        const list = [...new Set(days)].sort();
        if (!list.length) return;
        const client = await pool.connect();
        try {
            await ensureRawPartitions(client, list);
            await waitForMakers(client);
        } finally {
            client.release();
        }
        await load.query(`lock table ${list.map(partitionOf).join(', ')} in row exclusive mode`);
    };
}

/** The files just loaded: their ids, and the UTC days (YYYY-MM-DD) their rows fall on. */
export interface LoadedFiles {
    readonly fileIds: readonly string[];
    readonly days: readonly string[];
}

/**
 * The first copy of each request_id among the files' rows. Reads only their days' partitions
 * (`$1`: file ids, `$2`...: each day's start): one OR'ed range per day, which the planner prunes
 * by, so the cost follows the files, not all of raw.
 */
function filesFirsts(days: readonly string[]): string {
    const ranges = days.map((_, i) => `(event_at >= $${i + 2}::timestamptz and event_at < $${i + 2}::timestamptz + interval '1 day')`);
    return `select distinct on (request_id) request_id, file_id, line_no, record_no
    from raw.events
    where file_id = any($1::bigint[]) and (${ranges.join(' or ') || 'false'})
    order by request_id, file_id, line_no, record_no`;
}

/**
 * Records the first copies of the files' request_ids (raw.first_copies), in the load's
 * transaction: an earlier copy, even one committed later by a concurrent load, keeps its place.
 * The copy it displaces then stops being staged: that copy's day is marked dirty too, and its
 * file's duplicate count grows by one. Returns, per file id, how many of its rows are now first
 * copies (the rest are duplicates).
 */
export async function addFirstCopies(client: PoolClient, files: LoadedFiles): Promise<ReadonlyMap<string, number>> {
    const days = [...new Set(files.days)].sort();
    const params = [files.fileIds, ...days.map((d) => `${d}T00:00:00Z`)];
    const firsts = filesFirsts(days);
    // Held to commit: loads take turns here, so this statement's snapshot sees every first copy
    // another load committed, and the displaced copies are all found (concurrent upserts would
    // instead block on each other's keys and move first copies this snapshot cannot see).
    await client.query('lock table raw.first_copies in share row exclusive mode');
    // Only a committed file with a higher id can hold a later first copy: loads in file-id order
    // (every sequential load) skip the join.
    const { rows } = await client.query<{ later: boolean }>(
        'select exists (select 1 from ops.load_manifest where file_id > (select min(id) from unnest($1::bigint[]) as ids (id)) and file_id <> all($1::bigint[])) as later',
        [files.fileIds],
    );
    // A displaced copy is no longer staged: its day is rebuilt, and it now counts as a duplicate
    // of its file, as it would have had the files committed in file-id order.
    if (rows[0].later)
        await client.query(
            `with displaced as (
                select ours.file_id as by_file_id, firsts.file_id, (copies.event_at at time zone 'UTC')::date as usage_date
                from (${firsts}) as ours
                inner join raw.first_copies as firsts on firsts.request_id = ours.request_id
                inner join raw.events as copies
                    on copies.request_id = firsts.request_id
                    and copies.file_id = firsts.file_id
                    and copies.line_no = firsts.line_no
                    and copies.record_no = firsts.record_no
                where (ours.file_id, ours.line_no, ours.record_no) < (firsts.file_id, firsts.line_no, firsts.record_no)
            ),
            dirty as (
                insert into ops.dirty_days (usage_date, file_id)
                select distinct usage_date, by_file_id from displaced
            )
            update ops.load_manifest as m
            set duplicate_rows = m.duplicate_rows + counts.n
            from (select file_id, count(*)::int as n from displaced group by file_id) as counts
            where m.file_id = counts.file_id`,
            params,
        );
    // A row the upsert returns (inserted, or updated because ours is earlier) is the file's first
    // copy; with the lock held, no other load can move it before commit.
    const counted = await client.query<{ file_id: string; n: number }>(
        `with upserted as (
            insert into raw.first_copies (request_id, file_id, line_no, record_no)
            ${firsts}
            on conflict (request_id) do update
            set file_id = excluded.file_id, line_no = excluded.line_no, record_no = excluded.record_no
            where (excluded.file_id, excluded.line_no, excluded.record_no) < (raw.first_copies.file_id, raw.first_copies.line_no, raw.first_copies.record_no)
            returning file_id
        )
        select file_id::text, count(*)::int as n from upserted group by file_id`,
        params,
    );
    return new Map(counted.rows.map((r) => [r.file_id, r.n]));
}

/**
 * Deletes raw rows (`where` on raw.events, with its parameters) and recomputes the first copies of
 * their request_ids from what is left. Returns the rows deleted.
 */
export async function deleteRawRows(client: PoolClient, where: string, params: readonly unknown[]): Promise<number> {
    const gone = await client.query<{ request_id: string }>(`delete from raw.events where ${where} returning request_id`, [...params]);
    await refreshFirstCopies(
        client,
        gone.rows.map((r) => r.request_id),
    );
    return gone.rowCount ?? 0;
}

/** Recomputes raw.first_copies for these request_ids from raw.events as it is now. */
export async function refreshFirstCopies(client: PoolClient, requestIds: readonly string[]): Promise<void> {
    if (requestIds.length) await client.query('select tokenmart.refresh_first_copies($1::text[])', [[...new Set(requestIds)]]);
}
