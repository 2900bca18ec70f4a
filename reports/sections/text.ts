/**
 * Text that comes from data (team, feature, model names) on its way into a report or a Slack
 * message: it must read as text and nothing else. In Slack mrkdwn, `<!channel>`, `<!here>` and
 * `<https://...|label>` are commands and links: escaping `&`, `<` and `>` (Slack's own rule) makes
 * them plain text. In charts, labels are cut so one long value cannot take over the picture.
 */
export function mrkdwn(value: string): string {
    return value.replace(/[&<>]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : '&gt;'));
}

/** The longest label a chart draws (the value is cut with an ellipsis). */
export const CHART_LABEL_CHARS = 40;

export function chartLabel(value: string): string {
    return value.length > CHART_LABEL_CHARS ? `${value.slice(0, CHART_LABEL_CHARS - 1)}…` : value;
}
