/**
 * What the reliability lab observes of its pods, from the outside as `kubectl get pods -w` would
 * show it: readiness, restarts and termination, sampled every 100 ms. {@link PodObserver} samples;
 * {@link unreadyAtOnce}, {@link secondsWithoutReadyPod} and {@link restartsBetween} read the samples.
 */
import type { LocalPod } from "./local/pod";

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
