import type { Reporter } from "../pipeline/reporter";

const BATCH_LINES = 100;
const BATCH_MS = 500;

/**
 * The lines a task's process writes, sent as `task_log` events: each stamped when it
 * was read, in batches of up to BATCH_LINES sent at most BATCH_MS after their first
 * line, so a chatty process costs one event per batch, not per line.
 */
export class TaskLog {
  private lines: { at: string; text: string }[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly reporter: Reporter,
    private readonly taskId: string,
  ) {}

  add(text: string): void {
    this.lines.push({ at: new Date().toISOString(), text });
    if (this.lines.length >= BATCH_LINES) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), BATCH_MS);
  }

  /** Sends what is waiting; the task's later events queue behind it. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.lines.length === 0) return;
    const lines = this.lines;
    this.lines = [];
    void this.reporter.send({ type: "task_log", task_id: this.taskId, lines });
  }
}
