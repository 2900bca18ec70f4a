import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
    root: fileURLToPath(new URL('..', import.meta.url)),
    test: {
        include: ['test/**/*.test.ts'],
        globalSetup: ['test/support/global-setup.ts'],
        // Test files share one real Postgres server but each uses its own database.
        fileParallelism: true,
        maxWorkers: 2,
        testTimeout: 60_000,
        hookTimeout: 120_000,
    },
});
