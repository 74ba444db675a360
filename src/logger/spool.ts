/**
 * The disk spool: where queued documents go when Elasticsearch is unreachable or the memory buffer
 * is full, and where they are replayed from on recovery and on the next start.
 *
 * Format: append-only files `spool-<token>-<seq>.ndjson` in the spool directory, one record a line,
 * `<target data stream>\t<_id>\t<document JSON>\n`. Ids never contain control characters (the logger
 * generates one when a caller's id has any) and JSON.stringify never emits a raw newline or tab, so a
 * line is always one record. Each logger instance owns a token and a lock file `lock-<token>`.
 *
 * Ownership (who may replay a file): a process id alone cannot tell, because in a container the
 * service is pid 1 before and after a restart, and two replicas sharing a volume are both pid 1.
 * So the lock file holds the owner's pid and pid namespace (`<hostname>/pid:[inode]`), and its
 * modification time is a heartbeat, touched every `staleMs / 3`. An owner is gone when its lock
 * is missing, when it ran in our own pid namespace and its pid is dead (or is our pid, under a
 * token this process never had: an earlier process), or when its heartbeat is older than
 * `staleMs` (default 30 s): the only test that works across pid namespaces, a container restart
 * included. Why a heartbeat and not `flock(2)`: Node has no file locks, the npm packages that add
 * them are native addons to compile, and flock is unreliable on network volumes; a heartbeat is
 * plain file metadata. The price: a restarted container adopts its predecessor's files up to
 * `staleMs` after the predecessor died, and an owner whose event loop is blocked for longer than
 * `staleMs` may be taken for dead.
 * A gone owner's file is claimed by renaming it to the adopter's token (rename is atomic: of two
 * processes adopting at once, one gets the file, the other ENOENT), so each file has one replayer.
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
 * - On start, and at every heartbeat, files whose owner is gone are adopted and replayed; files of
 *   live owners (another process, or another logger in this process) are left alone.
 */
import {
  closeSync,
  fdatasyncSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
  utimesSync,
  writeSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
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
  /** An owner whose lock's heartbeat is older than this is gone (default 30 s; see above). */
  staleMs?: number;
}

export const DEFAULT_STALE_MS = 30_000;

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
  /** Claimed from a gone owner (its records count as `recovered`). */
  adopted: boolean;
}

const FILE_RE = /^spool-([0-9a-f]{16})-(\d+)\.ndjson$/;

/** Tokens of the spools open in this process: their owner is alive by definition. */
const openTokens = new Set<string>();

/** This process's pid namespace, `<hostname>/pid:[inode]`; undefined where /proc cannot tell. */
let namespaceKey: string | undefined | null = null;
function pidNamespace(): string | undefined {
  if (namespaceKey === null) {
    try {
      namespaceKey = `${hostname()}/${readlinkSync('/proc/self/ns/pid')}`;
    } catch {
      namespaceKey = undefined;
    }
  }
  return namespaceKey;
}

/** What a lock file holds: `<pid>\n<pid namespace>\n`. */
function lockText(): string {
  return `${process.pid}\n${pidNamespace() ?? ''}\n`;
}

/**
 * Whether the logger that owns `token` is still running (see "Ownership" above). Never throws: an
 * unreadable lock is a gone owner.
 */
