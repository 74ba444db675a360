/**
 * Charts as PNG images: Vega-Lite specs compiled with `vega-lite`, rendered headless to SVG by
 * `vega` (`view.toSVG()`, no canvas needed), then rasterised by `@resvg/resvg-js` (its prebuilt
 * binary ships inside the npm package). PNG because mail clients strip SVG and scripts.
 *
 * Fonts: resvg draws text only with font files it can load. We ship none and load the system's
 * (Debian's fonts-dejavu-core, /usr/share/fonts/truetype/dejavu; .ci/run installs it when missing),
 * asking for DejaVu Sans first. Without any font the charts still render, without text.
 */
import { Resvg } from '@resvg/resvg-js';
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { HEADLINE_METRICS } from './verdict.js';
import type { FeatureDistribution, FeatureDrift, ModelPeriodData } from './types.js';

export interface Chart {
  /** Stable id within a report: also the `cid:` of the inline image in the e-mail. */
  id: string;
  title: string;
  /** Text alternative: what the chart shows, in words and figures. */
  alt: string;
  png: Buffer;
  width: number;
  height: number;
}

const FONT = 'DejaVu Sans';
/** Pixels per CSS pixel in the PNG: sharp on high-density screens, still small in a mail. */
const SCALE = 1.5;

const CONFIG = {
  font: FONT,
  background: 'white',
  view: { stroke: null },
  axis: { labelFontSize: 11, titleFontSize: 11 },
  legend: { labelFontSize: 11, titleFontSize: 11, labelLimit: 260 },
  title: { fontSize: 13, anchor: 'start' as const },
};

/** Vega-Lite spec → PNG. */
export async function renderSpec(
  spec: TopLevelSpec,
): Promise<{ png: Buffer; width: number; height: number }> {
  const vegaSpec = compile({ ...spec, config: { ...CONFIG, ...(spec.config ?? {}) } } as TopLevelSpec).spec;
  const view = new View(parse(vegaSpec), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    const rendered = new Resvg(svg, {
      font: { loadSystemFonts: true, defaultFontFamily: FONT },
      fitTo: { mode: 'zoom', value: SCALE },
      background: 'white',
    }).render();
    return { png: rendered.asPng(), width: rendered.width, height: rendered.height };
  } finally {
    view.finalize();
  }
}

const fmt = (x: number | null | undefined, digits = 3): string =>
  x === null || x === undefined ? 'n/a' : Number(x.toFixed(digits)).toString();

/** Bar chart of the share of windows with drift per feature (top `limit`). */
function driftRankingSpec(features: readonly FeatureDrift[], multiVersion: boolean): TopLevelSpec {
  return {
    width: 420,
    height: { step: 18 },
    title: 'Windows with drift, by feature',
    data: {
      values: features.map((f) => ({
        feature: multiVersion ? `${f.feature} (v${f.version})` : f.feature,
        share: f.windows > 0 ? f.drifted / f.windows : 0,
        label: `${f.drifted}/${f.windows}`,
        status: f.drifted > 0 ? 'drift detected' : 'no drift',
      })),
    },
    encoding: {
      y: { field: 'feature', type: 'nominal', sort: null, title: null, axis: { labelLimit: 220 } },
    },
    layer: [
      {
        mark: 'bar',
        encoding: {
          x: {
            field: 'share',
            type: 'quantitative',
            title: 'share of windows with drift',
            scale: { domain: [0, 1] },
            axis: { format: '.0%' },
          },
          color: {
            field: 'status',
            type: 'nominal',
            scale: { domain: ['drift detected', 'no drift'], range: ['#d6604d', '#9ecae1'] },
            legend: { title: null, orient: 'bottom' },
          },
        },
      },
      {
        mark: { type: 'text', align: 'left', dx: 3 },
        encoding: { x: { field: 'share', type: 'quantitative' }, text: { field: 'label' } },
      },
    ],
  };
}

function distributionSpec(d: FeatureDistribution): TopLevelSpec {
  const values = d.bins.flatMap((bin, i) => [
    { bin, order: i, series: `reference (${d.referenceCount})`, share: d.reference[i] ?? 0 },
    { bin, order: i, series: `this period (${d.currentCount})`, share: d.current[i] ?? 0 },
  ]);
  return {
    width: 420,
    height: 160,
    title: `${d.feature}: reference vs this period`,
    data: { values },
    mark: 'bar',
    encoding: {
      x: {
        field: 'bin',
        type: 'nominal',
        sort: { field: 'order' },
        title: d.kind === 'numeric' ? 'reference decile bins' : 'category',
        axis: { labelAngle: -40, labelLimit: 120 },
      },
      xOffset: { field: 'series', type: 'nominal' },
      y: { field: 'share', type: 'quantitative', title: 'share', axis: { format: '.0%' } },
      color: {
        field: 'series',
        type: 'nominal',
        scale: { range: ['#9e9e9e', '#2166ac'] },
        legend: { title: null, orient: 'bottom' },
      },
    },
  };
}

/** The headline metric of a model: the first of the usual ones its documents carry. */
export function headlineMetric(data: ModelPeriodData): string | undefined {
  const present = new Set(
    data.performance.flatMap((p) => [...Object.keys(p.realised), ...Object.keys(p.estimated)]),
  );
  return HEADLINE_METRICS.find((m) => present.has(m));
}

