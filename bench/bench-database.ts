import pg from 'pg';
import { loadConfig } from '../pipelines/config/config.js';
import { resolveDatabaseUrl } from '../pipelines/db/connect.js';

/** The server's URL (DATABASE_URL's, or the embedded one's) and the same URL for database `name`. */
async function serverAndDatabase(name: string): Promise<{ server: string; database: string }> {
    const { url } = await resolveDatabaseUrl(loadConfig(), (l) => console.error(l));
    const u = new URL(url);
    u.pathname = `/${name}`;
    return { server: url, database: u.toString() };
}

/** A fresh database for one benchmark, on DATABASE_URL's server or the embedded one. */
export async function freshBenchDatabase(name: string): Promise<string> {
    const { server, database } = await serverAndDatabase(name);
    const admin = new pg.Client({ connectionString: server });
    await admin.connect();
    await admin.query(`drop database if exists ${name} with (force)`);
    await admin.query(`create database ${name}`);
    await admin.end();
    return database;
}

/** The URL of a bench database an earlier run left (not emptied). */
export async function existingBenchDatabase(name: string): Promise<string> {
    return (await serverAndDatabase(name)).database;
}

export function fmt(n: number, digits = 0): string {
    return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}
