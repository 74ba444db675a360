/**
 * The disk spool: where queued documents go when Elasticsearch is unreachable or the memory buffer
 * is full, and where they are replayed from on recovery and on the next start.
 *
 * Format: append-only files `spool-<token>-<seq>.ndjson` in the spool directory, one record a line,
 * `<target data stream>\t<_id>\t<document JSON>\n`. Ids never contain control characters (the logger
 * generates one when a caller's id has any) and JSON.stringify never emits a raw newline or tab, so a
 * line is always one record. Each logger instance owns a token and a lock file `lock-<token>` that
 * holds its pid.
 *
 * Crash safety:
 * - Records are written with one synchronous `write(2)` per batch on an `O_APPEND` descriptor. Once
 *   the call returns the bytes are in the kernel's page cache, so a crash of the process (SIGKILL,
 *   OOM kill, uncaught exception) loses nothing that was spooled.
 * - Power loss or a kernel crash can lose what the kernel had not flushed. `fsync: 'always'` calls
 *   `fdatasync` after every batch; `'interval'` (the default) at most once per `fsyncIntervalMs`
 *   (so at most that much is at risk); `'never'` leaves it to the kernel.
 * - A torn last line (a write cut short by a full disk or a power loss) does not end with `}\n`; the
 *   reader skips it and counts it as dropped.
 * - Replay never deletes a file before every record read from it has reached a final state (indexed,
 *   dead-lettered, dropped, or written again to a newer spool file). Replaying a file twice (after a
 *   crash during replay) is harmless: every record is sent with its `_id` and op_type `create`, and a
 *   409 conflict counts as already indexed. That is what makes delivery exactly-once.
 * - On start, files whose owner is gone (lock file missing, or its pid no longer alive) are adopted
 *   and replayed; files of live owners (another process, or another logger in this process) are left
 *   alone.
 */
