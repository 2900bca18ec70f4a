import { cpSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join, relative } from 'node:path';
import { tempDir } from './event-fixtures.js';
import { projectDir } from './run-cli.js';

/** A copy of the project a test may edit (node_modules linked, not copied). */
export function copyProject(label: string): string {
    const root = join(tempDir(label), 'tokenmart');
    const skip = new Set(['node_modules', '.git', 'dist', '.tokenmart', 'out', 'coverage']);
    cpSync(projectDir, root, { recursive: true, filter: (src) => !skip.has(relative(projectDir, src).split('/')[0]) });
    symlinkSync(join(projectDir, 'node_modules'), join(root, 'node_modules'));
    return root;
}

/** Every file under a folder (node_modules skipped), path -> text. */
export function listFiles(root: string): Map<string, string> {
    const out = new Map<string, string>();
    const walk = (dir: string) => {
        for (const e of readdirSync(dir, { withFileTypes: true })) {
            if (e.name === 'node_modules') continue;
            const p = join(dir, e.name);
            if (e.isDirectory()) walk(p);
            else out.set(relative(root, p), readFileSync(p, 'utf8'));
        }
    };
    walk(root);
    return out;
}
