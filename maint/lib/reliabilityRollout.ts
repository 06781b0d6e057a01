/**
 * Rolling updates in the reliability lab: the Deployment controller's RollingUpdate strategy as
 * Kubernetes implements it, driving the lab's pods (cli/lib/local/) in waves.
 *
 * {@link rolloutStep} is one sync of `rolloutRolling` (kubernetes pkg/controller/deployment/rolling.go,
 * `reconcileNewReplicaSet` then `reconcileOldReplicaSets` with `cleanupUnhealthyReplicas` and
 * `scaleDownOldReplicaSetsForRollingUpdate`; `NewRSNewReplicas` and `ResolveFenceposts` in
 * pkg/controller/deployment/util/deployment_util.go):
 * - the new ReplicaSet grows while all ReplicaSets' replicas stay ≤ replicas + maxSurge;
 * - old ReplicaSets shrink while the available pods stay ≥ replicas − maxUnavailable, and not while
 *   new pods are still unavailable beyond what maxUnavailable allows;
 * - maxSurge is rounded up from a percentage, maxUnavailable down; both 0 make maxUnavailable 1;
 * - a pod is available once Ready for `minReadySeconds`;
 * - terminating pods are counted nowhere: a deleted pod leaves its ReplicaSet's count at once,
 *   however long it drains ("Kubernetes doesn't count terminating Pods when calculating the number
 *   of availableReplicas … As a result, you might notice that there are more Pods than expected
 *   during a rollout", https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#updating-a-deployment).
 *   (KEP-3973 adds an opt-in `podReplacementPolicy` that counts them; the rendered Deployments do
 *   not set it.)
 *
 * {@link Rollout} runs it against real pods: it starts the old pods, then syncs every 200 ms —
 * creating new pods, deleting old ones (the ReplicaSet controller deletes not-ready pods first, then
 * the most recently ready: pkg/controller/controller_utils.go `ActivePodsWithRanks`), each deleted
 * pod going through its termination sequence (preStop, SIGTERM, grace period) while the rollout
 * goes on.
 */
import type { LocalPod, PodPlan } from "../../cli/lib/local/pod";
import type { LocalRun } from "../../cli/lib/local/run";
import { sleep } from "./reliabilityLoad";

/** A Deployment's RollingUpdate parameters. */
export interface RollingUpdate {
    readonly maxSurge: number | string;
    readonly maxUnavailable: number | string;
}

/** An int-or-percent of `total` (intstr.GetScaledValueFromIntOrPercent). */
export function scaledValue(value: number | string, total: number, roundUp: boolean): number {
    if (typeof value === "number") return value;
    const m = /^(\d+)%$/.exec(value);
    if (!m) throw new Error(`not an int or a percentage: ${value}`);
    const exact = (Number(m[1]) * total) / 100;
    return roundUp ? Math.ceil(exact) : Math.floor(exact);
}

/** maxSurge (rounded up) and maxUnavailable (rounded down) as pod counts; both 0 → maxUnavailable 1. */
export function resolveFenceposts(strategy: RollingUpdate, replicas: number): { surge: number; unavailable: number } {
    const surge = scaledValue(strategy.maxSurge, replicas, true);
    const unavailable = scaledValue(strategy.maxUnavailable, replicas, false);
    return surge === 0 && unavailable === 0 ? { surge, unavailable: 1 } : { surge, unavailable };
}

/** A ReplicaSet's desired replicas and how many of its pods are available. */
export interface ReplicaSetState {
    readonly replicas: number;
    readonly available: number;
}

/** One sync of the Deployment controller: the new and old ReplicaSets' desired replicas after it. */
export function rolloutStep(replicas: number, fence: { surge: number; unavailable: number }, newRs: ReplicaSetState, oldRs: ReplicaSetState): { newReplicas: number; oldReplicas: number } {
    // reconcileNewReplicaSet / NewRSNewReplicas
    if (newRs.replicas < replicas) {
        const maxTotal = replicas + fence.surge;
        const current = newRs.replicas + oldRs.replicas;
        if (current < maxTotal) {
            return { newReplicas: newRs.replicas + Math.min(maxTotal - current, replicas - newRs.replicas), oldReplicas: oldRs.replicas };
        }
    } else if (newRs.replicas > replicas) {
        return { newReplicas: replicas, oldReplicas: oldRs.replicas };
    }
    // reconcileOldReplicaSets
    if (oldRs.replicas === 0) return { newReplicas: newRs.replicas, oldReplicas: 0 };
    const minAvailable = replicas - fence.unavailable;
    const maxScaledDown = newRs.replicas + oldRs.replicas - minAvailable - (newRs.replicas - newRs.available);
    if (maxScaledDown <= 0) return { newReplicas: newRs.replicas, oldReplicas: oldRs.replicas };
    // cleanupUnhealthyReplicas: old pods that are not available go first.
    const cleanup = Math.min(maxScaledDown, oldRs.replicas - oldRs.available);
    let old = oldRs.replicas - cleanup;
    // scaleDownOldReplicaSetsForRollingUpdate
    const available = newRs.available + oldRs.available;
    if (available > minAvailable) old -= Math.min(old, available - minAvailable);
    return { newReplicas: newRs.replicas, oldReplicas: old };
}

/** One pod of a rollout and its times (ms after the lab's t0). */
export interface RolloutPod {
    readonly pod: LocalPod;
    readonly version: "old" | "new";
    readonly createdAt: number;
    readySince?: number;
    availableAt?: number;
    deletedAt?: number;
    exitedAt?: number;
}

