/**
 * How long a first `pulumi up` takes, estimated offline: the longest chain through the dependency
 * graph (the critical path) weighted by typical creation times, next to the plain sum of all
 * times, so users see that the slow resources (GKE, Cloud SQL, Memorystore) overlap.
 *
 * Model: the engine creates a resource as soon as everything it waits for is created (see
 * {@link ResourceGraph.predecessors}); components, providers and random values take no time; the
 * engine's parallelism is unbounded (the CLI's default `--parallel` is large enough for this stack).
 */
import { ResourceGraph, nameOfUrn, type GraphResource } from "./graph";

/** A typical creation time and where the figure comes from. */
export interface Timing {
    /** Typical seconds until the provider reports the resource created. */
    readonly seconds: number;
    /** Every figure is an estimate of typical behaviour, not a measurement of this stack. */
    readonly estimate: true;
    /** What the figure rests on: documentation of what is waited for, or of how long it takes. */
    readonly source: string;
}

const TF = "https://registry.terraform.io/providers/hashicorp/google/latest/docs/resources";
const K8S_AWAIT = "@pulumi/kubernetes TSDoc of the type (node_modules/@pulumi/kubernetes/<group>/<version>/<kind>.d.ts): what the provider waits for, default timeout 10 minutes";
const quickApi = (what: string): Timing => ({ seconds: 5, estimate: true, source: `estimate: ${what} is a single synchronous API call` });
const k8sObject: Timing = { seconds: 1, estimate: true, source: "estimate: a plain Kubernetes API object; @pulumi/kubernetes does not await it beyond creation" };
const crd = (what: string): Timing => ({ seconds: 1, estimate: true, source: `estimate: ${what} is a custom resource; Pulumi creates it without awaiting the GKE controllers (they reconcile after pulumi up)` });

