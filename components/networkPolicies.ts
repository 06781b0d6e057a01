/**
 * The namespace's NetworkPolicies as pure data: default deny for ingress and egress, then exactly
 * the flows the platform needs. Returned as `role → spec` so the Workload creates one object each
 * and tests read the rules without running Pulumi.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as ipaddr from "ipaddr.js";
import { selectorFor } from "./kube";

type Spec = k8s.types.input.networking.v1.NetworkPolicySpec;
type Peer = k8s.types.input.networking.v1.NetworkPolicyPeer;

/**
 * Google Front End and health-check ranges that load balancers connect from
 * (https://cloud.google.com/load-balancing/docs/health-check-concepts#ip-ranges).
 */
export const GOOGLE_LB_RANGES: readonly string[] = ["130.211.0.0/22", "35.191.0.0/16"];

/**
 * Every path a pod's DNS query can take on GKE, so one rule allows them all:
 * - `kube-dns` pods (kube-dns clusters, and NodeLocal DNSCache's upstream);
 * - NodeLocal DNSCache: `node-local-dns` pods answering on 169.254.20.10, a mandatory add-on on
 *   Autopilot ("Addons {"dns-cache"} are required to be enabled for Autopilot clusters",
 *   terraform-provider-google issue 10262);
 * - Cloud DNS for GKE, the default and only DNS provider of new Autopilot clusters, whose data
 *   plane answers on the metadata server address 169.254.169.254
 *   (https://cloud.google.com/kubernetes-engine/docs/how-to/cloud-dns ,
 *   https://cloud.google.com/kubernetes-engine/docs/concepts/service-discovery).
 * A pod or namespace selector never matches a link-local host address, so the two ipBlocks are
 * required: without them Dataplane V2 drops every lookup.
 */
export const DNS_PEERS: readonly Peer[] = [
    { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } }, podSelector: { matchLabels: { "k8s-app": "kube-dns" } } },
    { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } }, podSelector: { matchLabels: { "k8s-app": "node-local-dns" } } },
    { ipBlock: { cidr: "169.254.169.254/32" } },
    { ipBlock: { cidr: "169.254.20.10/32" } },
];

/** The egress rule that lets a pod resolve names: {@link DNS_PEERS} on UDP and TCP 53. */
export function dnsEgressRule(): k8s.types.input.networking.v1.NetworkPolicyEgressRule {
    return { to: [...DNS_PEERS], ports: [{ protocol: "UDP", port: 53 }, { protocol: "TCP", port: 53 }] };
}

/**
 * Namespaces of Managed Service for Prometheus' managed collectors: `gmp-system` on Standard
 * clusters, `gke-gmp-system` on Autopilot (https://cloud.google.com/stackdriver/docs/managed-prometheus/setup-managed).
 */
export const GMP_COLLECTOR_NAMESPACES: readonly string[] = ["gmp-system", "gke-gmp-system"];

/** GKE metadata server (Workload Identity tokens): 169.254.169.252:988 and 169.254.169.254:80. */
const METADATA_SERVER: readonly Peer[] = [{ ipBlock: { cidr: "169.254.169.252/32" } }, { ipBlock: { cidr: "169.254.169.254/32" } }];

/** RFC 1918 private, RFC 6598 shared (CGNAT) and link-local ranges: never "the internet". */
export const NON_PUBLIC_RANGES: readonly string[] = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16"];

/**
 * The addresses of `private.googleapis.com`, Private Google Access's VIP for (almost) every Google
 * API: "199.36.153.8/30" (https://cloud.google.com/vpc/docs/configure-private-google-access,
 * "Domain options"). The stack's VPC resolves `*.googleapis.com` to it (components/network.ts), so
 * the Django pods reach Google's APIs on these four addresses and nowhere else on the internet.
 */
export const PRIVATE_GOOGLE_APIS_CIDR = "199.36.153.8/30";

/** The Django pods that use the database: all but collectstatic, which writes static files only. */
export const DATABASE_CLIENT_COMPONENTS: readonly string[] = ["web", "migrate", "worker", "schedule", "manage"];

/**
 * The Django pods that run the app's request and task code, and so may reach the internet hosts of
 * `network.egressAllowList`: not the release Jobs (migrate needs the database and the Cloud SQL
 * Admin API only, collectstatic Cloud Storage only).
 */
export const INTERNET_CLIENT_COMPONENTS: readonly string[] = ["web", "worker", "schedule", "manage"];

/**
 * Label of the pods that may use the cache: the web pods and the workers. The Redis pods admit
 * exactly these (cache.ts `clientSelector`), and only these get egress to Redis; Jobs, CronJobs
 * and one-off `npm run manage` pods carry no such label.
 */
export const CACHE_CLIENT_LABELS: Readonly<Record<string, string>> = { "django-platform/cache-client": "true" };

/**
 * `app.kubernetes.io/component` of every pod that runs the Django app: the web pods, the release
 * Jobs, the workers, the CronJobs and one-off `npm run manage` Jobs. They share the egress to the
 * database, the metadata server and Google APIs.
 */
export const DJANGO_COMPONENTS: readonly string[] = ["web", "migrate", "collectstatic", "worker", "schedule", "manage"];

/** The selector of the cache clients of a stack ({@link CACHE_CLIENT_LABELS} within the stack's Django pods). */
export function cacheClientSelector(stack: string): Record<string, string> {
    return { "app.kubernetes.io/name": "django", "app.kubernetes.io/instance": stack, ...CACHE_CLIENT_LABELS };
}

