import { appendFileSync, cpSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { FEATURES } from '../pipelines/demo/demo-catalog.js';
import { projectRoot } from '../pipelines/util/project-root.js';

/** A price fix for the benchmarks and check:citus: where its models are, and what it changed. */
export interface PriceFix {
    readonly root: string;
    readonly model: string;
    readonly from: string;
}

/**
 * A copy of models/ in `dir` whose price seed has one row more: the generated events' busiest
 * model (the demo catalog's first) costs 10% more per input token from `fromDay` (00:00 UTC) on.
 * Load it with TOKENMART_MODELS_DIR or loadModels(root).
 */
export function priceFixModels(dir: string, fromDay: string): PriceFix {
    rmSync(dir, { recursive: true, force: true });
    cpSync(join(projectRoot, 'models'), dir, { recursive: true });
    const { provider, model } = FEATURES[0].models[0];
    const file = join(dir, 'seeds', 'model_prices.csv');
    // The model's latest row (ISO dates sort as text); the seed has no quoted fields.
    const row = readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l.startsWith(`${provider},${model},`))
        .sort()
        .pop();
    if (!row) throw new Error(`price fix: ${provider}/${model} has no row in models/seeds/model_prices.csv; fix FEATURES or the seed`);
    const fields = row.split(',');
    fields[2] = `${fromDay}T00:00:00Z`;
    fields[3] = ((Number(fields[3]) * 11) / 10).toFixed(4);
    fields[fields.length - 1] = 'benchmark price fix';
    appendFileSync(file, `${fields.join(',')}\n`);
    return { root: dir, model, from: fromDay };
}
