import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ingest } from '../pipelines/ingest/ingest.js';
import { localSource } from '../pipelines/ingest/sources/local-source.js';
import { loadModels, seedBuildTest } from '../pipelines/transform/transform.js';
import { addDays } from '../reports/period.js';
import { event, jsonl, tempDir, writeLog } from './support/event-fixtures.js';
import { copyModels } from './support/models-fixture.js';
import { useTestDatabase } from './support/test-database.js';

/**
 * SLO attainment, error budgets and burn rates, and stage latency, on fixtures whose answers are
 * worked out by hand in the comments.
 */
let seq = 0;
function call(feature: string, day: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
    seq++;
    return event(seq, { request_id: `q_${seq}`, timestamp: `${day}T12:00:00Z`, feature, latency_ms: 500, ...overrides });
}
const times = <T>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));

function corpus(): Record<string, unknown>[] {
    const e: Record<string, unknown>[] = [];
    // f-slo, 7 days of 100 calls at 500 ms. Day 7: 3 of them fail, 10 of the rest take 1,500 ms,
    // and 50 application-cache hits (not calls) fail the threshold too but count nowhere.
    for (let d = 0; d < 7; d++) {
        const day = addDays('2026-11-01', d);
        e.push(
            ...times(100, (i) =>
                call(
                    'f-slo',
                    day,
                    d === 6 ? (i < 3 ? { status: 'error', error_type: 'timeout', latency_ms: 30_000 } : i < 13 ? { latency_ms: 1500 } : {}) : {},
                ),
            ),
        );
    }
    e.push(...times(50, () => call('f-slo', '2026-11-07', { cache_hit: true, latency_ms: 5000 })));
    // f-burn, 14 days of 100 calls; days 8 to 14 have 2 failures each.
    for (let d = 0; d < 14; d++) {
        e.push(...times(100, (i) => call('f-burn', addDays('2026-11-01', d), d >= 7 && i < 2 ? { status: 'error', error_type: 'server_error' } : {})));
    }
    // f-stages on 2026-11-05: four requests, retrieval + llm within the latency; a cache hit with a stage.
    for (const [latency, retrieval, llm] of [
        [1000, 100, 900],
        [2000, 200, 1800],
        [3000, 300, 2600],
        [4000, 400, 3600],
    ])
        e.push(
            call('f-stages', '2026-11-05', {
                latency_ms: latency,
                stages: [
                    { name: 'retrieval', duration_ms: retrieval },
                    { name: 'llm', duration_ms: llm },
                ],
            }),
        );
    e.push(call('f-stages', '2026-11-05', { cache_hit: true, latency_ms: 10_000, stages: [{ name: 'retrieval', duration_ms: 9999 }] }));
    // f-rag (contract v3): retrieval 100..400 ms, 2/4/6/8 documents, context precision on three of them.
    e.push(
        ...[100, 200, 300, 400].map((ms, k) =>
            call('f-rag', '2026-11-05', {
                schema_version: 3,
                latency_ms: 2000,
                stages: [
                    { name: 'retrieval', duration_ms: ms },
                    { name: 'llm', duration_ms: 1500 },
                ],
                retrieved_documents: 2 * (k + 1),
                eval_scores: k < 3 ? { context_precision: [0.5, 0.7, 0.9][k], faithfulness: 1 } : { faithfulness: 1 },
            }),
        ),
    );
    // A mis-instrumented request: its one stage is longer than the request.
    e.push(call('f-stages-bad', '2026-11-05', { latency_ms: 100, stages: [{ name: 'llm', duration_ms: 150 }] }));
    e.push(...agentCorpus());
    return e;
}

/** An agent step (contract v3): no provider, model or tokens. */
function step(id: string, at: string, fields: Record<string, unknown>): Record<string, unknown> {
    return { schema_version: 3, request_id: id, timestamp: `2026-11-05T${at}Z`, status: 'ok', feature: 'f-agent', ...fields };
}

/**
 * Three agent tasks on 2026-11-05 (gpt-4o-mini: $0.15 in, $0.60 out per million tokens):
 * - task-a: a run of 9 s that reports `resolved`; 3 model calls of 10,000 in + 1,000 out
 *   ($0.0021 each, $0.0063); search twice (different arguments) and fetch once: 6 steps.
 * - task-b: no run; 2 model calls of 20,000 + 2,000 ($0.0042 each, $0.0084), the last one failed;
 *   lookup 5 times with the same arguments (a loop: more than 3): 7 steps; 12:00:00 to 12:00:12.
 * - trace-c: steps and a call grouped by trace_id only; the run reports `escalated`; 1 call of
 *   100,000 in ($0.015) and 1 tool call: 2 steps. A call in another trace is no task.
 */