/** Inputs of {@link buildNetworkPolicies}. */
export interface NetworkPolicyInputs {
    readonly stack: string;
    readonly webPort: number;
    /** The probe port, which the load balancer's health checks reach (components/podTemplates.ts `PROBE_PORT`). @default none */
    readonly probePort?: number;
    /**
     * Let Managed Service for Prometheus' collectors scrape the probe port (the busy gauge): its
     * managed collection runs as a DaemonSet in `gmp-system` (`gke-gmp-system` on Autopilot).
     * @default false
     */
    readonly metricsScrapers?: boolean;
    /** Sources allowed to reach the web port (and the probe port). */
    readonly ingressSourceRanges: readonly string[];
    /** Port to the database: 3307 (Auth Proxy to the server-side proxy) or 5432 (direct). */
    readonly databasePort: number;
    /** Private range holding the Cloud SQL (and Memorystore) private IPs. */
    readonly databaseCidr: pulumi.Input<string>;
    /** Egress rules to Redis (peers with their ports: components/cache.ts `egressRules`). */
    readonly cache: { readonly egress: pulumi.Input<k8s.types.input.networking.v1.NetworkPolicyEgressRule[]> };
    /**
     * Public IPv4 ranges the app's pods ({@link INTERNET_CLIENT_COMPONENTS}) may reach on 443
     * (`network.egressAllowList`); non-public ranges inside an entry are excepted. @default [] (none)
     */
    readonly egressAllowList?: readonly string[];
}

/** The non-public ranges inside `cidr` (to except from an ipBlock that allows it). */
export function nonPublicInside(cidr: string): string[] {
    const [address, bits] = ipaddr.IPv4.parseCIDR(cidr);
    return NON_PUBLIC_RANGES.filter((r) => {
        const [inner, innerBits] = ipaddr.IPv4.parseCIDR(r);
        return innerBits >= bits && inner.match(address, bits);
    });
}

/** The NetworkPolicies of the namespace, keyed by role. */
export function buildNetworkPolicies(i: NetworkPolicyInputs): Record<string, Spec> {
    const web = { matchLabels: selectorFor("web", i.stack) };
    const components = (values: readonly string[]) => ({ matchExpressions: [{ key: "app.kubernetes.io/component", operator: "In", values: [...values] }] });
    const djangoPods = components(DJANGO_COMPONENTS);
    const allowList = i.egressAllowList ?? [];
    return {
        // Everything in the namespace is denied unless a policy below allows it.
        "default-deny": { podSelector: {}, policyTypes: ["Ingress", "Egress"] },
        "allow-dns": { podSelector: {}, policyTypes: ["Egress"], egress: [dnsEgressRule()] },
        "web-ingress": {
            podSelector: web,
            policyTypes: ["Ingress"],
            ingress: [
                {
                    from: i.ingressSourceRanges.map((cidr) => ({ ipBlock: { cidr } })),
                    ports: [{ protocol: "TCP", port: i.webPort }, ...(i.probePort === undefined ? [] : [{ protocol: "TCP", port: i.probePort }])],
                },
                ...(i.metricsScrapers && i.probePort !== undefined
                    ? [{ from: GMP_COLLECTOR_NAMESPACES.map((ns) => ({ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": ns } } })), ports: [{ protocol: "TCP", port: i.probePort }] }]
                    : []),
            ],
        },
        // Every Django pod: Workload Identity's metadata server, and Google's APIs (the Cloud SQL
        // Admin API for the proxy, Cloud Storage, IAM Credentials) over TLS on Private Google
        // Access's range only: no other internet address.
        "django-egress": {
            podSelector: djangoPods,
            policyTypes: ["Egress"],
            egress: [
                { to: [...METADATA_SERVER], ports: [{ protocol: "TCP", port: 988 }, { protocol: "TCP", port: 80 }] },
                { to: [{ ipBlock: { cidr: PRIVATE_GOOGLE_APIS_CIDR } }], ports: [{ protocol: "TCP", port: 443 }] },
            ],
        },
        // The database, for the pods that use it (not collectstatic).
        "django-database-egress": {
            podSelector: components(DATABASE_CLIENT_COMPONENTS),
            policyTypes: ["Egress"],
            egress: [{ to: [{ ipBlock: { cidr: i.databaseCidr } }], ports: [{ protocol: "TCP", port: i.databasePort }] }],
        },
        // The internet hosts the stack allows, on 443, for the app's own pods; never private, shared
        // (CGNAT, sometimes used for pod ranges) or link-local addresses inside an allowed range.
        ...(allowList.length === 0
            ? {}
            : {
                  "django-internet-egress": {
                      podSelector: components(INTERNET_CLIENT_COMPONENTS),
                      policyTypes: ["Egress"],
                      egress: [{ to: allowList.map((cidr) => ({ ipBlock: nonPublicInside(cidr).length > 0 ? { cidr, except: nonPublicInside(cidr) } : { cidr } })), ports: [{ protocol: "TCP", port: 443 }] }],
                  },
              }),
        // Only the cache clients (web pods and workers) use the cache: the Redis side admits nobody
        // else, so Jobs and CronJobs get no egress to it either. No pod has ingress except the web
        // port from the load balancer: workers and CronJobs serve nothing.
        "cache-client-egress": {
            podSelector: { matchLabels: cacheClientSelector(i.stack) },
            policyTypes: ["Egress"],
            egress: i.cache.egress,
        },
    };
}
