/**
 * The command layer (src/cli/command.ts), seen from outside: every command run as a child process
 * (`node --import tsx src/cli/main.ts …`, as `npm run mlmon` runs it), asserting exit codes and that
 * every error is one line without a stack trace. Elasticsearch cases use the real test cluster, a
 * closed port, a node:http server answering HTML, and https:// against the plain-HTTP cluster.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
/** Every command as typed after `mlmon` (a subcommand is two words). */
const COMMANDS = [
  'compare',
  'setup',
  'baseline',
  'analyze',
  'demo',
  'schedule',
  'kibana install',
  'kibana export',
  'report',
  'collect',
];
const words = (command: string): string[] => command.split(' ');

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

function mlmon(
  args: string[],
  env: Record<string, string> = {},
  options: { closeStdout?: boolean } = {},
): Promise<Ran> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
      cwd: ROOT,
      env: { ...process.env, MLMON_DEBUG: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    // Closing our end of the pipe at once: every write of the child then fails with EPIPE, as when
    // `head -2` has read its lines and exited.
    if (options.closeStdout) child.stdout.destroy();
    else child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolveRun({ code, stdout, stderr }));
  });
}

/** One line on stderr, with no stack frame and no raw dump. */
function expectOneLine(stderr: string): string {
  const lines = stderr.split('\n').filter((l) => l !== '');
  expect(lines, stderr).toHaveLength(1);
  expect(stderr).not.toMatch(/^\s+at /m);
  return lines[0] as string;
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlmon-cli-'));
  await writeFile(join(dir, 'ref.csv'), 'id,x,y\n1,1,5\n2,2,6\n3,3,7\n');
  await writeFile(join(dir, 'cur.csv'), 'id,x,y\n4,1,5\n5,2,6\n6,3,9\n');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('every command: usage errors', () => {
  it.each(COMMANDS)('%s: an unknown flag exits 2 with one line', async (command) => {
    const r = await mlmon([...words(command), '--bogus']);
    expect(r.code).toBe(2);
    expect(expectOneLine(r.stderr)).toBe(
      `mlmon ${command}: unknown option --bogus (see mlmon ${command} --help)`,
    );
    expect(r.stdout).toBe('');
  });

  it('kibana without a known subcommand exits 2 with one line; kibana --help lists both', async () => {
    for (const [args, line] of [
      [[], 'mlmon kibana: a subcommand is needed: install or export (see mlmon kibana --help)'],
      [
        ['--dry-run', 'install'],
        'mlmon kibana: unknown subcommand "--dry-run": expected install or export (see mlmon kibana --help)',
      ],
      [
        ['import'],
        'mlmon kibana: unknown subcommand "import": expected install or export (see mlmon kibana --help)',
      ],
    ] as const) {
      const r = await mlmon(['kibana', ...args]);
      expect(r.code).toBe(2);
      expect(expectOneLine(r.stderr)).toBe(line);
      expect(r.stdout).toBe('');
    }
    const help = await mlmon(['kibana', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: mlmon kibana install .*\n {7}mlmon kibana export /);
    expect(help.stdout).toContain('Exit codes (every mlmon command):');
  });

  it('mlmon itself: an unknown flag or command exits 2 with one line', async () => {
    for (const arg of ['--bogus', 'frobnicate']) {
      const r = await mlmon([arg]);
      expect(r.code).toBe(2);
      expect(expectOneLine(r.stderr)).toContain(arg);
    }
  });

  it.each(COMMANDS)('%s --help lists the exit codes', async (command) => {
    const r = await mlmon([...words(command), '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Usage: mlmon ${command}`);
    expect(r.stdout).toContain('Exit codes (every mlmon command):');
    for (const code of ['0  success', '1  failure', '2  usage error', '3  nothing to analyze'])
      expect(r.stdout).toContain(`  ${code}`);
  });

  it('mlmon --version prints the version in package.json', async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const r = await mlmon(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`mlmon ${pkg.version}\n`);
    expect((await mlmon(['--help'])).stdout).toContain('mlmon --version');
  });

  it('--window -1h is a value the duration parser refuses, not "argument is ambiguous"', async () => {
    const r = await mlmon(['analyze', '--model', 'm', '--from', 'now-1d', '--to', 'now', '--window', '-1h']);
    expect(r.code).toBe(2);
    expect(expectOneLine(r.stderr)).toBe(
      'mlmon analyze: --window: "-1h" is not a positive duration: use a number and a unit, e.g. 15m, 1h, 1d, 1w (see mlmon analyze --help)',
    );
  });

  it('an impossible date is refused, not rolled over to March 2', async () => {
    const r = await mlmon([
      'analyze',
      '--model',
      'm',
      '--from',
      '2026-02-30T00:00:00Z',
      '--to',
      '2026-03-05T00:00:00Z',
      '--window',
      '1h',
    ]);
    expect(r.code).toBe(2);
    // 2026 is not a leap year: February has 28 days.
    expect(expectOneLine(r.stderr)).toContain(
      '--from: "2026-02-30T00:00:00Z" is not a real date: February 2026 has 28 days',
    );
    const b = await mlmon([
      'baseline',
      '--model',
      'm',
      '--version',
      '1',
      '--from',
      '2026-04-31',
      '--to',
      'now',
    ]);
    expect(b.code).toBe(2);
    expect(expectOneLine(b.stderr)).toContain('April 2026 has 30 days');
  });

  it('an option given twice is an error unless it is repeatable', async () => {
    const r = await mlmon(['analyze', '--model', 'a', '--model', 'b']);
    expect(r.code).toBe(2);
    expect(expectOneLine(r.stderr)).toContain('--model is given twice ("a" and "b"); give it once');
    const s = await mlmon(['setup', '--dry-run', '--dry-run']);
    expect(s.code).toBe(2);
    expect(expectOneLine(s.stderr)).toContain('--dry-run is given twice');
    // compare --exclude is repeatable: both columns are left out.
    const c = await mlmon([
      'compare',
      '--reference',
      join(dir, 'ref.csv'),
      '--current',
      join(dir, 'cur.csv'),
      '--exclude',
      'id',
      '--exclude',
      'y',
      '--format',
      'json',
    ]);
    // 3-row files: the small-sample notes (issue 21) are all there is on stderr.
    expect(c.stderr.replace(/^note: the (reference|current file) has 3 rows: .*\n/gm, '')).toBe('');
    expect(c.code).toBe(0);
    expect(
      (JSON.parse(c.stdout) as { features: Array<{ name: string }> }).features.map((f) => f.name),
    ).toEqual(['x']);
  });

  it('--format is validated the same way by every command that has it', async () => {
    const withFormat = ['compare', 'setup', 'baseline', 'analyze', 'demo', 'kibana install'];
    for (const command of [...withFormat, 'kibana export', 'report']) {
      const r = await mlmon([...words(command), '--format', 'xml']);
      expect(r.code).toBe(2);
      expect(expectOneLine(r.stderr)).toBe(
        `mlmon ${command}: --format: must be table or json, not "xml" (see mlmon ${command} --help)`,
      );
    }
    // Eight processes one after the other: 60 s was not enough at load 30 (2 cores).
  }, 240_000);

  describe('a usage error is found before anything is contacted', () => {
    // ES_URL and KIBANA_URL point at a server that counts the requests it gets: it must get none.
    let requests = 0;
    let recorder: Server;
    let env: Record<string, string>;
    beforeAll(async () => {
      recorder = createServer((_req, res) => {
        requests++;
        res.writeHead(500).end();
      });
      await new Promise<void>((r) => recorder.listen(0, '127.0.0.1', r));
      const url = `http://127.0.0.1:${(recorder.address() as AddressInfo).port}`;
      env = { ES_URL: url, KIBANA_URL: url, SMTP_URL: '', SMTP_FROM: '', ALERT_EMAIL_TO: '' };
    });
    afterAll(async () => {
      await new Promise<void>((r) => recorder.close(() => r()));
    });

    it.each([
      [
        ['demo', '--rows', 'abc'],
        'mlmon demo: --rows: must be a positive integer, not "abc" (see mlmon demo --help)',
      ],
      [
        ['kibana', 'install', '--quality-threshold', '1.5'],
        'mlmon kibana install: --quality-threshold: must be a rate below 1, not "1.5" (see mlmon kibana install --help)',
      ],
      [
        ['kibana', 'install', '--email-to', 'oncall@example.org'],
        'mlmon kibana install: e-mail alerts need SMTP_URL (smtp://user:pass@host:port)',
      ],
      [
        ['report', '--model', 'm', '--from', '2026-02-30', '--to', 'now', '--format', 'json'],
        // 2026 is not a leap year.
        'mlmon report: --from: "2026-02-30" is not a real date: February 2026 has 28 days',
      ],
      [
        ['report', '--model', 'm', '--last', '1d'],
        'mlmon report: nothing to do: give --out file.html, --to recipients (with SMTP_URL), or --format json',
      ],
      [
        ['report', '--model', 'm', '--last', '1d', '--to', 'ops@example.org'],
        'mlmon report: --to needs an SMTP server: set SMTP_URL (smtp://user:pass@host:587) or smtp.url',
      ],
    ])('%j exits 2 without a request', async (args, line) => {
      const r = await mlmon(args, env);
      expect(r.code).toBe(2);
      expect(expectOneLine(r.stderr)).toBe(line);
      expect(r.stdout).toBe('');
      expect(requests).toBe(0);
    });
  });
});

describe('connection errors and closed pipes: one line', () => {
  let html: Server;
  let htmlUrl: string;
  beforeAll(async () => {
    // A web server where Elasticsearch was expected: every path answers 404 with an HTML page.
    const page = `<!DOCTYPE html>\n<html>\n<head><title>Not Found</title></head>\n<body>\n${'<p>nothing here</p>\n'.repeat(200)}</body>\n</html>\n`;
    html = createServer((_req, res) => {
      res.writeHead(404, { 'content-type': 'text/html' });
      res.end(page);
    });
    await new Promise<void>((r) => html.listen(0, '127.0.0.1', r));
    htmlUrl = `http://127.0.0.1:${(html.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((r) => html.close(() => r()));
  });

  // Two commands that reach Elasticsearch by different paths: setup through ES_URL, report through
  // createClient with the (absent) configuration file's settings.
  const esCommands = [
    ['setup', '--dry-run'],
    ['report', '--model', 'm', '--last', '1d', '--format', 'json'],
  ];

  it.each(esCommands)(
    '%s: a server answering HTML: status and "not Elasticsearch", not the page',
    async (...args) => {
      const r = await mlmon(args, { ES_URL: htmlUrl });
      expect(r.code).toBe(1);
      expect(expectOneLine(r.stderr)).toBe(
        `mlmon ${args[0]}: The server at ${htmlUrl} answered 404 with an HTML page ("Not Found") and is not Elasticsearch: check ES_URL (host, port, path)`,
      );
      expect(r.stdout).toBe('');
    },
  );

  it.each(esCommands)(
    '%s: https:// to the plain-HTTP cluster: an explanation, not an OpenSSL string',
    async (...args) => {
      const plain = new URL(inject('esUrl'));
      const url = `https://${plain.host}`;
      const r = await mlmon(args, { ES_URL: url });
      expect(r.code).toBe(1);
      expect(expectOneLine(r.stderr)).toBe(
        `mlmon ${args[0]}: Cannot reach Elasticsearch at ${url}: the TLS handshake failed because the server answers plain HTTP on that port; use http:// in ES_URL (or enable TLS on the cluster)`,
      );
    },
  );

  it('kibana install: a server answering HTML is named as such, not quoted', async () => {
    const r = await mlmon(['kibana', 'install'], { KIBANA_URL: htmlUrl });
    expect(r.code).toBe(1);
    // The double answers 404 with <title>Not Found</title> (above); the installer's first request
    // reads /api/status.
    expect(expectOneLine(r.stderr)).toBe(
      `mlmon kibana install: reading /api/status failed: 404 an HTML page ("Not Found"), not Kibana's JSON: is ${htmlUrl} Kibana?`,
    );
  });

  it('kibana install: https:// to a plain-HTTP server: an explanation, not "EPROTO"', async () => {
    const plain = new URL(inject('esUrl'));
    const url = `https://${plain.host}`;
    const r = await mlmon(['kibana', 'install'], { KIBANA_URL: url });
    expect(r.code).toBe(1);
    expect(expectOneLine(r.stderr)).toBe(
      `mlmon kibana install: Kibana at ${url} does not speak TLS: it answered in plain HTTP (use http://)`,
    );
  });

  it('setup --dry-run | head: a reader that went away ends the command quietly', async () => {
    const r = await mlmon(['setup', '--dry-run'], { ES_URL: inject('esUrl') }, { closeStdout: true });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
});
