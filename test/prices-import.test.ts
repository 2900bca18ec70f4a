import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ingest } from '../pipelines/ingest/ingest.js';
import { localSource } from '../pipelines/ingest/sources/local-source.js';
import { shift, toPlainDecimal } from '../pipelines/pricing/decimal.js';
import { loadModels, seedBuildTest } from '../pipelines/transform/transform.js';
import { event, jsonl, tempDir, writeLog } from './support/event-fixtures.js';
import { copyModels } from './support/models-fixture.js';
import { burstGptEvents, priceListPath, realdataKind } from './support/realdata.js';
import { runCli } from './support/run-cli.js';
import { useTestDatabase } from './support/test-database.js';

describe('prices: decimal conversion', () => {
    it('turns per-token floats into exact per-million decimals', () => {
        expect(shift(toPlainDecimal(2.5e-6), 6)).toBe('2.5');
        expect(shift(toPlainDecimal(3.75e-6), 6)).toBe('3.75');
        expect(shift(toPlainDecimal(1.375e-7), 6)).toBe('0.1375');
        expect(shift(toPlainDecimal(2e-8), 6)).toBe('0.02');
        expect(shift(toPlainDecimal(2.9e-6), 6)).toBe('2.9');
        expect(2.9e-6 * 1e6).not.toBe(2.9); // why the string shift exists
    });
});

describe(`prices import: the community price list (${realdataKind})`, () => {
    const db = useTestDatabase('prices_import');

    it('imports the real list and prices models the curated seed lacks; curated dated prices still win', async () => {
        const root = copyModels('prices-import');
        const out = join(root, 'seeds', 'model_prices_imported.csv');
        const r = await runCli(['prices', 'import', priceListPath, '--out', out, '--effective-from', '2024-01-01T00:00:00Z']);
        expect(r.code, r.stderr).toBe(0);
        const lines = readFileSync(out, 'utf8').trim().split('\n');
        // The subset has 21 entries: sample_spec is not a model, dall-e-3 is an image model, and
        // deepseek-chat appears twice (bare and deepseek/): 18 rows plus the header.
        if (realdataKind === 'slice') expect(lines.length).toBe(1 + 18);
        else expect(lines.length).toBeGreaterThan(500);
        // The list's claude-sonnet-4-5 entry, per token: input 3e-06, output 1.5e-05, cache read 3e-07,
        // cache write 3.75e-06 (1h: 6e-06), and above 200k tokens 6e-06 / 2.25e-05 / 6e-07 / 7.5e-06 (1h: 1.2e-05).
        expect(lines).toContain(
            'anthropic,claude-sonnet-4-5,2024-01-01T00:00:00Z,3,15,0.3,3.75,6,,200000,6,22.5,0.6,7.5,12,,,,community price list: claude-sonnet-4-5',
        );
        // 1e-7 and 4e-7 per token are 0.1 and 0.4 per million exactly (in floats, 1e-7 x 1e6 = 0.09999999999999999).
        expect(lines.find((l) => l.startsWith('gcp.vertex_ai,gemini-2.5-flash-lite,'))).toMatch(
            /^gcp\.vertex_ai,gemini-2\.5-flash-lite,2024-01-01T00:00:00Z,0\.1,0\.4,/,
        );
        const dir = tempDir('prices-import');
        writeLog(
            dir,
            'e.jsonl',
            jsonl([
                // only in the imported list: deepseek-chat, whose entry reads input_cost_per_token 2.8e-07 and
                // output_cost_per_token 4.2e-07: 1,000,000 x 0.28/M + 1,000,000 x 0.42/M = 0.28 + 0.42 = 0.70
                event(1, { request_id: 'imported', provider: 'deepseek', model: 'deepseek-chat', input_tokens: 1_000_000, output_tokens: 1_000_000 }),
                // imported gemini-2.5-flash-lite: 1,000,000 x 0.1/M + 1,000,000 x 0.4/M = 0.5, exactly
                event(3, { request_id: 'lite', provider: 'gcp.vertex_ai', model: 'gemini-2.5-flash-lite', input_tokens: 1_000_000, output_tokens: 1_000_000 }),
                // curated (dated) gpt-4o: 2024-05-13 launch price 5.00/15.00 before 2024-08-06: 1,000,000 x 5.00/M = 5
                event(2, {
                    request_id: 'curated',
                    provider: 'openai',
                    model: 'gpt-4o',
                    timestamp: '2024-06-01T00:00:00Z',
                    input_tokens: 1_000_000,
                    output_tokens: 0,
                }),
                // BurstGPT's first 33 real rows (Azure OpenAI): gpt-4 at 3e-05/6e-05 and gpt-3.5-turbo at 5e-07/1.5e-06 per token
                ...burstGptEvents('2025-03-01T00:00:00Z'),
            ]),
        );
        await ingest(db().handle.pool, localSource(dir), { maxErrorRate: 0, onChangedFile: 'fail', keepText: false, userIdHmacKey: undefined });
        const outcome = await seedBuildTest(db().handle.pool, await loadModels(root), { log: () => undefined });
        expect(outcome.build.ok).toBe(true);
        const rows = Object.fromEntries(
            (await db().query('select request_id, cost_usd::text as c, is_unpriced from marts.fct_requests')).map((x) => [x.request_id, x]),
        );
        expect(rows.imported.is_unpriced).toBe(false);
        // Exact numeric text, not a float that would hide 0.69999999999999997.
        expect(rows.imported.c).toMatch(/^0\.70*$/);
        expect(rows.lite.c).toMatch(/^0\.50*$/);
        expect(rows.curated.c).toMatch(/^5(\.0*)?$/);
        const burst = await db().query(
            "select model, count(*)::int as n, count(*) filter (where is_error)::int as failed, sum(cost_usd)::text as c from marts.fct_requests where request_id like 'burstgpt_%' group by 1 order by 1",
        );
        expect(burst.map((b) => ({ ...b, c: Number(b.c) }))).toEqual([
            // 14,690 x 0.50/M + 9,179 x 1.50/M = 0.007345 + 0.0137685 (and the failed all-zero row costs 0)
            { model: 'gpt-3.5-turbo', n: 25, failed: 1, c: 0.0211135 },
            // 7,354 x 30/M + 2,350 x 60/M = 0.22062 + 0.141
            { model: 'gpt-4', n: 8, failed: 0, c: 0.36162 },
        ]);
    });
});
