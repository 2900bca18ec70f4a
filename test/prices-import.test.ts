import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingest } from '../pipelines/ingest/ingest.js';
import { localSource } from '../pipelines/ingest/sources/local-source.js';
import { shift, toPlainDecimal } from '../pipelines/pricing/decimal.js';
import { loadModels, seedBuildTest } from '../pipelines/transform/transform.js';
import { event, jsonl, tempDir, writeLog } from './support/event-fixtures.js';
import { copyModels } from './support/models-fixture.js';
import { hasRealdata, realdataDir } from './support/realdata.js';
import { runCli } from './support/run-cli.js';
import { createTestDatabase, type TestDatabase } from './support/test-database.js';

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

describe.runIf(hasRealdata)('prices import: the community price list', () => {
    let t: TestDatabase;
    beforeAll(async () => {
        t = await createTestDatabase('prices_import');
    });
    afterAll(async () => {
        await t.drop();
    });

    it('imports the real list and prices models the curated seed lacks; curated dated prices still win', async () => {
        const root = copyModels('prices-import');
        const out = join(root, 'seeds', 'model_prices_imported.csv');
        const r = await runCli([
            'prices',
            'import',
            join(realdataDir, 'litellm_model_prices_and_context_window.json.gz'),
            '--out',
            out,
            '--effective-from',
            '2024-01-01T00:00:00Z',
        ]);
        expect(r.code).toBe(0);
        const lines = readFileSync(out, 'utf8').trim().split('\n');
        expect(lines.length).toBeGreaterThan(500);
        expect(lines).toContain(
            'anthropic,claude-sonnet-4-5,2024-01-01T00:00:00Z,3,15,0.3,3.75,6,,200000,6,22.5,0.6,7.5,12,,,,community price list: claude-sonnet-4-5',
        );
        const dir = tempDir('prices-import');
        writeLog(
            dir,
            'e.jsonl',
            jsonl([
                // only in the imported list: deepseek-chat at its per-token prices
                event(1, { request_id: 'imported', provider: 'deepseek', model: 'deepseek-chat', input_tokens: 1_000_000, output_tokens: 1_000_000 }),
                // curated (dated) gpt-4o: 2024-05-13 launch price 5.00/15.00 before 2024-08-06
                event(2, {
                    request_id: 'curated',
                    provider: 'openai',
                    model: 'gpt-4o',
                    timestamp: '2024-06-01T00:00:00Z',
                    input_tokens: 1_000_000,
                    output_tokens: 0,
                }),
            ]),
        );
        await ingest(t.handle.pool, localSource(dir), { maxErrorRate: 0, onChangedFile: 'fail', keepText: false, userIdHmacKey: undefined });
        const outcome = await seedBuildTest(t.handle.pool, await loadModels(root), { log: () => undefined });
        expect(outcome.build.ok).toBe(true);
        const rows = Object.fromEntries(
            (await t.query('select request_id, cost_usd::text as c, is_unpriced from marts.fct_requests')).map((x) => [x.request_id, x]),
        );
        const deepseek = lines.find((l) => l.startsWith('deepseek,deepseek-chat,'))!.split(',');
        expect(rows.imported.is_unpriced).toBe(false);
        expect(Number(rows.imported.c)).toBeCloseTo(Number(deepseek[3]) + Number(deepseek[4]), 10);
        expect(Number(rows.curated.c)).toBe(5);
    });
});
