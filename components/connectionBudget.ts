/**
 * The PostgreSQL connection budget (docs/architecture.md, "Connection budget"), as pure functions.
 *
 * Every gunicorn thread keeps its own persistent connection (Django `CONN_MAX_AGE` > 0), so a web
 * pod holds up to `workers × threads` connections. The budget counts the pods that can hold them at
 * the same time, which is more than `maxReplicas`: a rolling update at `maxReplicas` adds the surge
 * pods and leaves old pods draining, and one more disruption may stop pods while it runs (see
 * {@link podsHoldingConnections}); the workers, the CronJobs, the migrate Job and a one-off
 * `npm run manage` Job hold theirs alongside. tests/connection-rollout.test.ts emulates the
 * Deployment controller with the rendered Deployments and checks the count.
 *
 * Not a pooler: Django 5.1+ can keep a psycopg 3 pool per process (`OPTIONS: {"pool": …}`), but it
 * refuses persistent connections alongside it ("Pooling doesn't support persistent connections",
 * django/db/backends/postgresql/base.py, 5.2) and shares `max_size` connections between a process'
 * threads, which then wait for one: it lowers the connections per pod only by making requests
 * queue, and does nothing about how many pods overlap. The pods that overlap are what this budget
 * bounds.
 *
 * The Cloud SQL Auth Proxy sidecar neither adds nor saves connections: it forwards each client
 * connection to the instance one to one, so PostgreSQL sees exactly the app's connections. Its
 * README: "The Proxy is a gateway to your Cloud SQL instance. Clients connect to the Proxy […] The
 * Proxy then encrypts the connection to your Cloud SQL instance"
 * (https://github.com/GoogleCloudPlatform/cloud-sql-proxy#how-should-i-use-the-proxy), and for
 * pooling it recommends a connection pooler such as PgBouncer in front
 * (#should-i-use-the-proxy-for-large-deployments). In its source every accepted client connection
 * dials its own instance connection (internal/proxy/proxy.go: `serveSocketMount` → `dialer.Dial` →
 * `proxyConn`); `--max-connections` only caps them ("Limit the number of connections. Default is
 * no limit.") and the sidecar does not set it.
 */

import { defaultWorkerGraceSeconds, drainSeconds, webMinReadySeconds, webTermination } from "./termination";

/**
 * Cloud SQL for PostgreSQL's default `max_connections` by instance memory.
 * Source: Cloud SQL docs, "Configure database flags" → PostgreSQL `max_connections` defaults
 * (https://cloud.google.com/sql/docs/postgres/flags#postgres-m), as [minimum memory GiB, connections].
 */
const MAX_CONNECTIONS_BY_MEMORY_GIB: ReadonlyArray<readonly [number, number]> = [
    [120, 1000],
    [60, 800],
    [30, 600],
    [15, 500],
    [7.5, 400],
    [6, 200],
    [3.75, 100],
];

/** Shared-core tiers have fixed values (same source). */
const SHARED_CORE: Readonly<Record<string, number>> = { "db-f1-micro": 25, "db-g1-small": 50 };

/**
 * Standard custom tiers (3.75 GiB per vCPU) suggested when a config needs a bigger instance, one
 * per step of {@link MAX_CONNECTIONS_BY_MEMORY_GIB}, smallest first.
 */
export const SUGGESTED_TIERS: readonly string[] = [
    "db-custom-1-3840",
    "db-custom-2-7680",
    "db-custom-4-15360",
    "db-custom-8-30720",
    "db-custom-16-61440",
    "db-custom-32-122880",
];

/** Connections PostgreSQL keeps for superusers (`superuser_reserved_connections`, default 3). */
export const RESERVED_CONNECTIONS = 3;

/**
 * Connections of one-off pods that may run while the Deployments roll out: the migrate Job (one
 * thread, one connection; the next release's may start while the previous rollout's old pods still
 * drain) and one `npm run manage` Job at a time (one management command, one connection). The
 * collectstatic Job holds none: it has no Auth Proxy sidecar and `collectstatic` does not query
 * the database.
 */
export const JOB_CONNECTIONS = 2;

/**
 * `maxSurge` of the web Deployment's RollingUpdate strategy, in percent of the desired replicas
 * (with `maxUnavailable: 0`). The budget depends on it: the Deployment must use
 * {@link ROLLOUT_MAX_SURGE}, not a literal of its own.
 */
export const ROLLOUT_MAX_SURGE_PERCENT = 25;

