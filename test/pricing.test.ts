import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromAnthropicUsage, fromGeminiUsage, fromOpenAIUsage } from '../pipelines/ingest/formats/provider-usage.js';
import { ingest } from '../pipelines/ingest/ingest.js';
import { localSource } from '../pipelines/ingest/sources/local-source.js';
import { buildModels } from '../pipelines/transform/build.js';
import { loadModels, seedBuildTest } from '../pipelines/transform/transform.js';
import { event, jsonl, tempDir, writeLog } from './support/event-fixtures.js';
import { addPrices, copyModels } from './support/models-fixture.js';
import { createTestDatabase, type TestDatabase } from './support/test-database.js';

/**
 * Hand-computed prices, one per rule. Rates are the shipped seed's real prices (USD per million
 * tokens) unless the case adds a fixture price. Each expected cost is worked out in the comment.
 */
const cases: Record<string, Record<string, unknown>> = {
    // gpt-4o: 6,000 uncached x 2.50 + 4,000 cache reads x 1.25 + 2,000 output x 10.00 = 0.015 + 0.005 + 0.02
    openai_cached: { provider: 'openai', model: 'gpt-4o', input_tokens: 10_000, cache_read_tokens: 4_000, output_tokens: 2_000 },
    // o3 after the 2025-06-10 cut: 1,000 x 2 + 1,000 output x 8 + 4,000 reasoning x 8 = 0.002 + 0.008 + 0.032
    reasoning_after_cut: {
        provider: 'openai',
        model: 'o3',
        timestamp: '2025-07-01T12:00:00Z',
        input_tokens: 1_000,
        output_tokens: 5_000,
        reasoning_tokens: 4_000,
    },
    // o3 before the cut: 1,000 x 10 + 1,000 x 40 + 4,000 x 40 = 0.01 + 0.04 + 0.16
    reasoning_before_cut: {
        provider: 'openai',
        model: 'o3',
        timestamp: '2025-05-01T12:00:00Z',
        input_tokens: 1_000,
        output_tokens: 5_000,
        reasoning_tokens: 4_000,
    },
    // claude-sonnet-4-5: 20,000 uncached x 3 + 20,000 reads x 0.30 + 6,000 5m writes x 3.75 + 4,000 1h writes x 6 + 1,000 x 15
    //   = 0.06 + 0.006 + 0.0225 + 0.024 + 0.015
    anthropic_cache_writes: {
        provider: 'anthropic',
        model: 'claude-sonnet-4-5',
        input_tokens: 50_000,
        cache_read_tokens: 20_000,
        cache_write_tokens: 10_000,
        cache_write_1h_tokens: 4_000,
        output_tokens: 1_000,
    },
    // batch: (10,000 x 3 + 1,000 x 15) x 0.5 = (0.03 + 0.015) / 2
    anthropic_batch: { provider: 'anthropic', model: 'claude-sonnet-4-5', service_tier: 'batch', input_tokens: 10_000, output_tokens: 1_000 },
    // 250,000 input > 200,000: the WHOLE request at long-context rates:
    //   150,000 x 6 + 100,000 reads x 0.60 + 2,000 x 22.50 = 0.9 + 0.06 + 0.045
    long_context: { provider: 'anthropic', model: 'claude-sonnet-4-5', input_tokens: 250_000, cache_read_tokens: 100_000, output_tokens: 2_000 },
    // exactly at the threshold is not above it: 200,000 x 3 + 2,000 x 15 = 0.6 + 0.03
    at_threshold: { provider: 'anthropic', model: 'claude-sonnet-4-5', input_tokens: 200_000, output_tokens: 2_000 },
    // a fixture price changes at midnight: the last millisecond of Nov 1 uses the old price (1.00/M)...
    before_midnight: { provider: 'openai', model: 'fixture-model', timestamp: '2026-11-01T23:59:59.999Z', input_tokens: 1_000_000, output_tokens: 0 },
    // ...and midnight itself the new one (3.00/M)
    at_midnight: { provider: 'openai', model: 'fixture-model', timestamp: '2026-11-02T00:00:00Z', input_tokens: 1_000_000, output_tokens: 0 },
    // a dated alias without its own row uses the undated model: same as openai_cached
    dated_alias: { provider: 'openai', model: 'gpt-4o-2024-11-20', input_tokens: 10_000, cache_read_tokens: 4_000, output_tokens: 2_000 },
    // no price for this model: NULL, counted as unpriced, never 0
    unknown_model: { provider: 'mistral', model: 'mistral-large-2411', input_tokens: 1_000, output_tokens: 1_000 },
    // gpt-4o has no flex tier: unpriced rather than silently standard
    flex_without_rate: { provider: 'openai', model: 'gpt-4o', service_tier: 'flex', input_tokens: 1_000, output_tokens: 1_000 },
    // an app-cache hit costs 0; its avoided cost is 1,000 x 0.15 + 1,000 x 0.60 = 0.00015 + 0.0006
    app_cache_hit: { provider: 'openai', model: 'gpt-4o-mini', cache_hit: true, input_tokens: 1_000, output_tokens: 1_000 },
    // Provider usage objects, mapped to the contract (each provider counts cached and reasoning tokens differently):
    // OpenAI o4-mini: prompt 12,000 incl 8,000 cached; completion 3,000 incl 2,000 reasoning:
    //   4,000 x 1.10 + 8,000 x 0.275 + 1,000 x 4.40 + 2,000 x 4.40 = 0.0044 + 0.0022 + 0.0044 + 0.0088
    openai_usage_mapped: {
        provider: 'openai',
        model: 'o4-mini',
        ...fromOpenAIUsage({
            prompt_tokens: 12_000,
            completion_tokens: 3_000,
            prompt_tokens_details: { cached_tokens: 8_000 },
            completion_tokens_details: { reasoning_tokens: 2_000 },
        }),
    },
    // Anthropic haiku 4.5: input_tokens 500 EXCLUDES 3,000 cache reads and 1,000 writes (600 of them 1h):
    //   500 x 1 + 3,000 x 0.10 + 400 x 1.25 + 600 x 2 + 200 output x 5 = 0.0005 + 0.0003 + 0.0005 + 0.0012 + 0.001
    anthropic_usage_mapped: {
        provider: 'anthropic',
        model: 'claude-haiku-4-5',
        ...fromAnthropicUsage({
            input_tokens: 500,
            output_tokens: 200,
            cache_read_input_tokens: 3_000,
            cache_creation_input_tokens: 1_000,
            cache_creation: { ephemeral_5m_input_tokens: 400, ephemeral_1h_input_tokens: 600 },
        }),
    },
    // Gemini 2.5 flash: prompt 10,000 incl 4,000 cached; candidates 500 EXCLUDE 1,500 thoughts:
    //   6,000 x 0.30 + 4,000 x 0.03 + 500 x 2.50 + 1,500 x 2.50 = 0.0018 + 0.00012 + 0.00125 + 0.00375
    gemini_usage_mapped: {
        provider: 'gcp.vertex_ai',
        model: 'gemini-2.5-flash',
        ...fromGeminiUsage({ promptTokenCount: 10_000, cachedContentTokenCount: 4_000, candidatesTokenCount: 500, thoughtsTokenCount: 1_500 }),
    },
    // gpt-4o's launch row has no cache price: cache reads are billed as input.
    //   6,000 x 5.00 + 4,000 cache reads x 5.00 (input price) + 2,000 x 15.00 = 0.03 + 0.02 + 0.03
    empty_cache_price_is_input: {
        provider: 'openai',
        model: 'gpt-4o',
        timestamp: '2024-06-01T12:00:00Z',
        input_tokens: 10_000,
        cache_read_tokens: 4_000,
        output_tokens: 2_000,
    },
    // priority tier, gpt-4o 2024-08-06 row (priority_multiplier 1.7): (6,000 x 2.50 + 4,000 x 1.25 + 2,000 x 10) x 1.7 = 0.04 x 1.7
    priority_tier: { provider: 'openai', model: 'gpt-4o', service_tier: 'priority', input_tokens: 10_000, cache_read_tokens: 4_000, output_tokens: 2_000 },
    // flex with a rate, o3 after the cut (flex_multiplier 0.5): (1,000 x 2 + 1,000 x 8 + 4,000 reasoning x 8) x 0.5 = 0.042 x 0.5
    flex_with_rate: {
        provider: 'openai',
        model: 'o3',
        service_tier: 'flex',
        timestamp: '2025-07-01T12:00:00Z',
        input_tokens: 1_000,
        output_tokens: 5_000,
        reasoning_tokens: 4_000,
    },
    // -YYYYMMDD alias without a row of its own: claude-sonnet-4-5's: 10,000 x 3 + 1,000 x 15 = 0.03 + 0.015
    dash_date_alias: { provider: 'anthropic', model: 'claude-sonnet-4-5-20250929', input_tokens: 10_000, output_tokens: 1_000 },
    // @YYYYMMDD alias (Vertex AI's form): claude-sonnet-4's row: 10,000 x 3 + 1,000 x 15 = 0.03 + 0.015
    at_date_alias: { provider: 'anthropic', model: 'claude-sonnet-4@20250514', input_tokens: 10_000, output_tokens: 1_000 },
    // a dated alias WITH its own row wins over the undated model: gpt-4o-2024-05-13 stays at 5.00/15.00 in 2025
    //   (gpt-4o itself is 2.50/10.00 then): 1,000 x 5 + 1,000 x 15 = 0.005 + 0.015
    dated_alias_own_row: { provider: 'openai', model: 'gpt-4o-2024-05-13', timestamp: '2025-01-15T12:00:00Z', input_tokens: 1_000, output_tokens: 1_000 },
    // Gemini 2.5 Pro above 200k input: the whole request at long-context rates:
    //   200,000 uncached x 2.50 + 50,000 cache reads x 0.25 + 2,000 x 15.00 = 0.5 + 0.0125 + 0.03
    gemini_long_context: { provider: 'gcp.vertex_ai', model: 'gemini-2.5-pro', input_tokens: 250_000, cache_read_tokens: 50_000, output_tokens: 2_000 },
    // a model nobody lists, in any seed: unpriced
    unknown_everywhere: { provider: 'acme', model: 'acme-llm-9000', input_tokens: 1_000, output_tokens: 1_000 },
    // a gateway's reported cost is kept beside ours: 0.04 computed (as openai_cached) vs 0.05 reported
    gateway_reported: { provider: 'openai', model: 'gpt-4o', input_tokens: 10_000, cache_read_tokens: 4_000, output_tokens: 2_000, reported_cost_usd: 0.05 },
};