import {
  closeSync,
  fdatasyncSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

export type FsyncPolicy = 'always' | 'interval' | 'never';

export interface SpoolOptions {
  dir: string;
  /** Total bytes the spool may hold on disk; beyond it new records are dropped and counted. */
  maxBytes: number;
  /** A file is closed and a new one begun at this size; replay reads one file at a time. */
  fileMaxBytes: number;
  fsync: FsyncPolicy;
  fsyncIntervalMs: number;
}

export interface SpoolRecord {
  index: string;
  id: string;
  doc: string;
  /** Whether an earlier attempt may have stored it (see the shipper's Item); absent = unknown. */
  resend?: boolean;
}

/** A spool file being replayed: deleted when `pending` reaches zero. */
export interface SpoolFileRef {
  path: string;
  size: number;
  pending: number;
}

interface ClosedFile {
  path: string;
  size: number;
  /**
   * True for a file this instance wrote holding only records never sent (spilled from the buffer
   * before any attempt): replaying them needs no look-up for copies. Adopted files are never fresh
   * (nothing is known of them), nor is a file with any re-send in it.
   */
  fresh: boolean;
}

const FILE_RE = /^spool-([0-9a-f]{16})-(\d+)\.ndjson$/;

function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** What a spool directory holds (for close()'s report and `mlmon spool status`). */
export interface SpoolCensus {
  dir: string;
  /** Spool files (`spool-<token>-<seq>.ndjson`). */
  files: number;
  /** Complete records in them (lines ending in a newline); a torn last line is not counted. */
  events: number;
  bytes: number;
  /** Modification time of the oldest file, or undefined when there is none. */
  oldest: Date | undefined;
  /** Of `files`, those whose owner (lock file pid) is still alive: a running logger's, not adoptable. */
  liveFiles: number;
}

/**
 * Counts the records in spool files by reading them (newlines: a record never contains one).
 * `only`, when given, restricts the count to those paths (a logger's own and adopted files).
 * Never throws: an unreadable directory is an empty census.
 */
export function spoolCensus(dir: string, only?: ReadonlySet<string>): SpoolCensus {
  const census: SpoolCensus = { dir, files: 0, events: 0, bytes: 0, oldest: undefined, liveFiles: 0 };
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return census;
  }
  const live = new Map<string, boolean>();
  for (const name of names) {
    const match = FILE_RE.exec(name);
    if (!match) continue;
    const path = join(dir, name);
    if (only && !only.has(path)) continue;
    let data: Buffer;
    let mtime: Date;
    try {
      data = readFileSync(path);
      mtime = statSync(path).mtime;
    } catch {
      continue; // removed meanwhile (replayed by a logger)
    }
    census.files++;
    census.bytes += data.length;
    let lines = 0;
    for (let i = data.indexOf(0x0a); i !== -1; i = data.indexOf(0x0a, i + 1)) lines++;
    census.events += lines;
    if (!census.oldest || mtime < census.oldest) census.oldest = mtime;
    const token = match[1] as string;
    let alive = live.get(token);
    if (alive === undefined) {
      try {
        alive = pidAlive(Number(readFileSync(join(dir, `lock-${token}`), 'utf8')));
      } catch {
        alive = false;
      }
      live.set(token, alive);
    }
    if (alive) census.liveFiles++;
  }
  return census;
}

export class Spool {
  readonly dir: string;
  readonly token = randomBytes(8).toString('hex');
  /** Bytes on disk in files this instance knows about (its own and adopted ones). */
  bytes = 0;
  private fd: number | undefined;
  private currentPath = '';
  private currentSize = 0;
  private currentFresh = true;
  private seq = 0;
  private readonly closed: ClosedFile[] = [];
  /** Files read into memory whose records have not all reached a final state (still on disk). */
  private readonly loading = new Set<string>();
  private dirty = false;
  private lastSync = 0;
  private ready = false;
  private lockPath: string;

  constructor(
    private readonly options: SpoolOptions,
    private readonly warn: (message: string) => void,
  ) {
    this.dir = options.dir;
    this.lockPath = join(this.dir, `lock-${this.token}`);
  }

  /** Creates the directory and lock, and adopts orphaned files. Returns false when the disk refuses. */
  open(): boolean {
    if (this.ready) return true;
    try {
      mkdirSync(this.dir, { recursive: true });
      writeFileSync(this.lockPath, String(process.pid));
      this.ready = true;
    } catch (error) {
      this.warn(`mlmon: spool directory ${this.dir} is not usable: ${(error as Error).message}`);
      return false;
    }
    this.adoptOrphans();
    return true;
  }

  private adoptOrphans(): void {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return;
    }
    const live = new Map<string, boolean>();
    const found: Array<{ path: string; size: number; token: string; seq: number }> = [];
    for (const name of names) {
      const match = FILE_RE.exec(name);
      if (!match) continue;
      const token = match[1] as string;
      if (token === this.token) continue;
      let alive = live.get(token);
      if (alive === undefined) {
        try {
          alive = pidAlive(Number(readFileSync(join(this.dir, `lock-${token}`), 'utf8')));
        } catch {
          alive = false;
        }
        live.set(token, alive);
      }
      if (alive) continue;
      try {
        const path = join(this.dir, name);
        found.push({ path, size: statSync(path).size, token, seq: Number(match[2]) });
      } catch {
        // Another logger adopted and finished it meanwhile.
      }
    }
    // Oldest first: by file modification order is not reliable across owners; seq within an owner is.
    found.sort((a, b) => (a.token === b.token ? a.seq - b.seq : a.token < b.token ? -1 : 1));
    for (const file of found) {
      this.closed.push({ path: file.path, size: file.size, fresh: false });
      this.bytes += file.size;
    }
    // Lock files of dead owners whose files are all adopted are no longer needed.
    for (const [token, alive] of live) {
      if (!alive) rmSync(join(this.dir, `lock-${token}`), { force: true });
    }
  }

  /** The files this instance leaves behind when closed: its own and adopted ones not yet replayed. */
  get paths(): Set<string> {
    const paths = new Set(this.closed.map((f) => f.path));
    if (this.fd !== undefined || this.currentSize > 0) paths.add(this.currentPath);
    for (const path of this.loading) paths.add(path);
    return paths;
  }

  /** True when there is something to replay. */
  get hasData(): boolean {
    return this.closed.length > 0 || this.currentSize > 0;
  }

  /**
   * Appends records; returns how many were written (a prefix of `records`). Fewer than all when the
   * size cap is reached or the disk refuses; the caller drops and counts the rest.
   */
  append(records: readonly SpoolRecord[]): number {
    if (records.length === 0) return 0;
    if (!this.open()) return 0;
    let text = '';
    let fresh = true;
    for (let i = 0; i < records.length; i++) {
      const r = records[i] as SpoolRecord;
      text += `${r.index}\t${r.id}\t${r.doc}\n`;
      if (r.resend !== false) fresh = false;
    }
    // One UTF-8 conversion for the batch; only a batch that would pass the cap is measured per line.
    let buffer = Buffer.from(text, 'utf8');
    let n = records.length;
    if (this.bytes + buffer.length > this.options.maxBytes) {
      text = '';
      let size = 0;
      fresh = true;
      for (n = 0; n < records.length; n++) {
        const r = records[n] as SpoolRecord;
        const line = `${r.index}\t${r.id}\t${r.doc}\n`;
        const lineBytes = Buffer.byteLength(line, 'utf8');
        if (this.bytes + size + lineBytes > this.options.maxBytes) break;
        text += line;
        size += lineBytes;
        if (r.resend !== false) fresh = false;
      }
      if (n === 0) return 0;
      buffer = Buffer.from(text, 'utf8');
    }
    const size = buffer.length;
    try {
      if (this.fd === undefined) {
        this.currentPath = join(
          this.dir,
          `spool-${this.token}-${String(this.seq++).padStart(6, '0')}.ndjson`,
        );
        this.fd = openSync(this.currentPath, 'a');
        this.currentSize = 0;
        this.currentFresh = true;
        if (this.options.fsync === 'always') this.syncDir();
      }
      let written = 0;
      while (written < buffer.length) written += writeSync(this.fd, buffer, written);
      if (!fresh) this.currentFresh = false;
      this.currentSize += size;
      this.bytes += size;
      this.dirty = true;
      if (this.options.fsync === 'always') this.sync();
      else this.tick();
      if (this.currentSize >= this.options.fileMaxBytes) this.rotate();
      return n;
    } catch (error) {
      this.warn(`mlmon: writing to the spool failed: ${(error as Error).message}`);
      this.rotate();
      return 0;
    }
  }

  /** Applies the `interval` fsync policy; called from the flush cycle. */
  tick(now = Date.now()): void {
    if (
      this.dirty &&
      this.options.fsync === 'interval' &&
      now - this.lastSync >= this.options.fsyncIntervalMs
    )
      this.sync(now);
  }

  /** fdatasync now if anything was written since the last one (unless the policy is `never`). */
  syncNow(): void {
    if (this.dirty) this.sync();
  }

  private sync(now = Date.now()): void {
    if (this.fd === undefined || this.options.fsync === 'never') return;
    try {
      fdatasyncSync(this.fd);
    } catch {
      // Reported by the next write if the disk is really gone.
    }
    this.dirty = false;
    this.lastSync = now;
  }

  private syncDir(): void {
    try {
      const fd = openSync(this.dir, 'r');
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    } catch {
      // Not every platform can fsync a directory.
    }
  }

  /** Closes the current file so that it can be replayed. */
  private rotate(): void {
    if (this.fd === undefined) return;
    if (this.dirty) this.sync();
    try {
      closeSync(this.fd);
    } catch {
      // already closed
    }
    this.fd = undefined;
    if (this.currentSize > 0)
      this.closed.push({ path: this.currentPath, size: this.currentSize, fresh: this.currentFresh });
    else rmSync(this.currentPath, { force: true });
    this.currentSize = 0;
  }

  /**
   * Reads the oldest file whose size fits in `room` bytes (a file is always taken when nothing else
   * is in memory, `force`), or undefined. Returns its records and how many lines were torn.
   */
  loadNext(
    room: number,
    force: boolean,
  ): { file: SpoolFileRef; records: SpoolRecord[]; corrupt: number; fresh: boolean } | undefined {
    if (this.closed.length === 0 && this.currentSize > 0) this.rotate();
    const next = this.closed[0];
    if (!next) return undefined;
    if (next.size > room && !force) return undefined;
    this.closed.shift();
    const file: SpoolFileRef = { path: next.path, size: next.size, pending: 0 };
    this.loading.add(next.path);
    let text: string;
    try {
      text = readFileSync(next.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT')
        this.warn(`mlmon: reading spool file ${next.path} failed: ${(error as Error).message}`);
      this.loading.delete(next.path);
      this.bytes -= next.size;
      return { file, records: [], corrupt: 0, fresh: false };
    }
    const records: SpoolRecord[] = [];
    let corrupt = 0;
    let start = 0;
    while (start < text.length) {
      const end = text.indexOf('\n', start);
      if (end === -1) {
        corrupt++; // torn last line
        break;
      }
      const a = text.indexOf('\t', start);
      const b = a === -1 ? -1 : text.indexOf('\t', a + 1);
      if (b === -1 || b > end || text.charCodeAt(b + 1) !== 0x7b || text.charCodeAt(end - 1) !== 0x7d) {
        if (end > start) corrupt++;
      } else {
        records.push({ index: text.slice(start, a), id: text.slice(a + 1, b), doc: text.slice(b + 1, end) });
      }
      start = end + 1;
    }
    file.pending = records.length;
    if (records.length === 0) this.remove(file);
    return { file, records, corrupt, fresh: next.fresh };
  }

  /** One record read from `file` reached a final state. */
  release(file: SpoolFileRef): void {
    if (--file.pending === 0) this.remove(file);
  }

  private remove(file: SpoolFileRef): void {
    this.loading.delete(file.path);
    try {
      unlinkSync(file.path);
    } catch {
      // Adopted by another logger too, and already removed there.
    }
    this.bytes -= file.size;
    if (this.bytes < 0) this.bytes = 0;
  }

  /** Flushes and closes; leftover files stay for the next logger, and the lock goes. */
  close(): void {
    this.rotate();
    if (this.ready) rmSync(this.lockPath, { force: true });
    this.ready = false;
  }
}
