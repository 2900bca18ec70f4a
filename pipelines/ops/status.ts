import { sql, type Kysely } from 'kysely';
import type { DB } from '../db/database.js';

/** What an operator asks first: did the runs work, is the data fresh, what failed, what was sent. */
export interface PipelineStatus {
    readonly database: string;
    readonly latestEventAt: Date | null;
    readonly runs: readonly { run_id: string; kind: string; status: string; started_at: Date; seconds: number | null; error: string | null }[];
    readonly loads: { readonly files_7d: number; readonly rows_7d: number; readonly quarantined_7d: number; readonly failures_7d: number };
    readonly recentFailures: readonly { source_uri: string; reason: string; failed_at: Date }[];
    readonly tests: { readonly run_id: string | null; readonly passed: number; readonly warned: number; readonly failed: number };
    readonly deliveries: readonly { digest_id: string; status: string; updated_at: Date; error: string | null }[];
}

const weekAgo = () => new Date(Date.now() - 7 * 86_400_000);

export async function readStatus(db: Kysely<DB>, database: string): Promise<PipelineStatus> {
    const latest = await db
        .selectFrom('raw.events')
        .select((eb) => eb.fn.max('event_at').as('at'))
        .executeTakeFirst();
    const loads = await db
        .selectFrom('ops.load_manifest')
        .select((eb) => [
            sql<number>`count(*)::int`.as('files_7d'),
            sql<number>`coalesce(sum(${eb.ref('rows_loaded')}), 0)::int`.as('rows_7d'),
            sql<number>`coalesce(sum(${eb.ref('rows_quarantined')}), 0)::int`.as('quarantined_7d'),
        ])
        .where('loaded_at', '>', weekAgo())
        .executeTakeFirstOrThrow();
    const failures = await db
        .selectFrom('ops.load_failures')
        .select(sql<number>`count(*)::int`.as('n'))
        .where('failed_at', '>', weekAgo())
        .executeTakeFirstOrThrow();
    const latestTestRun = await db
        .selectFrom('ops.test_results')
        .select(['run_id'])
        .groupBy('run_id')
        .orderBy((eb) => eb.fn.max('tested_at'), 'desc')
        .limit(1)
        .executeTakeFirst();
    const tests = latestTestRun
        ? await db
              .selectFrom('ops.test_results')
              .select((eb) => [
                  eb.fn.countAll<number>().filterWhere('status', '=', 'pass').as('passed'),
                  eb.fn.countAll<number>().filterWhere('status', '=', 'warn').as('warned'),
                  eb.fn.countAll<number>().filterWhere('status', 'in', ['fail', 'error']).as('failed'),
              ])
              .where('run_id', '=', latestTestRun.run_id)
              .executeTakeFirstOrThrow()
        : { passed: 0, warned: 0, failed: 0 };
    const runs = await db
        .selectFrom('ops.runs')
        .select((eb) => [
            'run_id',
            'kind',
            'status',
            'started_at',
            sql<number | null>`extract(epoch from ${eb.ref('finished_at')} - ${eb.ref('started_at')})::float`.as('seconds'),
            'error',
        ])
        .orderBy('started_at', 'desc')
        .limit(5)
        .execute();
    return {
        database,
        latestEventAt: latest?.at ?? null,
        runs,
        loads: { ...loads, failures_7d: failures.n },
        recentFailures: await db.selectFrom('ops.load_failures').select(['source_uri', 'reason', 'failed_at']).orderBy('failed_at', 'desc').limit(5).execute(),
        tests: { run_id: latestTestRun?.run_id ?? null, passed: Number(tests.passed), warned: Number(tests.warned), failed: Number(tests.failed) },
        deliveries: await db
            .selectFrom('ops.deliveries')
            .select(['digest_id', 'status', 'updated_at', 'error'])
            .orderBy('updated_at', 'desc')
            .limit(5)
            .execute(),
    };
}

const when = (d: Date | null) => (d ? `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC` : '—');

export function formatStatus(s: PipelineStatus): string[] {
    const hours = s.latestEventAt ? ((Date.now() - s.latestEventAt.getTime()) / 3_600_000).toFixed(1) : null;
    return [
        `database: ${s.database}`,
        `latest event: ${when(s.latestEventAt)}${hours ? ` (${hours} h ago)` : ''}`,
        `loads, last 7 days: ${s.loads.files_7d} files, ${s.loads.rows_7d} rows, ${s.loads.quarantined_7d} quarantined lines, ${s.loads.failures_7d} failed files`,
        ...s.recentFailures.map((f) => `  failed ${when(f.failed_at)} ${f.source_uri}: ${f.reason}`),
        `data tests (latest run ${s.tests.run_id?.slice(0, 8) ?? '—'}): ${s.tests.passed} passed, ${s.tests.warned} warned, ${s.tests.failed} failed`,
        `runs:${s.runs.length ? '' : ' none yet'}`,
        ...s.runs.map(
            (r) =>
                `  ${when(r.started_at)} ${r.kind.padEnd(6)} ${r.status.padEnd(9)} ${r.seconds === null ? '' : `${r.seconds.toFixed(0)} s `}${r.run_id}${r.error ? `: ${r.error}` : ''}`,
        ),
        `deliveries:${s.deliveries.length ? '' : ' none yet'}`,
        ...s.deliveries.map((d) => `  ${when(d.updated_at)} ${d.status.padEnd(8)} ${d.digest_id}${d.error ? `: ${d.error}` : ''}`),
    ];
}
