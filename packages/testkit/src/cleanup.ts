// Children started by the testkit must not outlive the test process, even when a test forgets to stop
// them or the runner is interrupted. 'exit' handlers must be synchronous, so each entry is a sync kill.

type Cleanup = () => void;

const cleanups = new Set<Cleanup>();
let installed = false;

function runAll(): void {
  for (const cleanup of cleanups) {
    try {
      cleanup();
    } catch {
      // Best effort: the child may already be gone.
    }
  }
  cleanups.clear();
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', runAll);
  // A signal without a listener kills Node without emitting 'exit'. Listening changes that default, so
  // when ours is the only listener we re-raise the signal after cleaning up to keep the usual behaviour.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      runAll();
      if (process.listenerCount(signal) === 1) {
        process.off(signal, onSignal);
        process.kill(process.pid, signal);
      }
    };
    process.on(signal, onSignal);
  }
}

/** Registers a synchronous cleanup to run if the test process exits; returns a function that unregisters it. */
export function onTestProcessExit(cleanup: Cleanup): () => void {
  install();
  cleanups.add(cleanup);
  return () => {
    cleanups.delete(cleanup);
  };
}
