import { createRequire } from 'node:module';
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

const require = createRequire(import.meta.url);
/** The font charts are drawn and rasterised with: shipped as an npm package, so text never goes missing. */
export const CHART_FONT_FILES = ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf'].map((f) => require.resolve(`dejavu-fonts-ttf/ttf/${f}`));
export const CHART_FONT = 'DejaVu Sans';

export const CHART_CONFIG = {
    font: CHART_FONT,
    view: { stroke: null },
    axis: { labelFontSize: 10, titleFontSize: 11, gridColor: '#e6e9ed', domainColor: '#9aa5b1', tickColor: '#9aa5b1' },
    legend: { labelFontSize: 10, titleFontSize: 11 },
    range: { category: ['#2f6fb2', '#e07b39', '#3f9e6e', '#a05195', '#d1a72b', '#5b6b7c', '#c0504d', '#7fb3d5'] },
} as const;

/** Compiles a vega-lite spec and renders it server-side to SVG (no browser). */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
    const { spec: vegaSpec } = compile({ ...spec, config: { ...CHART_CONFIG, ...(spec.config ?? {}) } } as TopLevelSpec);
    const view = new vega.View(vega.parse(vegaSpec), { renderer: 'none' });
    try {
        return await view.toSVG();
    } finally {
        view.finalize();
    }
}

/** SVG -> PNG (for Slack), with the project's own font files. */
export function svgToPng(svg: string, width = 1000): Buffer {
    const resvg = new Resvg(svg, {
        fitTo: { mode: 'width', value: width },
        background: '#ffffff',
        font: { fontFiles: CHART_FONT_FILES, loadSystemFonts: false, defaultFontFamily: CHART_FONT },
    });
    return resvg.render().asPng();
}
