/**
 * Pure builders for the Django pods: the web container (gunicorn), its probes and the Job
 * containers. Kept apart from the Workload component so tests can read them directly.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import { DATABASE_ROLE_VARIABLE, DATABASE_USER_VARIABLE, MEDIA_BUCKET_VARIABLE, MEDIA_SIGNER_VARIABLE, POD_IP_VARIABLE, SETTINGS_MODULE_VARIABLE } from "./appEnv";
import { LOGS_EPHEMERAL_STORAGE, restrictedContainerSecurity, restrictedPodSecurity } from "./kube";
import { spotScheduling } from "./spot";

type Container = k8s.types.input.core.v1.Container;
type EnvVar = k8s.types.input.core.v1.EnvVar;
type PodSpec = k8s.types.input.core.v1.PodSpec;

/** uid/gid of the app image's non-root user (app/Dockerfile creates it). */
export const APP_UID = 10001;
/** Port gunicorn serves pages on (the Service's `http` target port). */
export const WEB_PORT = 8000;
/**
 * Port gunicorn answers the probes on, with threads that page traffic cannot fill
 * (app/web_worker.py: the second `--bind` is the probe address). The kubelet's probes and the load
 * balancer's health check use it; the Service does not.
 */
export const PROBE_PORT = 8081;
/** Name of {@link PROBE_PORT} in the container's ports (probes refer to it by name). */
export const PROBE_PORT_NAME = "probes";
/** Liveness: the process is alive (no dependencies). */
export const LIVENESS_PATH = "/healthz/";
/** Readiness: the database is reachable. */
export const READINESS_PATH = "/readyz/";
/** The worker's own Prometheus metrics, on {@link PROBE_PORT} (app/web_worker.py `METRICS_PATH`). */
export const METRICS_PATH = "/metrics";
/**
 * The saturation gauge app/web_worker.py serves at {@link METRICS_PATH}: page requests in a worker
 * process, running or waiting for a thread, per page thread (`BUSY_METRIC`).
 */
export const BUSY_METRIC = "web_requests_per_thread";
/**
 * The gunicorn worker class of the web pods: gthread with probe threads, requests read before they
 * take a thread and the busy gauge (app/web_worker.py, copied next to `manage.py` by every project:
 * docs/your-app.md).
 */
export const WEB_WORKER_CLASS = "web_worker.WebWorker";
/** Seconds the pod keeps serving after it is taken out of the load balancer. */
export const PRE_STOP_SECONDS = 10;
/** gunicorn's graceful timeout; the pod's grace period must exceed preStop + this. */
export const GRACEFUL_TIMEOUT_SECONDS = 25;

/**
 * The load balancer's backend service timeout (BackendConfig `timeoutSec`, components/networking.ts).
 * For the classic Application Load Balancer that GKE Ingress creates it is a request/response
 * timeout: how long the load balancer waits for the backend's complete response, counted from
 * when it starts sending the request; an upload that streams longer is cut (the default, 30 s:
 * https://cloud.google.com/load-balancing/docs/https#timeouts_and_retries ; kubernetes/ingress-gce
 * issue 102, "Large file upload fails after 30 seconds").
 */
export const LOAD_BALANCER_BACKEND_TIMEOUT_SECONDS = 30;

/**
 * How long a request may take to arrive at the pod, and wait there for a thread
 * (app/web_worker.py `REQUEST_DEADLINE_SECONDS`): the load balancer's backend timeout. Past it the
 * load balancer has answered the client already, so the pod answers a request still arriving with
 * 408 and drops one still waiting, instead of computing an answer nobody reads.
 */
export const REQUEST_DEADLINE_SECONDS = LOAD_BALANCER_BACKEND_TIMEOUT_SECONDS;

/**
 * A request whose head and body fit in this many bytes is read by the worker's event loop, which
 * holds no thread, before a thread gets it (app/web_worker.py `BUFFERED_REQUEST_BYTES`). Forms and
 * API calls fit; a larger upload is read by its thread after the first 64 KiB, within
 * {@link REQUEST_DEADLINE_SECONDS}. With gunicorn's default 1000 connections per worker this is at
 * most 64 MiB of buffers per worker.
 */
