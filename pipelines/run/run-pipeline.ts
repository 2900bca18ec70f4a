import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Config } from '../config/config.js';
import type { DatabaseHandle } from '../db/connect.js';
import { dailyPeriod, weeklyPeriod } from '../../reports/digest/digest-data.js';
import { deliverDigest } from '../../reports/digest/deliver-digest.js';
import { sendDigests, teamTargets, type SentDigest } from '../../reports/digest/send-digests.js';
import { createSlackClient, type SlackClient } from '../../reports/digest/slack.js';
import type { ReportDatabase } from '../../reports/mart-tables.js';
import { addDays, isoDay, lastCompleteWeek } from '../../reports/period.js';
import { usingBrowser } from '../../reports/render/browser.js';
import { writeWeeklyReport } from '../../reports/weekly/weekly-report.js';
import { runIngest } from '../ingest/run-ingest.js';
import { buildModels } from '../transform/build.js';
import { runDataTests } from '../transform/data-tests.js';
import { loadModels, seedAll } from '../transform/transform.js';
import { describeError } from '../util/errors.js';
import { acquireRunLock } from './run-lock.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export type RunKind = 'daily' | 'weekly';
export type StageName = 'ingest' | 'build' | 'test' | 'report' | 'notify';

export interface StageResult {
    readonly stage: StageName;
    readonly status: 'success' | 'failed' | 'skipped' | 'blocked';
    readonly rows?: number;
    readonly detail?: string;
    readonly error?: string;
    readonly ms: number;
}

export type RunOutcome =
    | { readonly status: 'skipped'; readonly message: string }
    | {
          readonly status: 'success' | 'failed' | 'blocked';
          readonly runId: string;
          readonly stages: readonly StageResult[];
          readonly artifacts: readonly string[];
          readonly message: string;
      };

export interface RunOptions {
    readonly kind: RunKind;
    readonly source?: string;
    readonly now?: Date;
    readonly slackApiUrl?: string;
    readonly log: (line: string) => void;
    /** Called between stages: returning true abandons the run cleanly (graceful shutdown). */
    readonly shouldStop?: () => boolean;
}

class StageFailed extends Error {}
class ShutdownRequested extends StageFailed {}

/**
 * One pipeline run: ingest -> seed+build -> test -> report -> notify, under the run lock.
 * A failed stage stops the ones after it; error-level data-test failures block reports and
 * digests and send one failure notice to the alert channel instead.
 */