const expected: Record<string, string | null> = {
    openai_cached: '0.04',
    reasoning_after_cut: '0.042',
    reasoning_before_cut: '0.21',
    anthropic_cache_writes: '0.1275',
    anthropic_batch: '0.0225',
    long_context: '1.005',
    at_threshold: '0.63',
    before_midnight: '1',
    at_midnight: '3',
    dated_alias: '0.04',
    unknown_model: null,
    flex_without_rate: null,
    app_cache_hit: '0',
    gateway_reported: '0.04',
    openai_usage_mapped: '0.0198',
    anthropic_usage_mapped: '0.0035',
    gemini_usage_mapped: '0.00692',
    empty_cache_price_is_input: '0.08',
    priority_tier: '0.068',
    flex_with_rate: '0.021',
    dash_date_alias: '0.045',
    at_date_alias: '0.045',
    dated_alias_own_row: '0.02',
    gemini_long_context: '0.5425',
    unknown_everywhere: null,
};

let t: TestDatabase;
let root: string;
const costs = new Map<string, Record<string, any>>();

beforeAll(async () => {
    t = await createTestDatabase('pricing');
    root = copyModels('pricing');
    // Independent of any `prices import` run: the community list (which does price mistral) is empty here.
    writeFileSync(
        join(root, 'seeds', 'model_prices_imported.csv'),
        `${readFileSync(join(root, 'seeds', 'model_prices_imported.csv'), 'utf8').split('\n')[0]}\n`,
    );
    addPrices(root, [
        'openai,fixture-model,2026-11-01T00:00:00Z,1.00,2.00,,,,,,,,,,,,,,test fixture',
        'openai,fixture-model,2026-11-02T00:00:00Z,3.00,4.00,,,,,,,,,,,,,,test fixture (price change at midnight)',
    ]);
    const dir = tempDir('pricing');
    writeLog(dir, 'cases.jsonl', jsonl(Object.entries(cases).map(([id, c], i) => event(i, { request_id: id, ...c }))));
    await ingest(t.handle.pool, localSource(dir), { maxErrorRate: 0, onChangedFile: 'fail', keepText: false, userIdHmacKey: undefined });
    const outcome = await seedBuildTest(t.handle.pool, await loadModels(root), { log: () => undefined });
    expect(outcome.build.ok).toBe(true);
    for (const row of await t.query('select *, cost_usd::text as cost, cache_hit_savings_usd::text as hit_savings from marts.fct_requests'))
        costs.set(row.request_id, row);
});
afterAll(async () => {
    await t.drop();
});

