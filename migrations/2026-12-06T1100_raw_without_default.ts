import { sql, type Kysely } from 'kysely';

/**
 * raw.events loses its default partition. Attaching a day's partition locks the default
 * partition in ACCESS EXCLUSIVE mode, and a load's COPY into raw.events holds a lock on it until
 * that load commits: two loads side by side (ingest.ts, LOADS_IN_FLIGHT) waited for each other at
 * every new day. The loader makes every day's partition before that day's rows, so the default
 * only ever held rows written by hand; such a row now needs its day's partition first
 * (`select tokenmart.ensure_raw_partition(day)`), or Postgres refuses it.
 *
 * Rows the default holds are first moved to their days' partitions (by the old function).
 */
const ENSURE_PARTITION = (withDefault: boolean) => `
    create or replace function tokenmart.ensure_raw_partition(day date) returns boolean language plpgsql as $$
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
        -- EXCLUSIVE mode only, so builds and other loads keep running.
        execute format('create table raw.%I (like raw.events including defaults including constraints including storage)', part);
        ${
            withDefault
                ? `execute format('insert into raw.%I select * from raw.events_default where event_at >= %L and event_at < %L', part, lo, hi);
        execute format('delete from raw.events_default where event_at >= %L and event_at < %L', lo, hi);`
                : ''
        }
        -- The matching check lets ATTACH skip scanning the new partition.
        execute format('alter table raw.%I add constraint %I check (event_at >= %L and event_at < %L)', part, part || '_day', lo, hi);
        execute format('alter table raw.events attach partition raw.%I for values from (%L) to (%L)', part, lo, hi);
        execute format('alter table raw.%I drop constraint %I', part, part || '_day');
        return true;
    end $$`;

export async function up(db: Kysely<any>): Promise<void> {
    await sql`
        select tokenmart.ensure_raw_partition(day)
        from (select distinct (event_at at time zone 'UTC')::date as day from raw.events_default) as days`.execute(db);
    await sql`drop table raw.events_default`.execute(db);
    await sql.raw(ENSURE_PARTITION(false)).execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
    await sql`create table raw.events_default partition of raw.events default`.execute(db);
    await sql.raw(ENSURE_PARTITION(true)).execute(db);
}