/** Options of {@link Rollout}. */
export interface RolloutOptions {
    readonly run: LocalRun;
    readonly plan: PodPlan;
    readonly replicas: number;
    readonly strategy: RollingUpdate;
    readonly minReadySeconds: number;
    /** The pod's Ready condition (kubelet readiness and its readiness gates). */
    readonly ready: (pod: LocalPod) => boolean;
    /** Called with each pod as it is created (e.g. to put it behind the load balancer). */
    readonly onPod?: (pod: LocalPod) => void;
    /** performance.now() of the lab's start. */
    readonly t0: number;
}

/** A Deployment's pods and its rolling update (see the module comment). */
export class Rollout {
    readonly pods: RolloutPod[] = [];
    private readonly fence: { surge: number; unavailable: number };

    constructor(readonly options: RolloutOptions) {
        this.fence = resolveFenceposts(options.strategy, options.replicas);
    }

    private now(): number {
        return performance.now() - this.options.t0;
    }

    private async create(version: "old" | "new"): Promise<RolloutPod> {
        const pod = await this.options.run.newPod(this.options.plan, { restart: true });
        const entry: RolloutPod = { pod, version, createdAt: this.now() };
        this.pods.push(entry);
        this.options.onPod?.(pod);
        pod.start();
        void pod.finished().then(() => (entry.exitedAt ??= this.now()));
        return entry;
    }

    private delete(entry: RolloutPod): void {
        entry.deletedAt = this.now();
        void entry.pod.terminate().then(() => (entry.exitedAt ??= this.now()));
    }

    /** Pods of `version` not deleted. */
    private active(version: "old" | "new"): RolloutPod[] {
        return this.pods.filter((p) => p.version === version && p.deletedAt === undefined);
    }

    private updateAvailability(): void {
        const now = this.now();
        for (const p of this.pods) {
            if (p.deletedAt !== undefined) continue;
            if (this.options.ready(p.pod)) {
                p.readySince ??= now;
                if (p.availableAt === undefined && now - p.readySince >= this.options.minReadySeconds * 1000) p.availableAt = now;
            } else {
                p.readySince = undefined;
                p.availableAt = undefined;
            }
        }
    }

    /** Starts the old ReplicaSet's pods and waits until all are available (or `timeoutMs`). */
    async startOld(timeoutMs: number): Promise<boolean> {
        await Promise.all(Array.from({ length: this.options.replicas }, () => this.create("old")));
        const end = performance.now() + timeoutMs;
        while (performance.now() < end) {
            this.updateAvailability();
            if (this.active("old").every((p) => p.availableAt !== undefined)) return true;
            await sleep(200);
        }
        return false;
    }

    /** The old pods that are running (not deleted). */
    get current(): LocalPod[] {
        return this.pods.filter((p) => p.deletedAt === undefined).map((p) => p.pod);
    }

    /**
     * Rolls every pod over to a new one (the same rendered pod template: what changes in a release is
     * the image, not how pods start and stop). Resolves when every new pod is available and no old
     * pod is left (terminating ones may still drain), or false after `timeoutMs`.
     */
    async roll(timeoutMs: number): Promise<boolean> {
        const end = performance.now() + timeoutMs;
        while (performance.now() < end) {
            this.updateAvailability();
            const newPods = this.active("new");
            const oldPods = this.active("old");
            const count = (pods: RolloutPod[]) => ({ replicas: pods.length, available: pods.filter((p) => p.availableAt !== undefined).length });
            const next = rolloutStep(this.options.replicas, this.fence, count(newPods), count(oldPods));
            for (let i = newPods.length; i < next.newReplicas; i += 1) await this.create("new");
            const victims = [...oldPods].sort((a, b) => rank(a) - rank(b)).slice(0, oldPods.length - next.oldReplicas);
            for (const v of victims) this.delete(v);
            if (next.oldReplicas === 0 && oldPods.length - victims.length === 0 && newPods.length === this.options.replicas && newPods.every((p) => p.availableAt !== undefined)) return true;
            await sleep(200);
        }
        return false;
    }

    /** Waits until every deleted pod has exited. */
    async drained(): Promise<void> {
        await Promise.all(this.pods.filter((p) => p.deletedAt !== undefined).map((p) => p.pod.finished()));
    }

    /** The most pods whose processes ran at the same time, and the most of them terminating. */
    peaks(): { alive: number; terminating: number } {
        const events: Array<{ at: number; alive: number; terminating: number }> = [];
        for (const p of this.pods) {
            const exit = p.exitedAt ?? Number.POSITIVE_INFINITY;
            events.push({ at: p.createdAt, alive: 1, terminating: 0 }, { at: exit, alive: -1, terminating: 0 });
            if (p.deletedAt !== undefined) events.push({ at: p.deletedAt, alive: 0, terminating: 1 }, { at: exit, alive: 0, terminating: -1 });
        }
        return peakOf(events);
    }
}

/** Deletion order among old pods: not ready first, then the most recently ready. */
function rank(p: RolloutPod): number {
    return p.readySince === undefined ? Number.NEGATIVE_INFINITY : -p.readySince;
}

/** Peaks of running sums; at equal times, ends are applied before starts. */
export function peakOf(events: ReadonlyArray<{ at: number; alive: number; terminating: number }>): { alive: number; terminating: number } {
    const sorted = [...events].sort((a, b) => a.at - b.at || a.alive + a.terminating - (b.alive + b.terminating));
    let alive = 0;
    let terminating = 0;
    const peak = { alive: 0, terminating: 0 };
    for (const e of sorted) {
        alive += e.alive;
        terminating += e.terminating;
        peak.alive = Math.max(peak.alive, alive);
        peak.terminating = Math.max(peak.terminating, terminating);
    }
    return peak;
}
