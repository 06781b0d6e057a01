/**
 * How the platform's pods stop, and how fast a rolling update may replace them. Pure; the web
 * Deployment (components/workload.ts), the workers, the CronJobs and the connection budget
 * (components/connectionBudget.ts) all read these numbers here, so they cannot disagree.
 *
 * A web pod's termination sequence: the pod leaves the load balancer's endpoints and its preStop
 * hook sleeps ({@link PRE_STOP_SECONDS}) while the load balancer stops sending; then gunicorn gets
 * SIGTERM, stops accepting, and waits up to its graceful timeout for the requests in flight; then
 * its arbiter kills what is left and exits. The kubelet kills anything still running when
 * `terminationGracePeriodSeconds`, counted from the start (preStop included), is over
 * (https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/#pod-termination).
 *
 * On regular capacity every termination (a rollout, a scale-down, an eviction) gets the whole grace
 * period the pod asks for. A Spot Pod's preemption gets less whatever the pod asks for
 * ({@link SPOT_PREEMPTION_GRACE_SECONDS}, components/spot.ts), so on Spot the whole sequence is
 * sized to fit in it, and rollouts use the same, shorter sequence: a pod behaves the same way
 * whatever stops it.
 */
import { GRACEFUL_TIMEOUT_SECONDS, PRE_STOP_SECONDS } from "./podTemplates";
import { SPOT_PREEMPTION_GRACE_SECONDS } from "./spot";

/**
 * Seconds between the end of gunicorn's graceful timeout and the kubelet's SIGKILL: gunicorn's
 * arbiter polls its workers every 0.1 s until the graceful timeout, then SIGKILLs the ones left and
 * exits (gunicorn/arbiter.py `stop`), and the Cloud SQL Auth Proxy sidecar, stopped after the app
 * container, exits on SIGTERM at once (`--exit-zero-on-sigterm`).
 */
export const SHUTDOWN_MARGIN_SECONDS = 2;

/**
 * Seconds between a pod's deletion in the API and the kubelet starting its termination (it learns
 * of the deletion through its watch), plus the time PostgreSQL takes to free the backends of a
 * process that exited. Added to the grace period wherever the connection budget needs the longest a
 * deleted pod can hold its connections ({@link drainSeconds}).
 */
export const KUBELET_START_MARGIN_SECONDS = 3;

/** A pod's termination sequence, as its spec renders it. */
export interface TerminationSequence {
    /** The preStop hook's sleep. */
    readonly preStopSeconds: number;
    /** gunicorn's `--graceful-timeout`: how long requests in flight at SIGTERM may still run. */
    readonly gracefulTimeoutSeconds: number;
    /** The pod's `terminationGracePeriodSeconds`: preStop + graceful timeout + {@link SHUTDOWN_MARGIN_SECONDS}. */
    readonly terminationGracePeriodSeconds: number;
}

/**
 * The web pods' termination sequence.
 *
 * - Regular capacity: preStop {@link PRE_STOP_SECONDS}, gunicorn's {@link GRACEFUL_TIMEOUT_SECONDS},
 *   and a grace period that lets both run to the end: 10 + 25 + 2 = 37 s.
 * - Spot: the grace period is {@link SPOT_PREEMPTION_GRACE_SECONDS} (15 s), all a preemption gives;
 *   the preStop stays (the load balancer needs the same time to stop sending), so gunicorn's
 *   graceful timeout is what is left: 15 - 10 - 2 = 3 s. A request in flight when the node's
 *   preemption notice arrives is served if it ends within preStop + graceful timeout = 13 s of
 *   the notice; a longer one is cut when gunicorn's arbiter stops its worker, and the load balancer
 *   answers the client with an error. The load balancer itself would wait 30 s for it
 *   (BackendConfig `timeoutSec`): no Spot pod can honour that, so endpoints that need long
 *   requests belong on regular capacity (`workload.spot: false`) or in a worker
 *   (docs/operations.md, "When a Spot node goes").
 */
