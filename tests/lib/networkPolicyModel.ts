/**
 * A small, pure evaluator of Kubernetes NetworkPolicy semantics (networking.k8s.io/v1), so tests
 * can ask "is this flow allowed?" of the policies the program renders, without a cluster.
 *
 * It follows https://kubernetes.io/docs/concepts/services-networking/network-policies/ :
 * - A pod is isolated for a direction iff some NetworkPolicy in its namespace selects it (podSelector;
 *   `{}` selects every pod) and lists that direction in `policyTypes`. When `policyTypes` is absent
 *   it defaults to `["Ingress"]`, plus `"Egress"` if the policy has any egress rule.
 * - Policies are additive: a flow is allowed for a direction if the pod is not isolated for it, or if
 *   ANY selecting policy has a rule whose peers AND ports match. An empty or absent `from`/`to` matches
 *   every peer; an empty or absent `ports` matches every port; `protocol` defaults to TCP; `endPort`
 *   makes a range; a named port matches the destination pod's container port of that name.
 * - Peers: `podSelector` alone = pods in the policy's own namespace; `namespaceSelector` alone = all
 *   pods of the matching namespaces; both in ONE peer = matching pods in matching namespaces (AND);
 *   `ipBlock` = the `cidr` minus its `except` ranges.
 * - A flow is allowed iff the source's egress allows it AND, when the destination is a pod of the
 *   cluster, the destination's ingress allows it.
 *
 * ipBlock and pods (the nuance this model relies on): the docs say ipBlock peers "should be
 * cluster-external IPs, since Pod IPs are ephemeral and unpredictable", and that when the dataplane
 * rewrites addresses "it is not defined whether this happens before or after NetworkPolicy
 * processing". Whether an ipBlock matches a pod's IP is implementation-defined (GKE Dataplane V2 /
 * Cilium identifies pods by label identity, and documents ipBlock for traffic outside the cluster).
 * So this model never matches a pod with an ipBlock: pods are matched only by selectors, ipBlocks
 * only match `ip` endpoints (node-local link-local addresses such as the metadata server
 * 169.254.169.254 or NodeLocal DNSCache 169.254.20.10, VPC addresses such as Cloud SQL, and the
 * internet). A rule that only works because a 0.0.0.0/0 ipBlock happens to contain a pod IP is thus
 * reported as denied, which is the conservative answer.
 *
 * Not modelled: traffic from the pod's own node (kubelet probes), which Kubernetes always allows;
 * hostNetwork pods; Services (resolve a Service to its pods and target port before asking); IPv6 is
 * supported by the CIDR maths but an address only matches a block of the same family.
 */
import { Address4, Address6 } from "ip-address";

export type Labels = Readonly<Record<string, string>>;
export type Protocol = "TCP" | "UDP" | "SCTP";

/** metav1.LabelSelector. */
export interface LabelSelector {
    readonly matchLabels?: Labels;
    readonly matchExpressions?: readonly {
        readonly key: string;
        readonly operator: "In" | "NotIn" | "Exists" | "DoesNotExist" | string;
        readonly values?: readonly string[];
    }[];
}

export interface IPBlock {
    readonly cidr: string;
    readonly except?: readonly string[];
}

export interface NetworkPolicyPeer {
    readonly podSelector?: LabelSelector;
    readonly namespaceSelector?: LabelSelector;
    readonly ipBlock?: IPBlock;
}

export interface NetworkPolicyPort {
    readonly protocol?: Protocol | string;
    readonly port?: number | string;
    readonly endPort?: number;
}

export interface NetworkPolicySpec {
    readonly podSelector: LabelSelector;
    readonly policyTypes?: readonly ("Ingress" | "Egress" | string)[];
    readonly ingress?: readonly { readonly from?: readonly NetworkPolicyPeer[]; readonly ports?: readonly NetworkPolicyPort[] }[];
    readonly egress?: readonly { readonly to?: readonly NetworkPolicyPeer[]; readonly ports?: readonly NetworkPolicyPort[] }[];
}

