import { formatInt, formatMs, formatPercent, formatSignedPercent, formatSignedUsd, formatUsd, fromUnits, toUnits } from '../format.js';
import type { DigestData } from './digest-data.js';

/** The Block Kit message: short, right, and loud only about what needs attention. */
export function digestBlocks(data: DigestData): { text: string; blocks: unknown[] } {
    const who = data.team ? ` · ${data.team}` : '';
    const title = data.period.kind === 'daily' ? `LLM spend ${data.period.label}${who}` : `LLM spend week ${data.period.label}${who}`;
    const diff = fromUnits(toUnits(data.spend) - toUnits(data.baseline));
    const pct = Number(data.baseline) ? Number(diff) / Number(data.baseline) : null;
    const text = `${title}: ${formatUsd(data.spend)} (${formatSignedPercent(pct)} vs ${data.baselineLabel}), ${formatInt(data.requests)} requests`;
    const attention: string[] = [];
    if (BigInt(data.unpricedRequests) > 0n)
        attention.push(`:warning: *${formatInt(data.unpricedRequests)} unpriced requests* are not in the spend figure (add their prices and rebuild)`);
    for (const t of data.failingTests) attention.push(`:x: data test failing: \`${t}\``);
    const blocks: unknown[] = [
        { type: 'header', text: { type: 'plain_text', text: title } },
        {
            type: 'section',
            fields: [
                {
                    type: 'mrkdwn',
                    text: `*Spend*\n${formatUsd(data.spend)}  (${formatSignedUsd(diff)}, ${formatSignedPercent(pct)} vs ${data.baselineLabel} ${formatUsd(data.baseline)})`,
                },
                { type: 'mrkdwn', text: `*Requests*\n${formatInt(data.requests)}` },
                { type: 'mrkdwn', text: `*Error rate*\n${formatPercent(data.errorRate)}` },
                { type: 'mrkdwn', text: `*p95 latency*\n${formatMs(data.p95LatencyMs)}` },
                { type: 'mrkdwn', text: `*Thumbs-up rate*\n${formatPercent(data.thumbsUpRate)}` },
            ],
        },
        {
            type: 'section',
            text: {
                type: 'mrkdwn',
                text: `*Top movers vs ${data.baselineLabel}*\n${data.movers.length ? data.movers.map((m) => `• ${m.label}: ${formatSignedUsd(m.change)} (now ${formatUsd(m.now)})`).join('\n') : '• none'}`,
            },
        },
        ...(attention.length ? [{ type: 'section', text: { type: 'mrkdwn', text: attention.join('\n') } }] : []),
        {
            type: 'context',
            elements: [
                {
                    type: 'mrkdwn',
                    text: `UTC ${data.period.start}${data.period.end !== data.period.start ? ` to ${data.period.end}` : ''} · chart${data.period.kind === 'weekly' ? ' and PDF report' : ''} in the thread · tokenmart`,
                },
            ],
        },
    ];
    return { text, blocks };
}
