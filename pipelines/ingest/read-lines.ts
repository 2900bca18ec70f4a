import { createHash, type Hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';

/** A batch of lines from one chunk of input; `firstLineNo` is 1-based. */
export interface LineBatch {
    readonly firstLineNo: number;
    readonly lines: readonly Buffer[];
    /** Lines longer than the limit: index in `lines` (which holds only their start) -> their length in bytes. */
    readonly oversize?: ReadonlyMap<number, number>;
}

/** How much of an over-long line is kept for the quarantine. */
const OVERSIZE_HEAD = 8192;

export interface ReadStats {
    rawBytes: number;
    hash: Hash;
    gzip: boolean;
}

/**
 * Streams a (possibly gzip) byte stream as batches of raw line buffers. Gzip is detected by its
 * magic bytes. A trailing line without a newline counts; a final newline does not add a line.
 * The raw bytes are hashed on the way through: the content identity of a local file.
 */
export async function* readLineBatches(input: Readable, stats: ReadStats, maxLineBytes = Number.POSITIVE_INFINITY): AsyncIterable<LineBatch> {
    const it = input[Symbol.asyncIterator]();
    const first = await it.next();
    if (first.done) return;
    const firstChunk = first.value as Buffer;
    stats.gzip = firstChunk.length >= 2 && firstChunk[0] === 0x1f && firstChunk[1] === 0x8b;
    async function* raw(): AsyncIterable<Buffer> {
        stats.rawBytes += firstChunk.length;
        stats.hash.update(firstChunk);
        yield firstChunk;
        for (let r = await it.next(); !r.done; r = await it.next()) {
            const chunk = r.value as Buffer;
            stats.rawBytes += chunk.length;
            stats.hash.update(chunk);
            yield chunk;
        }
    }
    let decoded: AsyncIterable<Buffer> = raw();
    if (stats.gzip) {
        const gunzip = createGunzip({ chunkSize: 1 << 18 });
        const feed = (async () => {
            try {
                for await (const chunk of raw()) {
                    if (!gunzip.write(chunk)) await new Promise((r) => gunzip.once('drain', r));
                }
                gunzip.end();
            } catch (err) {
                gunzip.destroy(err as Error);
            }
        })();
        void feed;
        decoded = gunzip;
    }
    let carry: Buffer | undefined;
    let lineNo = 1;
    // An over-long line: its start, and how long it is so far; nothing else of it is held.
    let long: { head: Buffer; bytes: number } | undefined;
    for await (const chunk of decoded) {
        const lines: Buffer[] = [];
        const oversize = new Map<number, number>();
        let start = 0;
        if (long) {
            const nl = chunk.indexOf(10);
            if (nl === -1) {
                long.bytes += chunk.length;
                continue;
            }
            oversize.set(lines.length, long.bytes + nl);
            lines.push(long.head);
            long = undefined;
            start = nl + 1;
        }
        const buf = carry ? Buffer.concat([carry, chunk.subarray(start)]) : chunk.subarray(start);
        start = 0;
        for (let nl = buf.indexOf(10, start); nl !== -1; nl = buf.indexOf(10, start)) {
            if (nl - start > maxLineBytes) {
                oversize.set(lines.length, nl - start);
                lines.push(Buffer.from(buf.subarray(start, start + OVERSIZE_HEAD)));
            } else lines.push(buf.subarray(start, nl));
            start = nl + 1;
        }
        carry = start < buf.length ? buf.subarray(start) : undefined;
        if (carry && carry.length > maxLineBytes) {
            long = { head: Buffer.from(carry.subarray(0, OVERSIZE_HEAD)), bytes: carry.length };
            carry = undefined;
        }
        if (lines.length) {
            yield { firstLineNo: lineNo, lines, ...(oversize.size ? { oversize } : {}) };
            lineNo += lines.length;
        }
    }
    if (long) {
        yield { firstLineNo: lineNo, lines: [long.head], oversize: new Map([[0, long.bytes]]) };
    } else if (carry?.length) yield { firstLineNo: lineNo, lines: [carry] };
}

export function newReadStats(): ReadStats {
    return { rawBytes: 0, hash: createHash('sha256'), gzip: false };
}