export async function runPipeline(handle: DatabaseHandle, config: Config, options: RunOptions): Promise<RunOutcome> {
    const { log } = options;
    const lock = await acquireRunLock(handle.url);
    if (!lock.acquired) {
        const other = (
            await handle.pool.query<{ run_id: string; started_at: Date }>(
                "select run_id, started_at from ops.runs where status = 'running' order by started_at desc limit 1",
            )
        ).rows[0];
        return {
            status: 'skipped',
            message: `another run is in progress (run id ${other?.run_id ?? 'unknown'}, since ${other?.started_at.toISOString() ?? 'unknown'}); nothing done`,
        };
    }
    const runId = randomUUID();
    const now = options.now ?? new Date();
    const stages: StageResult[] = [];
    const artifacts: string[] = [];
    const slack: SlackClient | undefined = config.slack.token ? createSlackClient(config.slack.token, options.slackApiUrl) : undefined;
    const db = handle.db as unknown as Kysely<ReportDatabase>;
    try {
        // We hold the lock, so any run still marked running died without finishing.
        await handle.pool.query(
            "update ops.runs set status = 'abandoned', finished_at = now(), error = 'process ended before the run finished' where status = 'running'",
        );
        await handle.pool.query('insert into ops.runs (run_id, kind, status) values ($1, $2, $3)', [runId, options.kind, 'running']);
        log(`run: ${runId} (${options.kind}) started`);
        const record = async (r: StageResult) => {
            stages.push(r);
            await handle.pool.query(
                'insert into ops.run_stages (run_id, stage, status, rows, duration_ms, detail, error) values ($1, $2, $3, $4, $5, $6, $7)',
                [runId, r.stage, r.status, r.rows ?? null, r.ms, r.detail ?? null, r.error ?? null],
            );
            log(
                `run: stage ${r.stage.padEnd(6)} ${r.status}${r.detail ? ` (${r.detail})` : ''}${r.error ? `: ${r.error}` : ''} [${(r.ms / 1000).toFixed(1)} s]`,
            );
        };
        const stage = async (name: StageName, fn: () => Promise<Omit<StageResult, 'stage' | 'ms'>>): Promise<void> => {
            if (options.shouldStop?.()) throw new ShutdownRequested(`stopped before stage ${name} (shutdown requested); the next run picks up from there`);
            const started = Date.now();
            let result: Omit<StageResult, 'stage' | 'ms'>;
            try {
                result = await fn();
            } catch (err) {
                result = { status: 'failed', error: describeError(err) };
            }
            await record({ stage: name, ms: Date.now() - started, ...result });
            if (result.status === 'failed') throw new StageFailed(`stage ${name} failed: ${result.error}`);
        };
        const loaded = await loadModels();
        let blocked: string | undefined;
        try {
            const source = options.source ?? config.source;
            await stage('ingest', async () => {
                if (!source) return { status: 'skipped', detail: 'no source configured' };
                const s = await runIngest(handle, config, source, {}, log);
                const detail = `${s.filesLoaded} files loaded, ${s.filesSkipped} already loaded, ${s.rowsLoaded} rows, ${s.rowsQuarantined} quarantined`;
                if (s.filesFailed)
                    return {
                        status: 'failed',
                        rows: s.rowsLoaded,
                        detail,
                        error: `${s.filesFailed} file(s) not loaded: ${s.files.find((f) => f.status === 'failed')?.reason}`,
                    };
                return { status: 'success', rows: s.rowsLoaded, detail };
            });
            await stage('build', async () => {
                await seedAll(handle.pool, loaded.project, log);
                const b = await buildModels(handle.pool, loaded.project, loaded.dag, { runId, log });
                const bad = b.results.filter((r) => r.status === 'error');
                if (bad.length) return { status: 'failed', error: bad[0].error };
                return { status: 'success', rows: b.results.reduce((a, r) => a + (r.rows ?? 0), 0), detail: `${b.results.length} models` };
            });
            await stage('test', async () => {
                const t = await runDataTests(handle.pool, loaded.project, { runId, log });
                const failing = t.results.filter((r) => r.status === 'fail' || r.status === 'error');
                if (failing.length) blocked = failing.map((r) => r.name).join(', ');
                return {
                    status: failing.length ? 'blocked' : 'success',
                    detail: `${t.results.filter((r) => r.status === 'pass').length} passed, ${t.results.filter((r) => r.status === 'warn').length} warned, ${failing.length} failed`,
                    error: failing.length ? `error-level data tests failed: ${blocked}` : undefined,
                };
            });
            const week = lastCompleteWeek(now);
            let pdfPath: string | undefined;
            await stage('report', async () => {
                if (blocked) return { status: 'blocked', detail: 'data tests failed: no report goes out' };
                if (options.kind !== 'weekly') return { status: 'skipped', detail: 'weekly runs only' };
                const r = await usingBrowser((browser) => writeWeeklyReport(db, week, config.outputDir, browser, now));
                artifacts.push(r.htmlPath, r.pdfPath!);
                pdfPath = r.pdfPath;
                return { status: 'success', detail: `week ${week.label}: ${r.figures.spend}` };
            });
            await stage('notify', async () => {
                if (blocked) {
                    const notice = await sendFailureNotice(handle, config, slack, runId, `data tests failed: ${blocked}`, log);
                    if (notice) artifacts.push(notice);
                    return { status: 'blocked', detail: 'failure notice sent to the alert channel instead of digests' };
                }
                const period = options.kind === 'weekly' ? weeklyPeriod(week) : dailyPeriod(addDays(isoDay(now.getTime()), -1));
                const targets = [
                    { channel: config.slack.channel },
                    ...(Object.keys(config.slack.teamChannels).length ? await teamTargets(handle.pool, config.slack.teamChannels) : []),
                ];
                const sent: SentDigest[] = await sendDigests(handle.pool, db, { period, targets, client: slack, outDir: config.outputDir, pdfPath, log });
                for (const s of sent) if (s.outcome.status === 'dry_run') artifacts.push(s.outcome.payloadPath);
                const failed = sent.filter((s) => s.outcome.status === 'failed');
                if (failed.length) return { status: 'failed', error: (failed[0].outcome as { error: string }).error };
                return { status: 'success', detail: sent.map((s) => `${s.digestId}: ${s.outcome.status}`).join('; ') };
            });
        } catch (err) {
            if (!(err instanceof StageFailed)) throw err;
            const done = new Set(stages.map((s) => s.stage));
            for (const name of ['ingest', 'build', 'test', 'report', 'notify'] as const) {
                if (!done.has(name)) await record({ stage: name, status: 'skipped', ms: 0, detail: 'an earlier stage failed' });
            }
            const abandoned = err instanceof ShutdownRequested;
            // A requested shutdown is not an incident: no alert, and the run is marked abandoned.
            if (!abandoned)
                await sendFailureNotice(handle, config, slack, runId, err.message, log)
                    .then((p) => p && artifacts.push(p))
                    .catch(() => undefined);
            await handle.pool.query('update ops.runs set status = $3, finished_at = now(), error = $2 where run_id = $1', [
                runId,
                err.message,
                abandoned ? 'abandoned' : 'failed',
            ]);
            return { status: 'failed', runId, stages, artifacts, message: `run ${runId} failed: ${err.message}` };
        }
        const status = blocked ? 'blocked' : 'success';
        await handle.pool.query('update ops.runs set status = $2, finished_at = now(), error = $3 where run_id = $1', [
            runId,
            status,
            blocked ? `data tests failed: ${blocked}` : null,
        ]);
        return {
            status,
            runId,
            stages,
            artifacts,
            message: blocked ? `run ${runId} blocked: data tests failed (${blocked}); reports held back, failure notice sent` : `run ${runId} succeeded`,
        };
    } finally {
        await lock.release();
    }
}

