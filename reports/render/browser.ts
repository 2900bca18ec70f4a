import { existsSync } from 'node:fs';
import puppeteer, { type Browser } from 'puppeteer';
import { UserError } from '../../pipelines/util/errors.js';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable'];

export function chromiumPath(env: NodeJS.ProcessEnv = process.env): string {
    const path = env.PUPPETEER_EXECUTABLE_PATH || env.CHROMIUM_PATH || CANDIDATES.find((p) => existsSync(p));
    if (!path || !existsSync(path)) {
        throw new UserError(
            "report: Chromium not found (needed for the PDF); run `npm run setup` (installs Debian's chromium) or set PUPPETEER_EXECUTABLE_PATH to a Chrome/Chromium binary",
        );
    }
    return path;
}

/** Starts headless Chromium for one job and always closes it. */
export async function usingBrowser<T>(fn: (browser: Browser) => Promise<T>): Promise<T> {
    const browser = await puppeteer.launch({
        executablePath: chromiumPath(),
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
}

/** HTML -> A4 PDF with a header (period, data as of) and page numbers. */
export async function htmlToPdf(browser: Browser, html: string, options: PdfOptions): Promise<Buffer> {
    const page = await browser.newPage();
    try {
        // The document is self-contained: block any request so a stray URL can never hang the render.
        await page.setRequestInterception(true);
        page.on('request', (req) => (req.url().startsWith('data:') ? req.continue() : req.abort()));
        await page.setContent(html, { waitUntil: 'load' });
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
            }),
        );
    } finally {
        await page.close();
    }
}
