// Keeps one child process running, as a container runtime restarts a crashed
// container: an exit nobody asked for is logged with its code or signal, and the
// process is started again after a backoff that doubles from `minDelayMs` to
// `maxDelayMs` and starts over once a run has lasted `resetAfterMs`.

/**
 * `spawn()` starts the process and returns its ChildProcess; `beforeRestart()` runs
 * after an exit and before the next spawn (reaping what the dead process left);
 * `log(line)` receives one line per exit and restart.
 */
export function supervise({ name, spawn, beforeRestart = () => {}, log, minDelayMs = 500, maxDelayMs = 30_000, resetAfterMs = 60_000 }) {
  let child = null;
  let stopped = false;
  let delayMs = minDelayMs;
  let restarts = 0;
  let timer = null;

  const start = () => {
    const startedAt = Date.now();
    child = spawn();
    child.once("exit", (code, signal) => {
      if (stopped) return;
      const ranMs = Date.now() - startedAt;
      if (ranMs >= resetAfterMs) delayMs = minDelayMs;
      const why = signal ? `signal ${signal}` : `code ${code}`;
      log(`[supervise] ${name} exited (${why}) after ${(ranMs / 1000).toFixed(1)} s; restarting in ${delayMs} ms`);
      const wait = delayMs;
      delayMs = Math.min(maxDelayMs, delayMs * 2);
      timer = setTimeout(async () => {
        timer = null;
        if (stopped) return;
        await beforeRestart();
        if (stopped) return;
        restarts += 1;
        log(`[supervise] ${name} restart #${restarts}`);
        start();
      }, wait);
    });
  };
  start();

  return {
    get child() {
      return child;
    },
    get restarts() {
      return restarts;
    },
    /** No restart after this; the caller stops the current child. */
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