export const BUFFERED_REQUEST_BYTES = 64 * 1024;

/** Threads per gunicorn worker that answer {@link PROBE_PORT} (app/web_worker.py `PROBE_THREADS`). */
export const PROBE_THREADS = 2;

/**
 * How long the GKE Ingress's load balancer (the Google Cloud external Application Load Balancer)
 * keeps an idle connection to a backend open and reuses it: fixed at 600 s. Google: "The backend
 * keepalive timeout is fixed at 10 minutes (600 seconds) and cannot be changed. The load
 * balancer's backend keepalive timeout should be less than the keepalive timeout used by software
 * running on your backends", so backends must keep idle connections longer than 600 s; Google's
 * examples for common web servers use 620 s.
 * Source: "External Application Load Balancer overview" → Timeouts and retries → Backend HTTP
 * keepalive timeout, https://cloud.google.com/load-balancing/docs/https#timeouts_and_retries
 * (also https://cloud.google.com/load-balancing/docs/https/request-distribution: the backend
 * keepalive timeout is 600 s for the global and the regional load balancer, and fixed).
 */
export const LOAD_BALANCER_BACKEND_KEEPALIVE_SECONDS = 600;

/** How much longer than the load balancer gunicorn keeps an idle connection (620 s in Google's examples). */
export const KEEPALIVE_MARGIN_SECONDS = 20;

/**
 * gunicorn's `--keep-alive`: idle keep-alive connections outlive the load balancer's, so the load
 * balancer always closes them first. When gunicorn closed first, a request the load balancer sent
 * on the connection at that moment was lost (a reset, seen by clients as a 502).
 *
 * With the gthread worker (and app/web_worker.py, which keeps its event loop) a waiting keep-alive
 * connection holds no thread: after a response it is registered with the worker's event loop,
 * which reads the next request when it arrives and closes it after `keepalive` seconds idle
 * (gunicorn/workers/gthread.py, `finish_request` and `murder_keepalived`). A worker keeps at most
 * `worker_connections - threads` of them (default 1000 - threads) and answers beyond that with
 * `Connection: close` (`handle_request`). gunicorn's settings: "When Gunicorn is deployed behind a
 * load balancer, it often makes sense to set this to a higher value"
 * (https://docs.gunicorn.org/en/stable/settings.html#keepalive).
 */
export const GUNICORN_KEEPALIVE_SECONDS = LOAD_BALANCER_BACKEND_KEEPALIVE_SECONDS + KEEPALIVE_MARGIN_SECONDS;

/**
 * django-redis timeouts of the app, as app/resilience.py sets them (`SOCKET_CONNECT_TIMEOUT`,
 * `SOCKET_TIMEOUT`); tests/resilience.test.ts reads them from the app.
 */
export const APP_CACHE_CONNECT_TIMEOUT_SECONDS = 0.5;
export const APP_CACHE_SOCKET_TIMEOUT_SECONDS = 0.5;
/**
 * Cache calls of the app's slowest page when the cache does not answer (`demo/views.py` `index`:
 * set the last visit, get the stats, and set them again after the miss).
 */
export const APP_CACHE_CALLS_PER_PAGE = 3;
/**
 * Longest a page waits for a hung or unreachable Redis while its circuit is still closed: each
 * call may wait for the connect and then for the reply (3 × (0.5 + 0.5) = 3 s).
 */
export const CACHE_STALL_SECONDS = APP_CACHE_CALLS_PER_PAGE * (APP_CACHE_CONNECT_TIMEOUT_SECONDS + APP_CACHE_SOCKET_TIMEOUT_SECONDS);
/**
 * Failures in a row (timeouts, refused or dropped connections) after which a Redis server's circuit
 * opens and the app skips it (app/resilience.py `BREAKER_FAILURES`): two, so that one dropped
 * connection (a Redis restart, a failover) costs nothing while a hung server costs each worker
 * about two socket timeouts, not one per cache call of every page.
 */
