import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/** The pure unit tests alone (no database, no browser): what mutation testing runs. */
export default defineConfig({
    root: fileURLToPath(new URL('..', import.meta.url)),
    test: {
        include: ['test/unit/**/*.test.ts'],
        testTimeout: 20_000,
    },
});
