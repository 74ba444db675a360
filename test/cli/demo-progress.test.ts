/**
 * The demo's progress reporting when the stream is not a terminal (CI, pipes): a first line, one
 * line each time another tenth of the work is done (13 of 130 units here), and a closing line;
 * never a bar's control characters.
 */
import { describe, expect, it } from 'vitest';
import { startProgress } from '../../src/cli/demo/progress.js';

describe('demo progress', () => {
  it('plain lines per tenth of 130 windows when the stream is not a terminal', () => {
    let written = '';
    const stream = { write: (s: string) => ((written += s), true) } as unknown as NodeJS.WritableStream;
    const step = startProgress('weekly windows', 130, { stream });
    for (let k = 1; k <= 130; k++) step.update(k, `to week ${k}`);
    step.stop('done');
    const lines = written.trimEnd().split('\n');
    // 0/130, then 13, 26, …, 117 (130 itself is left to the closing line), then the closing line
    expect(lines[0]).toBe('weekly windows: 0/130');
    expect(lines.slice(1, -1).map((l) => /: (\d+)\/130 to week \1 \(\d+ s\)$/.exec(l)?.[1])).toEqual([
      '13',
      '26',
      '39',
      '52',
      '65',
      '78',
      '91',
      '104',
      '117',
    ]);
    expect(lines.at(-1)).toMatch(/^weekly windows: done \(\d+ s\)$/);
    expect(written.includes('\u001b')).toBe(false);
  });
});
