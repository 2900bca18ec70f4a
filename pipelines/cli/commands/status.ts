import type { Command } from 'commander';
import type { Pool } from 'pg';
import { redactUrl } from '../../db/connect.js';
import { configFrom, usingDatabase } from '../using-database.js';

export interface PipelineStatus {
    readonly database: string;
    readonly latestEventAt: Date | null;
    readonly runs: readonly { run_id: string; kind: string; status: string; started_at: Date; seconds: number | null; error: string | null }[];
    readonly loads: { readonly files_7d: number; readonly rows_7d: number; readonly quarantined_7d: number; readonly failures_7d: number };
    readonly recentFailures: readonly { source_uri: string; reason: string; failed_at: Date }[];
    readonly tests: { readonly run_id: string | null; readonly passed: number; readonly warned: number; readonly failed: number };
    readonly deliveries: readonly { digest_id: string; status: string; updated_at: Date; error: string | null }[];
}

/** What an operator asks first: did the runs work, is the data fresh, what failed, what was sent. */
export async function readStatus(pool: Pool, database: string): Promise<PipelineStatus> {
    const q = async <T>(text: string): Promise<T[]> => (await pool.query(text)).rows as T[];
    const [latest] = await q<{ at: Date | null }>('select max(event_at) as at from raw.events');
    const [loads] = await q<PipelineStatus['loads']>(`
        select (select count(*)::int from ops.load_manifest where loaded_at > now() - interval '7 days') as files_7d,
               (select coalesce(sum(rows_loaded), 0)::int from ops.load_manifest where loaded_at > now() - interval '7 days') as rows_7d,
               (select coalesce(sum(rows_quarantined), 0)::int from ops.load_manifest where loaded_at > now() - interval '7 days') as quarantined_7d,
               (select count(*)::int from ops.load_failures where failed_at > now() - interval '7 days') as failures_7d`);
    const [tests] = await q<PipelineStatus['tests']>(`
        with latest as (select run_id from ops.test_results group by run_id order by max(tested_at) desc limit 1)
        select (select run_id::text from latest) as run_id,
               count(*) filter (where status = 'pass')::int as passed, count(*) filter (where status = 'warn')::int as warned,
               count(*) filter (where status in ('fail', 'error'))::int as failed
        from ops.test_results where run_id = (select run_id from latest)`);
    return {
        database,
        latestEventAt: latest.at,
        runs: await q(
            `select run_id, kind, status, started_at, extract(epoch from finished_at - started_at)::float as seconds, error from ops.runs order by started_at desc limit 5`,
        ),
        loads,
        recentFailures: await q(`select source_uri, reason, failed_at from ops.load_failures order by failed_at desc limit 5`),
        tests,
        deliveries: await q(`select digest_id, status, updated_at, error from ops.deliveries order by updated_at desc limit 5`),
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

export function registerStatus(program: Command): void {
    program
        .command('status')
        .description('recent runs, loads, failures, data tests and deliveries')
        .option('--json', 'machine-readable output')
        .action(async (flags: { json?: boolean }) => {
            const config = configFrom(program.opts());
            const status = await usingDatabase(config, (h) => readStatus(h.pool, redactUrl(h.url)));
            process.stdout.write(flags.json ? `${JSON.stringify(status, null, 2)}\n` : `${formatStatus(status).join('\n')}\n`);
        });
}
