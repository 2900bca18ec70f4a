import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const projectDir = fileURLToPath(new URL('../..', import.meta.url));
const cliEntry = fileURLToPath(new URL('../../pipelines/cli/main.ts', import.meta.url));

export interface CliResult {
    readonly code: number | null;
    readonly signal: NodeJS.Signals | null;
    readonly stdout: string;
    readonly stderr: string;
}

/** Runs the real CLI (from sources, via tsx) in a child process. */
export function startCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcess; done: Promise<CliResult> } {
    const child = spawn(process.execPath, ['--import', 'tsx', cliEntry, ...args], {
        cwd: projectDir,
        env: { ...process.env, ...env, NO_COLOR: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (c) => (stdout += c));
    child.stderr!.on('data', (c) => (stderr += c));
    const done = new Promise<CliResult>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
    return { child, done };
}

export function runCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
    return startCli(args, env).done;
}

/** Resolves once the child's stderr has matched `times` times (startup under load can take seconds). */
export function waitForStderr(child: ChildProcess, pattern: RegExp, timeoutMs = 30_000, times = 1): Promise<void> {
    const counting = new RegExp(pattern.source, pattern.flags.includes('g') ? pattern.flags : `${pattern.flags}g`);
    return new Promise((resolve, reject) => {
        let seen = '';
        const timer = setTimeout(() => reject(new Error(`no ${pattern} (x${times}) on stderr within ${timeoutMs} ms: ${seen}`)), timeoutMs);
        child.stderr!.on('data', (c) => {
            seen += c;
            if ((seen.match(counting)?.length ?? 0) >= times) {
                clearTimeout(timer);
                resolve();
            }
        });
    });
}
