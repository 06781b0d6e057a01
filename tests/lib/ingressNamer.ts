/**
 * The names GKE's Ingress controller gives a NEG backend, computed the way ingress-gce does, to
 * produce the `backend_target_name` label values real load balancer metrics carry.
 *
 * kubernetes/ingress-gce at acbcf5d66dd9d31297a2a52a2d7d83d4c1a94539, pkg/utils/namer/namer.go:
 * `NEG(namespace, name, port)` = `fmt.Sprintf("%s-%s-%s-%s-%s", n.negPrefix(), truncNamespace,
 * truncName, truncPort, negSuffix(n.shortUID(), namespace, name, portStr, ""))`, with
 * `negPrefix()` = `k8s` + `1` + `-` + `shortUID()` (the cluster uid's first 8 characters) and
 * `negSuffix` = the first 8 hex digits of sha256(`uid;namespace;name;port`), computed from the
 * untruncated fields. The truncation is the component's own `trimFieldsEvenly`, which the tests
 * hold to ingress-gce's test cases.
 */
import { createHash } from "node:crypto";
import { MAX_NEG_DESCRIPTIVE_LABEL, trimFieldsEvenly } from "../../components/ingressNames";

/** ingress-gce's `Namer.NEG` for a cluster uid. */
export function negName(clusterUid: string, namespace: string, name: string, port: number): string {
    const shortUid = clusterUid.slice(0, 8);
    const portStr = String(port);
    const [ns, svc, p] = trimFieldsEvenly(MAX_NEG_DESCRIPTIVE_LABEL, namespace, name, portStr);
    const hash = createHash("sha256").update([shortUid, namespace, name, portStr].join(";")).digest("hex").slice(0, 8);
    return `k8s1-${shortUid}-${ns}-${svc}-${p}-${hash}`;
}
