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
 *   Google's other pages on the same Spot VMs say 15 s: see {@link SPOT_PREEMPTION_GRACE_SECONDS}.
 * - "Spot Pods are excluded from the Autopilot Service Level Agreement": never for production.
 *
 * Pricing: Spot Pods are billed at the Autopilot Spot rates per vCPU, GiB and ephemeral GiB of the
 * pod's requests (https://cloud.google.com/kubernetes-engine/pricing); see cli/lib/cost/prices.ts.
 */

/** Node label that selects Spot capacity on Autopilot. */
export const SPOT_NODE_SELECTOR_KEY = "cloud.google.com/gke-spot";

/**
 * The grace period Google's Autopilot Spot Pods page promises a preempted Spot Pod: 25 s (quoted
 * above). Not relied on: see {@link SPOT_PREEMPTION_GRACE_SECONDS}.
 */
export const AUTOPILOT_SPOT_PODS_PAGE_GRACE_SECONDS = 25;

/**
 * The grace period Google's Spot VM and preemptible VM pages give non-system Pods on a preempted
 * node for current GKE versions: 15 s. Quoted from Google's own zh-CN copies of the pages (the
 * English text was not retrievable here; translations in brackets):
 * - "Spot VMs", https://cloud.google.com/kubernetes-engine/docs/concepts/spot-vms : "默认情况下,GKE 集群在收到抢占通知后,会为 Pod 提供 30 秒的安全终止期,以便 Pod 关闭。此时间段分为两部分:前 15 秒用于关闭您的 Pod,之后 15 秒用于关闭关键系统 Pod。"
 *   [By default, after the preemption notice GKE clusters give Pods a 30-second graceful
 *   termination period to shut down. It has two parts: the first 15 seconds to shut down your
 *   Pods, the next 15 seconds for critical system Pods.] It can be extended to 120 s only for
 *   Standard node pools (control plane on GKE 1.35.0-gke.1171000 or later) or with a custom
 *   ComputeClass, neither of which this platform's Autopilot Spot Pods use.
 * - "Run fault-tolerant workloads with preemptible VMs",
 *   https://cloud.google.com/kubernetes-engine/docs/how-to/preemptible-vms : "高于 1.22.8-gke.200:非系统 Pod 为 15 秒,之后还会为系统 Pod(具有 system-cluster-critical 或 system-node-critical 优先级类)提供额外 15 秒来正常终止。 - 1.22.8-gke.200 及更早版本:非系统 Pod 为 25 秒"
 *   [Later than 1.22.8-gke.200: 15 seconds for non-system Pods, then another 15 seconds for
 *   system Pods (priority class system-cluster-critical or system-node-critical) to terminate
 *   gracefully. 1.22.8-gke.200 and earlier: 25 seconds for non-system Pods], and in its current
 *   copy "非系统 Pod 的正常终止时长最长为 15 秒。在 Pod 清单的 terminationGracePeriodSeconds 字段中指定大于 15 秒的值没有任何效果。"
 *   [The graceful termination period of non-system Pods is at most 15 seconds. A value above 15
 *   seconds in the Pod manifest's terminationGracePeriodSeconds has no effect.]
 *
 * The 25 s of the Autopilot page is the figure the preemptible VM page gives for GKE
 * 1.22.8-gke.200 and earlier. The kubelet's graceful node shutdown splits the node's 30 s between
 * non-system and critical Pods, and this platform's pods are not critical.
 */
export const SPOT_VM_PAGES_GRACE_SECONDS = 15;

/**
 * Longest grace period a Spot Pod gets when its node is preempted, whatever the pod asks for: the
 * shorter of the two figures Google documents ({@link AUTOPILOT_SPOT_PODS_PAGE_GRACE_SECONDS},
 * {@link SPOT_VM_PAGES_GRACE_SECONDS}). Every Spot pod's termination sequence fits in it
 * (components/termination.ts).
 */
export const SPOT_PREEMPTION_GRACE_SECONDS = Math.min(AUTOPILOT_SPOT_PODS_PAGE_GRACE_SECONDS, SPOT_VM_PAGES_GRACE_SECONDS);

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
 * A preemption cuts the pod's `terminationGracePeriodSeconds` to {@link SPOT_PREEMPTION_GRACE_SECONDS}
 * ({@link preemptionGraceSeconds}); the Spot pods ask for no more than that
 * (components/termination.ts), so their termination runs the same whatever stops them.
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
