import type { DigestFile } from './deliver-digest.js';
import type { ReportSection, SectionContext } from '../sections/section.js';
import { digestSections } from './digest-sections.js';

export interface BuiltDigest {
    readonly text: string;
    readonly blocks: readonly unknown[];
    readonly files: readonly DigestFile[];
}

/** The digest's sections in order: their blocks, the first notification text, the thread files, and a footer. */
export async function buildDigest(ctx: SectionContext, sections?: readonly ReportSection[]): Promise<BuiltDigest> {
    const parts = [];
    for (const s of sections ?? (await digestSections())) if (s.digest) parts.push(await s.digest(ctx));
    const { period } = ctx;
    const footer = {
        type: 'context',
        elements: [
            {
                type: 'mrkdwn',
                text: `UTC ${period.start}${period.end !== period.start ? ` to ${period.end}` : ''} · chart${period.kind === 'weekly' ? ' and PDF report' : ''} in the thread · tokenmart`,
            },
        ],
    };
    return {
        text: parts.find((p) => p.text)?.text ?? `LLM spend ${period.label}`,
        blocks: [...parts.flatMap((p) => p.blocks), footer],
        files: parts.flatMap((p) => p.files ?? []),
    };
}
