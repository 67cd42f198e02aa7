/**
 * The bubblewrap command line a tool run is started with (pure; the process wrapper in
 * sandbox.ts spawns it). Inside, the run sees:
 * - the system read-only: /usr and the /bin, /sbin, /lib* beside it (symlinks into
 *   /usr on a merged-/usr system, bound as they are otherwise), and of /etc only what
 *   the dynamic linker and ffmpeg's libraries read (ld.so.cache; alternatives, through
 *   which Debian links BLAS; fonts, for drawtext). No /home, /root, /work, /var or the
 *   host's /tmp: nothing of other jobs or of the encoder.
 * - the job's working directory at /job, read-write, its working directory; the only
 *   writable place besides a small private /tmp. The root and /dev are read-only.
 * - a fresh /proc of its own pid namespace and a minimal /dev (null, zero, urandom…).
 * - no network: a network namespace of its own, whose only interface is its own loopback.
 * - an empty environment but PATH, uid/gid 65534 in a user namespace of its own that may
 *   not create further ones, no capabilities, a session of its own (no terminal to
 *   push input into), and death with the encoder.
 * - resource limits set by prlimit, which then executes the command: they hold for it
 *   and everything it starts, and cannot be raised again without privilege.
 */

/** Where the job's working directory appears inside the sandbox. */
const JOB_DIR = "/job";
/** The private /tmp: a tmpfs of this size, so it cannot fill the encoder's memory. */
const TMP_BYTES = 64 * 1024 * 1024;
/** The uid and gid the run has inside (and the encoder drops to before starting it, when root). */
export const SANDBOX_ID = 65534;

/** The host directories the system lives in: bound read-only or recreated as symlinks. */
export const SYSTEM_DIRS = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"] as const;
const ETC_ENTRIES = ["/etc/ld.so.cache", "/etc/alternatives", "/etc/fonts"] as const;

/** How the host lays out one system directory: a directory, a symlink (merged /usr), or absent. */
export type SystemEntry = { path: string; kind: "dir" } | { path: string; kind: "symlink"; target: string };

export interface RunLimits {
  cpuSeconds: number;
  maxFileBytes: number;
  maxOpenFiles: number;
  maxProcesses: number;
}

/**
 * prlimit's arguments: soft and hard limits alike, so the CPU limit ends the run with
 * SIGKILL (ffmpeg catches SIGXCPU and would go on writing its outputs) and none can be
 * raised back. No core dumps: they would land in the job's directory.
 */
export function prlimitArgv(limits: RunLimits): string[] {
  return [
    "prlimit",
    `--cpu=${limits.cpuSeconds}`,
    `--fsize=${limits.maxFileBytes}`,
    `--nofile=${limits.maxOpenFiles}`,
    `--nproc=${limits.maxProcesses}`,
    "--core=0",
    "--",
  ];
}

/** bwrap's arguments for running `command` (looked up in PATH inside) in `jobDir`. */
export function bwrapArgv(system: readonly SystemEntry[], jobDir: string, command: readonly string[], limits: RunLimits): string[] {
  const args = [
    "--unshare-user", "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
    "--disable-userns",
    "--uid", String(SANDBOX_ID), "--gid", String(SANDBOX_ID),
    "--die-with-parent", "--new-session", "--cap-drop", "ALL",
    "--clearenv", "--setenv", "PATH", "/usr/bin:/bin",
  ];
  for (const entry of system) {
    if (entry.kind === "symlink") args.push("--symlink", entry.target, entry.path);
    else args.push("--ro-bind", entry.path, entry.path);
  }
  for (const path of ETC_ENTRIES) args.push("--ro-bind-try", path, path);
  args.push(
    "--proc", "/proc",
    "--dev", "/dev", "--remount-ro", "/dev",
    "--size", String(TMP_BYTES), "--tmpfs", "/tmp",
    "--bind", jobDir, JOB_DIR,
    // Last: the root bwrap builds is a tmpfs, writable until now.
    "--remount-ro", "/",
    "--chdir", JOB_DIR,
    "--",
    ...prlimitArgv(limits),
    ...command,
  );
  return args;
}
