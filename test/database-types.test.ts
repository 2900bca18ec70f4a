import { describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { generateDatabaseTypes } from '../pipelines/db/generate-types.js';

describe('generated database types', () => {
    it('pipelines/db/database.ts is what kysely-codegen generates from a migrated and built database (npm run db:types)', async () => {
        const result = await generateDatabaseTypes({ adminUrl: inject('adminUrl'), verify: true });
        expect(result.ok, `${result.output}\npipelines/db/database.ts is stale: run npm run db:types`).toBe(true);
    }, 120_000);
});
