import { loadModule } from 'libpg-query';
import { beforeAll, describe, expect, it } from 'vitest';
import { citusSubsetProblems } from '../pipelines/transform/citus-subset.js';
import { formatProblem, lintProject } from '../pipelines/transform/lint-models.js';
import { loadProject } from '../pipelines/transform/project.js';
import { writeModels } from './support/models-fixture.js';

// The SQL Citus 13.0 ran and refused when `npm run check:citus` ran the pipeline on a coordinator
// with two workers (docs/scaling.md); each refused form below failed there with the message quoted.
beforeAll(() => loadModule());

describe('the SQL subset Citus runs (citus-subset.ts, part of tokenmart lint)', () => {
    it("every model's and data test's SQL keeps to it", () => {
        const project = loadProject();
        const offending = [
            ...project.models.flatMap((m) => citusSubsetProblems(m.sql).map((p) => `${m.id}:${p.line} ${p.rule}`)),
            ...project.tests.flatMap((t) => (t.sql ? citusSubsetProblems(t.sql).map((p) => `${t.name}:${p.line} ${p.rule}`) : [])),
        ];
        expect(offending).toEqual([]);
        // Not vacuous: the project reads retention_horizon() (in materialized CTEs) and has subqueries.
        const all = [...project.models.map((m) => m.sql), ...project.tests.map((t) => t.sql ?? '')].join('\n');
        expect(all).toMatch(/as materialized \(select tokenmart\.retention_horizon\(\)/);
        expect(all).toMatch(/\(select /);
    });

    it('a table-reading function outside a materialized CTE: "cannot execute a distributed query from a query on a shard"', () => {
        const bare = 'select count(*) as n from staging.stg_events\nwhere usage_date >= tokenmart.retention_horizon()';
        expect(citusSubsetProblems(bare)).toEqual([expect.objectContaining({ line: 2, rule: 'citus-table-function' })]);
        const inline = 'with h as (select tokenmart.retention_horizon() as day)\nselect count(*) as n from staging.stg_events, h where usage_date >= h.day';
        expect(citusSubsetProblems(inline).map((p) => p.rule)).toEqual(['citus-table-function']);
        const materialized =
            'with h as materialized (select tokenmart.retention_horizon() as day)\nselect count(*) as n from staging.stg_events where usage_date >= (select day from h)';
        expect(citusSubsetProblems(materialized)).toEqual([]);
    });

    it('set_config() in model SQL (the workers would read another window)', () => {
        expect(citusSubsetProblems("select set_config('tokenmart.window_start', '', true) as x").map((p) => p.rule)).toEqual(['citus-set-config']);
    });

    it('a correlated subquery: "correlated subqueries are not supported when the FROM clause contains a CTE or subquery"', () => {
        const correlated = `with f as (select * from marts.fct_requests)
select count(*) as n from f
where f.cost_usd > (select avg(g.cost_usd) from marts.fct_requests as g where g.team = f.team)`;
        expect(citusSubsetProblems(correlated)).toEqual([expect.objectContaining({ line: 3, rule: 'citus-correlated-subquery' })]);
        const exists =
            'with d as (select * from marts.mart_daily_cost)\nselect count(*) as n from d where exists (select 1 from marts.fct_requests as f where f.team = d.team)';
        expect(citusSubsetProblems(exists).map((p) => p.rule)).toEqual(['citus-correlated-subquery']);
        // Uncorrelated subqueries, and joins (what to write instead), are fine.
        const joined = `with f as (select * from marts.fct_requests),
team_avg as (select f.team, avg(f.cost_usd) as avg_usd from f group by f.team)
select count(*) as n from f inner join team_avg as a on a.team = f.team
where f.cost_usd > a.avg_usd and f.usage_date >= (select min(d.usage_date) from marts.mart_daily_cost as d)`;
        expect(citusSubsetProblems(joined)).toEqual([]);
    });

    it('tokenmart lint names the model file, line and rule', async () => {
        const root = writeModels({
            'marts/late.sql': `-- One row per team.
with requests as (
    select *
    from marts.src
),

final as (
    select requests.team
    from requests
    where requests.cost_usd > (select avg(other.cost_usd) from requests as other where other.team = requests.team)
)

select * from final
`,
            'marts/src.sql': 'with final as (\n    select 1 as team, 1.0 as cost_usd\n)\n\nselect * from final\n',
            'marts/_m.yml': 'models:\n  - name: late\n    description: One row per team\n  - name: src\n    description: Source\n',
        });
        const problems = (await lintProject(loadProject(root))).map(formatProblem);
        expect(problems).toEqual([expect.stringMatching(/^models\/marts\/late\.sql:10: a subquery refers to requests .*\(citus-correlated-subquery\)$/)]);
    });
});