/** Typical creation times per Pulumi type. Unlisted custom types get {@link DEFAULT_TIMING}. */
export const CREATION_TIMES: Readonly<Record<string, Timing>> = {
    "gcp:container/cluster:Cluster": { seconds: 600, estimate: true, source: `estimate 10 min: cluster creation is a long-running operation taking several minutes (https://cloud.google.com/kubernetes-engine/docs/how-to/creating-an-autopilot-cluster); the Terraform provider allows 30-40 min by default (${TF}/container_cluster#timeouts)` },
    "gcp:sql/databaseInstance:DatabaseInstance": { seconds: 600, estimate: true, source: "estimate 10 min: Cloud SQL documents instance creation as an operation that can take several minutes (https://cloud.google.com/sql/docs/postgres/create-instance; https://docs.cloud.google.com/sql/docs/mysql/reference/mcp/tools_list/create_instance: 'instance creation operations can take several minutes')" },
    "gcp:redis/instance:Instance": { seconds: 420, estimate: true, source: `estimate 7 min: Memorystore instance creation is an asynchronous long-running operation (https://cloud.google.com/memorystore/docs/redis/create-instance-gcloud; ${TF}/redis_instance#timeouts)` },
    "gcp:servicenetworking/connection:Connection": { seconds: 90, estimate: true, source: `estimate: VPC peering with the service producer network; a long-running operation (https://cloud.google.com/vpc/docs/configure-private-services-access; ${TF}/service_networking_connection#timeouts)` },
    "gcp:sql/database:Database": { seconds: 20, estimate: true, source: "estimate: a Cloud SQL admin operation; operations on one instance run one at a time" },
    "gcp:sql/user:User": { seconds: 20, estimate: true, source: "estimate: a Cloud SQL admin operation; operations on one instance run one at a time" },
    "gcp:compute/network:Network": { seconds: 30, estimate: true, source: "estimate: Compute Engine global operation (https://cloud.google.com/vpc/docs/create-modify-vpc-networks)" },
    "gcp:compute/subnetwork:Subnetwork": { seconds: 30, estimate: true, source: "estimate: Compute Engine regional operation with secondary ranges" },
    "gcp:compute/router:Router": { seconds: 20, estimate: true, source: "estimate: Compute Engine regional operation" },
    "gcp:compute/routerNat:RouterNat": { seconds: 30, estimate: true, source: "estimate: an update of the Cloud Router (https://cloud.google.com/nat/docs/set-up-manage-network-address-translation)" },
    "gcp:compute/globalAddress:GlobalAddress": { seconds: 15, estimate: true, source: "estimate: Compute Engine global operation" },
    "gcp:compute/address:Address": { seconds: 10, estimate: true, source: "estimate: Compute Engine regional operation" },
    "gcp:compute/sSLPolicy:SSLPolicy": { seconds: 10, estimate: true, source: "estimate: Compute Engine global operation" },
    "gcp:compute/managedSslCertificate:ManagedSslCertificate": { seconds: 15, estimate: true, source: `estimate: creation returns before the certificate is provisioned, which can take up to about an hour after DNS points at the load balancer (${TF}/compute_managed_ssl_certificate)` },
    "gcp:compute/backendBucket:BackendBucket": { seconds: 15, estimate: true, source: "estimate: Compute Engine global operation" },
    "gcp:compute/uRLMap:URLMap": { seconds: 15, estimate: true, source: "estimate: Compute Engine global operation" },
    "gcp:compute/targetHttpsProxy:TargetHttpsProxy": { seconds: 15, estimate: true, source: "estimate: Compute Engine global operation" },
    "gcp:compute/targetHttpProxy:TargetHttpProxy": { seconds: 15, estimate: true, source: "estimate: Compute Engine global operation" },
    "gcp:compute/globalForwardingRule:GlobalForwardingRule": { seconds: 30, estimate: true, source: "estimate: Compute Engine global operation; traffic may flow minutes later (https://cloud.google.com/cdn/docs/setting-up-cdn-with-bucket)" },
    "gcp:storage/bucket:Bucket": quickApi("bucket creation"),
    "gcp:storage/bucketIAMMember:BucketIAMMember": quickApi("a bucket IAM policy read-modify-write"),
    "gcp:projects/iAMMember:IAMMember": { seconds: 10, estimate: true, source: "estimate: a project IAM policy read-modify-write; concurrent edits are retried (https://cloud.google.com/iam/docs/granting-changing-revoking-access)" },
    "gcp:serviceaccount/account:Account": quickApi("service account creation"),
    "gcp:serviceaccount/iAMMember:IAMMember": quickApi("a service account IAM policy read-modify-write"),
    "gcp:kms/keyRing:KeyRing": quickApi("key ring creation"),
    "gcp:kms/cryptoKey:CryptoKey": quickApi("key creation"),
    "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember": quickApi("a key IAM policy read-modify-write"),
    "kubernetes:core/v1:Namespace": { seconds: 2, estimate: true, source: "estimate: a plain Kubernetes API object" },
    "kubernetes:core/v1:Secret": k8sObject,
    "kubernetes:core/v1:ConfigMap": k8sObject,
    "kubernetes:core/v1:ServiceAccount": k8sObject,
    "kubernetes:networking.k8s.io/v1:NetworkPolicy": k8sObject,
    "kubernetes:policy/v1:PodDisruptionBudget": k8sObject,
    "kubernetes:autoscaling/v2:HorizontalPodAutoscaler": k8sObject,
    "kubernetes:networking.gke.io/v1:ManagedCertificate": crd("ManagedCertificate (provisioning can take up to about an hour: https://cloud.google.com/kubernetes-engine/docs/how-to/managed-certs)"),
    "kubernetes:networking.gke.io/v1beta1:FrontendConfig": crd("FrontendConfig"),
    "kubernetes:cloud.google.com/v1:BackendConfig": crd("BackendConfig"),
    "kubernetes:core/v1:Service": { seconds: 60, estimate: true, source: `estimate 1 min: Pulumi waits until the Service has ready endpoints (or an external IP for type LoadBalancer), so it finishes when its pods are ready (${K8S_AWAIT})` },
    "kubernetes:apps/v1:StatefulSet": { seconds: 150, estimate: true, source: `estimate 2.5 min: Pulumi waits for ready replicas (${K8S_AWAIT}); Autopilot first provisions nodes for new pods (https://cloud.google.com/kubernetes-engine/docs/concepts/autopilot-overview)` },
    "kubernetes:apps/v1:Deployment": { seconds: 180, estimate: true, source: `estimate 3 min: Pulumi waits for the rollout to be available (${K8S_AWAIT}); Autopilot provisions nodes, images are pulled, readiness probes pass` },
    "kubernetes:batch/v1:Job": { seconds: 150, estimate: true, source: `estimate 2.5 min: Pulumi waits for the Job to complete (${K8S_AWAIT}); includes node provisioning on Autopilot and the command's own run time (migrate, collectstatic)` },
    "kubernetes:networking.k8s.io/v1:Ingress": { seconds: 420, estimate: true, source: `estimate 7 min: Pulumi waits for .status.loadBalancer.ingress (${K8S_AWAIT}); GKE builds a global external Application Load Balancer, which takes several minutes (https://cloud.google.com/kubernetes-engine/docs/how-to/load-balance-ingress)` },
};