/** A NetworkPolicy object: the namespace it lives in and its spec (name for explanations). */
export interface NetworkPolicy {
    readonly name?: string;
    readonly namespace: string;
    readonly spec: NetworkPolicySpec;
}

/** A container port of a pod, for named ports. */
export interface ContainerPort {
    readonly name?: string;
    readonly containerPort: number;
    readonly protocol?: Protocol | string;
}

/** A pod of the cluster, identified by namespace and labels. */
export interface PodEndpoint {
    readonly kind: "pod";
    readonly namespace: string;
    readonly labels: Labels;
    /** Container ports, only needed when policies use named ports. */
    readonly ports?: readonly ContainerPort[];
    /** For messages only. */
    readonly name?: string;
}

/** Anything addressed by IP that is not a pod: node link-local services, VPC addresses, the internet. */
export interface IpEndpoint {
    readonly kind: "ip";
    readonly address: string;
    /** For messages only. */
    readonly name?: string;
}

export type Endpoint = PodEndpoint | IpEndpoint;

export interface Flow {
    readonly from: Endpoint;
    readonly to: Endpoint;
    readonly port: number;
    /** @default "TCP" */
    readonly protocol?: Protocol;
}

/** What the cluster looks like: its policies and (optionally) its namespaces' labels. */
export interface ClusterModel {
    readonly policies: readonly NetworkPolicy[];
    /**
     * Labels of namespaces. Every namespace also carries `kubernetes.io/metadata.name: <name>`, set
     * by the API server since Kubernetes 1.21, so it need not be listed.
     */
    readonly namespaceLabels?: Readonly<Record<string, Labels>>;
}

export interface DirectionVerdict {
    /** Some policy selects the pod for this direction (false for ip endpoints). */
    readonly isolated: boolean;
    readonly allowed: boolean;
    /** The rules that allow the flow, as {@link ruleId}s (empty when the pod is not isolated). */
    readonly allowedBy: readonly string[];
}

export interface Verdict {
    readonly allowed: boolean;
    readonly egress: DirectionVerdict;
    readonly ingress: DirectionVerdict;
}

// ---------------------------------------------------------------------------------------------
// Selectors

/** Whether a label selector selects `labels` (matchLabels AND every matchExpression; `{}` = all). */
export function selectorMatches(selector: LabelSelector, labels: Labels): boolean {
    for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
        if (labels[key] !== value) {
            return false;
        }
    }
    for (const e of selector.matchExpressions ?? []) {
        const has = Object.prototype.hasOwnProperty.call(labels, e.key);
        const values = e.values ?? [];
        switch (e.operator) {
            case "In":
                if (!has || !values.includes(labels[e.key])) return false;
                break;
            case "NotIn":
                if (has && values.includes(labels[e.key])) return false;
                break;
            case "Exists":
                if (!has) return false;
                break;
            case "DoesNotExist":
                if (has) return false;
                break;
            default:
                throw new Error(`unknown label selector operator ${e.operator}`);
        }
    }
    return true;
}

// ---------------------------------------------------------------------------------------------
// CIDR maths (ip-address)

function parse(text: string): Address4 | Address6 {
    if (Address4.isValid(text)) {
        return new Address4(text);
    }
    if (Address6.isValid(text)) {
        return new Address6(text);
    }
    throw new Error(`not an IP address or CIDR: ${text}`);
}

/** Whether `address` lies in `cidr` (an address of another family never does). */
export function ipInCidr(address: string, cidr: string): boolean {
    const a = parse(address);
    const net = parse(cidr);
    if (a instanceof Address4 !== net instanceof Address4) {
        return false;
    }
    return (a as Address4).isInSubnet(net as Address4);
}

/** Whether `address` is in the block's cidr and in none of its `except` ranges. */
export function ipBlockMatches(block: IPBlock, address: string): boolean {
    return ipInCidr(address, block.cidr) && !(block.except ?? []).some((x) => ipInCidr(address, x));
}

