import { createReadStream, createWriteStream, mkdtempSync, rmSync, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { PoolClient } from 'pg';
import copyStreams from 'pg-copy-streams';
import { copyText } from './parse-line.js';

const TEXT_LIMIT = 2000;

/**
 * Quarantined lines of the file being loaded, spooled to a temporary file (the connection is busy
 * with the rows' COPY), then copied into ops.quarantine in the same transaction. Memory stays flat
 * however many lines a big file quarantines.
 */
export class QuarantineSpool {
    count = 0;
    first: { readonly lineNo: number; readonly reason: string } | undefined;
    private dir: string | undefined;
    private out: WriteStream | undefined;
    private error: Error | undefined;

    /** `parent`: the folder spools are made in (one folder per spool). */
    constructor(
        private readonly fileUri: string,
        private readonly parent: string = tmpdir(),
    ) {}

    async add(lineNo: number, reason: string, line: Buffer): Promise<void> {
        if (!this.out) {
            this.dir = mkdtempSync(join(this.parent, 'tokenmart-quarantine-'));
            this.out = createWriteStream(join(this.dir, 'rows.copy'));
            // Kept, not thrown from an event: a disk error fails the file at the next add or copy,
            // and destroying the spool early (file rejected) must not crash the process.
            this.out.on('error', (err) => (this.error ??= err));
        }
        if (this.error) throw this.error;
        this.first ??= { lineNo, reason };
        this.count++;
        const text = line
            .toString('utf8', 0, Math.min(line.length, TEXT_LIMIT * 4))
            .slice(0, TEXT_LIMIT)
            .replaceAll('\u0000', '');
        // file_id is filled in at copy time; the spool holds the other columns.
        if (!this.out.write(`${copyText(this.fileUri)}\t${lineNo}\t${copyText(reason)}\t${copyText(text)}\n`)) await once(this.out, 'drain');
    }

    /** COPY the spooled lines into ops.quarantine under `fileId`, inside the caller's transaction. */
    async copyInto(client: PoolClient, fileId: string): Promise<void> {
        if (!this.out) return;
        if (this.error) throw this.error;
        this.out.end();
        await once(this.out, 'finish');
        if (this.error) throw this.error;
        const copy = client.query(copyStreams.from('copy ops.quarantine (file_id, source_uri, line_no, reason, line_text) from stdin'));
        const prefix = `${fileId}\t`;
        let carry = '';
        await pipeline(
            createReadStream(join(this.dir!, 'rows.copy'), { encoding: 'utf8' }),
            async function* (source: AsyncIterable<string>) {
                for await (const chunk of source) {
                    const lines = (carry + chunk).split('\n');
                    carry = lines.pop()!;
                    if (lines.length) yield `${lines.map((l) => prefix + l).join('\n')}\n`;
                }
            },
            copy,
        );
    }

    dispose(): void {
        this.out?.destroy();
        if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    }
}
