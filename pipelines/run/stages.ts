import { buildStage } from './stages/build-stage.js';
import { ingestStage } from './stages/ingest-stage.js';
import { notifyStage } from './stages/notify-stage.js';
import { reportStage } from './stages/report-stage.js';
import type { StageDefinition } from './stages/stage.js';
import { testStage } from './stages/test-stage.js';

/** `tokenmart run`, in order. A new stage is a file in stages/ and a line here. */
export const STAGES: readonly StageDefinition[] = [ingestStage, buildStage, testStage, reportStage, notifyStage];
