/** The names → jobs map the scheduler runs from (the contract of a job is in contract.ts). */
import type { MlmonConfig } from '../../schema/config.js';
import type { WindowJob } from './contract.js';

/** Names → jobs. The CLI builds the default one; the lead registers `drift`, `quality`, `performance`, `service`. */
export class JobRegistry {
  private readonly jobs = new Map<string, WindowJob>();

  register(name: string, job: WindowJob): this {
    if (this.jobs.has(name)) throw new Error(`job "${name}" is already registered`);
    this.jobs.set(name, job);
    return this;
  }

  /** Replaces a registered job (tests, wrappers). */
  replace(name: string, job: WindowJob): this {
    this.jobs.set(name, job);
    return this;
  }

  get(name: string): WindowJob | undefined {
    return this.jobs.get(name);
  }

  has(name: string): boolean {
    return this.jobs.has(name);
  }

  names(): string[] {
    return [...this.jobs.keys()].sort();
  }
}

/** A message naming every configured job the registry lacks, or undefined when all are known. */
export function unknownJobs(config: MlmonConfig, registry: JobRegistry): string | undefined {
  const unknown: string[] = [];
  config.models.forEach((model, i) =>
    model.jobs.forEach((entry, k) => {
      if (!registry.has(entry.name)) unknown.push(`models[${i}].jobs[${k}]: unknown job "${entry.name}"`);
    }),
  );
  if (unknown.length === 0) return undefined;
  return `${unknown.join('; ')} (registered jobs: ${registry.names().join(', ') || 'none'})`;
}
