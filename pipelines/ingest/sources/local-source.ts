import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { UserError } from '../../util/errors.js';
import { LOG_FILE_PATTERN, type Source, type SourceFile } from './source.js';

export function localSource(pathLike: string): Source {
    const root = resolve(pathLike);
    async function* walk(dir: string): AsyncIterable<string> {
        const entries = await readdir(dir, { withFileTypes: true });
        entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
        for (const entry of entries) {
            const full = join(dir, entry.name);
            if (entry.isDirectory()) yield* walk(full);
            else if (entry.isFile() && LOG_FILE_PATTERN.test(entry.name)) yield full;
        }
    }
    async function toFile(path: string): Promise<SourceFile> {
        const st = await stat(path);
        return {
            uri: pathToFileURL(path).href,
            size: st.size,
            modifiedAt: st.mtime,
            knownContentId: undefined,
            open: async () => createReadStream(path, { highWaterMark: 1 << 20 }),
        };
    }
    return {
        description: root,
        async *list() {
            let st: Awaited<ReturnType<typeof stat>>;
            try {
                st = await stat(root);
            } catch {
                throw new UserError(`ingest: source ${root} does not exist; pass an existing directory, file or s3://bucket/prefix`);
            }
            if (st.isFile()) {
                yield toFile(root);
                return;
            }
            for await (const path of walk(root)) yield toFile(path);
        },
    };
}
