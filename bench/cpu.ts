// CPU use read from /proc: the whole machine (/proc/stat) and process trees
// (/proc/<pid>/stat), as cumulative clock ticks (the same unit in both) that a bench
// differences over its intervals.
import { readFileSync, readdirSync } from "node:fs";

/** The machine's ticks since boot, every core together: busy (not idle, not waiting on I/O) and total. */
export function machineTicks(): { busy: number; total: number } {
  const fields = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already inside user)
  const total = fields.slice(0, 8).reduce((s, x) => s + x, 0);
  return { busy: total - fields[3]! - fields[4]!, total };
}

interface ProcStat {
  ppid: number;
  /** Its own user + system ticks, and those of its children it has reaped. */
  ticks: number;
}

function readStat(pid: string): ProcStat | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name may hold spaces and parentheses: fields count from its closing one.
    const f = text.slice(text.lastIndexOf(")") + 2).split(" ");
    // f[1] ppid; f[11..14] utime stime cutime cstime (fields 14–17 of proc(5))
    return { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]) };
  } catch {
    return null; // exited meanwhile
  }
}

/**
 * Ticks used so far by each root's process tree. A finished child's ticks move into
 * its parent's (once reaped), so short-lived ffmpeg and ffprobe runs still count; only
 * a run that ends between two reads and whose parent has not reaped it yet is missed
 * until the next read.
 */
export function treeTicks(roots: number[]): number[] {
  const stats = new Map<number, ProcStat>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(entry);
    if (stat) stats.set(Number(entry), stat);
  }
  const children = new Map<number, number[]>();
  for (const [pid, stat] of stats) children.set(stat.ppid, [...(children.get(stat.ppid) ?? []), pid]);
  return roots.map((root) => {
    let sum = 0;
    const todo = [root];
    while (todo.length > 0) {
      const pid = todo.pop()!;
      sum += stats.get(pid)?.ticks ?? 0;
      todo.push(...(children.get(pid) ?? []));
    }
    return sum;
  });
}