// ---------------------------------------------------------------------------------------------
// Rules

function namespaceLabelsOf(cluster: ClusterModel, namespace: string): Labels {
    return { ...(cluster.namespaceLabels?.[namespace] ?? {}), "kubernetes.io/metadata.name": namespace };
}

/** Whether one peer of a policy living in `policyNamespace` matches `endpoint`. */
export function peerMatches(cluster: ClusterModel, peer: NetworkPolicyPeer, policyNamespace: string, endpoint: Endpoint): boolean {
    if (peer.ipBlock) {
        if (peer.podSelector || peer.namespaceSelector) {
            throw new Error("a NetworkPolicyPeer with ipBlock may not set podSelector or namespaceSelector");
        }
        // Pods are matched by selectors only (see the file comment).
        return endpoint.kind === "ip" && ipBlockMatches(peer.ipBlock, endpoint.address);
    }
    if (!peer.podSelector && !peer.namespaceSelector) {
        throw new Error("a NetworkPolicyPeer must set podSelector, namespaceSelector or ipBlock");
    }
    if (endpoint.kind !== "pod") {
        return false;
    }
    const namespaceOk = peer.namespaceSelector
        ? selectorMatches(peer.namespaceSelector, namespaceLabelsOf(cluster, endpoint.namespace))
        : endpoint.namespace === policyNamespace;
    const podOk = peer.podSelector ? selectorMatches(peer.podSelector, endpoint.labels) : true;
    return namespaceOk && podOk;
}

/**
 * Whether one port entry matches the flow. Named ports are looked up on `destination` (the pod the
 * traffic goes to); an ip endpoint has no named ports.
 */
export function portMatches(entry: NetworkPolicyPort, port: number, protocol: Protocol, destination: Endpoint): boolean {
    if ((entry.protocol ?? "TCP") !== protocol) {
        return false;
    }
    if (entry.port === undefined) {
        return true;
    }
    if (typeof entry.port === "string") {
        if (/^\d+$/.test(entry.port)) {
            return Number(entry.port) === port;
        }
        if (destination.kind !== "pod") {
            return false;
        }
        return (destination.ports ?? []).some((p) => p.name === entry.port && p.containerPort === port && (p.protocol ?? "TCP") === protocol);
    }
    if (entry.endPort !== undefined) {
        return port >= entry.port && port <= entry.endPort;
    }
    return entry.port === port;
}

function portsMatch(ports: readonly NetworkPolicyPort[] | undefined, port: number, protocol: Protocol, destination: Endpoint): boolean {
    return !ports || ports.length === 0 || ports.some((p) => portMatches(p, port, protocol, destination));
}

function peersMatch(cluster: ClusterModel, peers: readonly NetworkPolicyPeer[] | undefined, policyNamespace: string, endpoint: Endpoint): boolean {
    return !peers || peers.length === 0 || peers.some((p) => peerMatches(cluster, p, policyNamespace, endpoint));
}

/** The directions a policy applies to, with the API server's default for an absent `policyTypes`. */
export function effectivePolicyTypes(spec: NetworkPolicySpec): ("Ingress" | "Egress")[] {
    if (spec.policyTypes && spec.policyTypes.length > 0) {
        return spec.policyTypes.filter((t): t is "Ingress" | "Egress" => t === "Ingress" || t === "Egress");
    }
    return (spec.egress ?? []).length > 0 ? ["Ingress", "Egress"] : ["Ingress"];
}

/** The policies that select `pod` for `direction`. */
export function policiesSelecting(cluster: ClusterModel, pod: PodEndpoint, direction: "Ingress" | "Egress"): NetworkPolicy[] {
    return cluster.policies.filter((p) => p.namespace === pod.namespace && selectorMatches(p.spec.podSelector, pod.labels) && effectivePolicyTypes(p.spec).includes(direction));
}

/** `namespace/name.egress[i]`: names one rule of one policy, for verdicts and coverage checks. */
export function ruleId(policy: NetworkPolicy, direction: "ingress" | "egress", index: number): string {
    return `${policy.namespace}/${policy.name ?? "(unnamed)"}.${direction}[${index}]`;
}

