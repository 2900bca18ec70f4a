import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from './support/event-fixtures.js';
import { runCli } from './support/run-cli.js';

async function freePort(): Promise<number> {
    return new Promise((resolve) => {
        const srv = createServer();
        srv.listen(0, '127.0.0.1', () => {
            const port = (srv.address() as { port: number }).port;
            srv.close(() => resolve(port));
        });
    });
}

describe('the embedded server', () => {
    it('three commands started at once on a fresh machine wait for one another: one initialises, all succeed; another home on that port is refused', async () => {
        const port = String(await freePort());
        const home = tempDir('embedded-race');
        const env = { DATABASE_URL: '', TOKENMART_HOME: home, TOKENMART_PG_PORT: port };
        try {
            const runs = await Promise.all([runCli(['migrate'], env), runCli(['migrate'], env), runCli(['migrate'], env)]);
            expect(runs.map((r) => r.code)).toEqual([0, 0, 0]);
            expect(runs.filter((r) => r.stderr.includes('db: initialising embedded PostgreSQL')).length).toBe(1);
            for (const r of runs) expect(r.stderr).toContain('migrate: schema is up to date');

            const other = tempDir('embedded-other');
            const refused = await runCli(['migrate'], { DATABASE_URL: '', TOKENMART_HOME: other, TOKENMART_PG_PORT: port });
            expect(refused.code).toBe(1);
            expect(refused.stderr.trim()).toBe(
                `tokenmart: db: port ${port} is served by another PostgreSQL (its data is in ${join(home, 'pgdata')}, not ${join(other, 'pgdata')}); set TOKENMART_PG_PORT to a free port for this TOKENMART_HOME, or stop that server`,
            );
        } finally {
            await runCli(['db', 'stop'], env);
        }
    }, 120_000);
});
