/**
 * The load balancer of the reliability lab: what the GKE Ingress's external Application Load
 * Balancer does with the web pods, as a model in front of the lab's pods (cli/lib/local/pod.ts).
 *
 * - Endpoints (container-native load balancing, one NEG endpoint per pod): a pod is an endpoint
 *   while it is ready and not terminating, as its EndpointSlice says; the NEG controller attaches or
 *   detaches it through Compute Engine API calls, which take time. Google documents no figure for
 *   it: its knowledge-base article on 502/503 errors during pod churn says the EndpointSlice change
 *   "triggers [the] NEG detach call" and asks for a preStop sleep that "takes about the same amount
 *   of time for the endpoint to be removed from the NEG"
 *   (https://cloud.google.com/knowledge/kb/502-503-errors-on-external-http-s-load-balancer-000006416).
 *   The model applies {@link NEG_PROPAGATION_SECONDS} to both directions (an assumption, stated in
 *   the lab's output; `--neg-delay` changes it).
 * - Health checks: the BackendConfig's `healthCheck` (path, `checkIntervalSec`, `timeoutSec`,
 *   `healthyThreshold`, `unhealthyThreshold`) probes each attached endpoint; an endpoint gets
 *   traffic only while the health check counts it healthy: "healthy threshold: the number of
 *   sequential successful probes … for an unhealthy [backend] to be considered healthy", and the
 *   other way round with the unhealthy threshold
 *   (https://cloud.google.com/load-balancing/docs/health-check-concepts). A newly attached endpoint
 *   starts unhealthy (modelled: it must pass its first probes before it gets traffic).
 * - The NEG readiness gate: GKE adds `cloud.google.com/load-balancer-neg-ready` to the pods of a
 *   NEG-backed Service; the pod becomes Ready (and counts as available for a rollout) only once its
 *   endpoint is healthy in the load balancer's health check (ingress-gce
 *   pkg/neg/readiness/reflector.go, poller.go: the condition is set once the endpoint's health state
 *   is HEALTHY, and a pod whose gate is true leaves the reflector). {@link LoadBalancer.negReady}.
 * - Requests: round-robin over healthy attached endpoints; with none, the model answers 503 itself
 *   (Google's exact answer without a healthy backend is not modelled beyond "no page"); every
 *   request has the backend service's `timeoutSec` (the BackendConfig's `timeoutSec`, 30 s) as its
 *   deadline ("the backend service timeout … is the amount of time that the load balancer waits for
 *   a backend to return a full response", https://cloud.google.com/load-balancing/docs/https#timeouts_and_retries);
 *   a request in flight to an endpoint that is being detached finishes (connection draining,
 *   `drainingTimeoutSec` ≥ the backend timeout here). Retries are not modelled: every failure counts.
 * - What reaches a pod: the load balancer is a proxy that routes on the request's host, path and
 *   headers (its URL map, https://cloud.google.com/load-balancing/docs/https), so a request reaches
 *   the pod only once its headers are complete; its body is streamed at the client's pace (Google
 *   does not document request-body buffering; the lab assumes none, the case the pod must survive).
 */
import { request } from "node:http";
import type { LocalPod } from "../../cli/lib/local/pod";
import type { K8sDoc } from "../../cli/lib/renderedWorkloads";
import type { OutcomeKind, RequestRecord } from "./reliabilityLoad";

/**
 * Seconds from a pod's readiness change (or its deletion) to its NEG endpoint being attached or
 * detached. An assumption (see the module comment).
 */
export const NEG_PROPAGATION_SECONDS = 2;

/** A load balancer health check (the BackendConfig's `healthCheck`). */
export interface HealthCheck {
    readonly requestPath: string;
    /** The container port it probes (the serving port when unset). */
    readonly port?: number;
    readonly checkIntervalSec: number;
    readonly timeoutSec: number;
    readonly healthyThreshold: number;
    readonly unhealthyThreshold: number;
}

/** The backend service settings the model uses. */
export interface BackendService {
    /** Backend service timeout, seconds. */
    readonly timeoutSec: number;
    readonly drainingTimeoutSec: number;
    readonly healthCheck: HealthCheck;
}

