/**
 * The names GKE's Ingress controller (ingress-gce) gives the Google Cloud resources of an Ingress,
 * as far as they can be known before the Ingress exists: pure functions, so the alerts can be
 * scoped to this site's load balancer backend on the first `pulumi up`.
 *
 * Source: kubernetes/ingress-gce at acbcf5d66dd9d31297a2a52a2d7d83d4c1a94539,
 * `pkg/utils/namer/namer.go` (`Namer.NEG`, `negPrefix`, `negSuffix`, `maxNEGDescriptiveLabel`),
 * `pkg/utils/namer/utils.go` (`TrimFieldsEvenly`) and `pkg/utils/serviceport.go`
 * (`ServicePort.BackendName`: with container-native load balancing (NEGs), "Ingress ILB and GXLB
 * are using NEG Name for all backend resources", so the backend service is named like the NEG).
 */

/**
 * `maxNEGDescriptiveLabel`: the room namespace, Service name and port share in a NEG name,
 * "63 - 5 (k8s and naming schema version prefix) - 8 (truncated cluster id) - 8 (suffix hash) - 4
 * (hyphen connector) = 38".
 */
export const MAX_NEG_DESCRIPTIVE_LABEL = 38;

/**
 * ingress-gce's `TrimFieldsEvenly`: cuts the fields so their lengths add up to at most `max`,
 * longer fields losing more ("Scale truncation to shorten longer fields more than ones that are
 * already short"), then hands the rounding remainder back from the first field on.
 */
export function trimFieldsEvenly(max: number, ...fields: string[]): string[] {
    const total = fields.reduce((n, f) => n + f.length, 0);
    if (max <= 0 || total <= max) {
        return fields;
    }
    const excess = total - max;
    // Go's integer division truncates; every operand here is non-negative.
    const lengths = fields.map((f) => f.length - Math.floor((f.length * excess) / total) - 1);
    const remaining = max - lengths.reduce((n, l) => n + l, 0);
    for (let i = 0; i < remaining; i++) {
        lengths[i]++;
    }
    return fields.map((f, i) => f.slice(0, lengths[i]));
}

/** A DNS label as Kubernetes names namespaces and Services: nothing a regular expression would read as syntax. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * An RE2 pattern that fully matches the name of the backend service (and NEG) GKE creates for
 * `namespace/serviceName:servicePort` behind an Ingress with NEGs:
 * `k8s1-<cluster uid, 8 chars>-<namespace>-<service>-<port>-<8 hex of sha256>`, the three middle
 * fields cut by {@link trimFieldsEvenly} to {@link MAX_NEG_DESCRIPTIVE_LABEL}. The cluster uid (a
 * random id GKE's controller keeps in the `kube-system/ingress-uid` ConfigMap) and the hash, which
 * covers the uid, are unknown before the cluster exists, so they are wildcards; the rest is exact.
 * @throws Error when a name is not a DNS label (it could not be a Kubernetes name, and would need escaping).
 */
export function negBackendNamePattern(namespace: string, serviceName: string, servicePort: number): string {
    for (const [what, value] of [["namespace", namespace], ["Service name", serviceName]]) {
        if (!DNS_LABEL.test(value)) {
            throw new Error(`negBackendNamePattern: the ${what} ${JSON.stringify(value)} is not a DNS label.`);
        }
    }
    if (!Number.isInteger(servicePort) || servicePort < 1 || servicePort > 65535) {
        throw new Error(`negBackendNamePattern: ${servicePort} is not a port.`);
    }
    const [ns, svc, port] = trimFieldsEvenly(MAX_NEG_DESCRIPTIVE_LABEL, namespace, serviceName, String(servicePort));
    return `k8s1-[a-z0-9]{0,8}-${ns}-${svc}-${port}-[0-9a-f]{8}`;
}
