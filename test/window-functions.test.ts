import { describe, expect, it } from 'vitest';
import { setWindow } from '../pipelines/transform/materialize.js';
import { useTestDatabase } from './support/test-database.js';

/**
 * The build window's functions are immutable so the planner folds them once per statement
 * (migrations/2026-12-06T0900_folded_window.ts). That is only right while each statement sees the
 * window of its own transaction: a body that called another immutable function would keep the
 * first window it saw for the whole session, and every later incremental build on that
 * connection would rebuild the wrong days.
 */
describe('tokenmart.window_*(): folded per statement, never kept across windows', () => {
    const db = useTestDatabase('window_functions');

    it('one session, three windows in turn: each statement reads its own, and outside a build the whole of time', async () => {
        const client = await db().handle.pool.connect();
        try {
            const read = async () =>
                (
                    await client.query<{ s: string; e: string; sd: string; ed: string; n: number }>(
                        `select tokenmart.window_start()::text as s, tokenmart.window_end()::text as e,
                                tokenmart.window_start_date()::text as sd, tokenmart.window_end_date()::text as ed,
                                (select count(*)::int from generate_series('2026-10-01'::date, '2026-10-31'::date, interval '1 day') as d (day)
                                  where d.day >= tokenmart.window_start_date() and d.day < tokenmart.window_end_date()) as n`,
                    )
                ).rows[0];
            const inWindow = async (start: string, end: string) => {
                await client.query('begin');
                await setWindow(client, { start, end });
                const r = await read();
                await client.query('commit');
                return r;
            };
            expect(await inWindow('2026-10-01', '2026-10-08')).toMatchObject({ sd: '2026-10-01', ed: '2026-10-08', n: 7 });
            expect(await inWindow('2026-10-20', '2026-10-22')).toMatchObject({ sd: '2026-10-20', ed: '2026-10-22', n: 2 });
            expect(await inWindow('2026-10-31', '2026-11-01')).toMatchObject({ sd: '2026-10-31', ed: '2026-11-01', n: 1 });
            // SET LOCAL ends with the transaction: no window is the whole of time.
            expect(await read()).toMatchObject({ s: '-infinity', e: 'infinity', sd: '-infinity', ed: 'infinity', n: 31 });
            const volatility = await client.query<{ f: string; v: string }>(
                "select proname as f, provolatile as v from pg_proc where pronamespace = 'tokenmart'::regnamespace and proname like 'window\\_%' order by 1",
            );
            expect(volatility.rows).toEqual(['window_end', 'window_end_date', 'window_start', 'window_start_date'].map((f) => ({ f, v: 'i' })));
        } finally {
            client.release();
        }
    });
});
