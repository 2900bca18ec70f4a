import { afterEach, describe, expect, it, vi } from 'vitest';
import { emptyResult, type FileResult } from '../../pipelines/ingest/load-file.js';
import { ingestProgress } from '../../pipelines/ingest/progress.js';

const loaded = (uri: string, rows: number): FileResult => ({ ...emptyResult(uri, 'loaded'), rowsLoaded: rows, linesTotal: rows, bytes: rows * 100 });

describe('ingest progress, one line per file (not a terminal)', () => {
    afterEach(() => {
        vi.useRealTimers();
    });

    it('two files loading at once each keep their own clock and rows', () => {
        vi.useFakeTimers({ now: 0 });
        const lines: string[] = [];
        const progress = ingestProgress((l) => lines.push(l), false);
        progress.fileStarted('file:///logs/a.jsonl', 1000);
        vi.setSystemTime(1000);
        progress.fileStarted('file:///logs/b.jsonl', 1000);
        progress.rows(10, 500, 'file:///logs/a.jsonl');
        progress.rows(20, 600, 'file:///logs/b.jsonl');
        // b finishes first, 2.5 s after it started; a 4 s after it started.
        vi.setSystemTime(3500);
        progress.fileDone(loaded('file:///logs/b.jsonl', 20));
        vi.setSystemTime(4000);
        progress.fileDone(loaded('file:///logs/a.jsonl', 10));
        expect(lines).toEqual([
            'ingest: loaded file:///logs/b.jsonl: 20 rows, 0 quarantined, 0 blank, 0 duplicates (20 lines, 0.0 MB in 2.5 s)',
            'ingest: loaded file:///logs/a.jsonl: 10 rows, 0 quarantined, 0 blank, 0 duplicates (10 lines, 0.0 MB in 4.0 s)',
        ]);
    });

    it('a file loaded at its second attempt says so on its line', () => {
        vi.useFakeTimers({ now: 0 });
        const lines: string[] = [];
        const progress = ingestProgress((l) => lines.push(l), false);
        progress.fileStarted('file:///logs/c.jsonl', 1000);
        vi.setSystemTime(1500);
        progress.fileDone({ ...loaded('file:///logs/c.jsonl', 5), retriedAfter: 'Postgres rejected a row (no partition of relation "events" found for row)' });
        expect(lines).toEqual([
            'ingest: loaded file:///logs/c.jsonl: 5 rows, 0 quarantined, 0 blank, 0 duplicates (5 lines, 0.0 MB in 1.5 s); loaded again after Postgres refused a row for want of a partition another load had just made',
        ]);
    });
});
