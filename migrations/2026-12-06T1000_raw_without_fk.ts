import { sql, type Kysely } from 'kysely';

/**
 * raw.events drops its foreign key to ops.load_manifest. Postgres checks a foreign key row by row
 * (a trigger and a lookup per inserted row): about 9 us a row, 0.9 s of every 100,000 rows loaded,
 * measured on PostgreSQL 18. The loader inserts a file's manifest row before its rows, in the
 * same transaction, and nothing deletes manifest rows, so the key held by construction;
 * test/raw-partitions.test.ts checks that every raw row has its manifest row.
 */
export async function up(db: Kysely<any>): Promise<void> {
    await sql`
        do $$
        declare c record;
        begin
            for c in
                select conname from pg_constraint
                where conrelid = 'raw.events'::regclass and contype = 'f' and confrelid = 'ops.load_manifest'::regclass
            loop
                execute format('alter table raw.events drop constraint %I', c.conname);
            end loop;
        end $$`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
    await sql`alter table raw.events add foreign key (file_id) references ops.load_manifest (file_id)`.execute(db);
}