export const CACHE_BREAKER_FAILURES = 2;

/** Timing fields of a probe. */
export interface ProbeTiming {
    readonly periodSeconds: number;
    readonly timeoutSeconds: number;
    readonly failureThreshold: number;
}

/**
 * Seconds from the start of the first failed probe until the kubelet acts, when every probe fails:
 * the `failureThreshold`-th consecutive failure starts `(failureThreshold - 1) × periodSeconds`
 * later and fails after `timeoutSeconds` ("After a probe fails failureThreshold times in a row,
 * Kubernetes considers that the overall check has failed",
 * https://kubernetes.io/docs/tasks/configure-pod-container/configure-liveness-readiness-startup-probes/#configure-probes).
 */
export function failureWindowSeconds(probe: ProbeTiming): number {
    return (probe.failureThreshold - 1) * probe.periodSeconds + probe.timeoutSeconds;
}

/** Startup: up to 60 s to boot; no traffic reaches the pod before it passes, so nothing queues. */
export const STARTUP_PROBE_TIMING: ProbeTiming = { periodSeconds: 2, timeoutSeconds: 2, failureThreshold: 30 };

/**
 * Readiness stays quick: a pod that cannot reach the database misses two probes and leaves the load
 * balancer within {@link failureWindowSeconds} = 8 s. The probe has threads of its own
 * ({@link PROBE_THREADS}), so page traffic never makes it fail; only the database does.
 */
export const READINESS_PROBE_TIMING: ProbeTiming = { periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 2 };

/**
 * Longest the readiness check waits for the database, on a short-lived connection of its own
 * (app/resilience.py `READINESS_DATABASE_DEADLINE_SECONDS`): one second less than the probe's
 * timeout, so a database that does not answer gives the probe a 503 (and opens the app's database
 * circuit) rather than a probe timeout.
 */
export const READINESS_DATABASE_DEADLINE_SECONDS = READINESS_PROBE_TIMING.timeoutSeconds - 1;

/**
 * psycopg's `connect_timeout` (app/resilience.py `DATABASE_CONNECT_TIMEOUT_SECONDS`): a connection
 * attempt is given up within the readiness check's deadline; psycopg enforces it on the client side
 * (so it holds when the server accepts TCP and never answers) and raises anything below 2 s to 2
 * (psycopg/conninfo.py `timeout_from_conninfo`, following libpq's `connectDBComplete`).
 */
export const DATABASE_CONNECT_TIMEOUT_SECONDS = Math.max(2, READINESS_DATABASE_DEADLINE_SECONDS);

/**
 * The web pods' PostgreSQL `statement_timeout` (app/resilience.py
 * `DATABASE_STATEMENT_TIMEOUT_SECONDS`, set on each new connection of a serving process only, never
 * in migrate or other commands): one readiness period. A statement that waited that long has seen a
 * readiness check of the same database from the same pod: if it failed, the app's database circuit
 * is open and the statement is cut already; if it passed, the database answers and this statement
 * is slow for its own reasons (locks, a heavy query), which a page must not wait out — far below the
 * load balancer's {@link LOAD_BALANCER_BACKEND_TIMEOUT_SECONDS}.
 */
export const DATABASE_STATEMENT_TIMEOUT_SECONDS = READINESS_PROBE_TIMING.periodSeconds;

/**
 * The app's watchdog cuts a statement this long after its `statement_timeout` (app/resilience.py
 * `WATCHDOG_GRACE_SECONDS`): when the server could not cancel it itself, because the server, or
 * the way to it, is frozen (a hung instance, a failover in progress).
 */
export const DATABASE_WATCHDOG_GRACE_SECONDS = 1;

/**
 * The shortest liveness failure window that cannot restart a pod that is only slow: readiness has
 * taken it out ({@link READINESS_PROBE_TIMING}'s window), the load balancer has stopped sending
 * (the {@link PRE_STOP_SECONDS} the shutdown path allows for that) and the pod has worked off what
 * it had queued (the {@link GRACEFUL_TIMEOUT_SECONDS} gunicorn gets to finish its requests at
 * shutdown): 8 + 10 + 25 = 43 s. A restart cannot make a slow dependency faster; it only moves the
 * queue to the other pods.
 */
