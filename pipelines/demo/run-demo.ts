import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { sql } from 'kysely';
import { writeChargebackReport } from '../../reports/chargeback/chargeback-report.js';
import { sendDigests } from '../../reports/digest/send-digests.js';
import { formatCents } from '../../reports/format.js';
import { addDays, dailyPeriod } from '../../reports/period.js';
import { usingBrowser } from '../../reports/render/browser.js';
import type { Config } from '../config/config.js';
import type { DatabaseHandle } from '../db/connect.js';
import { retireFilesUnder } from '../ingest/retire-files.js';
import { importInvoice } from '../invoices/import-invoice.js';
import { runPipeline } from '../run/run-pipeline.js';
import { loadProject } from '../transform/project.js';
import { UserError } from '../util/errors.js';
import { stageDefinitions } from '../run/stages/stage.js';
import { writeDemoBudgets } from './demo-budgets.js';
import { DEMO_UNLOGGED_USD, writeDemoInvoice } from './demo-invoices.js';
import { writeDemoQualitySeeds } from './demo-quality-seeds.js';
import { generateDemoLogs } from './generate-demo-logs.js';

export interface DemoOptions {
    readonly home: string;
    readonly endDate: string;
    readonly days: number;
    readonly seed: number;
    readonly scale: number;
}

export interface DemoResult {
    readonly artifacts: readonly string[];
    readonly marts: readonly string[];
    readonly topLines: readonly Record<string, unknown>[];
}

/** Writes the demo's seeded log files; a different data set replaces the previous one's marker. */
export function writeDemoLogs(options: DemoOptions, log: (l: string) => void): { logsDir: string; previous: string | undefined; current: string } {
    const demoHome = join(options.home, 'demo');
    const logsDir = resolve(demoHome, 'logs');
    const marker = join(demoHome, 'generated-for.json');
    const current = JSON.stringify({ endDate: options.endDate, days: options.days, seed: options.seed, scale: options.scale });
    const previous = existsSync(marker) ? readFileSync(marker, 'utf8') : undefined;
    const started = Date.now();
    let demo: ReturnType<typeof generateDemoLogs>;
    try {
        demo = generateDemoLogs({ outDir: logsDir, endDate: options.endDate, days: options.days, seed: options.seed, scale: options.scale });
        writeFileSync(marker, current);
    } catch (err) {
        throw new UserError(
            `demo: cannot write the demo logs in ${demoHome} (${(err as { code?: string }).code ?? (err as Error).message}); set TOKENMART_HOME to a writable folder`,
        );
    }
    log(
        `demo: wrote ${demo.files.length} files, ${demo.events} events (${demo.malformedLines} malformed lines, ${demo.duplicateEvents} re-delivered duplicates, ${demo.lateEvents} late arrivals) to ${logsDir} in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    return { logsDir, previous, current };
}

/** The whole pipeline on the demo logs, digests as payload files (never posted), and what to look at. */
export async function runDemo(handle: DatabaseHandle, config: Config, options: DemoOptions, log: (l: string) => void): Promise<DemoResult> {
    const { logsDir, previous, current } = writeDemoLogs(options, log);
    if (previous !== undefined && previous !== current) {
        // A new demo data set replaces the previous one rather than piling on top of it.
        const removed = await retireFilesUnder(handle.pool, `${pathToFileURL(logsDir).href}/`);
        log(`demo: previous demo data set (${previous}) replaced: ${removed} raw rows removed`);
    }
    // The demo never posts to Slack, whatever the environment holds: payloads go to files.
    // Regenerated demo files replace their earlier versions instead of failing as "changed".
    const demoConfig: Config = { ...config, slack: { ...config.slack, token: undefined }, ingest: { ...config.ingest, onChangedFile: 'replace' } };
    // First load and build, so the demo's budgets can be set against its own month (demo-budgets.ts).
    const defined = await stageDefinitions();
    const loaded = await runPipeline(handle, demoConfig, { kind: 'daily', source: logsDir, log, stages: ['ingest', 'build'].map((n) => defined.get(n)!) });
    if (loaded.status === 'skipped' || loaded.status === 'failed') throw new UserError(`demo: ${loaded.message}`);
    process.env.TOKENMART_MODELS_DIR = await writeDemoBudgets(handle.db, join(options.home, 'demo'), options.endDate);
    writeDemoQualitySeeds(process.env.TOKENMART_MODELS_DIR, options.endDate);
    log(
        `demo: budgets set against ${options.endDate.slice(0, 7)} in ${process.env.TOKENMART_MODELS_DIR}/seeds/budgets.csv (one soft, one projected over, two ok)`,
    );
    // The chargeback's month: the last complete month when the demo's days cover it, else this month to date.
    const previousMonth = new Date(Date.UTC(Number(options.endDate.slice(0, 4)), Number(options.endDate.slice(5, 7)) - 2, 1)).toISOString().slice(0, 10);
    const complete = addDays(options.endDate, 1 - options.days) <= previousMonth;
    const month = complete ? previousMonth.slice(0, 7) : options.endDate.slice(0, 7);
    // OpenAI's invoice for it, differing from the logs by a known amount; the weekly run reconciles it.
    const invoice = await importInvoice(handle.pool, await writeDemoInvoice(handle.db, join(options.home, 'demo', 'invoices'), month));
    log(`demo: OpenAI cost export for ${month} imported (${invoice.lines} lines): it holds $${DEMO_UNLOGGED_USD} of traffic the logs do not`);
    const outcome = await runPipeline(handle, demoConfig, { kind: 'weekly', source: logsDir, log });
    if (outcome.status === 'skipped' || outcome.status === 'failed') throw new UserError(`demo: ${outcome.message}`);
    const daily = await sendDigests(handle.pool, handle.db, {
        period: dailyPeriod(options.endDate),
        targets: [{ channel: config.slack.channel }],
        client: undefined,
        outDir: config.outputDir,
        log,
    });
    const chargeback = await usingBrowser((b) => writeChargebackReport(handle.db, month, config.outputDir, b));
    log(
        `demo: chargeback ${month}${complete ? '' : ' (month to date)'}: ${formatCents(chargeback.totalCents)} over ${Object.keys(chargeback.totals).length} cost centers, shared spend allocated by models/seeds/allocation_rules.csv`,
    );
    const topLines = await handle.db
        .selectFrom('marts.mart_daily_cost')
        .select((eb) => [
            sql<string>`${eb.ref('usage_date')}::text`.as('day'),
            'team',
            'feature',
            'tenant',
            'model',
            'requests',
            sql<string>`round(${eb.ref('cost_usd')}, 2)::text`.as('cost_usd'),
        ])
        .where('usage_date', '=', (eb) => eb.selectFrom('marts.mart_daily_cost').select((e) => e.fn.max('usage_date').as('d')))
        .orderBy('cost_usd', 'desc')
        .limit(8)
        .execute();
    if (outcome.status !== 'success') throw new UserError(`demo: ${outcome.message}`);
    return {
        artifacts: [
            ...outcome.artifacts,
            ...daily.flatMap((d) => (d.outcome.status === 'dry_run' ? [d.outcome.payloadPath] : [])),
            chargeback.csvPath,
            chargeback.pdfPath ?? chargeback.htmlPath,
        ],
        marts: loadProject()
            .models.filter((m) => m.layer === 'marts')
            .map((m) => m.id),
        topLines,
    };
}
