import { Random } from './random.js';

/**
 * The demo's agent (contract v3): code-review runs as tasks of 2 to 6 model calls with tool calls
 * between them, an `invoke_agent` run around them, and now and then a loop (run_tests called again
 * and again with the same arguments). The calls are the feature's own requests, re-timed to run one
 * after the other; the steps have a random stream of their own, so the rest of the demo's data is
 * the same bytes whether or not a day has agents.
 */
export class DemoAgentTasks {
    private readonly rng: Random;
    private task: { id: string; startMs: number; cursorMs: number; callsLeft: number; looping: boolean; calls: number; lastFailed: boolean } | undefined;
    private seq = 0;
    steps = 0;

    constructor(
        seed: number,
        private readonly feature: string,
        private readonly team: string,
    ) {
        this.rng = new Random(seed ^ 0x5eed_a6e7);
    }

    /** Puts a model call into the current task (re-timed) and returns the step lines that go with it. */
    onCall(ev: Record<string, unknown>, dayMs: number): string[] {
        const out: string[] = [];
        if (!this.task) {
            // Business hours, as the requests; early enough to end the same day.
            const startMs = dayMs + Math.min(20 * 3_600_000, Math.round(this.rng.logNormal(13, 0.3) * 3_600_000));
            this.task = {
                id: `task_${new Date(dayMs).toISOString().slice(0, 10).replaceAll('-', '')}_${(this.seq++).toString(36)}`,
                startMs,
                cursorMs: startMs + this.rng.int(50, 400),
                callsLeft: this.rng.int(2, 6),
                looping: this.rng.chance(0.04),
                calls: 0,
                lastFailed: false,
            };
        }
        const t = this.task;
        ev.task_id = t.id;
        ev.timestamp = new Date(t.cursorMs).toISOString();
        t.cursorMs += Number(ev.latency_ms ?? 0);
        t.calls++;
        t.callsLeft--;
        t.lastFailed = ev.status === 'error';
        if (t.callsLeft > 0) {
            // Read a file or two, or run the tests, before the next call.
            const tools =
                t.looping && t.calls === 2
                    ? Array.from({ length: 5 }, () => 'run_tests')
                    : [this.rng.pick(['read_file', 'read_file', 'run_tests', 'search_code'])];
            for (const tool of tools) out.push(this.tool(tool, t.looping && tool === 'run_tests' ? `${t.id}:loop` : `${t.id}:${this.seq++}`));
        } else {
            out.push(this.tool('post_comment', `${t.id}:comment`));
            out.push(this.run());
        }
        return out;
    }

    /** Ends the day's open task (a day's last request ends it early). */
    closeDay(): string[] {
        return this.task ? [this.run()] : [];
    }

    private tool(name: string, args: string): string {
        const t = this.task!;
        const latency = Math.round(this.rng.logNormal(name === 'run_tests' ? 4000 : 120, 0.5));
        const line = this.step(t.id, {
            operation: 'execute_tool',
            tool_name: name,
            tool_call_hash: hash(args),
            timestamp: new Date(t.cursorMs).toISOString(),
            latency_ms: latency,
        });
        t.cursorMs += latency + this.rng.int(20, 200);
        return line;
    }

    private run(): string {
        const t = this.task!;
        this.task = undefined;
        const failed = t.lastFailed;
        const outcome = failed
            ? undefined
            : t.looping
              ? 'abandoned'
              : this.rng.weighted([
                    ['resolved', 82],
                    ['escalated', 12],
                    ['abandoned', 6],
                ] as const);
        return this.step(t.id, {
            operation: 'invoke_agent',
            provider: 'openai',
            timestamp: new Date(t.startMs).toISOString(),
            latency_ms: t.cursorMs - t.startMs,
            status: failed ? 'error' : 'ok',
            ...(failed ? { error_type: 'model_call_failed' } : { outcome }),
        });
    }

    private step(taskId: string, fields: Record<string, unknown>): string {
        this.steps++;
        return JSON.stringify({
            schema_version: 3,
            request_id: `step_${taskId}_${(this.seq++).toString(36)}`,
            status: 'ok',
            task_id: taskId,
            team: this.team,
            feature: this.feature,
            ...fields,
        });
    }
}

/** A stable short hash of a string (FNV-1a, 32 bits): the demo's stand-in for a producer's arguments hash. */
function hash(s: string): string {
    let h = 0x811c9dc5;
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
    return h.toString(16).padStart(8, '0');
}