/** A short notice to the alert channel (a payload file when there is no Slack token). */
async function sendFailureNotice(
    handle: DatabaseHandle,
    config: Config,
    slack: SlackClient | undefined,
    runId: string,
    reason: string,
    log: (l: string) => void,
): Promise<string | undefined> {
    const text = `:rotating_light: tokenmart run ${runId} did not complete: ${reason}. No report or digest was sent for it. See ops.runs / ops.run_stages.`;
    const message = {
        digestId: `alert:${runId}:${config.slack.alertChannel}`,
        kind: 'alert',
        period: runId,
        channel: config.slack.alertChannel,
        text,
        blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }],
    };
    if (!slack) {
        const dir = join(config.outputDir, 'alerts');
        mkdirSync(dir, { recursive: true });
        const path = join(dir, `alert-${runId}.json`);
        writeFileSync(path, `${JSON.stringify({ method: 'chat.postMessage', channel: message.channel, text, blocks: message.blocks }, null, 2)}\n`);
        log(`run: failure notice written to ${path} (no SLACK_BOT_TOKEN)`);
        return path;
    }
    const outcome = await deliverDigest(handle.pool, slack, message, [], log);
    log(`run: failure notice to ${config.slack.alertChannel}: ${outcome.status}`);
    return undefined;
}
