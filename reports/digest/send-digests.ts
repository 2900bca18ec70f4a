import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Kysely } from 'kysely';
import type { Pool } from 'pg';
import type { DB } from '../../pipelines/db/database.js';
import { writeOutput } from '../../pipelines/util/output-file.js';
import type { Period } from '../period.js';
import { requireMarts, sectionContext } from '../sections/section.js';
import { buildDigest } from './build-digest.js';
import { deliverDigest, type DeliveryOutcome, type DigestFile, type DigestMessage } from './deliver-digest.js';
import type { SlackClient } from './slack.js';

export interface DigestTarget {
    readonly channel: string;
    readonly team?: string;
}

export interface SendOptions {
    readonly period: Period;
    readonly targets: readonly DigestTarget[];
    /** Undefined = dry run: the exact payload is written to a file instead of posted. */
    readonly client: SlackClient | undefined;
    readonly outDir: string;
    readonly pdfPath?: string;
    readonly log: (line: string) => void;
    readonly now?: Date;
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

export async function sendDigests(pool: Pool, db: Kysely<DB>, options: SendOptions): Promise<SentDigest[]> {
    await requireMarts(db, 'digest');
    const out: SentDigest[] = [];
    const dir = join(options.outDir, 'digests');
    for (const target of options.targets) {
        const digest = await buildDigest(sectionContext(db, options.period, { team: target.team, now: options.now }));
        const { text, blocks } = digest;
        const digestId = `${options.period.kind}:${options.period.label}:${target.team ?? 'all'}:${target.channel}`;
        const message: DigestMessage = { digestId, kind: options.period.kind, period: options.period.label, channel: target.channel, text, blocks };
        const files: DigestFile[] = [...digest.files];
        if (options.pdfPath)
            files.push({ filename: basename(options.pdfPath), title: `Weekly LLM spend report ${options.period.label}`, data: readFileSync(options.pdfPath) });
        if (!options.client) {
            const base = join(dir, safe(digestId));
            // The thread's files beside the payload (the PDF is referenced where it already is).
            const threadFiles = files.map((f) => {
                if (options.pdfPath && f.filename === basename(options.pdfPath))
                    return { filename: f.filename, title: f.title, bytes: f.data.length, path: options.pdfPath };
                const savedAs = `${base}.${safe(f.filename)}`;
                writeOutput(savedAs, f.data);
                return { filename: f.filename, title: f.title, bytes: f.data.length, saved_as: savedAs };
            });
            const payload = {
                method: 'chat.postMessage',
                channel: target.channel,
                text,
                blocks,
                metadata: { event_type: 'tokenmart_digest', event_payload: { digest_id: digestId } },
                thread_files: threadFiles,
            };
            writeOutput(`${base}.json`, `${JSON.stringify(payload, null, 2)}\n`);
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