export const LIVENESS_MIN_FAILURE_WINDOW_SECONDS = failureWindowSeconds(READINESS_PROBE_TIMING) + PRE_STOP_SECONDS + GRACEFUL_TIMEOUT_SECONDS;

/**
 * Liveness: the process answers, on the probe port, touching no dependency. Kubernetes: "A common
 * pattern for liveness probes is to use the same low-cost HTTP endpoint as for readiness probes,
 * but with a higher failureThreshold", and "Incorrect implementation of liveness probes can lead to
 * cascading failures. This results in restarting of container under high load"
 * (https://kubernetes.io/docs/tasks/configure-pod-container/configure-liveness-readiness-startup-probes/).
 *
 * - The probe has {@link PROBE_THREADS} threads that pages never fill, and a readiness check never
 *   holds more than one of them (callers that find a check under way take its last result), so a
 *   liveness probe waits at most for one readiness check: `timeoutSeconds` =
 *   2 × {@link READINESS_DATABASE_DEADLINE_SECONDS}, with the same again for a CPU-starved pod.
 * - `failureThreshold` 7 every 10 s: a restart needs 7 failures in a row, a failure window of 64 s,
 *   above {@link LIVENESS_MIN_FAILURE_WINDOW_SECONDS} (43 s) and above a minute. A deadlocked pod
 *   still leaves the load balancer after 8 s (readiness); only its restart waits.
 * - No dependency's fault can fail it: a hung Redis or database leaves every pod alive.
 */
export const LIVENESS_PROBE_TIMING: ProbeTiming = { periodSeconds: 10, timeoutSeconds: 2 * READINESS_DATABASE_DEADLINE_SECONDS, failureThreshold: 7 };

/** The reference app's WSGI module (`workload.wsgiModule`'s default). */
export const DEFAULT_WSGI_MODULE = "config.wsgi";
/** The reference app's settings module (`workload.settingsModule`'s default). */
export const DEFAULT_SETTINGS_MODULE = "config.settings";

/**
 * gunicorn's command line, workers and threads from config; serves `<wsgiModule>:application` on
 * {@link WEB_PORT} and the probes on {@link PROBE_PORT} (the second `--bind`: app/web_worker.py
 * tells the two apart by their order) with {@link WEB_WORKER_CLASS}. `gracefulTimeoutSeconds` is
 * shorter on Spot Pods (components/termination.ts).
 */
export function gunicornCommand(workers: number, threads: number, wsgiModule: string = DEFAULT_WSGI_MODULE, gracefulTimeoutSeconds: number = GRACEFUL_TIMEOUT_SECONDS): string[] {
    return [
        "gunicorn", `${wsgiModule}:application`,
        "--bind", `0.0.0.0:${WEB_PORT}`,
        "--bind", `0.0.0.0:${PROBE_PORT}`,
        "--workers", String(workers),
        "--threads", String(threads),
        "--worker-class", WEB_WORKER_CLASS,
        "--timeout", "30",
        "--graceful-timeout", String(gracefulTimeoutSeconds),
        "--keep-alive", String(GUNICORN_KEEPALIVE_SECONDS),
        "--worker-tmp-dir", "/tmp",
        "--access-logfile", "-",
        "--error-logfile", "-",
    ];
}

/** A short, stable, DNS-safe fingerprint of an image reference, for naming Jobs after it. */
export function imageFingerprint(image: string): string {
    return createHash("sha256").update(image).digest("hex").slice(0, 10);
}

/** Environment wiring shared by the web container and the Jobs. */
export interface EnvSources {
    readonly configMapName: pulumi.Input<string>;
    readonly secretName: pulumi.Input<string>;
}

function envFrom(sources: EnvSources): k8s.types.input.core.v1.EnvFromSource[] {
    return [{ configMapRef: { name: sources.configMapName } }, { secretRef: { name: sources.secretName } }];
}

