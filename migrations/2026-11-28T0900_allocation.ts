import { sql, type Kysely } from 'kysely';

/**
 * Largest-remainder rounding in SQL, for statements that must add up: `allocate_cents(total,
 * weights)` splits `total` cents over the parts in proportion to their weights (all zero: equally),
 * each part gets the floor of its exact share, and the cents left go one each to the largest
 * remainders, ties to the earlier part. The parts always sum to `total`. The same rule as
 * reports/format.ts allocateCents; test/chargeback.test.ts checks both on the same cases.
 */
export async function up(db: Kysely<any>): Promise<void> {
    await sql`
        create function tokenmart.allocate_cents(total_cents bigint, weights numeric[]) returns bigint[]
        language plpgsql immutable parallel safe as $$
        declare
            n integer := coalesce(array_length(weights, 1), 0);
            w numeric[];
            s numeric := 0;
            exact numeric;
            cents bigint[] := '{}';
            remainders numeric[] := '{}';
            given bigint := 0;
            i integer;
        begin
            if n = 0 then
                return cents;
            end if;
            w := array(select greatest(coalesce(x, 0), 0) from unnest(weights) as x);
            select sum(x) into s from unnest(w) as x;
            if s = 0 then
                w := array_fill(1::numeric, array[n]);
                s := n;
            end if;
            for i in 1..n loop
                exact := total_cents * w[i] / s;
                cents := cents || floor(exact)::bigint;
                remainders := remainders || (exact - floor(exact));
                given := given + floor(exact)::bigint;
            end loop;
            for i in
                select r.ord from unnest(remainders) with ordinality as r(rem, ord)
                order by r.rem desc, r.ord
                limit total_cents - given
            loop
                cents[i] := cents[i] + 1;
            end loop;
            return cents;
        end
        $$`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
    await sql`drop function if exists tokenmart.allocate_cents(bigint, numeric[])`.execute(db);
}
