import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { demoExperimentStart } from './generate-demo-logs.js';

/**
 * The demo's experiment, dated from its own data (generate-demo-logs.ts starts the support-chat
 * prompt test 30 days before the last day, assigning whole sessions), into the demo's copy of the
 * models folder (demo-budgets.ts made it).
 */
export function writeDemoExperiments(modelsDir: string, endDate: string): void {
    writeFileSync(
        join(modelsDir, 'seeds', 'experiments.csv'),
        [
            'experiment_id,feature,variant_field,control_value,treatment_value,start_date,end_date,assignment_unit,treatment_share,primary_metric,guard_metrics,description',
            `support-prompt-v8,support-chat,prompt_version,v7,v8,${demoExperimentStart(endDate)},,session,0.5,thumbs_up_rate,resolved_rate;escalated_rate;eval:faithfulness;cost_per_request;latency_p95,Support prompt v8 (warmer wording) against v7`,
            '',
        ].join('\n'),
    );
}