export function ownerAlive(
  dir: string,
  token: string,
  staleMs = DEFAULT_STALE_MS,
  now = Date.now(),
): boolean {
  if (openTokens.has(token)) return true;
  const path = join(dir, `lock-${token}`);
  let text: string;
  let beat: number;
  try {
    text = readFileSync(path, 'utf8');
    beat = statSync(path).mtimeMs;
  } catch {
    return false;
  }
  const [pidText = '', ns = ''] = text.split('\n');
  const pid = Number(pidText);
  const ours = pidNamespace();
  if (ours !== undefined && ns === ours) {
    // Same pid namespace: the pid means something. Ours under a token we never had is an earlier
    // process (pid reuse); a dead one is gone. A live one still needs a fresh heartbeat below (the
    // pid may have been reused after a reboot).
    if (pid === process.pid || !pidAlive(pid)) return false;
  }
  return now - beat < staleMs;
}

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
  /** Of `files`, those whose owner is still alive (see `ownerAlive`): a running logger's, not adoptable. */
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
      alive = ownerAlive(dir, token);
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
  private readonly staleMs: number;
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: SpoolOptions,
    private readonly warn: (message: string) => void,
  ) {
    this.dir = options.dir;
    this.lockPath = join(this.dir, `lock-${this.token}`);
    this.staleMs = options.staleMs ?? DEFAULT_STALE_MS;
  }

  /** Creates the directory and lock, and adopts orphaned files. Returns false when the disk refuses. */
  open(): boolean {
    if (this.ready) return true;
    try {
      mkdirSync(this.dir, { recursive: true });
      writeFileSync(this.lockPath, lockText());
      this.ready = true;
    } catch (error) {
      this.warn(`mlmon: spool directory ${this.dir} is not usable: ${(error as Error).message}`);
      return false;
    }
    openTokens.add(this.token);
    this.adoptOrphans();
    // The heartbeat: a timer of its own, so that it beats however long the flush interval is.
    this.heartbeat = setInterval(() => this.beat(), Math.max(10, Math.floor(this.staleMs / 3)));
    this.heartbeat.unref();
    return true;
  }

  /** Touches the lock (we are alive) and adopts what gone owners left meanwhile. */
  private beat(): void {
    if (!this.ready) return;
    const now = new Date();
    try {
      utimesSync(this.lockPath, now, now);
    } catch {
      // Our lock was removed: another process took us for gone (our event loop was blocked past
      // staleMs) and adopted our closed files. Start a new file, so nothing more goes into a file
      // it may be replaying, and take the lock again.
      this.warn(
        `mlmon: the spool lock ${this.lockPath} was taken for stale and removed (was the event loop ` +
          `blocked longer than ${this.staleMs} ms?); writing on in a new file`,
      );
      this.rotate();
      try {
        writeFileSync(this.lockPath, lockText());
      } catch {
        // The next beat tries again.
      }
    }
    this.adoptOrphans();
  }

  private adoptOrphans(): void {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return;
    }
    const live = new Map<string, boolean>();
    const now = Date.now();
    const found: Array<{ name: string; token: string; seq: number }> = [];
    for (const name of names) {
      const match = FILE_RE.exec(name);
      if (!match) continue;
      const token = match[1] as string;
      if (token === this.token) continue;
      let alive = live.get(token);
      if (alive === undefined) {
        alive = ownerAlive(this.dir, token, this.staleMs, now);
        live.set(token, alive);
      }
      if (!alive) found.push({ name, token, seq: Number(match[2]) });
    }
    // Oldest first: file modification order is not reliable across owners; seq within an owner is.
    found.sort((a, b) => (a.token === b.token ? a.seq - b.seq : a.token < b.token ? -1 : 1));
    for (const file of found) {
      // Claim by renaming to our token: atomic, so exactly one adopter gets each file.
      const path = join(this.dir, `spool-${this.token}-${String(this.seq++).padStart(6, '0')}.ndjson`);
      try {
        renameSync(join(this.dir, file.name), path);
        this.closed.push({ path, size: statSync(path).size, fresh: false, adopted: true });
        this.bytes += statSync(path).size;
      } catch {
        // Another logger claimed it first.
      }
    }
    // Lock files of gone owners whose files are all claimed are no longer needed.
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
      this.closed.push({
        path: this.currentPath,
        size: this.currentSize,
        fresh: this.currentFresh,
        adopted: false,
      });
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
  ):
    | { file: SpoolFileRef; records: SpoolRecord[]; corrupt: number; fresh: boolean; adopted: boolean }
    | undefined {
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
      return { file, records: [], corrupt: 0, fresh: false, adopted: next.adopted };
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
    return { file, records, corrupt, fresh: next.fresh, adopted: next.adopted };
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
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    if (this.ready) rmSync(this.lockPath, { force: true });
    openTokens.delete(this.token);
    this.ready = false;
  }
}
