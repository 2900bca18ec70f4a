import { type ExpressionBuilder, type RawBuilder, type StringReference, sql } from 'kysely';
import type { DB } from '../../pipelines/db/database.js';

/** Inclusive UTC date range. */
export interface DayRange {
    readonly start: string;
    readonly end: string;
}

/**
 * coalesce(sum(column) filter (where day between start and end), 0) [/ divisor]: the exact numeric
 * (as text) of one period inside a query that reads several. Column names are checked against the
 * generated database types at the call site.
 */
export function sumWithin<TB extends keyof DB>(
    eb: ExpressionBuilder<DB, TB>,
    column: StringReference<DB, TB>,
    day: StringReference<DB, TB>,
    range: DayRange,
    divisor = 1,
): RawBuilder<string> {
    const total = sql`coalesce(sum(${eb.ref(column)}) filter (where ${eb.ref(day)} between ${range.start}::date and ${range.end}::date), 0)`;
    return divisor === 1 ? sql<string>`${total}` : sql<string>`(${total} / ${divisor})`;
}

/**
 * percentile_cont(p) of a column of marts.fct_requests over model calls only: an application-cache
 * hit answers in milliseconds and is not a call, so it is left out (README, "SLOs"). Null when
 * there are no values.
 */
export function callPercentile(
    eb: ExpressionBuilder<DB, 'marts.fct_requests'>,
    p: number,
    column: StringReference<DB, 'marts.fct_requests'>,
): RawBuilder<number | null> {
    return sql<number | null>`percentile_cont(${sql.lit(p)}) within group (order by ${eb.ref(column)}) filter (where not ${eb.ref('is_cache_hit')})`;
}
