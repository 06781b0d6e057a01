/**
 * A model of what Kubernetes does to one Deployment's pods during a rolling update (and an
 * autoscaler's scale-down and scale-up), for counting the pods that can hold database connections
 * at each instant. Event-driven: time jumps from one pod event (ready, available, exited) or
 * external event (new template, new replica count) to the next, and after each one the Deployment
 * and ReplicaSet controllers run until nothing changes.
 *
 * What it follows, from the Kubernetes sources (pkg/controller/deployment, kubernetes/kubernetes):
 * - `rolloutRolling` scales up first, else down (rolling.go).
 * - Scale up: the new ReplicaSet grows by `replicas + maxSurge - Σ spec.replicas of all
 *   ReplicaSets`, at most to `replicas` (util/deployment_util.go `NewRSNewReplicas`). The sum is of
 *   the ReplicaSets' `spec.replicas`, which drop as soon as a pod is scaled away: a terminating pod
 *   counts nowhere, so it never holds back the next surge pod ("Kubernetes doesn't count
 *   terminating Pods when calculating the number of availableReplicas, which must be between
 *   replicas - maxUnavailable and replicas + maxSurge. As a result, you might notice that there are
 *   more Pods than expected during a rollout",
 *   https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#updating-a-deployment).
 * - Scale down: `maxScaledDown = allPods - (replicas - maxUnavailable) - newRSUnavailable`; old
 *   ReplicaSets' unavailable pods go first (`cleanupUnhealthyReplicas`), then old ReplicaSets shrink
 *   by `available - (replicas - maxUnavailable)`, oldest ReplicaSet first
 *   (`scaleDownOldReplicaSetsForRollingUpdate`).
 * - A pod is available once it has been ready for `minReadySeconds`; terminating pods are never
 *   available (ReplicaSet status counts active pods only).
 * - A ReplicaSet deletes pods not ready before ready ones, then the ones ready for the shortest
 *   time (controller_utils.go `ActivePodsWithRanks`).
 * - A change of `replicas` during a rollout is spread over the active ReplicaSets in proportion to
 *   their size (sync.go `scale`); the rounding here is simpler than `GetProportion`'s, which only
 *   moves a pod between ReplicaSets, never changes how many pods are added or removed.
 *
 * And from the pod lifecycle (https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#pod-termination):
 * a deleted pod runs its preStop hook, then gets SIGTERM, and is killed when
 * `terminationGracePeriodSeconds` (counted from the start, preStop included) is over. It holds its
 * connections until its process exits: after the preStop, when its longest piece of work in flight
 * (a request, a task) ends or its graceful timeout expires, and never after the grace period.
 *
 * The pods hold connections from creation until exit (a conservative reading: a starting pod opens
 * one for its readiness probe, a serving one one per thread). The model counts pods; the caller
 * multiplies by connections per pod.
 */

/** How one Deployment's pods start and stop, as rendered. */
export interface DeploymentTiming {
    /** `spec.strategy.rollingUpdate.maxSurge`, resolved to pods for the current `replicas`. */
    readonly maxSurge: (replicas: number) => number;
    /** `spec.minReadySeconds` (0 when absent). */
    readonly minReadySeconds: number;
    /** `spec.template.spec.terminationGracePeriodSeconds`. */
    readonly terminationGracePeriodSeconds: number;
    /** The preStop hook's sleep, 0 without one. */
    readonly preStopSeconds: number;
    /**
     * How long the process keeps working after SIGTERM before it exits whatever is in flight
     * (gunicorn's `--graceful-timeout`; a worker that finishes its task: its grace period).
     */
    readonly gracefulSeconds: number;
}

/** What varies from pod to pod: the adversary's or the dice's choices. */
export interface PodTimes {
    /** Seconds from the pod's creation until it is ready (scheduling, start, probes). */
    readonly bootSeconds: () => number;
    /** Seconds of work still in flight when the pod gets SIGTERM (a request or task that must end). */
    readonly workAfterSigtermSeconds: () => number;
    /** Seconds from the API deletion until the kubelet starts the termination. */
    readonly kubeletDelaySeconds: () => number;
}

/**
 * An external change: a new pod template (`rollout`), a new replica count (the autoscaler), or
 * `pods` ready pods lost at once (`evict`: a node drained or preempted; their ReplicaSet replaces
 * them, newest ReplicaSet's pods first).
 */
export type ModelEvent =
    | { readonly at: number; readonly kind: "rollout" }
    | { readonly at: number; readonly kind: "scale"; readonly replicas: number }
    | { readonly at: number; readonly kind: "evict"; readonly pods: number };

/** What one run of the model saw. */
export interface ModelResult {
    /** Most pods alive (created, not yet exited) at one instant. */
    readonly peakPods: number;
    /** When that was, seconds from the start. */
    readonly peakAt: number;
    /** Most pods alive that were already deleted (draining) at one instant. */
    readonly peakDraining: number;
    /** Most non-terminating pods at one instant (never above replicas + maxSurge). */
    readonly peakActive: number;
    /** When the last rollout finished: every pod of the newest template available, no other pod left. */
    readonly doneAt: number;
    /** Pods deleted over the whole run. */
    readonly deleted: number;
    /** Every pod's life: created (0 for the pods there at the start) until its process exited. */
    readonly lives: ReadonlyArray<{ readonly from: number; readonly to: number }>;
}

