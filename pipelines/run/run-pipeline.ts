import { randomUUID } from 'node:crypto';
import { createSlackClient } from '../../reports/digest/slack.js';
import type { Config } from '../config/config.js';
import type { DatabaseHandle } from '../db/connect.js';
import { loadModels } from '../transform/transform.js';
import { describeError, isConnectionLoss, UserError } from '../util/errors.js';
import { sendFailureNotice } from './failure-notice.js';
import { acquireRunLock } from './run-lock.js';
import { pipelineStages as definedStages } from './stages.js';
import type { RunKind, StageContext, StageDefinition, StageOutcome } from './stages/stage.js';

export type { RunKind } from './stages/stage.js';

export interface StageResult extends StageOutcome {
    readonly stage: string;
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
    /** The stages to run (default: the STAGES list). */
    readonly stages?: readonly StageDefinition[];
}

class StageFailed extends Error {}
class ShutdownRequested extends StageFailed {}

/**
 * One pipeline run: the STAGES in order, under the run lock. A failed stage stops the ones after
 * it; a stage that reports `blocked` (the data tests) holds back the stages that name it in
 * `blockedBy`, which send their `whenBlocked` outcome instead (a failure notice).
 */
export async function runPipeline(handle: DatabaseHandle, config: Config, options: RunOptions): Promise<RunOutcome> {
    const { log } = options;
    const lock = await acquireRunLock(handle.url);
    if (!lock.acquired) {
        const other = await handle.db
            .selectFrom('ops.runs')
            .select(['run_id', 'started_at'])
            .where('status', '=', 'running')
            .orderBy('started_at', 'desc')
            .limit(1)
            .executeTakeFirst();
        return {
            status: 'skipped',
            message: `another run is in progress (run id ${other?.run_id ?? 'unknown'}, since ${other?.started_at.toISOString() ?? 'unknown'}); nothing done`,
        };
    }
    const runId = randomUUID();
    const stages: StageResult[] = [];
    const ctx: StageContext = {
        handle,
        config,
        runId,
        kind: options.kind,
        now: options.now ?? new Date(),
        source: options.source ?? config.source,
        slack: config.slack.token ? createSlackClient(config.slack.token, options.slackApiUrl) : undefined,
        project: await loadModels(),
        log,
        artifacts: [],
        shared: {},
    };
    const db = handle.db;
    try {
        // We hold the lock, so any run still marked running died without finishing.
        await db
            .updateTable('ops.runs')
            .set({ status: 'abandoned', finished_at: new Date(), error: 'process ended before the run finished' })
            .where('status', '=', 'running')
            .execute();
        await db.insertInto('ops.runs').values({ run_id: runId, kind: options.kind, status: 'running' }).execute();
        log(`run: ${runId} (${options.kind}) started`);
        const record = async (r: StageResult) => {
            stages.push(r);
            await db
                .insertInto('ops.run_stages')
                .values({
                    run_id: runId,
                    stage: r.stage,
                    status: r.status,
                    rows: r.rows ?? null,
                    duration_ms: r.ms,
                    detail: r.detail ?? null,
                    error: r.error ?? null,
                })
                .execute();
            log(
                `run: stage ${r.stage.padEnd(6)} ${r.status}${r.detail ? ` (${r.detail})` : ''}${r.error ? `: ${r.error}` : ''} [${(r.ms / 1000).toFixed(1)} s]`,
            );
        };
        const pipelineStages = options.stages ?? (await definedStages());
        let current = 'start';
        try {
            for (const stage of pipelineStages) {
                current = stage.name;
                if (options.shouldStop?.())
                    throw new ShutdownRequested(`stopped before stage ${stage.name} (shutdown requested); the next run picks up from there`);
                const started = Date.now();
                const blocker = stages.find((s) => s.status === 'blocked' && stage.blockedBy.includes(s.stage));
                let outcome: StageOutcome;
                try {
                    if (blocker)
                        outcome = stage.whenBlocked ? await stage.whenBlocked(ctx, blocker.error ?? `${blocker.stage} blocked`) : { status: 'blocked' };
                    else if (!stage.kinds.includes(options.kind)) outcome = { status: 'skipped', detail: `${stage.kinds.join(' and ')} runs only` };
                    else {
                        log(`run: stage ${stage.name} started`);
                        outcome = await stage.run(ctx);
                    }
                } catch (err) {
                    outcome = { status: 'failed', error: describeError(err) };
                }
                await record({ stage: stage.name, ms: Date.now() - started, ...outcome });
                if (outcome.status === 'failed') throw new StageFailed(`stage ${stage.name} failed: ${outcome.error}`);
            }
        } catch (err) {
            if (isConnectionLoss(err)) {
                // Nothing can be recorded: the next run marks this one abandoned and redoes the stage.
                throw new UserError(
                    `run ${runId} failed: lost the database connection during stage ${current} (${describeError(err)}); what that stage had not committed rolled back: rerun when the database is back`,
                );
            }
            if (!(err instanceof StageFailed)) throw err;
            const done = new Set(stages.map((s) => s.stage));
            for (const s of pipelineStages) if (!done.has(s.name)) await record({ stage: s.name, status: 'skipped', ms: 0, detail: 'an earlier stage failed' });
            const abandoned = err instanceof ShutdownRequested;
            // A requested shutdown is not an incident: no alert, and the run is marked abandoned.
            if (!abandoned) {
                await sendFailureNotice(handle, config, ctx.slack, runId, err.message, log)
                    .then((p) => p && ctx.artifacts.push(p))
                    .catch(() => undefined);
            }
            await db
                .updateTable('ops.runs')
                .set({ status: abandoned ? 'abandoned' : 'failed', finished_at: new Date(), error: err.message })
                .where('run_id', '=', runId)
                .execute();
            return { status: 'failed', runId, stages, artifacts: ctx.artifacts, message: `run ${runId} failed: ${err.message}` };
        }
        const blocked = stages.find((s) => s.status === 'blocked' && !pipelineStages.some((d) => d.name === s.stage && d.blockedBy.length));
        await db
            .updateTable('ops.runs')
            .set({ status: blocked ? 'blocked' : 'success', finished_at: new Date(), error: blocked?.error ?? null })
            .where('run_id', '=', runId)
            .execute();
        return {
            status: blocked ? 'blocked' : 'success',
            runId,
            stages,
            artifacts: ctx.artifacts,
            message: blocked ? `run ${runId} blocked: ${blocked.error}; reports held back, failure notice sent` : `run ${runId} succeeded`,
        };
    } finally {
        await lock.release();
    }
}