/**
 * The backend service of the Service behind the Ingress, from the BackendConfig its
 * `cloud.google.com/backend-config` annotation names. Every field the model uses must be there:
 * GKE derives missing health-check settings from other places, which the lab does not model.
 */
export function backendServiceOf(docs: readonly K8sDoc[]): BackendService {
    const annotationOf = (d: K8sDoc) => (d.metadata as { annotations?: Record<string, string> }).annotations?.["cloud.google.com/backend-config"];
    const service = docs.find((d) => d.kind === "Service" && annotationOf(d));
    const annotation = service ? annotationOf(service) : undefined;
    const name = annotation ? (JSON.parse(annotation) as { default?: string }).default : undefined;
    const config = docs.find((d) => d.kind === "BackendConfig" && d.metadata.name === name) as unknown as
        | { spec?: { timeoutSec?: number; connectionDraining?: { drainingTimeoutSec?: number }; healthCheck?: Partial<HealthCheck> } }
        | undefined;
    if (!config) throw new Error("no BackendConfig is named by a Service's cloud.google.com/backend-config annotation: the lab needs the web Service's load balancer settings");
    const spec = config.spec ?? {};
    const hc = spec.healthCheck ?? {};
    const need = <T>(value: T | undefined, field: string): T => {
        if (value === undefined) throw new Error(`BackendConfig ${name}: spec.${field} is not set; the lab's load balancer model needs it`);
        return value;
    };
    return {
        timeoutSec: need(spec.timeoutSec, "timeoutSec"),
        drainingTimeoutSec: spec.connectionDraining?.drainingTimeoutSec ?? 0,
        healthCheck: {
            requestPath: need(hc.requestPath, "healthCheck.requestPath"),
            port: hc.port,
            checkIntervalSec: need(hc.checkIntervalSec, "healthCheck.checkIntervalSec"),
            timeoutSec: need(hc.timeoutSec, "healthCheck.timeoutSec"),
            healthyThreshold: need(hc.healthyThreshold, "healthCheck.healthyThreshold"),
            unhealthyThreshold: need(hc.unhealthyThreshold, "healthCheck.unhealthyThreshold"),
        },
    };
}

/** One endpoint's health-check state: unhealthy until `healthyThreshold` passes in a row, and back. */
export class EndpointHealth {
    healthy = false;
    private streak = 0;

    constructor(private readonly check: Pick<HealthCheck, "healthyThreshold" | "unhealthyThreshold">) {}

    /** Records one probe; returns true when the state changed. */
    record(success: boolean): boolean {
        if (success === this.healthy) {
            this.streak = 0;
            return false;
        }
        this.streak += 1;
        if (this.streak >= (this.healthy ? this.check.unhealthyThreshold : this.check.healthyThreshold)) {
            this.healthy = !this.healthy;
            this.streak = 0;
            return true;
        }
        return false;
    }
}

/** A boolean whose changes take effect `delayMs` after they are made (endpoint propagation). */
export class PropagatedFlag {
    private readonly changes: Array<{ at: number; value: boolean }> = [];
    private wanted = false;

    constructor(private readonly delayMs: number) {}

    /** The value wanted from `now` on (effective at now + delay). */
    set(value: boolean, now: number): void {
        if (value === this.wanted) return;
        this.wanted = value;
        this.changes.push({ at: now + this.delayMs, value });
    }

    /** The effective value at `now`. */
    get(now: number): boolean {
        let value = false;
        for (const c of this.changes) if (c.at <= now) value = c.value;
        return value;
    }
}

/** A request the load balancer forwards. */
export interface RequestSpec {
    readonly method: "GET" | "POST";
    readonly path: string;
    readonly headers?: Record<string, string>;
    /** The body, sent in `bodyChunks` pieces spread over `bodyDurationMs` (a slow client's upload). */
    readonly body?: Buffer;
    readonly bodyChunks?: number;
    readonly bodyDurationMs?: number;
}

/**
 * Where a pod's container port listens here: the plan's map of every bound port when it has one,
 * else its serving port; undefined when nothing listens on that port (a probe there is refused).
 */