function egressVerdict(cluster: ClusterModel, flow: Flow, protocol: Protocol): DirectionVerdict {
    if (flow.from.kind !== "pod") {
        return { isolated: false, allowed: true, allowedBy: [] };
    }
    const selecting = policiesSelecting(cluster, flow.from, "Egress");
    const allowedBy = selecting.flatMap((p) =>
        (p.spec.egress ?? []).flatMap((rule, i) => (peersMatch(cluster, rule.to, p.namespace, flow.to) && portsMatch(rule.ports, flow.port, protocol, flow.to) ? [ruleId(p, "egress", i)] : [])));
    return { isolated: selecting.length > 0, allowed: selecting.length === 0 || allowedBy.length > 0, allowedBy };
}

function ingressVerdict(cluster: ClusterModel, flow: Flow, protocol: Protocol): DirectionVerdict {
    if (flow.to.kind !== "pod") {
        return { isolated: false, allowed: true, allowedBy: [] };
    }
    const selecting = policiesSelecting(cluster, flow.to, "Ingress");
    const allowedBy = selecting.flatMap((p) =>
        (p.spec.ingress ?? []).flatMap((rule, i) => (peersMatch(cluster, rule.from, p.namespace, flow.from) && portsMatch(rule.ports, flow.port, protocol, flow.to) ? [ruleId(p, "ingress", i)] : [])));
    return { isolated: selecting.length > 0, allowed: selecting.length === 0 || allowedBy.length > 0, allowedBy };
}

/** Whether `flow` is allowed: the source's egress AND (for a pod destination) its ingress. */
export function evaluate(cluster: ClusterModel, flow: Flow): Verdict {
    const protocol = flow.protocol ?? "TCP";
    const egress = egressVerdict(cluster, flow, protocol);
    const ingress = ingressVerdict(cluster, flow, protocol);
    return { allowed: egress.allowed && ingress.allowed, egress, ingress };
}

// ---------------------------------------------------------------------------------------------
// Tables of expected flows

/** One expectation: a flow, whether it must be allowed, and where the requirement comes from. */
export interface FlowExpectation extends Flow {
    readonly expect: "allowed" | "denied";
    /** Short description, e.g. "web → kube-dns UDP 53". */
    readonly name: string;
    /** Where the requirement comes from: a docs URL, or the component file for internal flows. */
    readonly source: string;
}

export interface FlowFailure {
    readonly row: FlowExpectation;
    readonly verdict: Verdict;
    readonly message: string;
}

/** A short text for an endpoint. */
export function describeEndpoint(e: Endpoint): string {
    if (e.kind === "ip") {
        return e.name ? `${e.name} (${e.address})` : e.address;
    }
    return e.name ?? `${e.namespace}/${JSON.stringify(e.labels)}`;
}

/** Evaluates every row and returns the rows whose verdict differs from the expectation. */
export function checkFlows(cluster: ClusterModel, rows: readonly FlowExpectation[]): FlowFailure[] {
    const failures: FlowFailure[] = [];
    for (const row of rows) {
        const verdict = evaluate(cluster, row);
        if (verdict.allowed !== (row.expect === "allowed")) {
            const why = verdict.allowed
                ? `allowed by egress [${verdict.egress.allowedBy.join(", ") || "not isolated"}] and ingress [${verdict.ingress.allowedBy.join(", ") || "not isolated"}]`
                : `denied on ${[!verdict.egress.allowed ? "egress" : "", !verdict.ingress.allowed ? "ingress" : ""].filter(Boolean).join(" and ")}`;
            failures.push({
                row,
                verdict,
                message: `${row.name}: expected ${row.expect}, ${why} (${describeEndpoint(row.from)} → ${describeEndpoint(row.to)} ${row.protocol ?? "TCP"}/${row.port}; requirement: ${row.source})`,
            });
        }
    }
    return failures;
}
