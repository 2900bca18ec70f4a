import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { QuarantineSpool } from '../pipelines/ingest/quarantine-spool.js';
import { tempDir } from './support/event-fixtures.js';

describe('quarantine spool', () => {
    it('can be dropped with writes still in flight (a rejected file) without an unhandled stream error', async () => {
        const parent = tempDir('spools'); // this test's own folder: no other worker's spools counted
        const spools = () => readdirSync(parent).filter((d) => d.startsWith('tokenmart-quarantine-')).length;
        for (let i = 0; i < 20; i++) {
            const spool = new QuarantineSpool('file:///x.jsonl', parent);
            await spool.add(1, 'invalid JSON', 'garbage');
            expect(spool.count).toBe(1);
            spool.dispose();
        }
        // Stream errors surface asynchronously; vitest fails the run on any that escapes.
        await new Promise((r) => setTimeout(r, 200));
        expect(spools()).toBe(0); // every temporary spool was removed
    });
});
