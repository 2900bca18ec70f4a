import { join } from 'node:path';
import { deliverDigest } from '../../reports/digest/deliver-digest.js';
import type { SlackClient } from '../../reports/digest/slack.js';
import type { Config } from '../config/config.js';
import type { DatabaseHandle } from '../db/connect.js';
import { writeOutput } from '../util/output-file.js';

/** A short notice to the alert channel (a payload file when there is no Slack token); delivered once per run. */
export async function sendFailureNotice(
    handle: DatabaseHandle,
    config: Config,
    slack: SlackClient | undefined,
    runId: string,
    reason: string,
    log: (l: string) => void,
): Promise<string | undefined> {
    const text = `:rotating_light: tokenmart run ${runId} did not complete: ${reason}. No report or digest was sent for it. See ops.runs / ops.run_stages.`;
    const message = {
        digestId: `alert:${runId}:${config.slack.alertChannel}`,
        kind: 'alert',
        period: runId,
        channel: config.slack.alertChannel,
        text,
        blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }],
    };
    if (!slack) {
        const dir = join(config.outputDir, 'alerts');
        const path = join(dir, `alert-${runId}.json`);
        writeOutput(path, `${JSON.stringify({ method: 'chat.postMessage', channel: message.channel, text, blocks: message.blocks }, null, 2)}\n`);
        log(`run: failure notice written to ${path} (no SLACK_BOT_TOKEN)`);
        return path;
    }
    const outcome = await deliverDigest(handle.pool, slack, message, [], log);
    log(`run: failure notice to ${config.slack.alertChannel}: ${outcome.status}`);
    return undefined;
}
