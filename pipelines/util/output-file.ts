import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { UserError } from './errors.js';

/**
 * Writes a file tokenmart produces (a report, a payload, docs), all or nothing: into a temporary
 * file beside it, then renamed over it, so a kill or a full disk never leaves half a PDF. A folder
 * that cannot be made or written is one line with the fix.
 */
export function writeOutput(path: string, data: string | Uint8Array, fix = 'choose another --out, outputDir or TOKENMART_OUTPUT_DIR, or fix the folder'): void {
    const dir = dirname(path);
    const tmp = join(dir, `.${basename(path)}.${process.pid}.tmp`);
    try {
        mkdirSync(dir, { recursive: true });
        writeFileSync(tmp, data);
        renameSync(tmp, path);
    } catch (err) {
        try {
            rmSync(tmp, { force: true });
        } catch {
            // the folder itself is what failed: there is no temporary file to remove
        }
        const code = (err as { code?: string }).code ?? (err as Error).message;
        throw new UserError(`cannot write ${path} (${code}); ${fix}`);
    }
}