/**
 * The private media bucket as one container sees it: the bucket and the pod's own Google service
 * account, which signs links to uploads. Always both or neither ({@link MEDIA_BUCKET_VARIABLE}).
 */
export interface ContainerMedia {
    readonly bucket: pulumi.Input<string>;
    /**
     * Email of the pod's own Google service account, as `DJANGO_APP_MEDIA_SIGNER`: django-storages
     * signs media URLs through the IAM signBlob API as this account (Workload Identity has no key
     * file). Web and each worker run as different accounts.
     */
    readonly signer: pulumi.Input<string>;
}

/** The database login of one container (components/database.ts `loginOf`). */
export interface ContainerDatabase {
    /** `DJANGO_APP_DB_USER`: the identity's own IAM database user, or the schema owner with a password. */
    readonly user: pulumi.Input<string>;
    /** `DJANGO_APP_DB_ROLE`: the role the session acts as (the migrate Job's schema owner). @default none */
    readonly role?: pulumi.Input<string>;
}

/**
 * What every Django container of a stack shares besides its command: the image, the env contract
 * (ConfigMap + Secret), the settings module, its identity's database login and, for identities
 * that may use it, the media bucket.
 */
export interface DjangoContainerContext {
    readonly image: string;
    readonly sources: EnvSources;
    /** `DJANGO_SETTINGS_MODULE`. @default "config.settings" */
    readonly settingsModule?: string;
    /**
     * The media bucket and the account that signs for it, in this container's own env (never the
     * shared ConfigMap). Absent when media is off, and for identities without access to the
     * bucket (collectstatic): their default storage is then local files.
     */
    readonly media?: ContainerMedia;
    /** The container's database login: per identity, so never in the shared ConfigMap. */
    readonly database: ContainerDatabase;
}

/** The per-container variables of {@link DjangoContainerContext} (not in the shared ConfigMap). */
export function djangoEnv(ctx: DjangoContainerContext): EnvVar[] {
    return [
        { name: SETTINGS_MODULE_VARIABLE, value: ctx.settingsModule ?? DEFAULT_SETTINGS_MODULE },
        { name: DATABASE_USER_VARIABLE, value: ctx.database.user },
        ...(ctx.database.role === undefined ? [] : [{ name: DATABASE_ROLE_VARIABLE, value: ctx.database.role }]),
        ...(ctx.media === undefined ? [] : [{ name: MEDIA_BUCKET_VARIABLE, value: ctx.media.bucket }, { name: MEDIA_SIGNER_VARIABLE, value: ctx.media.signer }]),
    ];
}

/**
 * The gunicorn web container with probes, resources and the restricted security context. Without
 * `ctx` (a container looked at alone, in tests) only the settings module is set per container.
 */