function performanceSpec(data: ModelPeriodData, metric: string): TopLevelSpec {
  const values = data.performance.flatMap((p) => {
    const rows: Array<{ t: string; series: string; value: number }> = [];
    const r = p.realised[metric];
    const e = p.estimated[metric];
    if (r !== undefined) rows.push({ t: p.windowStart, series: `${metric} (realised)`, value: r });
    if (e !== undefined) rows.push({ t: p.windowStart, series: `${metric} (estimated)`, value: e });
    if (p.labelCoverage !== null)
      rows.push({ t: p.windowStart, series: 'label coverage', value: p.labelCoverage });
    return rows;
  });
  const bound = data.bounds[metric];
  const rules = [
    ...(bound?.min !== undefined ? [{ value: bound.min, name: `${metric} min` }] : []),
    ...(bound?.max !== undefined ? [{ value: bound.max, name: `${metric} max` }] : []),
  ];
  return {
    width: 420,
    height: 180,
    title: `Performance over time: ${metric}, with label coverage${rules.length ? ' and bounds' : ''}`,
    layer: [
      {
        data: { values },
        mark: { type: 'line', point: true },
        encoding: {
          x: { field: 't', type: 'temporal', title: 'window start (UTC)', scale: { type: 'utc' } },
          y: { field: 'value', type: 'quantitative', title: null },
          color: { field: 'series', type: 'nominal', legend: { title: null, orient: 'bottom' } },
        },
      },
      ...(rules.length
        ? [
            {
              data: { values: rules },
              mark: { type: 'rule' as const, color: '#b2182b', strokeDash: [4, 3] },
              encoding: { y: { field: 'value', type: 'quantitative' as const } },
            },
          ]
        : []),
    ],
  } as TopLevelSpec;
}

function latencySpec(data: ModelPeriodData): TopLevelSpec {
  const values = data.service.flatMap((s) =>
    (['p50', 'p95', 'p99'] as const).flatMap((q) =>
      s[q] === null
        ? []
        : [{ t: s.windowStart, series: `${q}${data.versions.length > 1 ? ` v${s.version}` : ''}`, ms: s[q] }],
    ),
  );
  return {
    width: 420,
    height: 160,
    title: 'Latency per window (ms)',
    data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 't', type: 'temporal', title: 'window start (UTC)', scale: { type: 'utc' } },
      y: { field: 'ms', type: 'quantitative', title: 'ms' },
      color: { field: 'series', type: 'nominal', legend: { title: null, orient: 'bottom' } },
    },
  };
}

/** Charts shown per model: at most this many features in the ranking. */
export const RANKING_LIMIT = 15;

/** Every chart of one model's section, in report order. Ids are `m<index>-<kind>[-<n>]`. */
export async function modelCharts(data: ModelPeriodData, index: number): Promise<Chart[]> {
  const charts: Chart[] = [];
  const add = async (id: string, title: string, alt: string, spec: TopLevelSpec) => {
    const r = await renderSpec(spec);
    charts.push({ id: `m${index}-${id}`, title, alt, ...r });
  };
  const ranked = data.features.slice(0, RANKING_LIMIT);
  if (ranked.length > 0) {
    const multi = data.versions.length > 1;
    await add(
      'drift',
      'Windows with drift, by feature',
      `Bar chart of the share of windows with drift per feature for model ${data.model}: ${ranked
        .map((f) => `${f.feature} ${f.drifted} of ${f.windows}`)
        .join('; ')}.`,
      driftRankingSpec(ranked, multi),
    );
  }
  for (const [n, d] of data.distributions.entries()) {
    await add(
      `dist-${n}`,
      `${d.feature}: reference vs this period`,
      `Grouped bar chart of the distribution of ${d.feature} in the ${d.referenceType === 'window' ? 'reference window' : 'reference'} (${d.referenceCount} rows) and in this period (${d.currentCount} values over ${d.windows} windows), share per ${
        d.kind === 'numeric' ? 'reference decile bin' : 'category'
      }: ${d.bins.map((b, i) => `${b} ${fmt((d.reference[i] ?? 0) * 100, 1)} % vs ${fmt((d.current[i] ?? 0) * 100, 1)} %`).join('; ')}.`,
      distributionSpec(d),
    );
  }
  const metric = headlineMetric(data);
  if (metric) {
    const realised = data.performance
      .map((p) => p.realised[metric])
      .filter((v): v is number => v !== undefined);
    const estimated = data.performance
      .map((p) => p.estimated[metric])
      .filter((v): v is number => v !== undefined);
    const range = (v: number[]) => (v.length ? `${fmt(Math.min(...v))} to ${fmt(Math.max(...v))}` : 'none');
    await add(
      'performance',
      `Performance over time: ${metric}`,
      `Line chart of ${metric} per window for model ${data.model} over ${data.performance.length} windows: realised ${range(
        realised,
      )}, estimated ${range(estimated)}, label coverage ${range(
        data.performance.map((p) => p.labelCoverage).filter((v): v is number => v !== null),
      )}.`,
      performanceSpec(data, metric),
    );
  }
  if (data.service.some((s) => s.p50 !== null)) {
    await add(
      'latency',
      'Latency per window',
      `Line chart of latency p50, p95 and p99 per window in milliseconds for model ${data.model}; worst p95 ${fmt(
        data.serviceSummary.maxP95,
        2,
      )} ms, worst p99 ${fmt(data.serviceSummary.maxP99, 2)} ms.`,
      latencySpec(data),
    );
  }
  return charts;
}
