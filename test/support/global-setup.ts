import type { TestProject } from 'vitest/node';
import { embeddedOptions, ensureEmbeddedServer, stopEmbeddedServer } from '../../pipelines/db/embedded-server.js';

declare module 'vitest' {
    export interface ProvidedContext {
        adminUrl: string;
    }
}

/**
 * One real PostgreSQL for the whole run: DATABASE_URL when set (CI's service container, a second
 * server version), else an embedded server of the tests' own under .tokenmart/test.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
    if (process.env.DATABASE_URL) {
        project.provide('adminUrl', process.env.DATABASE_URL);
        return async () => undefined;
    }
    const options = embeddedOptions({ TOKENMART_HOME: '.tokenmart/test', TOKENMART_PG_PORT: process.env.TOKENMART_TEST_PG_PORT ?? '54339' });
    const url = await ensureEmbeddedServer(options);
    project.provide('adminUrl', url);
    return async () => {
        await stopEmbeddedServer(options);
    };
}