export function webContainer(image: string, sources: EnvSources, sizing: { cpu: string; memory: string; workers: number; threads: number; wsgiModule?: string; gracefulTimeoutSeconds?: number; preStopSeconds?: number }, ctx?: Omit<DjangoContainerContext, "image" | "sources">): Container {
    const probe = (path: string) => ({ httpGet: { path, port: PROBE_PORT_NAME } });
    return {
        name: "web",
        image,
        command: gunicornCommand(sizing.workers, sizing.threads, sizing.wsgiModule, sizing.gracefulTimeoutSeconds),
        ports: [{ name: "http", containerPort: WEB_PORT, protocol: "TCP" }, { name: PROBE_PORT_NAME, containerPort: PROBE_PORT, protocol: "TCP" }],
        envFrom: envFrom(sources),
        env: [
            { name: POD_IP_VARIABLE, valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
            ...(ctx ? djangoEnv({ image, sources, ...ctx }) : [{ name: SETTINGS_MODULE_VARIABLE, value: DEFAULT_SETTINGS_MODULE }]),
        ],
        startupProbe: { ...probe(LIVENESS_PATH), ...STARTUP_PROBE_TIMING },
        livenessProbe: { ...probe(LIVENESS_PATH), ...LIVENESS_PROBE_TIMING },
        readinessProbe: { ...probe(READINESS_PATH), ...READINESS_PROBE_TIMING },
        lifecycle: { preStop: { sleep: { seconds: sizing.preStopSeconds ?? PRE_STOP_SECONDS } } },
        resources: {
            requests: { cpu: sizing.cpu, memory: sizing.memory, "ephemeral-storage": LOGS_EPHEMERAL_STORAGE },
            limits: { memory: sizing.memory, "ephemeral-storage": LOGS_EPHEMERAL_STORAGE },
        },
        securityContext: restrictedContainerSecurity(APP_UID),
        volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
    };
}

/** Requests and memory limit of a Django container that is not the web server. */
export interface ContainerSizing {
    readonly cpu: string;
    readonly memory: string;
}

/** Sizing of the migrate/collectstatic Jobs, the CronJobs and one-off `npm run manage` Jobs. */
export const JOB_SIZING: ContainerSizing & { readonly memoryLimit: string } = { cpu: "250m", memory: "256Mi", memoryLimit: "512Mi" };

/**
 * A Django container running a management command (migrate, collectstatic, a CronJob, a one-off
 * `manage.py` command) or a worker: same image, env contract and security as the web container,
 * no ports and no probes.
 */
export function jobContainer(name: string, image: string, command: pulumi.Input<string>[], sources: EnvSources, ctx: Omit<DjangoContainerContext, "image" | "sources">, sizing?: ContainerSizing): Container {
    return {
        name,
        image,
        command,
        envFrom: envFrom(sources),
        env: djangoEnv({ image, sources, ...ctx }),
        resources: {
            requests: { cpu: sizing?.cpu ?? JOB_SIZING.cpu, memory: sizing?.memory ?? JOB_SIZING.memory, "ephemeral-storage": LOGS_EPHEMERAL_STORAGE },
            limits: { memory: sizing?.memory ?? JOB_SIZING.memoryLimit, "ephemeral-storage": LOGS_EPHEMERAL_STORAGE },
        },
        securityContext: restrictedContainerSecurity(APP_UID),
        volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
    };
}

/** The writable scratch volume for a read-only root filesystem. */
export const TMP_VOLUME: k8s.types.input.core.v1.Volume = { name: "tmp", emptyDir: { medium: "Memory", sizeLimit: "64Mi" } };

/** What {@link djangoPodSpec} builds a pod from. */
export interface DjangoPodOptions {
    /** Kubernetes service account (bound to the pod's Google service account). */
    readonly serviceAccountName: pulumi.Input<string>;
    /** The app container(s). */
    readonly containers: Container[];
    /** Native sidecars, e.g. the Cloud SQL Auth Proxy. @default [] */
    readonly initContainers?: Container[];
    /** `Never` for Jobs and CronJobs; absent (Always) for Deployments. */
    readonly restartPolicy?: "Never" | "OnFailure";
    /** @default Kubernetes' 30 s */
    readonly terminationGracePeriodSeconds?: number;
    /** Run on Spot capacity (`workload.spot`, components/spot.ts). @default false */
    readonly spot?: boolean;
}

/**
 * The pod spec every Django pod shares: its own service account without a mounted token, the
 * restricted Pod Security context, no Service links, the memory-backed /tmp for the read-only root
 * filesystem, and Spot scheduling when asked. The web Deployment, the Jobs, the workers, the
 * CronJobs and `npm run manage` all build their pods here.
 */
export function djangoPodSpec(o: DjangoPodOptions): PodSpec {
    return {
        ...(o.restartPolicy ? { restartPolicy: o.restartPolicy } : {}),
        serviceAccountName: o.serviceAccountName,
        automountServiceAccountToken: false,
        enableServiceLinks: false,
        securityContext: restrictedPodSecurity(APP_UID),
        ...(o.terminationGracePeriodSeconds === undefined ? {} : { terminationGracePeriodSeconds: o.terminationGracePeriodSeconds }),
        ...spotScheduling(o.spot ?? false),
        initContainers: o.initContainers ?? [],
        containers: o.containers,
        volumes: [TMP_VOLUME],
    };
}
