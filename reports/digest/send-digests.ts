import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Kysely } from 'kysely';
import type { Pool } from 'pg';
import type { ReportDatabase } from '../mart-tables.js';
import { renderSvg, svgToPng } from '../render/chart.js';
import { dailySpendSpec } from '../weekly/weekly-charts.js';
import { digestBlocks } from './digest-blocks.js';
import { loadDigestData, type DigestPeriod } from './digest-data.js';
import { deliverDigest, type DeliveryOutcome, type DigestFile, type DigestMessage } from './deliver-digest.js';
import type { SlackClient } from './slack.js';

export interface DigestTarget {
    readonly channel: string;
    readonly team?: string;
}

export interface SendOptions {
    readonly period: DigestPeriod;
    readonly targets: readonly DigestTarget[];
    /** Undefined = dry run: the exact payload is written to a file instead of posted. */
    readonly client: SlackClient | undefined;
    readonly outDir: string;
    readonly pdfPath?: string;
    readonly log: (line: string) => void;
}

export interface SentDigest {
    readonly digestId: string;
    readonly channel: string;
    readonly outcome: DeliveryOutcome | { readonly status: 'dry_run'; readonly payloadPath: string };
}

const safe = (s: string) => s.replace(/[^A-Za-z0-9_.-]+/g, '_');

/** Team -> channel for per-team digests: config mapping first, then the teams seed. */
export async function teamTargets(pool: Pool, configured: Readonly<Record<string, string>>): Promise<DigestTarget[]> {
    const fromSeed = (
        await pool
            .query<{ team: string; slack_channel: string }>('select team, slack_channel from staging.stg_teams where slack_channel is not null')
            .catch(() => ({ rows: [] as { team: string; slack_channel: string }[] }))
    ).rows;
    const map = new Map(fromSeed.map((r) => [r.team, r.slack_channel]));
    for (const [team, channel] of Object.entries(configured)) map.set(team, channel);
    return [...map].sort().map(([team, channel]) => ({ team, channel }));
}

export async function sendDigests(pool: Pool, db: Kysely<ReportDatabase>, options: SendOptions): Promise<SentDigest[]> {
    const out: SentDigest[] = [];
    const dir = join(options.outDir, 'digests');
    mkdirSync(dir, { recursive: true });
    for (const target of options.targets) {
        const data = await loadDigestData(db, options.period, target.team);
        const { text, blocks } = digestBlocks(data);
        const digestId = `${options.period.kind}:${options.period.label}:${target.team ?? 'all'}:${target.channel}`;
        const message: DigestMessage = { digestId, kind: options.period.kind, period: options.period.label, channel: target.channel, text, blocks };
        const chartTitle = `Daily spend, last 14 days${target.team ? ` (${target.team})` : ''}`;
        const png = svgToPng(await renderSvg(dailySpendSpec(data.last14Days, chartTitle)));
        const files: DigestFile[] = [{ filename: `spend-${safe(options.period.label)}.png`, title: chartTitle, data: png }];
        if (options.pdfPath)
            files.push({ filename: basename(options.pdfPath), title: `Weekly LLM spend report ${options.period.label}`, data: readFileSync(options.pdfPath) });
        if (!options.client) {
            const base = join(dir, safe(digestId));
            writeFileSync(`${base}.png`, png);
            const payload = {
                method: 'chat.postMessage',
                channel: target.channel,
                text,
                blocks,
                metadata: { event_type: 'tokenmart_digest', event_payload: { digest_id: digestId } },
                thread_files: files.map((f) => ({
                    filename: f.filename,
                    title: f.title,
                    bytes: f.data.length,
                    ...(f.filename.endsWith('.png') ? { saved_as: `${base}.png` } : { path: options.pdfPath }),
                })),
            };
            writeFileSync(`${base}.json`, `${JSON.stringify(payload, null, 2)}\n`);
            options.log(`digest: dry run: ${digestId} -> ${base}.json`);
            out.push({ digestId, channel: target.channel, outcome: { status: 'dry_run', payloadPath: `${base}.json` } });
            continue;
        }
        const outcome = await deliverDigest(pool, options.client, message, files, options.log);
        options.log(`digest: ${digestId}: ${outcome.status}${outcome.status === 'failed' ? `: ${outcome.error}` : ''}`);
        out.push({ digestId, channel: target.channel, outcome });
    }
    return out;
}
