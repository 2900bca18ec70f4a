import { localSource } from './local-source.js';
import { s3Source } from './s3-source.js';
import type { Source } from './source.js';

/** s3://bucket/prefix or a local directory/file. */
export function sourceFor(uri: string, endpoint: string | undefined): Source {
    return uri.startsWith('s3://') ? s3Source(uri, endpoint) : localSource(uri.replace(/^file:\/\//, ''));
}
