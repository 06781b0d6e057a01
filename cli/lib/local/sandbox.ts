/**
 * A container's filesystem without a container runtime.
 *
 * The platform's containers run with `readOnlyRootFilesystem: true`: the only writable paths are
 * their emptyDir mounts (`/tmp`). Here each app process starts in a private mount namespace
 * (`unshare --mount`, util-linux), where, before the command runs:
 * - each emptyDir is mounted at its mountPath: a tmpfs of the volume's `sizeLimit` when its medium
 *   is `Memory` (what the kubelet mounts for it), else a bind mount of a directory of the run;
 * - `/dev/shm` is a fresh 64 MiB tmpfs, as a container runtime gives each container;
 * - every other filesystem mount (the root, `/work`, …; not /proc, /sys, /dev) is remounted
 *   read-only;
 * - the command runs through `setpriv --no-new-privs --bounding-set=-all --inh-caps=-all`
 *   (`allowPrivilegeEscalation: false`, `capabilities.drop: [ALL]`), so it cannot remount anything.
 * The app runs from a copy of the project (the image's `/app`), with its bytecode compiled first as
 * app/Dockerfile does (`compileall --invalidation-mode unchecked-hash`).
 *
 * Not enforced: `runAsUser`/`runAsGroup` (the processes run as the user running this tool: the
 * image's Python lives in that user's files here), the network (processes share the machine's
 * loopback; Google's APIs are reachable only through the egress stand-in), memory and CPU limits.
 * Without mount namespaces (no `unshare`, or not permitted) the copy is made read-only by its
 * permissions only, `TMPDIR` points at the emptyDir stand-in of `/tmp`, and the rest of the
 * filesystem stays writable: the status table says which applies.
 */
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { run } from "./processes";

/** An emptyDir volume mounted into a container. */
export interface EmptyDirMount {
    /** The container's mountPath. */
    readonly path: string;
    /** The volume's medium ("Memory" for a tmpfs). */
    readonly medium?: string;
    /** The volume's sizeLimit (Kubernetes quantity). */
    readonly sizeLimit?: string;
    /** A directory of the run standing in for it (bind-mounted, or TMPDIR without isolation). */
    readonly hostDir: string;
}

/** How processes are isolated. */
export type Isolation =
    | { readonly kind: "mount-namespace"; readonly unshare: readonly string[]; readonly setpriv: boolean; readonly readOnly: readonly string[] }
    | { readonly kind: "none"; readonly reason: string };

const SKIPPED_MOUNTS = /^\/(proc|sys|dev)(\/|$)/;

/** Filesystem mount points of this machine, from /proc/self/mountinfo (field 5, octal escapes decoded). */
export function mountPoints(): string[] {
    if (!existsSync("/proc/self/mountinfo")) return [];
    return readFileSync("/proc/self/mountinfo", "utf8")
        .split("\n")
        .map((line) => line.split(" ")[4])
        .filter((p): p is string => p !== undefined && p !== "")
        .map((p) => p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
}

/**
 * Finds out whether mount namespaces work here: as root `unshare --mount`, else
 * `unshare --map-root-user --mount` (an unprivileged user namespace). Probes once by remounting the
 * root read-only in a throw-away namespace.
 */
export async function detectIsolation(): Promise<Isolation> {
    if (process.platform !== "linux") return { kind: "none", reason: `mount namespaces are Linux only (this is ${process.platform})` };
    const unshare = process.getuid?.() === 0 ? ["unshare", "--mount", "--propagation", "private"] : ["unshare", "--map-root-user", "--mount", "--propagation", "private"];
    const readOnly = [...new Set(mountPoints().filter((p) => !SKIPPED_MOUNTS.test(p)))];
    const probe = await run(unshare[0] as string, [...unshare.slice(1), "--", "/bin/sh", "-c", "mount -o remount,bind,ro / && ! touch /.django-platform-local-probe 2>/dev/null"], {
        check: false,
        env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" },
        timeoutMs: 10_000,
    }).catch((error: Error) => ({ code: 127, stdout: "", stderr: error.message }));
    if (probe.code !== 0) return { kind: "none", reason: `${unshare.join(" ")} is not available or not permitted here (${probe.stderr.trim().split("\n").at(-1) || `exit ${probe.code}`})` };
    const setpriv = (await run("setpriv", ["--help"], { check: false, env: { PATH: "/usr/bin:/bin" } }).catch(() => ({ code: 127 }))).code === 0;
    return { kind: "mount-namespace", unshare, setpriv, readOnly };
}

/** Bytes of a Kubernetes quantity (64Mi, 1G, 500M, 1024). */
export function quantityBytes(quantity: string): number {
    const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|K|M|G|T)?$/.exec(quantity.trim());
    if (!m) throw new Error(`not a Kubernetes quantity: ${quantity}`);
    const factor: Record<string, number> = { "": 1, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4, k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12 };
    return Math.round(Number(m[1]) * (factor[m[2] ?? ""] as number));
}

