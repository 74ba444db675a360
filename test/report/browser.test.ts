/**
 * `mlmon report --out` on results the real analyzer wrote, opened in Debian's headless Chromium
 * (playwright-core): every chart image loads with a non-zero size, the page logs no error, the
 * hostile feature name fires no dialog, and nothing is fetched from the network (the file is
 * self-contained). A screenshot is saved under test-output/.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { reportCommand } from '../../src/cli/commands/report.js';
import { testClient, uniqueNamespace } from '../helpers/es.js';
import { dropNamespace } from '../performance/fixtures.js';
import { DAY, DAY2, HOSTILE_FEATURE, HOSTILE_MODEL, seedReplay } from './fixtures.js';

const OUTPUT = join(import.meta.dirname, '../../test-output');
const CHROMIUM = '/usr/bin/chromium';
const LAUNCH_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
];

function memoryIo() {
  let stdout = '';
  let stderr = '';
  const sink = (append: (s: string) => void) =>
    ({
      write: (chunk: string | Buffer) => {
        append(String(chunk));
        return true;
      },
    }) as unknown as NodeJS.WritableStream;
  return {
    io: { stdout: sink((s) => (stdout += s)), stderr: sink((s) => (stderr += s)) },
    out: () => stdout,
    err: () => stderr,
  };
}

describe('the HTML report in a real browser', () => {
  const client = testClient();
  const namespace = uniqueNamespace('rptb');
  let browser: Browser;

  beforeAll(async () => {
    await seedReplay(client, namespace);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
  }, 240_000);
  afterAll(async () => {
    await browser?.close();
    await dropNamespace(client, namespace, [HOSTILE_MODEL]);
    await client.close();
  });

  it('mlmon report --out writes a file whose charts all load, without errors or dialogs', async () => {
    mkdirSync(OUTPUT, { recursive: true });
    const file = join(OUTPUT, 'report.html');
    const { io, out, err } = memoryIo();
    process.env.ES_URL = inject('esUrl');
    const code = await reportCommand(
      [
        '--model',
        HOSTILE_MODEL,
        '--namespace',
        namespace,
        '--from',
        new Date(DAY2).toISOString(),
        '--to',
        new Date(DAY2 + DAY).toISOString(),
        '--out',
        file,
      ],
      io,
    );
    expect(err()).toBe('');
    expect(code).toBe(0);
    expect(out()).toContain(`wrote ${file} (6 charts)`);
    expect(out()).toContain(`drifting: ${HOSTILE_MODEL} is drifting`);
    expect(existsSync(file)).toBe(true);
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain(HOSTILE_FEATURE);
    expect(text).toContain('&lt;img src=x onerror=alert(1)&gt;');

    const page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
    const problems: string[] = [];
    const dialogs: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    page.on('request', (r) => {
      if (!r.url().startsWith('file:') && !r.url().startsWith('data:')) requests.push(r.url());
    });
    await page.goto(`file://${file}`, { waitUntil: 'load' });
    const images = await page.$$eval('img', (imgs) =>
      imgs.map((i) => ({
        complete: i.complete,
        naturalWidth: i.naturalWidth,
        naturalHeight: i.naturalHeight,
        alt: i.alt,
        chart: i.dataset.chart ?? '',
      })),
    );
    // drift ranking, 3 distributions, performance, latency
    expect(images.map((i) => i.chart)).toEqual([
      'm0-drift',
      'm0-dist-0',
      'm0-dist-1',
      'm0-dist-2',
      'm0-performance',
      'm0-latency',
    ]);
    for (const image of images) {
      expect(image.complete).toBe(true);
      expect(image.naturalWidth).toBeGreaterThan(300);
      expect(image.naturalHeight).toBeGreaterThan(100);
      expect(image.alt.length).toBeGreaterThan(40);
    }
    // The hostile name is text on the page, not an element.
    const cells = await page.$$eval('table.drift td', (tds) => tds.map((td) => td.textContent));
    expect(cells).toContain(HOSTILE_FEATURE);
    expect(await page.locator('img[src="x"]').count()).toBe(0);
    expect(await page.locator('h2').first().textContent()).toBe(`Model ${HOSTILE_MODEL}`);
    expect(await page.locator('.verdict').getAttribute('data-status')).toBe('drifting');
    await page.screenshot({ path: join(OUTPUT, 'report.png'), fullPage: true });
    expect(dialogs).toEqual([]);
    expect(problems).toEqual([]);
    expect(requests).toEqual([]);
    await page.close();
  });
});
