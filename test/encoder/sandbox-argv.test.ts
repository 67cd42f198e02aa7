import { describe, expect, it } from "vitest";
import { type SystemEntry, bwrapArgv, prlimitArgv } from "../../encoder/sandbox/bwrap";

/** Pure: the bubblewrap command line a tool run starts with. */

const limits = { cpuSeconds: 60, maxFileBytes: 1_000_000, maxOpenFiles: 128, maxProcesses: 256 };
const mergedUsr: SystemEntry[] = [
  { path: "/usr", kind: "dir" },
  { path: "/bin", kind: "symlink", target: "usr/bin" },
  { path: "/lib", kind: "symlink", target: "usr/lib" },
  { path: "/lib64", kind: "symlink", target: "usr/lib64" },
];
const pairs = (argv: string[], flag: string) => argv.flatMap((a, i) => (a === flag ? [`${argv[i + 1]} ${argv[i + 2]}`] : []));

describe("bwrap argv", () => {
  const argv = bwrapArgv(mergedUsr, "/var/kiln/job_1-1", ["ffmpeg", "-i", "in.mov", "out.mp4"], limits);
  const sandboxPart = argv.slice(0, argv.indexOf("--"));

  it("unshares every namespace, the network included, and allows no nested user namespaces", () => {
    for (const flag of ["--unshare-user", "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try", "--disable-userns"]) {
      expect(sandboxPart).toContain(flag);
    }
    expect(sandboxPart).not.toContain("--share-net");
  });

  it("runs as 65534 with no capabilities, an empty environment but PATH, its own session, dying with the encoder", () => {
    expect(sandboxPart.join(" ")).toContain("--uid 65534 --gid 65534");
    expect(sandboxPart.join(" ")).toContain("--cap-drop ALL");
    expect(sandboxPart).toContain("--clearenv");
    expect(pairs(sandboxPart, "--setenv")).toEqual(["PATH /usr/bin:/bin"]);
    expect(sandboxPart).toContain("--new-session");
    expect(sandboxPart).toContain("--die-with-parent");
  });

  it("binds only the system read-only and the job's directory read-write, at /job, its working directory", () => {
    expect(pairs(sandboxPart, "--ro-bind")).toEqual(["/usr /usr"]);
    expect(pairs(sandboxPart, "--ro-bind-try")).toEqual(["/etc/ld.so.cache /etc/ld.so.cache", "/etc/alternatives /etc/alternatives", "/etc/fonts /etc/fonts"]);
    expect(pairs(sandboxPart, "--symlink")).toEqual(["usr/bin /bin", "usr/lib /lib", "usr/lib64 /lib64"]);
    expect(pairs(sandboxPart, "--bind")).toEqual(["/var/kiln/job_1-1 /job"]);
    expect(sandboxPart.join(" ")).toContain("--chdir /job");
    // Nothing else of the host: no other kind of bind.
    for (const flag of ["--dev-bind", "--dev-bind-try", "--bind-try", "--bind-fd", "--ro-bind-fd"]) expect(sandboxPart).not.toContain(flag);
  });

  it("gives a private /tmp of bounded size, a minimal read-only /dev, its own /proc, and a read-only root", () => {
    expect(sandboxPart.join(" ")).toContain(`--size ${64 * 1024 * 1024} --tmpfs /tmp`);
    expect(sandboxPart.join(" ")).toContain("--dev /dev --remount-ro /dev");
    expect(sandboxPart.join(" ")).toContain("--proc /proc");
    // After every mount, or a later one would fail on the read-only root.
    expect(sandboxPart.indexOf("--remount-ro", sandboxPart.indexOf("--bind"))).toBe(sandboxPart.lastIndexOf("--remount-ro"));
    expect(sandboxPart[sandboxPart.lastIndexOf("--remount-ro") + 1]).toBe("/");
  });

  it("binds real directories where the host has no merged /usr", () => {
    const split = bwrapArgv([{ path: "/usr", kind: "dir" }, { path: "/bin", kind: "dir" }, { path: "/lib", kind: "dir" }], "/w/j", ["true"], limits);
    expect(pairs(split, "--ro-bind")).toEqual(["/usr /usr", "/bin /bin", "/lib /lib"]);
    expect(pairs(split, "--symlink")).toEqual([]);
  });

  it("runs the command through prlimit inside, soft and hard limits alike, without core dumps", () => {
    const command = argv.slice(argv.indexOf("--") + 1);
    expect(command).toEqual([...prlimitArgv(limits), "ffmpeg", "-i", "in.mov", "out.mp4"]);
    expect(prlimitArgv(limits)).toEqual(["prlimit", "--cpu=60", "--fsize=1000000", "--nofile=128", "--nproc=256", "--core=0", "--"]);
  });
});