function agentCorpus(): Record<string, unknown>[] {
    const llm = (at: string, input: number, output: number, fields: Record<string, unknown>) =>
        call('f-agent', '2026-11-05', {
            schema_version: 3,
            timestamp: `2026-11-05T${at}Z`,
            input_tokens: input,
            output_tokens: output,
            latency_ms: 1000,
            ...fields,
        });
    const a = { task_id: 'task-a' };
    const b = { task_id: 'task-b' };
    return [
        step('a-run', '10:00:00', { ...a, operation: 'invoke_agent', latency_ms: 9000, outcome: 'resolved' }),
        llm('10:00:01', 10_000, 1000, a),
        step('a-t1', '10:00:02', { ...a, operation: 'execute_tool', tool_name: 'search', tool_call_hash: 'h1', latency_ms: 300 }),
        llm('10:00:03', 10_000, 1000, a),
        step('a-t2', '10:00:04', { ...a, operation: 'execute_tool', tool_name: 'search', tool_call_hash: 'h2', latency_ms: 300 }),
        step('a-t3', '10:00:05', { ...a, operation: 'execute_tool', tool_name: 'fetch', tool_call_hash: 'h3', latency_ms: 300 }),
        llm('10:00:06', 10_000, 1000, a),
        llm('12:00:00', 20_000, 2000, b),
        ...times(5, (i) =>
            step(`b-t${i}`, `12:00:0${i + 2}`, { ...b, operation: 'execute_tool', tool_name: 'lookup', tool_call_hash: 'same', latency_ms: 100 }),
        ),
        llm('12:00:10', 20_000, 2000, { ...b, latency_ms: 2000, status: 'error', error_type: 'timeout' }),
        step('c-run', '14:00:00', { trace_id: 'trace-c', operation: 'invoke_agent', latency_ms: 4000, outcome: 'escalated' }),
        llm('14:00:01', 100_000, 0, { trace_id: 'trace-c' }),
        step('c-t1', '14:00:02', { trace_id: 'trace-c', operation: 'execute_tool', tool_name: 'search', latency_ms: 200 }),
        llm('15:00:00', 5000, 500, { trace_id: 'trace-x' }),
    ];
}