export function webTermination(spot: boolean): TerminationSequence {
    if (!spot) {
        return {
            preStopSeconds: PRE_STOP_SECONDS,
            gracefulTimeoutSeconds: GRACEFUL_TIMEOUT_SECONDS,
            terminationGracePeriodSeconds: PRE_STOP_SECONDS + GRACEFUL_TIMEOUT_SECONDS + SHUTDOWN_MARGIN_SECONDS,
        };
    }
    const graceful = SPOT_PREEMPTION_GRACE_SECONDS - PRE_STOP_SECONDS - SHUTDOWN_MARGIN_SECONDS;
    if (graceful < 1) {
        throw new Error(`PRE_STOP_SECONDS (${PRE_STOP_SECONDS}) leaves gunicorn no graceful timeout inside a Spot Pod's ${SPOT_PREEMPTION_GRACE_SECONDS} s preemption grace period (components/termination.ts).`);
    }
    return { preStopSeconds: PRE_STOP_SECONDS, gracefulTimeoutSeconds: graceful, terminationGracePeriodSeconds: SPOT_PREEMPTION_GRACE_SECONDS };
}

/**
 * The longest a deleted pod can hold database connections: until the kubelet kills it at the end
 * of its grace period, counted from when the kubelet starts the termination.
 */
export function drainSeconds(terminationGracePeriodSeconds: number): number {
    return terminationGracePeriodSeconds + KUBELET_START_MARGIN_SECONDS;
}

/**
 * The web Deployment's `minReadySeconds`: a new pod counts as available, and lets the controller
 * delete the next old pods, only after it has been ready this long. Set to {@link drainSeconds} of
 * the web pods, it paces a rolling update so that the old pods deleted by one step have exited
 * before the next step deletes more: the controller does not count terminating pods, and nothing
 * else makes it wait for them (components/connectionBudget.ts, `podsHoldingConnections`). Traffic
 * is not delayed: a pod receives requests as soon as it is ready; only the rollout's next step waits.
 * The cost: each step of a rollout takes at least this long (40 s on regular capacity, 18 s on
 * Spot), and a rollout has at most {@link MAX_ROLLOUT_STEPS} steps.
 */
export function webMinReadySeconds(spot: boolean): number {
    return drainSeconds(webTermination(spot).terminationGracePeriodSeconds);
}

/**
 * Most steps a rolling update with `maxSurge` 25 % and `maxUnavailable` 0 takes: each step replaces
 * `ceil(replicas / 4)` pods, so `ceil(replicas / ceil(replicas / 4))` ≤ 4 steps.
 */
export const MAX_ROLLOUT_STEPS = 4;

/**
 * Seconds a worker gets between SIGTERM and SIGKILL by default: long enough for a typical task to
 * finish (the reference worker finishes its current task and exits 0 on SIGTERM). On Spot the
 * default is {@link SPOT_PREEMPTION_GRACE_SECONDS} instead, all a preemption gives.
 */
export const WORKER_GRACE_SECONDS = 60;

/** A worker's grace period when `workers.<name>.terminationGracePeriodSeconds` is not set. */
export function defaultWorkerGraceSeconds(spot: boolean): number {
    return spot ? SPOT_PREEMPTION_GRACE_SECONDS : WORKER_GRACE_SECONDS;
}

/**
 * A CronJob pod's grace period: a management command has no preStop and Django's commands stop on
 * SIGTERM at once. Explicit (Kubernetes' default is 30 s) because the connection budget counts two
 * pods for a `Replace` schedule, the stopped run and the new one, which holds only if the stopped
 * one is gone before the next run can start: cron's shortest period is a minute. On Spot, what a
 * preemption gives.
 */
export function scheduleGraceSeconds(spot: boolean): number {
    return spot ? SPOT_PREEMPTION_GRACE_SECONDS : 30;
}