export function localPortOf(plan: LocalPod["plan"], containerPort: number): number | undefined {
    return plan.localPorts[containerPort] ?? (plan.port?.container === containerPort ? plan.port.local : undefined);
}

/** One HTTP exchange with a pod: status, or why there was none. */
export async function exchange(port: number, spec: RequestSpec, deadlineMs: number): Promise<{ status?: number; outcome: OutcomeKind }> {
    return new Promise((resolve) => {
        let settled = false;
        const timers: NodeJS.Timeout[] = [];
        const done = (result: { status?: number; outcome: OutcomeKind }) => {
            if (settled) return;
            settled = true;
            for (const t of timers) clearTimeout(t);
            req.destroy();
            resolve(result);
        };
        const body = spec.body;
        const headers: Record<string, string> = { ...(spec.headers ?? {}), Connection: "close" };
        if (body) headers["Content-Length"] = String(body.length);
        const req = request({ host: "127.0.0.1", port, method: spec.method, path: spec.path, headers, agent: false }, (res) => {
            res.on("data", () => undefined);
            res.on("end", () => {
                const status = res.statusCode ?? 0;
                done({ status, outcome: status >= 500 ? "http-5xx" : status >= 400 ? "http-4xx" : "ok" });
            });
            res.on("error", () => done({ outcome: "backend-reset" }));
        });
        req.on("error", (error: NodeJS.ErrnoException) => done({ outcome: error.code === "ECONNREFUSED" ? "backend-refused" : "backend-reset" }));
        timers.push(setTimeout(() => done({ outcome: "lb-timeout" }), deadlineMs));
        if (!body) {
            req.end();
            return;
        }
        const chunks = Math.max(1, spec.bodyChunks ?? 1);
        const size = Math.ceil(body.length / chunks);
        req.flushHeaders();
        for (let i = 0; i < chunks; i += 1) {
            const piece = body.subarray(i * size, (i + 1) * size);
            const last = i === chunks - 1;
            timers.push(
                setTimeout(() => {
                    if (settled || req.destroyed) return;
                    if (last) req.end(piece);
                    else req.write(piece);
                }, ((spec.bodyDurationMs ?? 0) * (i + 1)) / chunks),
            );
        }
    });
}

/** A pod behind the load balancer. */
interface Backend {
    readonly pod: LocalPod;
    readonly membership: PropagatedFlag;
    health: EndpointHealth;
    /** True while a health-check loop runs for the current attachment. */
    checking: boolean;
    /** Attachment generation (a re-attached endpoint starts a new health state). */
    generation: number;
    negReady: boolean;
}

/** Options of {@link LoadBalancer}. */
export interface LoadBalancerOptions {
    readonly service: BackendService;
    /** The site's host name (what the app's ALLOWED_HOSTS holds). */
    readonly host: string;
    /** performance.now() the request records count from. */
    readonly t0: number;
    /** @default NEG_PROPAGATION_SECONDS */
    readonly propagationSeconds?: number;
}

/** The load balancer model (see the module comment). */
export class LoadBalancer {
    private readonly backends: Backend[] = [];
    private next = 0;
    private timer: NodeJS.Timeout | undefined;
    private stopped = false;
    readonly records: RequestRecord[] = [];
    /** Health-check probes sent, and failed. */
    healthChecks = { sent: 0, failed: 0 };

    constructor(readonly options: LoadBalancerOptions) {
        this.timer = setInterval(() => this.sync(), 100);
    }

    get propagationMs(): number {
        return (this.options.propagationSeconds ?? NEG_PROPAGATION_SECONDS) * 1000;
    }

    /** Puts a pod behind the load balancer (it gets traffic once attached and healthy). */
    add(pod: LocalPod): void {
        if (this.backends.some((b) => b.pod === pod)) return;
        this.backends.push({ pod, membership: new PropagatedFlag(this.propagationMs), health: new EndpointHealth(this.options.service.healthCheck), checking: false, generation: 0, negReady: false });
        this.sync();
    }

    /** True once the pod's endpoint was healthy in the load balancer (its NEG readiness gate). */
    negReady(pod: LocalPod): boolean {
        return this.backends.find((b) => b.pod === pod)?.negReady ?? false;
    }

