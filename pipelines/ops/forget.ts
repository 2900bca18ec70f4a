import { createHmac } from 'node:crypto';
import type { PoolClient } from 'pg';
import type { Config } from '../config/config.js';
import type { DatabaseHandle } from '../db/connect.js';
import { type SubjectKind, subjectHash } from '../ingest/forgotten.js';
import { deleteRawRows } from '../ingest/raw-partitions.js';
import { buildModels } from '../transform/build.js';
import { loadModels, seedAll } from '../transform/transform.js';

/**
 * GDPR art. 17 erasure of one user or tenant. In one transaction: their events leave raw.events,
 * their quarantined lines ops.quarantine, their rows staging.stg_events and marts.fct_requests,
 * failing-test samples that show them are emptied, the days they touched are marked dirty, and
 * ops.erasures records it with a SHA-256 of the identifier (never the identifier). Then every
 * mart rebuilds those days. The loader reads ops.erasures: a reloaded file cannot bring them back.
 */
export interface ErasureResult {
    readonly kind: SubjectKind;
    readonly subjectHash: string;
    readonly rows: Readonly<Record<string, number>>;
    readonly days: readonly string[];
    readonly dryRun: boolean;
    /** Seeds that still name the subject: files in models/seeds, which the user must edit. */
    readonly seedMentions: readonly string[];
}

/** The forms an identifier takes in the database: as sent, and (users) its keyed hash. */
function forms(kind: SubjectKind, id: string, hmacKey: string | undefined): string[] {
    if (kind === 'user' && hmacKey) return [id, `u_${createHmac('sha256', hmacKey).update(id).digest('hex').slice(0, 32)}`];
    return [id];
}

const COLUMN: Readonly<Record<SubjectKind, string>> = { user: 'user_id', tenant: 'tenant' };
const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

async function count(client: PoolClient, sql: string, params: unknown[]): Promise<number> {
    return Number((await client.query<{ n: string }>(sql, params)).rows[0].n);
}

export async function forgetSubject(
    handle: DatabaseHandle,
    config: Config,
    subject: { readonly kind: SubjectKind; readonly id: string },
    options: { readonly dryRun?: boolean; readonly log: (line: string) => void },
): Promise<ErasureResult> {
    const { kind, id } = subject;
    const values = forms(kind, id, config.ingest.userIdHmacKey);
    const column = COLUMN[kind];
    // A quarantined line keeps the field as JSON ("user_id":"alice"), scrubbed like a loaded row.
    const lineMatch = values.map((v) => `"${column}"\\s*:\\s*"${escapeRegex(v)}"`).join('|');
    const exists = async (rel: string) => (await handle.pool.query('select to_regclass($1) is not null as e', [rel])).rows[0].e as boolean;
    const hasStaging = await exists('staging.stg_events');
    const hasFact = await exists('marts.fct_requests');
    const client = await handle.pool.connect();
    const rows: Record<string, number> = {};
    let days: string[] = [];
    try {
        await client.query('begin');
        // Every day whose deduplicated rows change: the subject's rows' days, and the days of other
        // copies of their request_ids (one of those may now win the dedupe).
        days = (
            await client.query<{ d: string }>(
                `select distinct (o.event_at at time zone 'UTC')::date::text as d from raw.events as o
                 where o.request_id in (select request_id from raw.events where ${column} = any($1::text[])) order by 1`,
                [values],
            )
        ).rows.map((r) => r.d);
        if (options.dryRun) {
            rows.raw_events = await count(client, `select count(*)::text as n from raw.events where ${column} = any($1::text[])`, [values]);
            rows.quarantine = await count(client, 'select count(*)::text as n from ops.quarantine where line_text ~ $1', [lineMatch]);
            if (hasStaging)
                rows.stg_events = await count(client, `select count(*)::text as n from staging.stg_events where ${column} = any($1::text[])`, [values]);
            if (hasFact)
                rows.fct_requests = await count(client, `select count(*)::text as n from marts.fct_requests where ${column} = any($1::text[])`, [values]);
            await client.query('rollback');
        } else {
            rows.raw_events = await deleteRawRows(client, `${column} = any($1::text[])`, [values]);
            rows.quarantine = (await client.query('delete from ops.quarantine where line_text ~ $1', [lineMatch])).rowCount ?? 0;
            if (hasStaging) rows.stg_events = (await client.query(`delete from staging.stg_events where ${column} = any($1::text[])`, [values])).rowCount ?? 0;
            if (hasFact) rows.fct_requests = (await client.query(`delete from marts.fct_requests where ${column} = any($1::text[])`, [values])).rowCount ?? 0;
            rows.test_samples = (await client.query(`update ops.test_results set sample = '[]'::jsonb where sample::text ~ $1`, [lineMatch])).rowCount ?? 0;
            await client.query('insert into ops.dirty_days (usage_date, file_id) select d::date, 0 from unnest($1::text[]) as d', [days]);
            await client.query(
                `insert into ops.erasures (subject_kind, subject_hash, rows_removed, days_touched) values ($1, $2, $3, $4::date[])
                 on conflict (subject_kind, subject_hash) do update set requested_at = now(), rows_removed = excluded.rows_removed, days_touched = excluded.days_touched`,
                [kind, subjectHash(kind, id), JSON.stringify(rows), days],
            );
            await client.query('commit');
        }
    } catch (err) {
        await client.query('rollback').catch(() => undefined);
        throw err;
    } finally {
        client.release();
    }
    const loaded = await loadModels();
    const seedMentions = kind === 'user' ? await usersSeedMentions(handle, values) : [];
    if (!options.dryRun && days.length && hasFact) {
        // Rebuild the days they touched in every mart now, rather than at the next run.
        await seedAll(handle.pool, loaded.project, options.log);
        const built = await buildModels(handle.pool, loaded.project, loaded.dag, {
            log: options.log,
            statementTimeoutMinutes: config.build.statementTimeoutMinutes,
        });
        if (!built.ok) options.log('forget: the rebuild of the touched days failed (see above); the next `tokenmart build` retries it');
    }
    return { kind, subjectHash: subjectHash(kind, id), rows, days, dryRun: Boolean(options.dryRun), seedMentions };
}

async function usersSeedMentions(handle: DatabaseHandle, values: string[]): Promise<string[]> {
    const has = (await handle.pool.query("select to_regclass('seeds.users') is not null as e")).rows[0].e as boolean;
    if (!has) return [];
    const { rows } = await handle.pool.query<{ user_id: string }>('select user_id from seeds.users where user_id = any($1::text[])', [values]);
    return rows.length ? ['models/seeds/users.csv'] : [];
}
