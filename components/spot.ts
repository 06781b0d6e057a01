/**
 * Spot Pods on GKE Autopilot: the pod-spec pieces that ask Autopilot to run a pod on Spot capacity,
 * for non-production stacks (`workload.spot`). Pure; the Workload applies them to the web
 * Deployment, the workers and the CronJobs.
 *
 * Google, "Run fault-tolerant workloads at lower costs in Spot Pods"
 * (https://cloud.google.com/kubernetes-engine/docs/how-to/autopilot-spot-pods):
 * - "To request your Pods to run as Spot Pods, use the cloud.google.com/gke-spot=true label in a
 *   nodeSelector or node affinity in your Pod specification. GKE automatically provisions nodes
 *   that can run Spot Pods."
 * - "GKE automatically taints nodes that run Spot Pods to ensure that standard Pods, like your
 *   critical workloads, aren't scheduled on them. Deployments that use Spot Pods are automatically
 *   updated with a corresponding toleration." So no toleration is declared here.
 * - On preemption "Spot Pods on the terminating node can request a grace period of up to 25 seconds
 *   before termination by specifying the terminationGracePeriodSeconds field. The maximum grace
 *   period given to Spot Pods during preemption is 25 seconds. Requesting more than 25 seconds in
 *   terminationGracePeriodSeconds doesn't grant more than 25 seconds during preemption."
 * - "Spot Pods are excluded from the Autopilot Service Level Agreement": never for production.
 *
 * Pricing: Spot Pods are billed at the Autopilot Spot rates per vCPU, GiB and ephemeral GiB of the
 * pod's requests (https://cloud.google.com/kubernetes-engine/pricing); see tools/lib/cost/prices.ts.
 */

/** Node label that selects Spot capacity on Autopilot. */
export const SPOT_NODE_SELECTOR_KEY = "cloud.google.com/gke-spot";

/** Longest grace period a Spot Pod gets when its node is preempted, whatever the pod asks for. */
export const SPOT_PREEMPTION_GRACE_SECONDS = 25;

/** The pod-spec fields that put a pod on Spot capacity; spread into a PodSpec. */
export interface SpotScheduling {
    /** `{ "cloud.google.com/gke-spot": "true" }` when Spot is on; absent otherwise. */
    readonly nodeSelector?: Record<string, string>;
}

/**
 * Pod-spec pieces for Spot Pods on Autopilot: with `enabled` a `nodeSelector` on
 * `cloud.google.com/gke-spot: "true"`, else nothing (an empty object, so a plain pod spec is
 * unchanged). Spread it into the pod spec: `{ ...spotScheduling(cfg.workload.spot), containers }`.
 * A pod spec that already has a nodeSelector must merge `nodeSelector` itself.
 *
 * The pod keeps its own `terminationGracePeriodSeconds` (rollouts and scale-down honour it); only a
 * preemption cuts it to {@link SPOT_PREEMPTION_GRACE_SECONDS}: see {@link preemptionGraceSeconds}.
 */
export function spotScheduling(enabled: boolean): SpotScheduling {
    return enabled ? { nodeSelector: { [SPOT_NODE_SELECTOR_KEY]: "true" } } : {};
}

/** Seconds a pod with `terminationGracePeriodSeconds` = `requested` gets when its Spot node is preempted. */
export function preemptionGraceSeconds(requested: number): number {
    return Math.min(requested, SPOT_PREEMPTION_GRACE_SECONDS);
}

/** Whether a rendered pod spec asks for Spot capacity (used by the cost estimate). */
export function isSpotPodSpec(podSpec: { readonly nodeSelector?: Record<string, unknown> } | undefined): boolean {
    return podSpec?.nodeSelector?.[SPOT_NODE_SELECTOR_KEY] === "true";
}
