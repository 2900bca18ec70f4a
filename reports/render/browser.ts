import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser } from 'puppeteer';
import { UserError } from '../../pipelines/util/errors.js';

const CANDIDATES = ['/usr/bin/google-chrome-stable', '/usr/bin/google-chrome', '/usr/bin/chromium', '/usr/bin/chromium-browser'];

/** Ubuntu's chromium packages install a small script that hands over to a snap: not a browser. */
export function isSnapStub(path: string): boolean {
    const real = realpathSync(path);
    if (real.startsWith('/snap/')) return true;
    return statSync(real).size < 100_000 && readFileSync(real, 'latin1').includes('snap');
}

/** Chrome for Testing fetched by `npm run setup` on Ubuntu (puppeteer's cache). */
function cachedChrome(home = homedir()): string | undefined {
    const dir = join(process.env.PUPPETEER_CACHE_DIR ?? join(home, '.cache', 'puppeteer'), 'chrome-headless-shell');
    if (!existsSync(dir)) return undefined;
    for (const version of readdirSync(dir).sort().reverse()) {
        const bin = join(dir, version, 'chrome-headless-shell-linux64', 'chrome-headless-shell');
        if (existsSync(bin)) return bin;
    }
    return undefined;
}

/** The browser the PDF is printed with: the configured one, else a real Chrome/Chromium on the machine. */
export function chromiumPath(env: NodeJS.ProcessEnv = process.env, candidates: readonly string[] = CANDIDATES): string {
    const configured = env.PUPPETEER_EXECUTABLE_PATH || env.CHROMIUM_PATH;
    const path = configured || candidates.find((p) => existsSync(p) && !isSnapStub(p)) || cachedChrome();
    if (!path || !existsSync(path)) {
        throw new UserError(
            `report: Chromium not found${configured ? ` at ${configured}` : ''} (needed for the PDF); run \`npm run setup\` (it finds or installs one) or set PUPPETEER_EXECUTABLE_PATH to a Chrome/Chromium binary`,
        );
    }
    return path;
}

/** Starts headless Chromium for one job and always closes it. */
export async function usingBrowser<T>(fn: (browser: Browser) => Promise<T>): Promise<T> {
    const executablePath = chromiumPath();
    const browser = await puppeteer
        .launch({
            executablePath,
            headless: true,
            // No sandbox as root in CI containers; no background traffic on a closed network.
            args: [
                '--no-sandbox',
                '--disable-gpu',
                '--disable-dev-shm-usage',
                '--disable-background-networking',
                '--disable-component-update',
                '--disable-sync',
                '--no-first-run',
            ],
        })
        .catch((err: Error) => {
            throw new UserError(
                `report: ${executablePath} did not start (${err.message.split('\n')[0]}); check that it runs (\`${executablePath} --version\`), set PUPPETEER_EXECUTABLE_PATH to another Chrome/Chromium, or use --no-pdf`,
            );
        });
    try {
        return await fn(browser);
    } finally {
        await browser.close();
    }
}

export interface PdfOptions {
    readonly headerLeft: string;
    readonly headerRight: string;
    /** How long the renderer may take (loading the page, then printing it). */
    readonly timeoutMs?: number;
}

/** The default time a PDF may take: a two-page report prints in about 3 s. */
export const PDF_TIMEOUT_MS = 120_000;

/** HTML -> A4 PDF with a header (period, data as of) and page numbers. */
export async function htmlToPdf(browser: Browser, html: string, options: PdfOptions): Promise<Buffer> {
    const page = await browser.newPage();
    try {
        // The document is self-contained: block any request so a stray URL can never hang the render.
        await page.setRequestInterception(true);
        page.on('request', (req) => (req.url().startsWith('data:') ? req.continue() : req.abort()));
        const timeout = options.timeoutMs ?? PDF_TIMEOUT_MS;
        await page.setContent(html, { waitUntil: 'load', timeout });
        const esc = (s: string) => s.replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c]!);
        const style =
            'font-family:"DejaVu Sans",Arial,sans-serif;font-size:8px;color:#52606d;width:100%;padding:0 14mm;display:flex;justify-content:space-between';
        return Buffer.from(
            await page.pdf({
                format: 'A4',
                printBackground: true,
                displayHeaderFooter: true,
                headerTemplate: `<div style='${style}'><span>${esc(options.headerLeft)}</span><span>${esc(options.headerRight)}</span></div>`,
                footerTemplate: `<div style='${style}'><span>tokenmart · confidential</span><span>Page <span class="pageNumber"></span> of <span class="totalPages"></span></span></div>`,
                margin: { top: '20mm', bottom: '16mm', left: '0', right: '0' },
                preferCSSPageSize: false,
                timeout,
            }),
        );
    } catch (err) {
        if ((err as Error).name === 'TimeoutError') {
            throw new UserError(
                `report: the PDF renderer did not finish within ${Math.round((options.timeoutMs ?? PDF_TIMEOUT_MS) / 1000)} s; raise report.pdfTimeoutSeconds in tokenmart.config.json, or write the HTML alone with --no-pdf`,
            );
        }
        throw err;
    } finally {
        await page.close();
    }
}
