import { beforeAll, describe, expect, it } from 'vitest';
import { ingest } from '../pipelines/ingest/ingest.js';
import { localSource } from '../pipelines/ingest/sources/local-source.js';
import { loadModels, seedBuildTest } from '../pipelines/transform/transform.js';
import { event, jsonl, tempDir, writeLog } from './support/event-fixtures.js';
import { useTestDatabase } from './support/test-database.js';

/**
 * Why spend changed, by hand: each effect alone, then all of them at once. Input tokens only:
 * gpt-4o-mini $0.15 per million ($0.075 cache reads), gpt-4o $2.50; so 100,000 tokens of
 * gpt-4o-mini cost $0.015 and of gpt-4o $0.25. Week 1 starts 2026-11-02, week 2 2026-11-09.
 */
let seq = 0;
function calls(n: number, week: 1 | 2, feature: string, fields: Record<string, unknown> = {}): Record<string, unknown>[] {
    return Array.from({ length: n }, () => {
        seq++;
        const day = week === 1 ? '2026-11-03' : '2026-11-10';
        return event(seq, {
            request_id: `cc_${seq}`,
            timestamp: `${day}T09:00:00Z`,
            team: 'growth',
            feature,
            input_tokens: 100_000,
            output_tokens: 0,
            ...fields,
        });
    });
}
const gpt4o = { model: 'gpt-4o' };

function corpus(): Record<string, unknown>[] {
    return [
        // Volume: 2 calls, then 4.
        ...calls(2, 1, 'f-volume'),
        ...calls(4, 2, 'f-volume'),
        // Intensity: 2 calls of 100,000 tokens, then 2 of 200,000.
        ...calls(2, 1, 'f-intensity'),
        ...calls(2, 2, 'f-intensity', { input_tokens: 200_000 }),
        // Mix: 4 calls each week, half on gpt-4o, then three quarters.
        ...calls(2, 1, 'f-mix'),
        ...calls(2, 1, 'f-mix', gpt4o),
        ...calls(1, 2, 'f-mix'),
        ...calls(3, 2, 'f-mix', gpt4o),
        // Price: the same calls, half of their tokens now read from the prompt cache.
        ...calls(2, 1, 'f-price'),
        ...calls(2, 2, 'f-price', { cache_read_tokens: 50_000 }),
        // Everything at once: 2 calls, then 2 of 200,000 tokens with 100,000 cached and a gpt-4o call.
        ...calls(2, 1, 'f-all'),
        ...calls(2, 2, 'f-all', { input_tokens: 200_000, cache_read_tokens: 100_000 }),
        ...calls(1, 2, 'f-all', gpt4o),
        // A feature that starts, and one that stops.
        ...calls(2, 2, 'f-new'),
        ...calls(3, 1, 'f-gone'),
    ];
}

describe('why spend changed: the decomposition', () => {
    const db = useTestDatabase('cost_change');

    beforeAll(async () => {
        const dir = tempDir('cost-change-logs');
        writeLog(dir, 'calls.jsonl', jsonl(corpus()));
        const loaded = await ingest(db().handle.pool, localSource(dir), { maxErrorRate: 0, onChangedFile: 'fail', keepText: false, userIdHmacKey: undefined });
        expect(loaded.rowsLoaded).toBe(seq);
        const built = await seedBuildTest(db().handle.pool, await loadModels(), { log: () => undefined });
        expect(built.build.ok).toBe(true);
    }, 180_000);

    it('each effect alone, all together, a new and a stopped feature: the parts add up to the change', async () => {
        const rows = await db().query(
            `select feature, round(sum(change_usd), 6)::text as change, round(sum(volume_usd), 6)::text as volume, round(sum(mix_usd), 6)::text as mix,
                    round(sum(intensity_usd), 6)::text as intensity, round(sum(price_usd), 6)::text as price
             from marts.mart_cost_change where period_type = 'week' and period_start = '2026-11-09' group by feature order by feature`,
        );
        const r = (feature: string, change: string, volume: string, mix: string, intensity: string, price: string) => ({
            feature,
            change,
            volume,
            mix,
            intensity,
            price,
        });
        expect(rows).toEqual([
            // 2 calls of gpt-4o-mini 100,000 (0.03), then 2 of 200,000 with 100,000 cached (2 x 0.0225) and 1 of gpt-4o (0.25): +0.265.
            // Volume: one more call at the old mix, size and price: 1 x 0.015. Mix: gpt-4o-mini's share 1 -> 2/3 costs
            // 3 x -1/3 x 0.015 = -0.015, gpt-4o's 0 -> 1/3 adds 3 x 1/3 x 0.25 = 0.25. Intensity: 2 calls x 100,000 more
            // tokens x 0.15e-6 = 0.03. Price: 400,000 tokens x (0.1125e-6 - 0.15e-6) = -0.015.
            r('f-all', '0.265000', '0.015000', '0.235000', '0.030000', '-0.015000'),
            // Stopped: minus its 3 x 0.015, all volume.
            r('f-gone', '-0.045000', '-0.045000', '0.000000', '0.000000', '0.000000'),
            // 2 x 100,000 more tokens per call x 0.15e-6.
            r('f-intensity', '0.030000', '0.000000', '0.000000', '0.030000', '0.000000'),
            // 2 x 0.015 + 2 x 0.25 = 0.53, then 0.015 + 3 x 0.25 = 0.765: all mix.
            r('f-mix', '0.235000', '0.000000', '0.235000', '0.000000', '0.000000'),
            // Started: 2 x 0.015, all volume.
            r('f-new', '0.030000', '0.030000', '0.000000', '0.000000', '0.000000'),
            // 50,000 of each call's tokens at 0.075 instead of 0.15: 2 x 50,000 x -0.075e-6 = -0.0075.
            r('f-price', '-0.007500', '0.000000', '0.000000', '0.000000', '-0.007500'),
            // 2 more calls of 0.015.
            r('f-volume', '0.030000', '0.030000', '0.000000', '0.000000', '0.000000'),
        ]);
        const [exact] = await db().query(
            `select count(*)::int as n from marts.mart_cost_change where volume_usd + mix_usd + intensity_usd + price_usd <> change_usd`,
        );
        expect(exact).toEqual({ n: 0 });
        const [test] = await db().query("select status from ops.test_results where test_name = 'cost_change_effects_add_up' order by tested_at desc limit 1");
        expect(test).toEqual({ status: 'pass' });
    });
});
