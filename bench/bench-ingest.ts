import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { lineContext, parseLine } from '../pipelines/ingest/parse-line.js';
import { PiiScrubber } from '../pipelines/ingest/scrub-pii.js';
import { projectRoot } from '../pipelines/util/project-root.js';
import { fmt, freshBenchDatabase } from './bench-database.js';
import { measureIngest, writeBenchEvents } from './bench-events.js';
import { benchSmallObjects } from './bench-small-objects.js';

/**
 * bench:ingest: N realistic events as gzip JSONL, then in the same run (a) tokenmart ingest and
 * (b) a plain COPY of the same decompressed lines into a one-column jsonb table.
 * Usage: npm run bench:ingest [-- N]; npm run bench:ingest -- --small [N] for N one-request objects (bench-small-objects.ts)
 */
if (process.argv[2] === '--small') {
    await benchSmallObjects(Number(process.argv[3] ?? 100_000));
    process.exit(0);
}
const n = Number(process.argv[2] ?? 1_000_000);
const files = 10;
const dir = join(projectRoot, '.tokenmart', 'bench', 'ingest-logs');

function generate(): void {
    writeBenchEvents(dir, n, files);
}

function measure(mode: 'tokenmart' | 'copy', url: string) {
    return measureIngest(mode, url, dir);
}

console.log(`bench:ingest: generating ${fmt(n)} events in ${files} gzip files ...`);
generate();
const bytes = readdirSync(dir).reduce((a, f) => a + statSync(join(dir, f)).size, 0);
console.log(`bench:ingest: ${(bytes / 1e6).toFixed(1)} MB gzip on disk`);
const baseUrl = await freshBenchDatabase('tokenmart_bench_copy');
const copy = measure('copy', baseUrl);
const tmUrl = await freshBenchDatabase('tokenmart_bench_ingest');
const tm = measure('tokenmart', tmUrl);
const tmRate = tm.rows / tm.seconds;
const copyRate = copy.rows / copy.seconds;
console.log(`(a) tokenmart ingest : ${fmt(tm.rows)} events in ${tm.seconds.toFixed(2)} s = ${fmt(tmRate)} events/s, peak RSS ${fmt(tm.maxRssMb)} MB`);
console.log(`(b) plain COPY jsonb : ${fmt(copy.rows)} events in ${copy.seconds.toFixed(2)} s = ${fmt(copyRate)} events/s, peak RSS ${fmt(copy.maxRssMb)} MB`);
console.log(`ratio (a)/(b)        : ${(tmRate / copyRate).toFixed(2)}x   (targets: >= 100,000 events/s, >= 0.7x, RSS < 300 MB)`);

/**
 * What the PII scan costs: the loader's own line parser over the first file's lines, with the real
 * scrubber and with one that passes every string through, in this process (best of 3 each). The
 * same lines with an error_type and a tag value holding a phone number and an email show the cost
 * when there is PII to find.
 */
class PassThrough extends PiiScrubber {
    override scrubString(text: string): string {
        return text;
    }
    override scrubValue(value: unknown): unknown {
        return value;
    }
}
function parseSeconds(lines: readonly Buffer[], scrubber: PiiScrubber): number {
    let best = Number.POSITIVE_INFINITY;
    for (let round = 0; round < 3; round++) {
        const ctx = lineContext(scrubber);
        const started = process.hrtime.bigint();
        for (const line of lines) parseLine(line, ctx);
        best = Math.min(best, Number(process.hrtime.bigint() - started) / 1e9);
    }
    return best;
}
const first = readdirSync(dir).sort()[0]!;
const clean = gunzipSync(readFileSync(join(dir, first)))
    .toString('utf8')
    .trimEnd()
    .split('\n');
const withPii = clean.map((l) =>
    l.replace('"tags":{"channel":"web"}', '"error_type":"callback +33 1 23 45 67 89 asked","tags":{"channel":"web","note":"mail josé@example.com"}'),
);
const options = { keepText: false, userIdHmacKey: undefined };
for (const [label, lines] of [
    ['bench events     ', clean],
    ['with PII to find ', withPii],
] as const) {
    const buffers = lines.map((l) => Buffer.from(l));
    const off = parseSeconds(buffers, new PassThrough(options));
    const on = parseSeconds(buffers, new PiiScrubber(options));
    const perEvent = ((on - off) / buffers.length) * 1e6;
    console.log(
        `PII scan, ${label}: ${perEvent.toFixed(2)} µs/event (parse ${fmt(buffers.length / on)} vs ${fmt(buffers.length / off)} events/s without it) = ${((perEvent / 1e6) * tmRate * 100).toFixed(1)}% of tokenmart's ingest time per event`,
    );
}