/** {@link ROLLOUT_MAX_SURGE_PERCENT} as the Deployment's `strategy.rollingUpdate.maxSurge` value. */
export const ROLLOUT_MAX_SURGE = `${ROLLOUT_MAX_SURGE_PERCENT}%`;

/** The default `max_connections` of a Cloud SQL tier, or `undefined` if it cannot be derived. */
export function maxConnectionsForTier(tier: string): number | undefined {
    if (tier in SHARED_CORE) {
        return SHARED_CORE[tier];
    }
    const custom = /^db-custom-(\d+)-(\d+)$/.exec(tier);
    if (!custom) {
        return undefined;
    }
    const memoryGib = Number(custom[2]) / 1024;
    for (const [minGib, connections] of MAX_CONNECTIONS_BY_MEMORY_GIB) {
        if (memoryGib >= minGib) {
            return connections;
        }
    }
    return 25;
}

/**
 * Connections one CronJob pod holds: a management command runs in one thread with one database
 * connection (Django opens one connection per thread and alias).
 */
export const SCHEDULE_CONNECTIONS_PER_POD = 1;

/** A worker Deployment's share of the budget: `dbConnections` per pod (set it to the worker's concurrency). */
export interface WorkerSizing {
    readonly maxReplicas: number;
    readonly dbConnections: number;
    /** The worker pods' grace period. @default {@link defaultWorkerGraceSeconds} */
    readonly terminationGracePeriodSeconds?: number;
}

/** A CronJob's share of the budget. */
export interface ScheduleSizing {
    readonly concurrencyPolicy: "Forbid" | "Replace";
}

/** Sizing of the web tier that determines its connection needs, plus workers and CronJobs. */
export interface WebSizing {
    readonly maxReplicas: number;
    readonly gunicornWorkers: number;
    readonly gunicornThreads: number;
    /** Spot Pods (`workload.spot`): the pods' shorter termination changes the rollout's pacing. @default false */
    readonly spot?: boolean;
    /** Worker Deployments (`workers.<name>`). @default [] */
    readonly workers?: readonly WorkerSizing[];
    /** CronJobs (`schedules.<name>`). @default [] */
    readonly schedules?: readonly ScheduleSizing[];
}

/**
 * Pods one CronJob may run at once: `Forbid` skips a run while the previous one is still running
 * (one pod); `Replace` deletes the running Job and starts the new one, so the old pod may still be
 * terminating, with its connection, while the new one connects (two; never three, since the old
 * pod's grace period is shorter than cron's shortest period, components/termination.ts
 * `scheduleGraceSeconds`). `Allow` is refused by config validation: the number of overlapping runs
 * has no bound the budget could count.
 * ("Forbid: … if it is time for a new Job run and the previous Job run hasn't finished yet, the
 * CronJob skips the new Job run"; "Replace: … replaces the currently running Job run with a new
 * Job run", https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/#concurrency-policy.)
 */
export function schedulePods(policy: ScheduleSizing["concurrencyPolicy"]): number {
    return policy === "Forbid" ? 1 : 2;
}

/**
 * How a Deployment's pods leave, as far as the budget is concerned: how long a deleted pod keeps
 * its connections, and what paces the deletions.
 */
export interface RolloutPacing {
    /** Longest a deleted pod holds its connections (components/termination.ts `drainSeconds`). */
    readonly drainSeconds: number;
    /** The Deployment's `minReadySeconds` (0: none). */
    readonly minReadySeconds: number;
}

/** The web Deployment's pacing (components/workload.ts renders it). */
export function webPacing(spot: boolean): RolloutPacing {
    return { drainSeconds: drainSeconds(webTermination(spot).terminationGracePeriodSeconds), minReadySeconds: webMinReadySeconds(spot) };
}

/**
 * A worker Deployment's pacing: it drains for its whole grace period (its task may need all of
 * it), and has no `minReadySeconds` (no probes: a worker is ready when it starts), so a rollout may
 * delete every old pod before the first has exited. Pacing it like the web tier would make a
 * rollout take up to four grace periods, an hour or more for long tasks; the budget counts the
 * overlap instead.
 */
export function workerPacing(terminationGracePeriodSeconds: number): RolloutPacing {
    return { drainSeconds: drainSeconds(terminationGracePeriodSeconds), minReadySeconds: 0 };
}

/**
 * Longest `periodSeconds` of an HPA scaling policy: "PeriodSeconds specifies the window of time
 * for which the policy should hold true. PeriodSeconds must be greater than zero and less than or
 * equal to 1800 (30 min)" (autoscaling/v2 HPAScalingPolicy,
 * https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/horizontal-pod-autoscaler-v2/).
 */