/** Custom types not in {@link CREATION_TIMES}. */
export const DEFAULT_TIMING: Timing = { seconds: 10, estimate: true, source: "estimate: type not in the table; a typical single cloud API operation" };
const NO_TIME: Timing = { seconds: 0, estimate: true, source: "no cloud operation: component, provider configuration or locally generated value" };

/** The creation time used for a resource. */
export function timingOf(r: Pick<GraphResource, "type" | "custom">): Timing {
    if (!r.custom || r.type.startsWith("pulumi:providers:") || r.type.startsWith("random:")) {
        return NO_TIME;
    }
    return CREATION_TIMES[r.type] ?? DEFAULT_TIMING;
}

/** One resource on the schedule. */
export interface ScheduledResource {
    readonly urn: string;
    readonly name: string;
    readonly type: string;
    readonly seconds: number;
    /** When it can start, in seconds after `pulumi up` begins. */
    readonly start: number;
    readonly finish: number;
    readonly source: string;
}

/** The result of {@link criticalPath}. */
export interface CriticalPathResult {
    /** Estimated wall-clock seconds of a first `pulumi up`: the length of the critical path. */
    readonly totalSeconds: number;
    /** Seconds if everything were created one after the other. */
    readonly sumSeconds: number;
    /** The longest chain, first resource first (resources that take time only). */
    readonly path: ScheduledResource[];
    /** Resources taking a minute or more, by start time: overlapping windows run in parallel. */
    readonly slow: ScheduledResource[];
}

/**
 * Schedules every resource as early as its predecessors allow and returns the longest chain.
 * @throws Error naming the resources when the graph has a cycle (the engine would refuse it too).
 */
export function criticalPath(resources: readonly GraphResource[]): CriticalPathResult {
    const graph = new ResourceGraph(resources);
    const finish = new Map<string, number>();
    const via = new Map<string, string | undefined>();
    const visiting = new Set<string>();
    const schedule = (urn: string): number => {
        const done = finish.get(urn);
        if (done !== undefined) {
            return done;
        }
        if (visiting.has(urn)) {
            throw new Error(`dependency cycle through ${[...visiting].map(nameOfUrn).join(" → ")} → ${nameOfUrn(urn)}`);
        }
        visiting.add(urn);
        const r = graph.byUrn.get(urn) as GraphResource;
        const p = graph.predecessors(r);
        let start = 0;
        let from: string | undefined;
        for (const pred of [...p.dependencies, ...(p.provider ? [p.provider] : []), ...(p.parent ? [p.parent] : [])]) {
            const f = schedule(pred);
            if (from === undefined || f > start) {
                start = f;
                from = pred;
            }
        }
        visiting.delete(urn);
        const end = start + timingOf(r).seconds;
        finish.set(urn, end);
        via.set(urn, from);
        return end;
    };
    const scheduled = (urn: string): ScheduledResource => {
        const r = graph.byUrn.get(urn) as GraphResource;
        const t = timingOf(r);
        const end = finish.get(urn) as number;
        return { urn, name: nameOfUrn(urn), type: r.type, seconds: t.seconds, start: end - t.seconds, finish: end, source: t.source };
    };

    let last: string | undefined;
    for (const r of resources) {
        if (schedule(r.urn) > (last ? (finish.get(last) as number) : -1)) {
            last = r.urn;
        }
    }
    const path: ScheduledResource[] = [];
    for (let u = last; u; u = via.get(u)) {
        const step = scheduled(u);
        if (step.seconds > 0) {
            path.unshift(step);
        }
    }
    const all = resources.map((r) => scheduled(r.urn));
    return {
        totalSeconds: last ? (finish.get(last) as number) : 0,
        sumSeconds: all.reduce((s, r) => s + r.seconds, 0),
        path,
        slow: all.filter((r) => r.seconds >= 60).sort((a, b) => a.start - b.start || a.name.localeCompare(b.name)),
    };
}

/** `1h02m`, `7m30s`, `45s`. */
export function formatDuration(seconds: number): string {
    const h = Math.floor(seconds / 3600);
    const m = Math.floor((seconds % 3600) / 60);
    const s = Math.round(seconds % 60);
    if (h > 0) {
        return `${h}h${String(m).padStart(2, "0")}m`;
    }
    return m > 0 ? `${m}m${String(s).padStart(2, "0")}s` : `${s}s`;
}
