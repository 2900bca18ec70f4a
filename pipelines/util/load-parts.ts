import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { UserError } from './errors.js';

const cache = new Map<string, Promise<Map<string, unknown>>>();

/**
 * The parts (report sections, pipeline stages, ...) defined in one folder, by key: every module
 * file is imported and each export that `isPart` accepts is kept. A part is then a file, and
 * using it is one line naming it in an ordered list. Works from sources (tsx, vitest) and dist/.
 */
export async function loadParts<T>(folder: URL, isPart: (value: unknown) => value is T, keyOf: (part: T) => string): Promise<Map<string, T>> {
    const dir = fileURLToPath(folder);
    let found = cache.get(dir);
    if (!found) {
        found = (async () => {
            const parts = new Map<string, unknown>();
            const files = readdirSync(dir)
                .filter((f) => /\.(ts|js)$/.test(f) && !/\.(d|test)\.ts$/.test(f))
                .sort();
            for (const f of files) {
                const mod = (await import(pathToFileURL(join(dir, f)).href)) as Record<string, unknown>;
                for (const value of Object.values(mod)) {
                    if (!isPart(value)) continue;
                    const key = keyOf(value);
                    if (parts.has(key) && parts.get(key) !== value) throw new UserError(`two parts in ${dir} are named "${key}"; rename one`);
                    parts.set(key, value);
                }
            }
            return parts;
        })();
        cache.set(dir, found);
    }
    return (await found) as Map<string, T>;
}

/** The parts an ordered list names, in its order; a name with no part is an error naming the list. */
export async function partsInOrder<T>(names: readonly string[], parts: Promise<Map<string, T>>, where: string): Promise<T[]> {
    const byKey = await parts;
    return names.map((name) => {
        const part = byKey.get(name);
        if (!part)
            throw new UserError(
                `${where} lists "${name}", but no file there defines it (known: ${[...byKey.keys()].sort().join(', ')}); add the file or fix the name`,
            );
        return part;
    });
}