    /** Pods that get new requests now. */
    serving(): LocalPod[] {
        const now = performance.now();
        return this.backends.filter((b) => this.routable(b, now)).map((b) => b.pod);
    }

    /** Forwards a request to the next serving pod, or answers 503 when there is none. */
    send(kind: string, spec: RequestSpec): Promise<RequestRecord> {
        const now = performance.now();
        const candidates = this.backends.filter((b) => this.routable(b, now));
        if (candidates.length === 0) return Promise.resolve(this.record({ kind, sentAt: now - this.options.t0, endedAt: now - this.options.t0, outcome: "lb-no-backend" }));
        const backend = candidates[this.next++ % candidates.length] as Backend;
        return this.forward(backend.pod, kind, spec);
    }

    /**
     * Forwards a request to `pod` as if the load balancer had picked it (it must be serving now;
     * otherwise the request goes where {@link send} sends it).
     */
    sendTo(pod: LocalPod, kind: string, spec: RequestSpec): Promise<RequestRecord> {
        const backend = this.backends.find((b) => b.pod === pod);
        if (!backend || !this.routable(backend, performance.now())) return this.send(kind, spec);
        return this.forward(pod, kind, spec);
    }

    /** Stops the health checks. */
    stop(): void {
        this.stopped = true;
        clearInterval(this.timer);
    }

    private async forward(pod: LocalPod, kind: string, spec: RequestSpec): Promise<RequestRecord> {
        const sent = performance.now();
        const headers: Record<string, string> = {
            Host: this.options.host,
            "X-Forwarded-Proto": "https",
            "X-Forwarded-For": "203.0.113.7, 35.191.0.1",
            Via: "1.1 google",
            "User-Agent": "reliability-lab",
            ...(spec.headers ?? {}),
        };
        const result = await exchange(pod.plan.port?.local ?? 0, { ...spec, headers }, this.options.service.timeoutSec * 1000);
        return this.record({ kind, sentAt: sent - this.options.t0, endedAt: performance.now() - this.options.t0, outcome: result.outcome, status: result.status, pod: pod.plan.workloadLabel });
    }

    private record(r: RequestRecord): RequestRecord {
        this.records.push(r);
        return r;
    }

    private routable(b: Backend, now: number): boolean {
        return b.membership.get(now) && b.health.healthy;
    }

    /** Endpoint membership from the pods' state; health checks for attached endpoints. */
    private sync(): void {
        if (this.stopped) return;
        const now = performance.now();
        for (const b of this.backends) {
            b.membership.set(b.pod.ready && !b.pod.isTerminating && b.pod.running, now);
            const attached = b.membership.get(now);
            if (attached && !b.checking) this.startHealthChecks(b);
            if (!attached && b.checking) {
                b.checking = false;
                b.generation += 1;
                b.health = new EndpointHealth(this.options.service.healthCheck);
            }
        }
    }

    private startHealthChecks(b: Backend): void {
        b.checking = true;
        const generation = b.generation;
        const hc = this.options.service.healthCheck;
        const current = () => !this.stopped && b.checking && b.generation === generation;
        void (async () => {
            // Google's probers are not aligned with the attachment: the first probe comes at a
            // random point of the interval.
            await sleepMs(Math.random() * hc.checkIntervalSec * 1000);
            while (current()) {
                const started = performance.now();
                this.healthChecks.sent += 1;
                const container = hc.port ?? b.pod.plan.port?.container ?? 0;
                const port = localPortOf(b.pod.plan, container);
                const result = port === undefined
                    ? { outcome: "backend-refused" as const }
                    : await exchange(port, { method: "GET", path: hc.requestPath, headers: { Host: `${b.pod.plan.podIp}:${container}`, "User-Agent": "GoogleHC/1.0" } }, hc.timeoutSec * 1000);
                if (!current()) return;
                const ok = result.outcome === "ok" && (result.status ?? 0) === 200;
                if (!ok) this.healthChecks.failed += 1;
                b.health.record(ok);
                if (b.health.healthy) b.negReady = true;
                await sleepMs(Math.max(0, hc.checkIntervalSec * 1000 - (performance.now() - started)));
            }
        })();
    }
}

function sleepMs(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
