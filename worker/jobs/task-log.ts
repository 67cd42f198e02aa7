import type { TaskStatus } from "./model";

/** One line a task's process wrote, stamped by the encoder when it read it. */
export type TaskLogLine = { at: string; text: string };

/** A task's log as the API shows it. */
export interface TaskLogView {
  task_id: string;
  status: TaskStatus;
  lines: TaskLogLine[];
  /** Older lines no longer kept. */
  dropped: number;
}

export interface TaskLogLimits {
  lines: number;
  /** UTF-8 bytes of the kept lines' text. */
  bytes: number;
}

/** What each task keeps: its newest lines within both limits, the oldest dropped first. */
export const TASK_LOG_LIMITS: TaskLogLimits = { lines: 1000, bytes: 256 * 1024 };

const utf8 = new TextEncoder();

/**
 * The tasks' logs in the JobDO's SQLite storage, in tables of their own: the job is one
 * JSON document rewritten whole on every event, which a log growing with every line of
 * ffmpeg's stderr would make ever larger. Lines of a task are numbered; `task_log` holds
 * the range still kept and how many were dropped before it.
 */
export class TaskLogs {
  constructor(
    private readonly sql: SqlStorage,
    private readonly limits: TaskLogLimits = TASK_LOG_LIMITS,
  ) {
    sql.exec("CREATE TABLE IF NOT EXISTS task_log (task_id TEXT PRIMARY KEY, first_seq INTEGER NOT NULL, next_seq INTEGER NOT NULL, dropped INTEGER NOT NULL)");
    sql.exec(
      "CREATE TABLE IF NOT EXISTS task_log_line (task_id TEXT NOT NULL, seq INTEGER NOT NULL, at TEXT NOT NULL, text TEXT NOT NULL, bytes INTEGER NOT NULL, PRIMARY KEY (task_id, seq))",
    );
  }

  private head(taskId: string): { first_seq: number; next_seq: number; dropped: number } {
    return (
      this.sql.exec<{ first_seq: number; next_seq: number; dropped: number }>("SELECT first_seq, next_seq, dropped FROM task_log WHERE task_id = ?", taskId).toArray()[0] ?? {
        first_seq: 0,
        next_seq: 0,
        dropped: 0,
      }
    );
  }

  append(taskId: string, lines: readonly TaskLogLine[]): void {
    const head = this.head(taskId);
    let seq = head.next_seq;
    for (const line of lines) {
      this.sql.exec("INSERT INTO task_log_line (task_id, seq, at, text, bytes) VALUES (?, ?, ?, ?, ?)", taskId, seq++, line.at, line.text, utf8.encode(line.text).byteLength);
    }
    // The newest line whose text, added to every newer line's, passes the byte limit: it and all older go.
    const overBytes = this.sql
      .exec<{ seq: number }>(
        "SELECT seq FROM (SELECT seq, SUM(bytes) OVER (ORDER BY seq DESC) AS total FROM task_log_line WHERE task_id = ?) WHERE total > ? ORDER BY seq DESC LIMIT 1",
        taskId,
        this.limits.bytes,
      )
      .toArray()[0];
    const keepFrom = Math.max(head.first_seq, seq - this.limits.lines, overBytes ? overBytes.seq + 1 : 0);
    if (keepFrom > head.first_seq) this.sql.exec("DELETE FROM task_log_line WHERE task_id = ? AND seq < ?", taskId, keepFrom);
    this.sql.exec(
      "INSERT OR REPLACE INTO task_log (task_id, first_seq, next_seq, dropped) VALUES (?, ?, ?, ?)",
      taskId,
      keepFrom,
      seq,
      head.dropped + (keepFrom - head.first_seq),
    );
  }

  read(taskId: string): Pick<TaskLogView, "lines" | "dropped"> {
    const lines = this.sql.exec<TaskLogLine>("SELECT at, text FROM task_log_line WHERE task_id = ? ORDER BY seq", taskId).toArray();
    return { lines, dropped: this.head(taskId).dropped };
  }

  /** A restarted job's tasks start their logs afresh. */
  clear(): void {
    this.sql.exec("DELETE FROM task_log_line");
    this.sql.exec("DELETE FROM task_log");
  }
}
