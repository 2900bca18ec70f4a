import { describe, expect, it } from 'vitest';
import { formatProblem, lintProject } from '../pipelines/transform/lint-models.js';
import { loadProject } from '../pipelines/transform/project.js';
import { writeModels } from './support/models-fixture.js';

const GOOD = `-- One row per thing.
with things as (
    select *
    from staging.src
    where id > 0
),

counted as (
    select
        things.kind,
        count(*) as thing_count
    from things
    inner join things as other on other.id = things.id
    group by things.kind
),

final as (
    select * from counted
)

select * from final
`;

describe('SQL model style (tokenmart lint)', () => {
    it('the project follows it', async () => {
        const problems = await lintProject(loadProject());
        expect(problems.map(formatProblem)).toEqual([]);
    });

    it('accepts a model in the house style', async () => {
        const root = writeModels({
            'staging/src.sql': 'with final as (\n    select 1 as id\n)\n\nselect * from final\n',
            'staging/_s.yml': 'models:\n  - name: src\n    description: Source rows\n',
            'marts/good.sql': GOOD,
            'marts/_m.yml': 'models:\n  - name: good\n    description: One row per kind\n',
        });
        expect((await lintProject(loadProject(root))).map(formatProblem)).toEqual([]);
    });

    it('names file, line and rule for each departure', async () => {
        const bad = `WITH things AS (
    select * from staging.src
),

logic as (
    select things.kind, count(*) n
    from things
    join staging.src s on s.id = things.id
    group by things.kind
),

late_import as (
    select * from marts.other
)

select * from logic\t
`;
        const root = writeModels({
            'staging/src.sql': 'with final as (\n    select 1 as id\n)\n\nselect * from final\n',
            'staging/_s.yml': 'models:\n  - name: src\n    description: Source rows\n',
            'marts/other.sql': 'with final as (\n  select 1 as id\n)\n\nselect * from final',
            'marts/bad.sql': bad,
        });
        const lines = (await lintProject(loadProject(root))).map(formatProblem);
        expect(lines).toEqual(
            expect.arrayContaining([
                'models/marts/bad.sql:1: "WITH": write keywords and names in lower case (keywords)',
                'models/marts/bad.sql:1: "AS": write keywords and names in lower case (keywords)',
                'models/marts/bad.sql:6: column alias "n" without as: write "as" (explicit-as)',
                'models/marts/bad.sql:8: a join without its type: write inner join, left join, full join or cross join (explicit-join)',
                'models/marts/bad.sql:8: alias "s" without as: write "as" (explicit-as)',
                'models/marts/bad.sql:8: CTE logic reads staging.src directly: read it in an import CTE (select * from staging.src) at the top (import-ctes)',
                'models/marts/bad.sql:12: import CTE late_import comes after logic: put every import CTE first (import-ctes)',
                'models/marts/bad.sql:16: trailing whitespace (layout)',
                'models/marts/bad.sql:16: end with a CTE named final and `select * from final` (final)',
                'models/marts/bad.sql:1: bad has no description in its YAML: describe what one row is (docs)',
                'models/marts/other.sql:2: indented by 2 spaces: indent in fours (layout)',
                'models/marts/other.sql:5: no newline at the end of the file (layout)',
            ]),
        );
    });
});