describe('quality marts: SLOs and stage latency', () => {
    const db = useTestDatabase('quality_marts');
    const q = (text: string) => db().query(text);

    beforeAll(async () => {
        const models = copyModels('quality-marts');
        writeFileSync(
            join(models, 'seeds', 'slos.csv'),
            ['feature,latency_percentile,latency_threshold_ms,availability_target,window_days', 'f-slo,95,1000,0.99,7', 'f-burn,95,1000,0.99,14', ''].join(
                '\n',
            ),
        );
        const dir = tempDir('quality-logs');
        writeLog(dir, 'quality.jsonl', jsonl(corpus()));
        const loaded = await ingest(db().handle.pool, localSource(dir), { maxErrorRate: 0, onChangedFile: 'fail', keepText: false, userIdHmacKey: undefined });
        expect(loaded.rowsLoaded).toBe(seq + 11); // the model calls and the 11 agent steps
        const built = await seedBuildTest(db().handle.pool, await loadModels(models), { log: () => undefined });
        expect(built.build.ok).toBe(true);
    }, 180_000);

    it('SLO attainment, burn rates and error budget, by hand', async () => {
        const rows = await q(
            `select objective, calls, good_calls, attainment::text, burn_rate_1d::text, calls_7d, burn_rate_7d::text, error_budget_calls::text,
                    bad_calls_window, error_budget_remaining::text, status
             from marts.mart_slo_status where feature = 'f-slo' and usage_date = '2026-11-07' order by objective`,
        );
        expect(rows).toEqual([
            // Availability, day 7: 97 of 100 good = 0.97; burn 0.03 / 0.01 = 3. Over 7 days: 3 bad of 700,
            // burn (3/700)/0.01 = 0.4286; budget 0.01 x 700 = 7 calls, 3 spent: 1 - 3/7 = 0.5714 left.
            {
                objective: 'availability',
                calls: '100',
                good_calls: '97',
                attainment: '0.970000',
                burn_rate_1d: '3.0000',
                calls_7d: '700',
                burn_rate_7d: '0.4286',
                error_budget_calls: '7.00',
                bad_calls_window: '3',
                error_budget_remaining: '0.5714',
                status: 'ok',
            },
            // Latency, day 7: 97 successful calls, 87 within 1,000 ms: 0.896907; burn (10/97)/0.05 = 2.0619.
            // 7 days: 697 calls, 10 bad: burn (10/697)/0.05 = 0.2869; budget 0.05 x 697 = 34.85; 1 - 10/34.85 = 0.7131.
            {
                objective: 'latency',
                calls: '97',
                good_calls: '87',
                attainment: '0.896907',
                burn_rate_1d: '2.0619',
                calls_7d: '697',
                burn_rate_7d: '0.2869',
                error_budget_calls: '34.85',
                bad_calls_window: '10',
                error_budget_remaining: '0.7131',
                status: 'ok',
            },
        ]);
    });

    it('a 7-day burn rate above 1 is burning; a budget spent to the last call is not yet exhausted', async () => {
        const rows = await q(
            `select usage_date::text as day, burn_rate_7d::text, error_budget_remaining::text, status
             from marts.mart_slo_status where feature = 'f-burn' and objective = 'availability' and usage_date in ('2026-11-07', '2026-11-10', '2026-11-14') order by 1`,
        );
        expect(rows).toEqual([
            { day: '2026-11-07', burn_rate_7d: '0.0000', error_budget_remaining: '1.0000', status: 'ok' },
            // Nov 10: 3 days of 2 failures in the last 7 (6 of 700): burn 0.8571; window 1,000 calls, budget 10, 6 spent.
            { day: '2026-11-10', burn_rate_7d: '0.8571', error_budget_remaining: '0.4000', status: 'ok' },
            // Nov 14: 14 of 700 in 7 days: burn 2; 14 of the window's 1,400 calls: the budget of 14 is all spent.
            { day: '2026-11-14', burn_rate_7d: '2.0000', error_budget_remaining: '0.0000', status: 'burning' },
        ]);
    });

    it('RAG: retrieval latency, documents per query and eval averages (contract v3 fields)', async () => {
        const rows = await q(
            "select rag_requests::int as n, retrieval_p50_ms::text as p50, retrieval_p95_ms::text as p95, documents_per_query::text as docs, documents_p50::float8 as docs_p50, eval_score_avgs from marts.mart_daily_rag where feature = 'f-rag'",
        );
        // 100..400: p50 250, p95 at position 2.85 = 385; documents (2 + 4 + 6 + 8) / 4 = 5, median 5;
        // context precision (0.5 + 0.7 + 0.9) / 3 = 0.7 over the three that report it.
        expect(rows).toEqual([{ n: 4, p50: '250.0', p95: '385.0', docs: '5.00', docs_p50: 5, eval_score_avgs: { context_precision: 0.7, faithfulness: 1 } }]);
    });

    it('stage latency: percentiles, shares of the end-to-end latency, cache hits left out, and a warning for stages longer than their request', async () => {
        const rows = await q(
            "select stage, requests, staged_requests, p50_ms::text, p95_ms::text, p99_ms::text, latency_share::text from marts.mart_daily_stage_latency where feature = 'f-stages' order by stage",
        );
        expect(rows).toEqual([
            // llm 900, 1800, 2600, 3600: p50 (1800 + 2600) / 2; p95 at position 2.85: 2600 + 0.85 x 1000; p99 at 2.97.
            // Share 8,900 of 10,000 ms.
            { stage: 'llm', requests: '4', staged_requests: '4', p50_ms: '2200.0', p95_ms: '3450.0', p99_ms: '3570.0', latency_share: '0.8900' },
            // retrieval 100..400: p50 250, p95 385, p99 397; share 1,000 / 10,000.
            { stage: 'retrieval', requests: '4', staged_requests: '4', p50_ms: '250.0', p95_ms: '385.0', p99_ms: '397.0', latency_share: '0.1000' },
        ]);
        const [t] = await q(
            "select status, failures::int as failures from ops.test_results where test_name = 'stages_within_latency' order by tested_at desc limit 1",
        );
        expect(t).toEqual({ status: 'warn', failures: 1 });
    });

    it('agent tasks: steps, tool calls by tool, cost, duration, outcome and loops, by hand', async () => {
        const tasks = await q(
            `select task_id, steps, llm_calls, tool_calls, tool_calls_by_tool, agent_runs, input_tokens::int as input_tokens, round(cost_usd, 6)::text as cost,
                    duration_ms::text as duration, max_repeated_tool_calls as max_repeats, has_loop, outcome, is_error, is_successful
             from marts.mart_agent_tasks where feature = 'f-agent' order by task_id`,
        );
        expect(tasks).toEqual([
            // 3 x (10,000 x 0.15 + 1,000 x 0.60) / 1e6 = 3 x 0.0021; the run's 9 s; resolved.
            {
                task_id: 'task-a',
                steps: 6,
                llm_calls: 3,
                tool_calls: 3,
                tool_calls_by_tool: { fetch: 1, search: 2 },
                agent_runs: 1,
                input_tokens: 30_000,
                cost: '0.006300',
                duration: '9000.0',
                max_repeats: 1,
                has_loop: false,
                outcome: 'resolved',
                is_error: false,
                is_successful: true,
            },
            // 2 x (20,000 x 0.15 + 2,000 x 0.60) / 1e6 = 2 x 0.0042; no run: 12:00:00 to the last call's end at 12:00:12;
            // lookup 5 times with one hash, more than 3: a loop; the last call failed.
            {
                task_id: 'task-b',
                steps: 7,
                llm_calls: 2,
                tool_calls: 5,
                tool_calls_by_tool: { lookup: 5 },
                agent_runs: 0,
                input_tokens: 40_000,
                cost: '0.008400',
                duration: '12000.0',
                max_repeats: 5,
                has_loop: true,
                outcome: null,
                is_error: true,
                is_successful: false,
            },
            // Grouped by its trace: 100,000 x 0.15 / 1e6 = 0.015; escalated is not a success.
            {
                task_id: 'trace-c',
                steps: 2,
                llm_calls: 1,
                tool_calls: 1,
                tool_calls_by_tool: { search: 1 },
                agent_runs: 1,
                input_tokens: 100_000,
                cost: '0.015000',
                duration: '4000.0',
                max_repeats: 0,
                has_loop: false,
                outcome: 'escalated',
                is_error: false,
                is_successful: false,
            },
        ]);
        const [day] = await q(
            `select tasks, successful_tasks, loop_tasks, success_rate::text, round(cost_usd, 6)::text as cost_usd, cost_per_successful_task_usd::text, steps_p50::text, steps_p95::text
             from marts.mart_daily_agent_tasks where feature = 'f-agent'`,
        );
        // Steps 2, 6, 7: median 6; p95 at position 0.95 x 2 = 1.9: 6 + 0.9 x (7 - 6) = 6.9.
        // Cost 0.0063 + 0.0084 + 0.015 = 0.0297, over the one success.
        expect(day).toEqual({
            tasks: '3',
            successful_tasks: '1',
            loop_tasks: '1',
            success_rate: '0.3333',
            cost_usd: '0.029700',
            cost_per_successful_task_usd: '0.029700',
            steps_p50: '6.0',
            steps_p95: '6.9',
        });
        // Agent steps are not model calls: request counts hold the 7 calls of f-agent, not the 11 steps.
        const [usage] = await q("select sum(requests)::int as requests from marts.mart_daily_usage where feature = 'f-agent'");
        expect(usage).toEqual({ requests: 7 });
        const [weekly] = await q(
            "select round(cost_usd, 6)::text as cost_usd, successful_tasks, cost_per_successful_task_usd::text from marts.mart_weekly_cost_per_outcome where feature = 'f-agent'",
        );
        // The feature's spend, the call outside any task included: 0.0297 + (5,000 x 0.15 + 500 x 0.60) / 1e6 = 0.03075.
        const checks = await q(
            `select test_name, status, failures::int as failures from ops.test_results
             where test_name in ('agent_task_cost_is_sum_of_its_calls', 'daily_agent_tasks_reconcile_to_tasks', 'stg_agent_steps_days_match_first_copies', 'stg_agent_steps_one_row_per_raw_step', 'stg_events_one_row_per_raw_request')
             order by test_name`,
        );
        expect(checks).toEqual(
            [
                'agent_task_cost_is_sum_of_its_calls',
                'daily_agent_tasks_reconcile_to_tasks',
                'stg_agent_steps_days_match_first_copies',
                'stg_agent_steps_one_row_per_raw_step',
                'stg_events_one_row_per_raw_request',
            ].map((test_name) => ({ test_name, status: 'pass', failures: 0 })),
        );
        expect(weekly).toEqual({ cost_usd: '0.030750', successful_tasks: '1', cost_per_successful_task_usd: '0.030750' });
    });
});