describe('pricing: hand-computed cases', () => {
    for (const [id, want] of Object.entries(expected)) {
        it(`${id} costs ${want ?? 'NULL (unpriced)'}`, () => {
            const row = costs.get(id)!;
            expect(row, id).toBeDefined();
            expect(row.cost === null ? null : Number(row.cost).toString()).toBe(want);
            expect(row.is_unpriced).toBe(want === null);
        });
    }

    it('keeps the exact numeric (no float drift) and sums buckets to the total', async () => {
        const [r] =
            await t.query(`select cost_usd::text as c, (uncached_input_cost_usd + cache_read_cost_usd + cache_write_cost_usd + output_cost_usd + reasoning_cost_usd)::text as s
                                   from marts.fct_requests where request_id = 'anthropic_cache_writes'`);
        expect(r.c).toMatch(/^0\.1275(0*)$/);
        expect(r.s).toBe(r.c);
        const [{ type }] = await t.query(
            `select data_type as type from information_schema.columns where table_schema = 'marts' and table_name = 'mart_daily_cost' and column_name = 'cost_usd'`,
        );
        expect(type).toBe('numeric');
    });

    it('splits tokens into buckets that sum to the raw totals', async () => {
        const [b] = await t.query(`select * from marts.fct_requests where request_id = 'anthropic_cache_writes'`);
        expect([
            b.uncached_input_tokens,
            b.cache_read_tokens,
            b.cache_write_5m_tokens,
            b.cache_write_1h_tokens,
            b.output_excl_reasoning_tokens,
            b.reasoning_tokens,
        ]).toEqual(['20000', '20000', '6000', '4000', '1000', '0']);
        const [r] = await t.query(`select * from marts.fct_requests where request_id = 'reasoning_after_cut'`);
        expect([r.output_excl_reasoning_tokens, r.reasoning_tokens]).toEqual(['1000', '4000']);
        const [sums] = await t.query(`
            select (select sum(input_tokens + output_tokens) from raw.events)::text as raw,
                   (select sum(uncached_input_tokens + cache_read_tokens + cache_write_5m_tokens + cache_write_1h_tokens + output_excl_reasoning_tokens + reasoning_tokens) from marts.fct_requests)::text as buckets`);
        expect(sums.buckets).toBe(sums.raw);
    });

    it('reports cache-hit savings, gateway differences and the unpriced count in the daily mart', async () => {
        expect(Number(costs.get('app_cache_hit')!.hit_savings)).toBe(0.00075);
        expect(costs.get('long_context')!.is_long_context).toBe(true);
        expect(costs.get('at_threshold')!.is_long_context).toBe(false);
        const [d] = await t.query(
            `select sum(unpriced_requests)::int as unpriced, sum(reported_cost_diff_usd)::text as diff, sum(cost_usd)::text as total from marts.mart_daily_cost`,
        );
        expect(d.unpriced).toBe(3); // unknown_model, flex_without_rate, unknown_everywhere
        expect(Number(d.diff)).toBe(-0.01);
        const sumOfCases = Object.values(expected).reduce((a, v) => a + Number(v ?? 0), 0);
        expect(Number(d.total)).toBeCloseTo(sumOfCases, 10);
    });

    /** Every request's cost, and the daily mart's total, as text (exact numeric). */
    const snapshot = async () => ({
        requests: await t.query('select request_id, usage_date::text as day, cost_usd::text as cost from marts.fct_requests order by request_id'),
        total: (await t.query('select sum(cost_usd)::text as total from marts.mart_daily_cost'))[0].total as string,
    });
    const rebuild = async () => {
        const lines: string[] = [];
        const outcome = await seedBuildTest(t.handle.pool, await loadModels(root), { log: (l) => lines.push(l) });
        expect(outcome.build.ok).toBe(true);
        const result = (id: string) => outcome.build.results.find((r) => r.id === id)!;
        return { fct: result('marts.fct_requests'), result, log: lines.join('\n') };
    };
    const seedFile = () => join(root, 'seeds', 'model_prices.csv');
    const lastDay = async () => (await t.query('select max(usage_date)::text as d from marts.fct_requests'))[0].d as string;

    it('re-prices only the days a fixed price applied to, and the result equals a full rebuild to the cent', async () => {
        writeFileSync(
            seedFile(),
            readFileSync(seedFile(), 'utf8').replace('openai,gpt-4o,2024-08-06T00:00:00Z,2.50,10.00', 'openai,gpt-4o,2024-08-06T00:00:00Z,5.00,10.00'),
        );
        const last = await lastDay();
        const { fct, result, log } = await rebuild();
        // gpt-4o's row applies from 2024-08-06 on (it has no later row): those days are rebuilt,
        // and the day of the 2024-06-01 request before it is not.
        expect(log).toMatch(
            new RegExp(`seed: loaded seeds\\.model_prices \\(\\d+ rows\\): its changed rows applied to \\d+ day\\(s\\), 2024-08-06 to ${last}`),
        );
        expect(fct.mode).toBe('incremental');
        expect(fct.days).toBe(`2024-08-06..${last}`);
        // The days are marked for the models that read prices: staging and the drift chain read none.
        for (const id of ['staging.stg_events', 'marts.mart_weekly_metric_counts', 'marts.mart_quality_drift'])
            expect(result(id).status, id).toBe('up_to_date');
        expect(result('marts.mart_daily_cost').status).toBe('success');
        const [r] = await t.query(`select cost_usd::text as c from marts.fct_requests where request_id = 'openai_cached'`);
        // 6,000 x 5.00 + 4,000 x 1.25 + 2,000 x 10 = 0.03 + 0.005 + 0.02
        expect(Number(r.c)).toBe(0.055);
        const incremental = await snapshot();
        await buildModels(t.handle.pool, (await loadModels(root)).project, (await loadModels(root)).dag, { fullRefresh: true });
        expect(await snapshot()).toEqual(incremental);
    });

    it('a price change added mid-history rebuilds the days from it on; the requests before it keep their cost', async () => {
        // A request after the coming change: 1M input tokens at 3.00 until the change is added.
        const dir = tempDir('pricing-late');
        writeLog(
            dir,
            'late.jsonl',
            jsonl([
                event(900, {
                    request_id: 'after_noon',
                    provider: 'openai',
                    model: 'fixture-model',
                    timestamp: '2026-11-02T13:00:00Z',
                    input_tokens: 1_000_000,
                    output_tokens: 0,
                }),
            ]),
        );
        await ingest(t.handle.pool, localSource(dir), { maxErrorRate: 0, onChangedFile: 'fail', keepText: false, userIdHmacKey: undefined });
        await rebuild();
        const cost = async (id: string) => (await t.query('select cost_usd::text as c from marts.fct_requests where request_id = $1', [id]))[0].c as string;
        expect(Number(await cost('after_noon'))).toBe(3);
        const before = await cost('at_midnight');
        addPrices(root, ['openai,fixture-model,2026-11-02T12:00:00Z,5.00,6.00,,,,,,,,,,,,,,test fixture (a later change)']);
        const last = await lastDay();
        const { fct } = await rebuild();
        expect(fct.mode).toBe('incremental');
        expect(fct.days).toBe(last === '2026-11-02' ? '2026-11-02' : `2026-11-02..${last}`);
        expect(await cost('at_midnight')).toBe(before); // 00:00 is before the 12:00 change
        expect(Number(await cost('after_noon'))).toBe(5);
        const incremental = await snapshot();
        await buildModels(t.handle.pool, (await loadModels(root)).project, (await loadModels(root)).dag, { fullRefresh: true });
        expect(await snapshot()).toEqual(incremental);
    });

    it('a seed that fails to load marks no day; a new model key re-prices every day (a full rebuild)', async () => {
        const [{ n: marks }] = await t.query('select count(*)::int as n from ops.dirty_days');
        const good = readFileSync(seedFile(), 'utf8');
        writeFileSync(seedFile(), good.replace('openai,gpt-4o,2024-08-06T00:00:00Z,5.00,', 'openai,gpt-4o,2024-08-06T00:00:00Z,five,'));
        await expect(seedBuildTest(t.handle.pool, await loadModels(root), { log: () => undefined })).rejects.toThrow(/model_prices\.csv \(rows/);
        expect((await t.query('select count(*)::int as n from ops.dirty_days'))[0].n).toBe(marks);
        writeFileSync(seedFile(), good);
        // An exact row for a dated alias changes which prices it uses on every day, whatever its date.
        addPrices(root, ['openai,gpt-4o-2024-11-20,2026-11-02T00:00:00Z,2.50,10.00,,,,,,,,,,,,,,test fixture (new key)']);
        const { fct } = await rebuild();
        expect(fct.mode).toBe('full');
        const incremental = await snapshot();
        await buildModels(t.handle.pool, (await loadModels(root)).project, (await loadModels(root)).dag, { fullRefresh: true });
        expect(await snapshot()).toEqual(incremental);
    });
});