export const HPA_MAX_POLICY_PERIOD_SECONDS = 1800;

/**
 * The HPA scale-down policy of a Deployment the budget counts: at most `surge` pods removed per
 * drain period (capped at {@link HPA_MAX_POLICY_PERIOD_SECONDS}), so one autoscaler step stops no
 * more pods than the budget's disruption term ({@link podsHoldingConnections}). Without a policy
 * the HPA may remove 100 % of the pods every 15 s ("the default behavior … scaleDown: policies:
 * type: Percent value: 100 periodSeconds: 15",
 * https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/#default-behavior),
 * and a scale-up right after would start new pods while all of those still drain.
 */
export function scaleDownPolicy(maxReplicas: number, pacing: RolloutPacing): { readonly type: "Pods"; readonly value: number; readonly periodSeconds: number } {
    return { type: "Pods", value: surgePods(maxReplicas), periodSeconds: Math.min(Math.ceil(pacing.drainSeconds), HPA_MAX_POLICY_PERIOD_SECONDS) };
}

/** Connections of the worker Deployments during rollouts at their maxReplicas ({@link podsHoldingConnections}). */
export function workerConnections(workers: readonly WorkerSizing[], spot = false): number {
    return workers.reduce((sum, w) => sum + podsHoldingConnections(w.maxReplicas, workerPacing(w.terminationGracePeriodSeconds ?? defaultWorkerGraceSeconds(spot))).total * w.dbConnections, 0);
}

/** Connections of the CronJobs if all of them run at once. */
export function scheduleConnections(schedules: readonly ScheduleSizing[]): number {
    return schedules.reduce((sum, s) => sum + schedulePods(s.concurrencyPolicy) * SCHEDULE_CONNECTIONS_PER_POD, 0);
}

/**
 * Surge pods of a rolling update at `replicas`: Kubernetes rounds a percentage `maxSurge` up
 * ("The absolute number is calculated from the percentage by rounding up",
 * https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#max-surge).
 */
export function surgePods(replicas: number, maxSurgePercent = ROLLOUT_MAX_SURGE_PERCENT): number {
    return Math.ceil((replicas * maxSurgePercent) / 100);
}

/** The pods that may hold database connections at the same time, by kind. */
export interface PodsHoldingConnections {
    /** The HPA's maximum. */
    readonly replicas: number;
    /** New pods a rollout adds on top (`maxSurge`). */
    readonly surge: number;
    /** Old pods the rollout deleted that still hold their connections. */
    readonly rolloutDraining: number;
    /** Pods one more disruption stopped while the rollout runs, still holding their connections. */
    readonly disruptionDraining: number;
    /** `rolloutDraining + disruptionDraining`. */
    readonly draining: number;
    /** All of them. */
    readonly total: number;
}

/**
 * The pods that hold connections during a rolling update at `maxReplicas`.
 *
 * - `replicas + surge`: with `maxUnavailable: 0` the Deployment runs up to `maxSurge` new pods
 *   above the desired count.
 * - `rolloutDraining`: the controller does not count terminating pods: "Kubernetes doesn't count
 *   terminating Pods when calculating the number of availableReplicas, which must be between
 *   replicas - maxUnavailable and replicas + maxSurge. As a result, you might notice that there are
 *   more Pods than expected during a rollout"
 *   (https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#updating-a-deployment;
 *   in the source the new ReplicaSet grows while the ReplicaSets' `spec.replicas`, which drop as
 *   soon as a pod is scaled away, sum to less than `replicas + maxSurge`:
 *   pkg/controller/deployment/util/deployment_util.go `NewRSNewReplicas`). It deletes old pods as
 *   new ones become available, at most `surge` per `minReadySeconds` (only the `surge` new pods
 *   that were not yet available a `minReadySeconds` ago can become available within it), and a
 *   deleted pod holds its connections for up to its drain time (preStop, the requests or the task
 *   in flight, the grace period: components/termination.ts). So `surge × ⌈drain / minReadySeconds⌉`
 *   old pods can drain at once, and never more than the `replicas` old pods a rollout replaces.
 *   The web pods' `minReadySeconds` is their drain time, so one step drains at a time; the workers
 *   have none, so all their old pods can drain at once.
 * - `disruptionDraining`: `surge` more, for one other disruption during the rollout: an autoscaler
 *   step (its scale-down policy removes at most `surge` pods per drain period, {@link scaleDownPolicy},
 *   and a scale-up may follow at once), a second rollout replacing the first (the first's new pods
 *   that were ready but not yet available are deleted at once, at most `surge`), or up to `surge`
 *   pods lost with a node (evicted or preempted; the ReplicaSet replaces them at once). Two such
 *   disruptions at the same time are not counted (docs/operations.md, "During a rollout").
 */
