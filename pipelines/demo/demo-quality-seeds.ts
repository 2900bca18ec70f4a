import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { demoExperimentStart } from './generate-demo-logs.js';

/**
 * The demo's quality seeds, into its copy of the models folder (demo-budgets.ts made it): the
 * experiment dated from its own data (generate-demo-logs.ts starts the support-chat prompt test
 * 30 days before the last day, assigning whole sessions), and SLOs under which the retry loop of
 * ticket-triage spends its availability budget while the other features stay within theirs.
 */
export function writeDemoQualitySeeds(modelsDir: string, endDate: string): void {
    writeFileSync(
        join(modelsDir, 'seeds', 'experiments.csv'),
        [
            'experiment_id,feature,variant_field,control_value,treatment_value,start_date,end_date,assignment_unit,treatment_share,primary_metric,guard_metrics,description',
            `support-prompt-v8,support-chat,prompt_version,v7,v8,${demoExperimentStart(endDate)},,session,0.5,thumbs_up_rate,resolved_rate;escalated_rate;eval:faithfulness;cost_per_request;latency_p95,Support prompt v8 (warmer wording) against v7`,
            '',
        ].join('\n'),
    );
    writeFileSync(
        join(modelsDir, 'seeds', 'slos.csv'),
        [
            'feature,latency_percentile,latency_threshold_ms,availability_target,window_days',
            'support-chat,95,10000,0.95,28',
            'answer-engine,95,30000,0.95,28',
            'code-review,90,60000,0.95,28',
            'ticket-triage,95,2500,0.975,28',
            '',
        ].join('\n'),
    );
}
