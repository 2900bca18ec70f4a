import { sql, type Kysely } from 'kysely';

const SETTING = (name: string, open: string) => `coalesce(nullif(current_setting('tokenmart.${name}', true), '')::timestamptz, '${open}'::timestamptz)`;

/** Each body reads the setting itself: see up(). */
const BODIES = (volatility: 'immutable' | 'stable') => [
    `create or replace function tokenmart.window_start() returns timestamptz language sql ${volatility} parallel safe as $$ select ${SETTING('window_start', '-infinity')} $$`,
    `create or replace function tokenmart.window_end() returns timestamptz language sql ${volatility} parallel safe as $$ select ${SETTING('window_end', 'infinity')} $$`,
    `create or replace function tokenmart.window_start_date() returns date language sql ${volatility} parallel safe as $$ select (${SETTING('window_start', '-infinity')} at time zone 'UTC')::date $$`,
    `create or replace function tokenmart.window_end_date() returns date language sql ${volatility} parallel safe as $$ select (${SETTING('window_end', 'infinity')} at time zone 'UTC')::date $$`,
];

/**
 * The build window's functions are declared immutable so the planner folds each call to a
 * constant once per statement. As stable functions they were evaluated for every row a sequential
 * scan filtered (about 1 us each: half a second per 500,000 rows, four times that where a row is
 * compared for four later weeks), and every window filter was estimated blind.
 *
 * The value only changes between statements: the build sets it with SET LOCAL before it plans the
 * statement that reads it, in the same transaction. That holds because nothing keeps a plan across
 * windows: models and data tests are sent as unnamed statements (planned at each run), and no
 * PL/pgSQL function or index expression reads the window. Each body calls current_setting()
 * itself: a body calling another immutable function would have that call folded into the body's
 * plan, which the server keeps for the session, and would return the first window ever read
 * (test/window-functions.test.ts holds them to this).
 */
export async function up(db: Kysely<any>): Promise<void> {
    for (const s of BODIES('immutable')) await sql.raw(s).execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
    for (const s of BODIES('stable')) await sql.raw(s).execute(db);
}
