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
    return e;
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
        expect(loaded.rowsLoaded).toBe(seq);
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
});
