import type { Readable } from 'node:stream';

/** One log file wherever it lives. */
export interface SourceFile {
    /** file:///abs/path or s3://bucket/key: the manifest key. */
    readonly uri: string;
    readonly size: number;
    readonly modifiedAt: Date | null;
    /** A content identity known without reading the file (S3 ETag), if any. */
    readonly knownContentId: string | undefined;
    open(): Promise<Readable>;
}

export interface Source {
    readonly description: string;
    list(): AsyncIterable<SourceFile>;
    /** Entries the listing could not use, one line each with the fix (filled while listing). */
    readonly notes?: readonly string[];
    /** Entries that are not log files by their name, so not loaded (known after listing). */
    readonly ignored?: () => number;
}

/** Names the loader picks up; gzip is detected by magic bytes, not by the name. */
export const LOG_FILE_PATTERN = /\.(jsonl|jsonl\.gz|json|json\.gz|ndjson|ndjson\.gz)$/i;