export function podsHoldingConnections(maxReplicas: number, pacing: RolloutPacing, maxSurgePercent = ROLLOUT_MAX_SURGE_PERCENT): PodsHoldingConnections {
    const surge = surgePods(maxReplicas, maxSurgePercent);
    const steps = pacing.minReadySeconds > 0 ? Math.ceil(pacing.drainSeconds / pacing.minReadySeconds) : Number.POSITIVE_INFINITY;
    const rolloutDraining = Math.min(maxReplicas, surge * steps);
    const policy = scaleDownPolicy(maxReplicas, pacing);
    const disruptionDraining = surge * Math.ceil(pacing.drainSeconds / policy.periodSeconds);
    const draining = rolloutDraining + disruptionDraining;
    return { replicas: maxReplicas, surge, rolloutDraining, disruptionDraining, draining, total: maxReplicas + surge + draining };
}

/** What {@link requiredConnections} computes. */
export interface ConnectionBudget {
    /** The Deployment's `maxSurge` the pods were counted with, e.g. "25%". */
    readonly maxSurge: string;
    /** Pods holding connections during a rollout at maxReplicas. */
    readonly pods: PodsHoldingConnections;
    /** Connections per pod (`workers × threads`). */
    readonly perPod: number;
    /** Connections of the web pods: `pods.total × perPod`. */
    readonly web: number;
    /** Connections of the Jobs. */
    readonly jobs: number;
    /** Connections of the worker Deployments (their rollouts counted like the web's). */
    readonly workers: number;
    /** Connections of the CronJobs, all running at once. */
    readonly schedules: number;
    /** `web + jobs + workers + schedules`. */
    readonly total: number;
    /** Connections PostgreSQL reserves for superusers. */
    readonly reserved: number;
    /** Connections the app may use under `maxConnections`. */
    usable(maxConnections: number): number;
    /** True when the total fits under `maxConnections`. */
    fits(maxConnections: number): boolean;
    /**
     * The largest maxReplicas whose total fits under `maxConnections` with the same workers and
     * threads (found by search, not by inverting the formula), or 0 if not even one replica fits.
     */
    largestFittingMaxReplicas(maxConnections: number): number;
    /** The smallest of {@link SUGGESTED_TIERS} with more than `maxConnections` whose default fits, if any. */
    smallestFittingTier(maxConnections: number): string | undefined;
}

/** The connections the platform needs during a rollout at full scale, and what would fit. */
export function requiredConnections(sizing: WebSizing): ConnectionBudget {
    const pacing = webPacing(sizing.spot ?? false);
    const pods = podsHoldingConnections(sizing.maxReplicas, pacing);
    const perPod = sizing.gunicornWorkers * sizing.gunicornThreads;
    const web = pods.total * perPod;
    const workers = workerConnections(sizing.workers ?? [], sizing.spot ?? false);
    const schedules = scheduleConnections(sizing.schedules ?? []);
    const fixed = JOB_CONNECTIONS + workers + schedules;
    const total = web + fixed;
    const usable = (maxConnections: number) => maxConnections - RESERVED_CONNECTIONS;
    const totalFor = (maxReplicas: number) => podsHoldingConnections(maxReplicas, pacing).total * perPod + fixed;
    return {
        maxSurge: ROLLOUT_MAX_SURGE,
        pods,
        perPod,
        web,
        jobs: JOB_CONNECTIONS,
        workers,
        schedules,
        total,
        reserved: RESERVED_CONNECTIONS,
        usable,
        fits: (maxConnections) => total <= usable(maxConnections),
        largestFittingMaxReplicas(maxConnections) {
            // totalFor grows with maxReplicas (at least by perPod per replica), so the search
            // ends after at most usable / perPod steps.
            let largest = 0;
            while (totalFor(largest + 1) <= usable(maxConnections)) {
                largest += 1;
            }
            return largest;
        },
        smallestFittingTier(maxConnections) {
            return SUGGESTED_TIERS.find((tier) => {
                const connections = maxConnectionsForTier(tier) ?? 0;
                return connections > maxConnections && total <= usable(connections);
            });
        },
    };
}