const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/** The command line that runs `argv` in the container's filesystem (see the module comment). */
export function sandboxed(isolation: Isolation, argv: readonly string[], mounts: readonly EmptyDirMount[]): { command: string; args: string[]; notes: string[] } {
    const [command, ...args] = argv;
    if (command === undefined) throw new Error("empty command");
    if (isolation.kind === "none") return { command, args, notes: [] };
    const notes: string[] = [];
    const script: string[] = ["set -e"];
    for (const m of mounts) {
        if (!existsSync(m.path) || !statSync(m.path).isDirectory()) {
            notes.push(`emptyDir ${m.path} not mounted: no such directory on this machine`);
            continue;
        }
        if (m.medium === "Memory") {
            const size = m.sizeLimit ? `,size=${quantityBytes(m.sizeLimit)}` : "";
            script.push(`mount -t tmpfs -o mode=1777${size} tmpfs ${quote(m.path)}`);
        } else {
            script.push(`mount --bind ${quote(m.hostDir)} ${quote(m.path)}`);
        }
    }
    if (existsSync("/dev/shm")) script.push("mount -t tmpfs -o mode=1777,size=67108864 tmpfs /dev/shm");
    const mounted = new Set(mounts.map((m) => m.path));
    for (const mp of isolation.readOnly) {
        if (!mounted.has(mp)) script.push(`mount -o remount,bind,ro ${quote(mp)} 2>/dev/null || true`);
    }
    script.push(isolation.setpriv ? 'exec setpriv --no-new-privs --bounding-set=-all --inh-caps=-all -- "$@"' : 'exec "$@"');
    const [unshare, ...unshareArgs] = isolation.unshare;
    return { command: unshare as string, args: [...unshareArgs, "--", "/bin/sh", "-c", script.join("\n"), "container", command, ...args], notes };
}

/** What a copy of a project leaves out: local state and what the image build does not copy (app/.dockerignore). */
const NOT_COPIED = /(^|\/)(__pycache__|db\.sqlite3|staticfiles|media|\.venv|venv|node_modules|\.git|\.pytest_cache)$/;

/**
 * Copies a Django project to `dest` (the image's /app), compiles its bytecode as app/Dockerfile
 * does, and, without isolation, takes away its write permissions.
 */
export async function prepareApp(source: string, dest: string, python: string, isolation: Isolation): Promise<void> {
    cpSync(source, dest, { recursive: true, filter: (path) => !NOT_COPIED.test(path) });
    await run(python, ["-m", "compileall", "-q", "--invalidation-mode", "unchecked-hash", dest], { env: { PATH: "/usr/bin:/bin", LANG: "C.UTF-8" }, timeoutMs: 60_000 });
    if (isolation.kind === "none") setWritable(dest, false);
}

/** Adds or takes away the write permission bits of a tree (directories keep their execute bits). */
export function setWritable(dir: string, writable: boolean): void {
    if (!existsSync(dir)) return;
    const walk = (path: string) => {
        const stat = statSync(path);
        if (stat.isDirectory()) {
            if (writable) chmodSync(path, stat.mode | 0o200);
            for (const entry of readdirSync(path)) walk(join(path, entry));
        }
        chmodSync(path, writable ? stat.mode | 0o200 : stat.mode & ~0o222);
    };
    walk(dir);
}

/** Creates the directory standing in for an emptyDir. */
export function emptyDirStandIn(root: string, name: string): string {
    const dir = join(root, name);
    mkdirSync(dir, { recursive: true, mode: 0o1777 });
    chmodSync(dir, 0o1777);
    return dir;
}
