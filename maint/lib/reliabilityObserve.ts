/**
 * What the reliability lab observes of its pods, from the outside as `kubectl get pods -w` would
 * show it: readiness, restarts and termination, sampled every 100 ms. {@link PodObserver} samples;
 * {@link unreadyAtOnce}, {@link secondsWithoutReadyPod} and {@link restartsBetween} read the samples.
 */
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import type { LocalPod } from "../../cli/lib/local/pod";

/** One pod at one sample. */
export interface PodSample {
    readonly ready: boolean;
    readonly terminating: boolean;
    readonly restarts: number;
    /** Ready at least once before this sample (a pod still starting is not "unready"). */
    readonly everReady: boolean;
}

/** All observed pods at one time (ms after the lab's t0), by pod label. */
export interface Sample {
    readonly at: number;
    readonly pods: Readonly<Record<string, PodSample>>;
}

/** The most pods that were unready at the same sample in [fromMs, toMs), among pods that had been ready and are not terminating. */
export function unreadyAtOnce(samples: readonly Sample[], fromMs: number, toMs: number): number {
    let most = 0;
    for (const s of samples) {
        if (s.at < fromMs || s.at >= toMs) continue;
        const count = Object.values(s.pods).filter((p) => p.everReady && !p.ready && !p.terminating).length;
        most = Math.max(most, count);
    }
    return most;
}

/** Seconds in [fromMs, toMs) during which no observed pod was ready (sum over sample intervals). */
export function secondsWithoutReadyPod(samples: readonly Sample[], fromMs: number, toMs: number): number {
    let ms = 0;
    for (let i = 0; i < samples.length - 1; i += 1) {
        const s = samples[i] as Sample;
        const next = samples[i + 1] as Sample;
        const from = Math.max(s.at, fromMs);
        const to = Math.min(next.at, toMs);
        if (to <= from) continue;
        if (!Object.values(s.pods).some((p) => p.ready && !p.terminating)) ms += to - from;
    }
    return ms / 1000;
}

/** Container restarts that happened in [fromMs, toMs), summed over the pods. */
export function restartsBetween(samples: readonly Sample[], fromMs: number, toMs: number): number {
    const inside = samples.filter((s) => s.at >= fromMs && s.at < toMs);
    const first = inside[0];
    const last = inside.at(-1);
    if (!first || !last) return 0;
    let total = 0;
    for (const [label, pod] of Object.entries(last.pods)) total += pod.restarts - (first.pods[label]?.restarts ?? 0);
    return total;
}

/** Samples a set of pods every 100 ms until stopped. */
export class PodObserver {
    readonly samples: Sample[] = [];
    private readonly pods = new Set<LocalPod>();
    private readonly everReady = new Set<LocalPod>();
    private readonly timer: NodeJS.Timeout;

    constructor(private readonly t0: number) {
        this.timer = setInterval(() => this.sample(), 100);
    }

    /** Observes `pod` from now on. */
    add(pod: LocalPod): void {
        this.pods.add(pod);
    }

    /** Takes one sample now (also called every 100 ms). */
    sample(): void {
        const pods: Record<string, PodSample> = {};
        for (const pod of this.pods) {
            if (pod.ready) this.everReady.add(pod);
            pods[pod.plan.workloadLabel] = { ready: pod.ready, terminating: pod.isTerminating, restarts: pod.restarts, everReady: this.everReady.has(pod) };
        }
        this.samples.push({ at: performance.now() - this.t0, pods });
    }

    stop(): void {
        clearInterval(this.timer);
        this.sample();
    }
}

/** Something whose processes may hold database connections: a pod, or another process group. */
export interface ConnectionHolder {
    readonly label: string;
    /** The main process id, or undefined while nothing runs. */
    pid(): number | undefined;
}

/** The inodes of established TCP connections from this machine to 127.0.0.1:`port` (/proc/net/tcp). */
export function connectionInodes(port: number, table: string): Set<string> {
    const inodes = new Set<string>();
    const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
    for (const line of table.split("\n").slice(1)) {
        const f = line.trim().split(/\s+/);
        // sl local rem st tx:rx tr:when retrnsmt uid timeout inode
        if (f.length < 10 || f[3] !== "01") continue;
        if (f[2]?.split(":")[1] === hexPort) inodes.add(f[9] as string);
    }
    return inodes;
}

/**
 * Who holds connections to PostgreSQL, seen from the operating system: every second, the
 * established TCP connections to its port and the processes (each holder's process and its
 * descendants) whose file descriptors own them. Black-box: it needs no help from the app.
 */
export class ConnectionOwners {
    /** Per sample: connections held by each holder that held any. */
    readonly samples: Array<{ at: number; held: Map<string, number> }> = [];
    private readonly holders: ConnectionHolder[] = [];
    private readonly timer: NodeJS.Timeout;

    constructor(
        private readonly port: number,
        private readonly t0: number,
    ) {
        this.timer = setInterval(() => this.sample(), 1000);
    }

    add(holder: ConnectionHolder): void {
        this.holders.push(holder);
    }

    sample(): void {
        let table = "";
        try {
            table = readFileSync("/proc/net/tcp", "utf8");
        } catch {
            return;
        }
        const inodes = connectionInodes(this.port, table);
        const children = new Map<number, number[]>();
        for (const e of readdirSync("/proc").filter((n) => /^\d+$/.test(n))) {
            try {
                const stat = readFileSync(`/proc/${e}/stat`, "utf8");
                const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
                children.set(ppid, [...(children.get(ppid) ?? []), Number(e)]);
            } catch {
                // exited meanwhile
            }
        }
        const held = new Map<string, number>();
        for (const h of this.holders) {
            const root = h.pid();
            if (root === undefined) continue;
            let n = 0;
            const queue = [root];
            while (queue.length > 0) {
                const pid = queue.shift() as number;
                queue.push(...(children.get(pid) ?? []));
                let fds: string[] = [];
                try {
                    fds = readdirSync(`/proc/${pid}/fd`);
                } catch {
                    continue;
                }
                for (const fd of fds) {
                    try {
                        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
                        if (m && inodes.has(m[1] as string)) n += 1;
                    } catch {
                        // closed meanwhile
                    }
                }
            }
            if (n > 0) held.set(h.label, n);
        }
        this.samples.push({ at: performance.now() - this.t0, held });
    }

    stop(): void {
        clearInterval(this.timer);
    }
}

/**
 * What the samples say: the most holders at once, and the worst case of the holders that held
 * connections at the same time — each counted with the most it was ever seen holding (had they
 * all been that busy at once, the database would have had to accept that many).
 */
export function connectionPeaks(samples: ReadonlyArray<{ held: ReadonlyMap<string, number> }>, group: (label: string) => string): { observed: number; holdersAtOnce: Record<string, number>; worstCase: number } {
    const most = new Map<string, number>();
    for (const s of samples) for (const [label, n] of s.held) most.set(label, Math.max(most.get(label) ?? 0, n));
    let observed = 0;
    let worstCase = 0;
    const holdersAtOnce: Record<string, number> = {};
    for (const s of samples) {
        let sum = 0;
        let worst = 0;
        const groups: Record<string, number> = {};
        for (const [label, n] of s.held) {
            sum += n;
            worst += most.get(label) ?? n;
            const g = group(label);
            groups[g] = (groups[g] ?? 0) + 1;
        }
        observed = Math.max(observed, sum);
        if (worst > worstCase) worstCase = worst;
        for (const [g, n] of Object.entries(groups)) holdersAtOnce[g] = Math.max(holdersAtOnce[g] ?? 0, n);
    }
    return { observed, holdersAtOnce, worstCase };
}
