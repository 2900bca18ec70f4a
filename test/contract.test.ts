import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONTRACT_VERSIONS, EVENT_FIELDS } from '../pipelines/ingest/contract/event-fields.js';
import { CONTRACT_COLUMNS, LOADER_COLUMNS } from '../pipelines/ingest/contract/raw-columns.js';
import { readmeWithContract, schemaPath, schemaText } from '../pipelines/ingest/contract/write-contract-files.js';
import { event, jsonl, tempDir, writeLog } from './support/event-fixtures.js';
import { copyProject, listFiles } from './support/project-copy.js';
import { projectDir } from './support/run-cli.js';
import { useTestDatabase } from './support/test-database.js';

const CANONICAL: Record<string, string> = { timestamptz: 'timestamp with time zone' };

describe('the event contract is defined once', () => {
    it('the committed JSON Schemas and the README table are what the contract generates (npm run contract)', () => {
        for (const v of Object.keys(CONTRACT_VERSIONS).map(Number)) {
            expect(readFileSync(schemaPath(v), 'utf8'), `event.v${v}.schema.json is stale: run npm run contract`).toBe(schemaText(v));
        }
        const readme = readFileSync(join(projectDir, 'README.md'), 'utf8');
        expect(readme, 'README contract table is stale: run npm run contract').toBe(readmeWithContract(readme));
        // Every field in the table, with its PII policy.
        for (const f of EVENT_FIELDS) expect(readme).toMatch(new RegExp(`\\| \`${f.name}\` \\|.*\\| ${f.pii} \\|`));
    });

    it('every field states a PII policy, a version that exists, and a unique column', () => {
        const names = new Set<string>();
        for (const f of EVENT_FIELDS) {
            expect(['kept', 'scanned', 'hashed', 'dropped']).toContain(f.pii);
            // Structured values can carry free text anywhere: the loader scans every jsonb field.
            if (f.column === 'jsonb') expect(f.pii, f.name).toBe('scanned');
            expect(CONTRACT_VERSIONS[f.since], f.name).toBeDefined();
            const col = f.columnName ?? f.name;
            expect(names.has(col), col).toBe(false);
            names.add(col);
        }
    });

    describe('raw.events after migrate', () => {
        const db = useTestDatabase('contract');

        it('has exactly the contract columns and the loader columns, with the contract types', async () => {
            const cols = await db().query<{ name: string; type: string }>(
                `select a.attname as name, format_type(a.atttypid, a.atttypmod) as type from pg_attribute a
                 where a.attrelid = 'raw.events'::regclass and a.attnum > 0 and not a.attisdropped order by a.attnum`,
            );
            const want = [...CONTRACT_COLUMNS, ...LOADER_COLUMNS].map((c) => ({ name: c.name, type: CANONICAL[c.type] ?? c.type }));
            const sort = (xs: { name: string; type: string }[]) => [...xs].sort((a, b) => a.name.localeCompare(b.name));
            expect(sort(cols)).toEqual(sort(want));
        });
    });
});

describe('adding a field to the contract', () => {
    const db = useTestDatabase('contract_add');

    it('touches the contract, its generated files and the model that uses it; then migrates, loads and builds', async () => {
        const root = copyProject('add-field');
        const before = listFiles(root);
        // 1. The contract: a new field in a new version.
        const fieldsFile = join(root, 'pipelines/ingest/contract/event-fields.ts');
        let fields = readFileSync(fieldsFile, 'utf8');
        fields = fields.replace(/ {4}3: '[^']*',\n/, "$&    4: 'adds region',\n");
        fields = fields.replace(
            /\n\];\n\n\/\*\* raw\.events columns the loader derives/,
            "\n    { name: 'region', since: 4, schema: { type: ['string', 'null'] }, column: 'text', pii: 'kept', description: 'Cloud region' },$&",
        );
        writeFileSync(fieldsFile, fields);
        // 2. Its generated files.
        const tsx = ['--import', 'tsx'];
        const gen = spawnSync(process.execPath, [...tsx, join(root, 'pipelines/ingest/contract/write-contract-files.ts')], { cwd: root, encoding: 'utf8' });
        expect(gen.status, gen.stderr).toBe(0);
        // 3. The model that uses it.
        const stg = join(root, 'models/staging/stg_events.sql');
        writeFileSync(stg, readFileSync(stg, 'utf8').replace('        environment,\n', '        environment,\n        region,\n'));

        const changed = [...listFiles(root)].filter(([f, text]) => before.get(f) !== text).map(([f]) => f);
        expect(changed.sort()).toEqual([
            'README.md',
            'models/staging/stg_events.sql',
            'pipelines/ingest/contract/event-fields.ts',
            'pipelines/ingest/contract/event.v4.schema.json',
        ]);
        expect(JSON.parse(readFileSync(join(root, 'pipelines/ingest/contract/event.v4.schema.json'), 'utf8')).properties.region).toEqual({
            type: ['string', 'null'],
            description: 'Cloud region',
        });

        // Migrate, load and build with the copy's own CLI (from its sources).
        const logs = tempDir('add-field-logs');
        writeLog(
            logs,
            'e.jsonl',
            jsonl([
                event(1, { request_id: 'v4_region', schema_version: 4, region: 'eu-west-1' }),
                event(2, { request_id: 'v2_region', schema_version: 2, region: 'us-east-1' }),
            ]),
        );
        const cli = (args: string[]) =>
            spawnSync(process.execPath, [...tsx, join(root, 'pipelines/cli/main.ts'), ...args], {
                cwd: root,
                encoding: 'utf8',
                env: { ...process.env, DATABASE_URL: db().url, TOKENMART_MODELS_DIR: '' },
            });
        const migrate = cli(['migrate']);
        expect(migrate.status, migrate.stderr).toBe(0);
        expect(migrate.stderr).toContain('contract column raw.events.region text');
        const ingest = cli(['ingest', logs]);
        expect(ingest.status, ingest.stderr).toBe(0);
        expect(ingest.stderr).toMatch(/0 rows of an unknown newer schema_version/);
        const build = cli(['build', '-s', 'stg_events']);
        expect(build.status, build.stderr).toBe(0);
        const raw = await db().query('select request_id, region, extras from raw.events order by request_id');
        // A v2 event does not know `region`: it stays in extras; the v4 event gets the column.
        expect(raw).toEqual([
            { request_id: 'v2_region', region: null, extras: { region: 'us-east-1' } },
            { request_id: 'v4_region', region: 'eu-west-1', extras: null },
        ]);
        const staged = await db().query('select request_id, region from staging.stg_events order by request_id');
        expect(staged).toEqual([
            { request_id: 'v2_region', region: null },
            { request_id: 'v4_region', region: 'eu-west-1' },
        ]);
    }, 120_000);
});
