import { createReadStream, createWriteStream, mkdirSync, mkdtempSync, readdirSync, rmSync, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { PoolClient } from 'pg';
import copyStreams from 'pg-copy-streams';
import { copyText, type WellFormed } from './parse-line.js';

const SPOOL_PREFIX = 'tokenmart-quarantine-';

function alive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch (err) {
        return (err as { code?: string }).code === 'EPERM';
    }
}

/** Removes the spools a killed loader left behind (their process is gone); returns how many. */
export function removeLeftoverSpools(parent: string): number {
    let removed = 0;
    let entries: string[];
    try {
        entries = readdirSync(parent);
    } catch {
        return 0;
    }
    for (const name of entries) {
        const pid = Number(new RegExp(`^${SPOOL_PREFIX}(\\d+)-`).exec(name)?.[1]);
        if (!pid || alive(pid)) continue;
        rmSync(join(parent, name), { recursive: true, force: true });
        removed++;
    }
    return removed;
}

/**
 * Quarantined lines of the file being loaded, spooled to a temporary file (the connection is busy
 * with the rows' COPY), then copied into ops.quarantine in the same transaction. Memory stays flat
 * however many lines a big file quarantines. A small file's (at most a few MiB, see ingest.ts)
 * can be held in memory instead: no folder per one-request object.
 */
export class QuarantineSpool {
    count = 0;
    first: { readonly lineNo: number; readonly reason: string } | undefined;
    /** The first few quarantined lines (for a dry run's report). */
    readonly samples: { readonly lineNo: number; readonly reason: string }[] = [];
    private dir: string | undefined;
    private out: WriteStream | undefined;
    private error: Error | undefined;
    private readonly held: string[] | undefined;
    /** Bytes of quarantined rows held in memory (inMemory spools). */
    heldChars = 0;

    /** `parent`: the folder spools are made in (one folder per spool, named with the pid). */
    constructor(
        private readonly fileUri: string,
        private readonly parent: string,
        options: { readonly inMemory?: boolean } = {},
    ) {
        if (options.inMemory) this.held = [];
    }

    /** `text`: the line as ops.quarantine keeps it, already scrubbed and cut (quarantine-text.ts). */
    async add(lineNo: number, reason: string, text: string, recordNo = 0): Promise<void> {
        if (!this.out && !this.held) {
            mkdirSync(this.parent, { recursive: true });
            this.dir = mkdtempSync(join(this.parent, `${SPOOL_PREFIX}${process.pid}-`));
            this.out = createWriteStream(join(this.dir, 'rows.copy'));
            // Kept, not thrown from an event: a disk error fails the file at the next add or copy,
            // and destroying the spool early (file rejected) must not crash the process.
            this.out.on('error', (err) => (this.error ??= err));
        }
        if (this.error) throw this.error;
        this.first ??= { lineNo, reason };
        if (this.samples.length < 5) this.samples.push({ lineNo, reason });
        this.count++;
        // file_id is filled in at copy time; the spool holds the other columns.
        // ops.quarantine.line_text is text: NUL and lone surrogates cannot be stored (they are why some lines are here).
        const stored = (text.replaceAll('\u0000', '') as WellFormed).toWellFormed();
        const row = `${copyText(this.fileUri)}\t${lineNo}\t${recordNo}\t${copyText(reason)}\t${copyText(stored)}\n`;
        if (this.held) {
            this.held.push(row);
            this.heldChars += row.length;
        } else if (!this.out!.write(row)) await once(this.out!, 'drain');
    }

    /** The spooled lines as COPY rows of ops.quarantine under `fileId`. */
    async *rows(fileId: string): AsyncIterable<string> {
        const prefix = `${fileId}\t`;
        if (this.held) {
            if (this.held.length) yield this.held.map((row) => prefix + row).join('');
            return;
        }
        if (!this.out) return;
        if (this.error) throw this.error;
        this.out.end();
        await once(this.out, 'finish');
        if (this.error) throw this.error;
        let carry = '';
        for await (const chunk of createReadStream(join(this.dir!, 'rows.copy'), { encoding: 'utf8' })) {
            const lines = (carry + chunk).split('\n');
            carry = lines.pop()!;
            if (lines.length) yield `${lines.map((l) => prefix + l).join('\n')}\n`;
        }
    }

    dispose(): void {
        this.out?.destroy();
        if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    }
}

/** One COPY into ops.quarantine for the quarantined lines of several files (a batch, or one file). */
export async function copyQuarantine(client: PoolClient, files: readonly { readonly spool: QuarantineSpool; readonly fileId: string }[]): Promise<void> {
    const pending = files.filter((f) => f.spool.count > 0);
    if (!pending.length) return;
    const copy = client.query(copyStreams.from('copy ops.quarantine (file_id, source_uri, line_no, record_no, reason, line_text) from stdin'));
    await pipeline(async function* () {
        for (const f of pending) yield* f.spool.rows(f.fileId);
    }, copy);
}
