/** Seeded PRNG (mulberry32): the demo data is the same bytes for the same seed and dates. */
export class Random {
    private state: number;
    constructor(seed: number) {
        this.state = seed >>> 0;
    }
    next(): number {
        this.state = (this.state + 0x6d2b79f5) >>> 0;
        let t = this.state;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    }
    int(min: number, max: number): number {
        return min + Math.floor(this.next() * (max - min + 1));
    }
    chance(p: number): boolean {
        return this.next() < p;
    }
    pick<T>(items: readonly T[]): T {
        return items[Math.floor(this.next() * items.length)];
    }
    weighted<T>(items: readonly (readonly [T, number])[]): T {
        const total = items.reduce((a, [, w]) => a + w, 0);
        let r = this.next() * total;
        for (const [item, w] of items) {
            r -= w;
            if (r <= 0) return item;
        }
        return items[items.length - 1][0];
    }
    /** Log-normal around `median` with spread `sigma`: latency-like, with a long tail. */
    logNormal(median: number, sigma: number): number {
        const u = Math.max(this.next(), 1e-12);
        const v = this.next();
        const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
        return median * Math.exp(sigma * z);
    }
}
