import { createReadStream } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { UserError } from '../../util/errors.js';
import { LOG_FILE_PATTERN, type Source, type SourceFile } from './source.js';

/**
 * A directory (walked recursively, in name order) or one file. Symbolic links are followed, to
 * files and to folders; a folder reached twice (a link loop, or a link to a folder already
 * walked) is walked once, and a file reached by two paths is loaded once. What cannot be read
 * (a broken link, a folder without permission) is reported one entry at a time, never skipped
 * without a word.
 */
export function localSource(pathLike: string): Source {
    const root = resolve(pathLike);
    const notes: string[] = [];
    let ignored = 0;
    async function* walk(dir: string, seenDirs: Set<string>, seenFiles: Set<string>): AsyncIterable<string> {
        let entries: import('node:fs').Dirent[];
        try {
            entries = await readdir(dir, { withFileTypes: true });
        } catch (err) {
            notes.push(`${dir}: cannot list (${(err as { code?: string }).code ?? (err as Error).message}); fix its permissions to load what is in it`);
            return;
        }
        entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
        for (const entry of entries) {
            const full = join(dir, entry.name);
            let isDir = entry.isDirectory();
            let isFile = entry.isFile();
            if (entry.isSymbolicLink()) {
                try {
                    const target = await stat(full);
                    isDir = target.isDirectory();
                    isFile = target.isFile();
                } catch {
                    notes.push(`${full}: a symbolic link to nothing (broken); remove it or point it at a log file`);
                    continue;
                }
            }
            if (isDir) {
                const real = await realpath(full);
                if (seenDirs.has(real)) {
                    notes.push(`${full}: a link back to ${real}, already walked; not walked twice`);
                    continue;
                }
                seenDirs.add(real);
                yield* walk(full, seenDirs, seenFiles);
            } else if (isFile && LOG_FILE_PATTERN.test(entry.name)) {
                const real = await realpath(full);
                if (seenFiles.has(real)) {
                    notes.push(`${full}: the same file as one already listed (${real}); loaded once`);
                    continue;
                }
                seenFiles.add(real);
                yield full;
            } else ignored++;
        }
    }
    async function toFile(path: string): Promise<SourceFile> {
        const st = await stat(path);
        return {
            uri: pathToFileURL(path).href,
            size: st.size,
            modifiedAt: st.mtime,
            knownContentId: undefined,
            // Read buffers are allocated at the high-water mark: 1 MiB each for a 500-byte object is
            // mostly garbage collection when there are thousands of them.
            open: async () => createReadStream(path, { highWaterMark: Math.min(1 << 20, Math.max(1 << 14, st.size + 1)) }),
        };
    }
    return {
        description: root,
        notes,
        ignored: () => ignored,
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
            for await (const path of walk(root, new Set([await realpath(root)]), new Set())) yield toFile(path);
        },
    };
}
