import type { Config } from '../../config/config.js';
import type { DatabaseHandle } from '../../db/connect.js';
import type { TestRun } from '../../transform/data-tests.js';
import type { LoadedProject } from '../../transform/transform.js';
import type { SlackClient } from '../../../reports/digest/slack.js';
import { loadParts } from '../../util/load-parts.js';

export type RunKind = 'daily' | 'weekly';

/** What a stage reports; recorded in ops.run_stages. */
export interface StageOutcome {
    readonly status: 'success' | 'failed' | 'skipped' | 'blocked';
    /** The count the stage records (see StageDefinition.records). */
    readonly rows?: number;
    readonly detail?: string;
    readonly error?: string;
}

/** Everything a stage may use; `artifacts` and `shared` carry results to the caller and later stages. */
export interface StageContext {
    readonly handle: DatabaseHandle;
    readonly config: Config;
    readonly runId: string;
    readonly kind: RunKind;
    readonly now: Date;
    readonly source: string | undefined;
    readonly slack: SlackClient | undefined;
    readonly project: LoadedProject;
    readonly log: (line: string) => void;
    readonly artifacts: string[];
    /** tests: the data tests the build stage started alongside it (finished, recorded and returned by this promise). */
    readonly shared: { pdfPath?: string; tests?: Promise<TestRun> };
}

/**
 * One step of `tokenmart run`, defined in a file of pipelines/run/stages/. The run is the ordered
 * list of stage names in pipelines/run/stages.ts: a new stage is a file here and its name there.
 */
export interface StageDefinition {
    readonly name: string;
    /** The runs that include it; others record it as skipped. */
    readonly kinds: readonly RunKind[];
    /** Stages whose `blocked` outcome holds this one back (the data tests hold back what goes out). */
    readonly blockedBy: readonly string[];
    /** What its `rows` count means, as `tokenmart status` shows it. */
    readonly records: string;
    run(ctx: StageContext): Promise<StageOutcome>;
    /** What it does instead when held back (default: nothing, recorded as blocked). */
    whenBlocked?(ctx: StageContext, reason: string): Promise<StageOutcome>;
}

/** A stage with the defaults: in daily and weekly runs, held back by nothing. */
export function defineStage(stage: Omit<StageDefinition, 'kinds' | 'blockedBy'> & Partial<Pick<StageDefinition, 'kinds' | 'blockedBy'>>): StageDefinition {
    return { kinds: ['daily', 'weekly'], blockedBy: [], ...stage };
}

export function isStageDefinition(value: unknown): value is StageDefinition {
    const v = value as Partial<StageDefinition> | null;
    return (
        typeof v === 'object' && v !== null && typeof v.name === 'string' && typeof v.run === 'function' && Array.isArray(v.kinds) && Array.isArray(v.blockedBy)
    );
}

/** Every stage defined in pipelines/run/stages/, by name. */
export function stageDefinitions(): Promise<Map<string, StageDefinition>> {
    return loadParts(new URL('.', import.meta.url), isStageDefinition, (s) => s.name);
}
