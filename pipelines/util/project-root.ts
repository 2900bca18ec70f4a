import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folder holding tokenmart's package.json; works from sources (tsx) and from dist/. */
export const projectRoot: string = (() => {
    let dir = dirname(fileURLToPath(import.meta.url));
    while (!existsSync(join(dir, 'package.json')) || dir.endsWith('dist')) {
        const parent = dirname(dir);
        if (parent === dir) throw new Error(`tokenmart: cannot find the project root (package.json) above ${fileURLToPath(import.meta.url)}`);
        dir = parent;
    }
    return dir;
})();
