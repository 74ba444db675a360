/**
 * One process-wide hook that spills every open logger's memory buffer to its spool when the
 * process ends: on `exit`, and on the signals that end a process by default (SIGTERM, SIGINT,
 * SIGHUP…), which do not emit `exit`. `signal-exit` (npm, the hook nyc and write-file-atomic use)
 * does the signal part right: it runs us only when the application has no handler of its own for
 * that signal, then re-raises the signal so the process ends as it would have; an application
 * that handles SIGTERM itself (e.g. to call `close()`) keeps full control, and its `process.exit`
 * runs us through `exit`. One hook for all loggers: a listener per logger tripped Node's
 * MaxListeners warning at the eleventh.
 */
import { onExit } from 'signal-exit';

export interface ExitSpiller {
  /** Synchronously writes what is in memory to the spool. `final`: the process is certainly ending. */
  spillOnExit(final: boolean): void;
}

const open = new Set<ExitSpiller>();
let remove: (() => void) | undefined;

function hook(): void {
  remove = onExit((_code, signal) => {
    for (const spiller of open) spiller.spillOnExit(signal === null);
    if (signal !== null) {
      // Re-raised, the signal normally ends the process before this runs. It does not when the
      // default action is ignored (Node as pid 1 of a container with no handler: the kernel drops
      // SIGTERM); the process goes on, so hook again (signal-exit unloaded itself).
      setImmediate(() => {
        remove?.();
        remove = undefined;
        if (open.size > 0) hook();
      });
    }
  });
}

export function registerExitSpill(spiller: ExitSpiller): void {
  open.add(spiller);
  if (!remove) hook();
}

export function unregisterExitSpill(spiller: ExitSpiller): void {
  open.delete(spiller);
  if (open.size === 0 && remove) {
    remove();
    remove = undefined;
  }
}
