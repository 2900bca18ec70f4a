import { appendFileSync, cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectDir } from './run-cli.js';
import { tempDir } from './event-fixtures.js';

/** A private copy of models/ that a test may change (prices, broken SQL) without touching the repo. */
export function copyModels(label: string): string {
    const root = join(tempDir(label), 'models');
    cpSync(join(projectDir, 'models'), root, { recursive: true });
    return root;
}

/** Appends rows to the copy's curated price seed. */
export function addPrices(root: string, rows: readonly string[]): void {
    appendFileSync(join(root, 'seeds', 'model_prices.csv'), rows.map((r) => `${r}\n`).join(''));
}

/** A models folder made of the given files (path under models/ -> text). */
export function writeModels(files: Readonly<Record<string, string>>, label = 'project'): string {
    const root = join(tempDir(label), 'models');
    for (const [rel, text] of Object.entries(files)) {
        mkdirSync(join(root, rel, '..'), { recursive: true });
        writeFileSync(join(root, rel), text);
    }
    return root;
}
