/**
 * Progress of a long step: a bar (cli-progress) when the stream is a terminal, plain lines
 * otherwise (CI logs, pipes, tests), about one per tenth of the work so a log stays short.
 */
import cliProgress from 'cli-progress';

export interface ProgressStep {
  /** `done` units finished so far; `detail` says where the work is (e.g. the simulated date). */
  update(done: number, detail: string): void;
  /** Ends the step with one closing line. */
  stop(summary: string): void;
}

export interface ProgressOptions {
  /** Where progress goes (stderr: stdout carries the summary or the JSON). */
  stream: NodeJS.WritableStream;
  /** Draw a bar; default: when the stream is a terminal. */
  bar?: boolean;
  /** Plain mode: a line each time this share of the total is passed (default 0.1). */
  every?: number;
}

function isTerminal(stream: NodeJS.WritableStream): boolean {
  return (stream as Partial<NodeJS.WriteStream>).isTTY === true;
}

export function startProgress(label: string, total: number, options: ProgressOptions): ProgressStep {
  const started = Date.now();
  const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0)} s`;
  if (options.bar ?? isTerminal(options.stream)) {
    const bar = new cliProgress.SingleBar(
      {
        format: `${label} [{bar}] {value}/{total} {detail} | {duration_formatted}`,
        stream: options.stream as NodeJS.WriteStream,
        hideCursor: true,
        clearOnComplete: true,
        etaBuffer: 20,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { detail: '' });
    return {
      update: (done, detail) => bar.update(done, { detail }),
      stop: (summary) => {
        bar.stop();
        options.stream.write(`${label}: ${summary} (${elapsed()})\n`);
      },
    };
  }
  const every = Math.max(1, Math.ceil(total * (options.every ?? 0.1)));
  let next = every;
  options.stream.write(`${label}: 0/${total}\n`);
  return {
    update: (done, detail) => {
      if (done < next || done >= total) return;
      while (next <= done) next += every;
      options.stream.write(`${label}: ${done}/${total} ${detail} (${elapsed()})\n`);
    },
    stop: (summary) => options.stream.write(`${label}: ${summary} (${elapsed()})\n`),
  };
}
