/**
 * The kubelet's HTTP probes, emulated as rendered (https://kubernetes.io/docs/concepts/configuration/liveness-readiness-startup-probes/,
 * https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/#Probe):
 * - a probe first runs `initialDelaySeconds` (default 0) after the container started, then every
 *   `periodSeconds` (default 10); each attempt has `timeoutSeconds` (default 1);
 * - an HTTP probe succeeds when the status is from 200 to 399; the kubelet sends it to the pod IP
 *   and the port, so the Host header is `<pod IP>:<port>`, with `User-Agent: kube-probe/<version>`;
 * - `failureThreshold` (default 3) consecutive failures count as failed, one success
 *   (`successThreshold`, 1 for liveness and startup) as passed;
 * - with a startup probe, liveness and readiness start only once it has passed; a failed startup or
 *   liveness probe kills the container; a failed readiness probe takes the pod out of its
 *   Services' endpoints.
 */
import { probeOnce, sleep, type Outcome } from "../reliabilityHttp";
import type { HttpProbe } from "../renderedWorkloads";

/** The kubelet version the User-Agent names (GKE's regular channel at the time of writing). */
export const KUBE_PROBE_USER_AGENT = "kube-probe/1.33";

/** A probe's timing with the API's defaults filled in. */
export interface ProbeTiming {
    readonly initialDelaySeconds: number;
    readonly periodSeconds: number;
    readonly timeoutSeconds: number;
    readonly failureThreshold: number;
}

/** The API defaults applied to a rendered probe. */
export function probeTiming(probe: HttpProbe): ProbeTiming {
    return {
        initialDelaySeconds: probe.initialDelaySeconds ?? 0,
        periodSeconds: probe.periodSeconds ?? 10,
        timeoutSeconds: probe.timeoutSeconds ?? 1,
        failureThreshold: probe.failureThreshold ?? 3,
    };
}

/** Whether an HTTP probe's outcome is a success. */
export const probeSucceeded = (o: Outcome): boolean => o.status !== undefined && o.status >= 200 && o.status < 400;

/** What one probe did so far. */
export interface ProbeRecord {
    readonly kind: "startup" | "readiness" | "liveness";
    readonly path: string;
    readonly timing: ProbeTiming;
    ok: number;
    failed: number;
    consecutiveFailures: number;
    /** The last failure: status or error. */
    lastFailure?: string;
}

/** Where a probe goes. */
export interface ProbeTarget {
    readonly port: number;
    /** The pod IP (Host header). */
    readonly podIp: string;
}

/**
 * Runs one probe at its cadence until `stopped()` is true. `onResult` gets each outcome; the loop
 * ends early when it returns "stop".
 */
export async function probeLoop(
    record: ProbeRecord,
    target: ProbeTarget | { readonly refused: string },
    stopped: () => boolean,
    onResult: (success: boolean, record: ProbeRecord) => "continue" | "stop",
): Promise<void> {
    const { timing } = record;
    await sleepUnless(timing.initialDelaySeconds * 1000, stopped);
    while (!stopped()) {
        const started = performance.now();
        const outcome: Outcome =
            "refused" in target
                ? { error: target.refused, ms: 0 }
                : await probeOnce(target.port, record.path, { Host: `${target.podIp}:${target.port}`, "User-Agent": KUBE_PROBE_USER_AGENT, Accept: "*/*" }, timing.timeoutSeconds * 1000);
        if (stopped()) return;
        const success = probeSucceeded(outcome);
        if (success) {
            record.ok += 1;
            record.consecutiveFailures = 0;
        } else {
            record.failed += 1;
            record.consecutiveFailures += 1;
            record.lastFailure = outcome.status !== undefined ? `HTTP ${outcome.status}` : (outcome.error ?? "no answer");
        }
        if (onResult(success, record) === "stop") return;
        await sleepUnless(Math.max(0, timing.periodSeconds * 1000 - (performance.now() - started)), stopped);
    }
}

/** Sleeps `ms`, waking every 100 ms to see whether `stopped()`. */
async function sleepUnless(ms: number, stopped: () => boolean): Promise<void> {
    const end = performance.now() + ms;
    while (!stopped() && performance.now() < end) await sleep(Math.min(100, end - performance.now()));
}