interface Pod {
    readonly rs: ReplicaSet;
    readonly createdAt: number;
    readonly readyAt: number;
    deletedAt?: number;
    exitAt?: number;
}

interface ReplicaSet {
    readonly revision: number;
    readonly createdAt: number;
    spec: number;
}

/**
 * Runs a Deployment that starts with `replicas` available pods of revision 0 through `events`, and
 * returns the peaks. Throws if it does not settle within `limitSeconds`.
 */
export function runDeployment(replicas: number, timing: DeploymentTiming, times: PodTimes, events: readonly ModelEvent[], limitSeconds = 7200): ModelResult {
    let now = 0;
    let desired = replicas;
    let syncedReplicas = replicas;
    let revision = 0;
    const sets: ReplicaSet[] = [{ revision: 0, createdAt: -1, spec: replicas }];
    // The starting pods have long been available.
    const pods: Pod[] = Array.from({ length: replicas }, () => ({ rs: sets[0], createdAt: -3600, readyAt: -3600 }));
    const pending = [...events].sort((a, b) => a.at - b.at);
    let peakPods = 0;
    let peakAt = 0;
    let peakDraining = 0;
    let peakActive = 0;
    let doneAt = 0;
    let deleted = 0;
    const lives: Array<{ from: number; to: number }> = [];

    const active = (rs?: ReplicaSet) => pods.filter((p) => p.deletedAt === undefined && (rs === undefined || p.rs === rs));
    const isAvailable = (p: Pod) => p.deletedAt === undefined && p.readyAt + timing.minReadySeconds <= now;
    const available = (rs: ReplicaSet) => active(rs).filter(isAvailable).length;
    const newest = () => sets[sets.length - 1];
    const total = () => sets.reduce((sum, rs) => sum + rs.spec, 0);

    function createPod(rs: ReplicaSet): void {
        pods.push({ rs, createdAt: now, readyAt: now + Math.max(0, times.bootSeconds()) });
    }

    function deletePod(p: Pod): void {
        p.deletedAt = now;
        const work = Math.max(0, times.workAfterSigtermSeconds());
        const stop = Math.min(timing.terminationGracePeriodSeconds, timing.preStopSeconds + Math.min(timing.gracefulSeconds, work));
        p.exitAt = now + Math.max(0, times.kubeletDelaySeconds()) + stop;
        deleted += 1;
    }

    /** The ReplicaSet controller: create or delete pods until each set has `spec` active pods. */
    function syncReplicaSets(): boolean {
        let changed = false;
        for (const rs of sets) {
            const mine = active(rs);
            for (let i = mine.length; i < rs.spec; i++) {
                createPod(rs);
                changed = true;
            }
            if (mine.length > rs.spec) {
                // Not ready first, then ready for the shortest time, then the newest.
                const ranked = [...mine].sort((a, b) => {
                    const ra = a.readyAt <= now ? 1 : 0;
                    const rb = b.readyAt <= now ? 1 : 0;
                    return ra - rb || b.readyAt - a.readyAt || b.createdAt - a.createdAt;
                });
                for (const p of ranked.slice(0, mine.length - rs.spec)) {
                    deletePod(p);
                }
                changed = true;
            }
        }
        return changed;
    }

    /** A replica-count change during a rollout, spread over the active sets by size (sync.go `scale`). */
    function scaleProportionally(): boolean {
        const live = sets.filter((rs) => rs.spec > 0);
        const target = newest();
        if (live.length <= 1) {
            const only = live[0] ?? target;
            only.spec = desired;
            for (const rs of sets) {
                if (rs !== only) rs.spec = 0;
            }
            return true;
        }
        const sum = total();
        const toAdd = desired + timing.maxSurge(desired) - sum;
        if (toAdd === 0) return false;
        const ordered = [...live].sort((a, b) => b.spec - a.spec || (toAdd > 0 ? b.createdAt - a.createdAt : a.createdAt - b.createdAt));
        let added = 0;
        for (const rs of ordered) {
            const share = Math.trunc((rs.spec * toAdd) / sum);
            const next = Math.max(0, rs.spec + share);
            added += next - rs.spec;
            rs.spec = next;
        }
        // Leftover to the first set in the order, never below zero.
        const first = ordered[0];
        const left = toAdd - added;
        const next = Math.max(0, first.spec + left);
        first.spec = next;
        return true;
    }

    /** The Deployment controller's RollingUpdate step (maxUnavailable 0). */
    function syncDeployment(): boolean {
        if (desired !== syncedReplicas) {
            syncedReplicas = desired;
            if (scaleProportionally()) return true;
        }
        const fresh = newest();
        const surge = timing.maxSurge(desired);
        if (fresh.spec < desired) {
            const room = desired + surge - total();
            if (room > 0) {
                fresh.spec += Math.min(room, desired - fresh.spec);
                return true;
            }
        } else if (fresh.spec > desired) {
            fresh.spec = desired;
            return true;
        }
        const old = sets.filter((rs) => rs !== fresh && rs.spec > 0).sort((a, b) => a.createdAt - b.createdAt);
        if (old.length === 0) return false;
        const maxScaledDown = total() - desired - (fresh.spec - available(fresh));
        if (maxScaledDown <= 0) return false;
        let done = 0;
        for (const rs of old) {
            if (done >= maxScaledDown) break;
            const unhealthy = rs.spec - available(rs);
            const cut = Math.min(maxScaledDown - done, Math.max(0, unhealthy));
            rs.spec -= cut;
            done += cut;
        }
        const availableAll = sets.reduce((sum, rs) => sum + available(rs), 0);
        let toScale = availableAll - desired;
        for (const rs of old) {
            if (toScale <= 0) break;
            const cut = Math.min(rs.spec, toScale);
            rs.spec -= cut;
            toScale -= cut;
            done += cut;
        }
        return done > 0;
    }

    function settle(): void {
        for (let i = 0; i < 10_000; i++) {
            const a = syncDeployment();
            const b = syncReplicaSets();
            if (!a && !b) return;
        }
        throw new Error("the controllers did not settle");
    }

    function record(): void {
        const alive = pods.filter((p) => p.createdAt <= now && (p.exitAt === undefined || p.exitAt > now));
        const draining = alive.filter((p) => p.deletedAt !== undefined).length;
        const activeNow = alive.length - draining;
        if (alive.length > peakPods) {
            peakPods = alive.length;
            peakAt = now;
        }
        peakDraining = Math.max(peakDraining, draining);
        peakActive = Math.max(peakActive, activeNow);
    }

    function nextTime(): number | undefined {
        const times: number[] = [];
        for (const p of pods) {
            if (p.deletedAt === undefined) {
                if (p.readyAt > now) times.push(p.readyAt);
                if (p.readyAt + timing.minReadySeconds > now) times.push(p.readyAt + timing.minReadySeconds);
            } else if (p.exitAt !== undefined && p.exitAt > now) {
                times.push(p.exitAt);
            }
        }
        if (pending.length > 0) times.push(pending[0].at);
        return times.length === 0 ? undefined : Math.min(...times);
    }

    const finished = () => {
        const fresh = newest();
        return pending.length === 0 && sets.every((rs) => rs === fresh || rs.spec === 0) && available(fresh) === desired && active().length === desired;
    };

    settle();
    record();
    for (;;) {
        const next = nextTime();
        if (next === undefined) break;
        if (next > limitSeconds) {
            throw new Error(`the model did not settle within ${limitSeconds} s`);
        }
        now = next;
        while (pending.length > 0 && pending[0].at <= now) {
            const e = pending.shift() as ModelEvent;
            if (e.kind === "rollout") {
                revision += 1;
                sets.push({ revision, createdAt: now, spec: 0 });
            } else if (e.kind === "scale") {
                desired = e.replicas;
            } else {
                const ready = active().filter((p) => p.readyAt <= now).sort((a, b) => b.rs.createdAt - a.rs.createdAt);
                for (const p of ready.slice(0, e.pods)) deletePod(p);
            }
        }
        settle();
        record();
        if (finished() && doneAt === 0 && revision > 0) {
            doneAt = now;
        }
        // Forget pods that are gone, so long runs stay fast.
        for (let i = pods.length - 1; i >= 0; i--) {
            const p = pods[i];
            if (p.exitAt !== undefined && p.exitAt <= now) {
                lives.push({ from: Math.max(0, p.createdAt), to: p.exitAt });
                pods.splice(i, 1);
            }
        }
    }
    for (const p of pods) lives.push({ from: Math.max(0, p.createdAt), to: Number.POSITIVE_INFINITY });
    return { peakPods, peakAt, peakDraining, peakActive, doneAt, deleted, lives };
}

/** A seeded pseudo-random generator (mulberry32), so a failing sweep can be re-run: the lab's own. */
export { seededRandom as seeded } from "../../maint/lib/reliabilityChecks";

/** Uniform in [lo, hi) from `random`. */
export function between(random: () => number, lo: number, hi: number): () => number {
    return () => lo + random() * (hi - lo);
}

/**
 * The worst case for overlap: pods ready almost at once, every deleted pod with work in flight
 * that outlasts its graceful timeout, the kubelet slow to start the termination.
 */
export function adversarial(kubeletDelaySeconds: number): PodTimes {
    return { bootSeconds: () => 0.5, workAfterSigtermSeconds: () => Number.POSITIVE_INFINITY, kubeletDelaySeconds: () => kubeletDelaySeconds };
}

/** Kubernetes' rounding of a percentage `maxSurge`: up ("calculated from the percentage by rounding up"). */
export function percentSurge(percent: number): (replicas: number) => number {
    return (replicas) => Math.ceil((replicas * percent) / 100);
}
