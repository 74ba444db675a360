/**
 * The committed form of mlmon's Kibana objects: `kibana/mlmon.ndjson` (saved objects, as the
 * saved-objects import API takes them), `kibana/rules/<id>.json` and `kibana/connectors/<id>.json`
 * (HTTP API bodies for the example settings below). `mlmon kibana export` writes them; a test fails
 * when the committed files differ from what the code generates.
 */
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DASHBOARDS, dashboardObject, linksObject } from './dashboards.js';
import { lensObject } from './lens.js';
import {
  connectors,
  DEFAULT_ALERT_SETTINGS,
  rules,
  type AlertSettings,
  type Connector,
  type Rule,
} from './rules.js';
import { DATA_VIEW_KINDS, dataView, type SavedObject } from './saved-objects.js';
import { vegaObject } from './vega.js';

/** Settings of the committed example rules (the installer builds them from the user's settings). */
export const EXAMPLE_ALERT_SETTINGS: AlertSettings = {
  ...DEFAULT_ALERT_SETTINGS,
  email: {
    from: 'mlmon@example.com',
    host: 'smtp.example.com',
    port: 587,
    secure: false,
    to: ['ml-oncall@example.com'],
  },
};

/** Every saved object, referenced objects before the objects referencing them. */
export function savedObjects(): SavedObject[] {
  return [
    ...DATA_VIEW_KINDS.map((k) => dataView(k)),
    ...DASHBOARDS.flatMap((d) => d.panels.map((p) => lensObject(p))),
    ...DASHBOARDS.flatMap((d) => (d.vega ?? []).map((p) => vegaObject(p))),
    linksObject(),
    ...DASHBOARDS.map((d) => dashboardObject(d)),
  ];
}

export function toNdjson(objects: readonly SavedObject[]): string {
  return objects.map((o) => JSON.stringify(o)).join('\n') + '\n';
}

export interface ExportFiles {
  /** Path relative to the kibana/ folder → content. */
  [path: string]: string;
}

const pretty = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;

export function exportFiles(settings: AlertSettings = EXAMPLE_ALERT_SETTINGS): ExportFiles {
  const files: ExportFiles = { 'mlmon.ndjson': toNdjson(savedObjects()) };
  for (const r of rules(settings)) files[`rules/${r.id}.json`] = pretty(r satisfies Rule);
  for (const c of connectors(settings)) {
    // secrets never leave the installer; the example has none anyway
    const { secrets: _secrets, ...rest } = c satisfies Connector;
    files[`connectors/${c.id}.json`] = pretty({ ...rest, secrets: {} });
  }
  return files;
}

/** Writes the files under `dir` (the repository's kibana/), removing stale rule and connector files. */
export async function writeExport(dir: string): Promise<string[]> {
  const files = exportFiles();
  for (const sub of ['rules', 'connectors']) {
    await mkdir(join(dir, sub), { recursive: true });
    for (const name of await readdir(join(dir, sub))) {
      if (name.endsWith('.json') && !files[`${sub}/${name}`]) await rm(join(dir, sub, name));
    }
  }
  for (const [path, content] of Object.entries(files)) await writeFile(join(dir, path), content);
  return Object.keys(files).sort();
}
