import { partsInOrder } from '../util/load-parts.js';
import { type StageDefinition, stageDefinitions } from './stages/stage.js';

/** `tokenmart run`, in order: names of stages defined in pipelines/run/stages/. A new stage is a file there and its name here. */
export const STAGES = ['ingest', 'retention', 'build', 'test', 'alerts', 'report', 'notify'];

export function pipelineStages(): Promise<StageDefinition[]> {
    return partsInOrder(STAGES, stageDefinitions(), 'pipelines/run/stages.ts');
}
