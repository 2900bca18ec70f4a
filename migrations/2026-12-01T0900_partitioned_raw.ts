import { sql, type Kysely } from 'kysely';

/**
 * raw.events partitioned by UTC day of event_at (declarative range partitions named
 * events_YYYYMMDD): a day's rebuild reads one partition, retention drops whole partitions. The
 * loader creates a day's partition in its load transaction before that day's rows
 * (tokenmart.ensure_raw_partition); raw.events_default catches rows written any other way, and
 * ensure_raw_partition moves a day's rows out of it when it creates that day's partition.
 * An existing raw.events is converted in place, in this migration's transaction.
 *
 * raw.first_copies holds the first loaded copy of each request_id (lowest file_id, line_no,
 * record_no): request_id is not the partition key, so finding a row's earlier copies would probe
 * every day's index. The loader adds a file's first copies as it loads it; whatever deletes raw
 * rows (a replaced or retired file, an erasure, retention) recomputes the first copies of the
 * request_ids it touched (tokenmart.refresh_first_copies). Staging dedupes through it.
 */
export async function up(db: Kysely<any>): Promise<void> {
    await sql`
        create function tokenmart.ensure_raw_partition(day date) returns boolean language plpgsql as $$
        declare
            part text := 'events_' || to_char(day, 'YYYYMMDD');
            lo timestamptz := day::timestamp at time zone 'UTC';
            hi timestamptz := (day + 1)::timestamp at time zone 'UTC';
        begin
            if to_regclass('raw.' || part) is not null then
                return false;
            end if;
            -- Concurrent loads creating the same day wait for each other (until the first commits);
            -- then pg_class, read with this statement's snapshot, says whether the other made it.
            perform pg_advisory_xact_lock(hashtext('tokenmart.raw_partition'));
            if exists (select 1 from pg_class where relname = part and relnamespace = 'raw'::regnamespace) then
                return false;
            end if;
            -- LIKE + ATTACH (not CREATE ... PARTITION OF): attaching locks raw.events in SHARE UPDATE
            -- EXCLUSIVE mode only, so builds reading raw keep running.
            execute format('create table raw.%I (like raw.events including defaults including constraints including storage)', part);
            execute format('insert into raw.%I select * from raw.events_default where event_at >= %L and event_at < %L', part, lo, hi);
            execute format('delete from raw.events_default where event_at >= %L and event_at < %L', lo, hi);
            -- The matching check lets ATTACH skip scanning the new partition.
            execute format('alter table raw.%I add constraint %I check (event_at >= %L and event_at < %L)', part, part || '_day', lo, hi);
            execute format('alter table raw.events attach partition raw.%I for values from (%L) to (%L)', part, lo, hi);
            execute format('alter table raw.%I drop constraint %I', part, part || '_day');
            return true;
        end $$`.execute(db);

    await sql`alter table raw.events rename to events_unpartitioned`.execute(db);
    for (const ix of ['events_event_at_brin', 'events_file_id_brin', 'events_request_id']) {
        await sql`alter index ${sql.raw(`raw.${ix}`)} rename to ${sql.raw(ix.replace('events_', 'events_unpartitioned_'))}`.execute(db);
    }
    await sql`
        create table raw.events (like raw.events_unpartitioned including defaults including constraints including storage)
        partition by range (event_at)`.execute(db);
    await sql`alter table raw.events add foreign key (file_id) references ops.load_manifest (file_id)`.execute(db);
    await sql`create table raw.events_default partition of raw.events default`.execute(db);
    await sql`create index events_event_at_brin on raw.events using brin (event_at)`.execute(db);
    await sql`create index events_file_id_brin on raw.events using brin (file_id)`.execute(db);
    await sql`create index events_request_id on raw.events (request_id)`.execute(db);
    await sql`
        select tokenmart.ensure_raw_partition(day)
        from (select distinct (event_at at time zone 'UTC')::date as day from raw.events_unpartitioned) as days
        order by day`.execute(db);
    await sql`insert into raw.events select * from raw.events_unpartitioned`.execute(db);
    await sql`drop table raw.events_unpartitioned`.execute(db);

    await sql`
        create table raw.first_copies (
            request_id text primary key,
            file_id bigint not null,
            line_no integer not null,
            record_no integer not null
        )`.execute(db);
    await sql`
        insert into raw.first_copies (request_id, file_id, line_no, record_no)
        select distinct on (request_id) request_id, file_id, line_no, record_no
        from raw.events
        order by request_id, file_id, line_no, record_no`.execute(db);
    await sql`
        create function tokenmart.refresh_first_copies(ids text[]) returns void language sql as $$
            delete from raw.first_copies where request_id = any(ids);
            insert into raw.first_copies (request_id, file_id, line_no, record_no)
            select distinct on (request_id) request_id, file_id, line_no, record_no
            from raw.events
            where request_id = any(ids)
            order by request_id, file_id, line_no, record_no
            on conflict (request_id) do update
            set file_id = excluded.file_id, line_no = excluded.line_no, record_no = excluded.record_no
            where (excluded.file_id, excluded.line_no, excluded.record_no)
                < (raw.first_copies.file_id, raw.first_copies.line_no, raw.first_copies.record_no);
        $$`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
    await sql`drop function tokenmart.refresh_first_copies(text[])`.execute(db);
    await sql`drop table raw.first_copies`.execute(db);
    await sql`create table raw.events_plain (like raw.events including defaults including constraints including storage)`.execute(db);
    await sql`insert into raw.events_plain select * from raw.events`.execute(db);
    await sql`drop table raw.events cascade`.execute(db);
    await sql`alter table raw.events_plain rename to events`.execute(db);
    await sql`alter table raw.events add foreign key (file_id) references ops.load_manifest (file_id)`.execute(db);
    await sql`create index events_event_at_brin on raw.events using brin (event_at)`.execute(db);
    await sql`create index events_file_id_brin on raw.events using brin (file_id)`.execute(db);
    await sql`create index events_request_id on raw.events (request_id)`.execute(db);
    await sql`drop function tokenmart.ensure_raw_partition(date)`.execute(db);
}
