/**
 * Networking: default-deny NetworkPolicies and no allow-all ones on top, exposure of Services
 * (LoadBalancer, NodePort), container ports and Ingresses, TLS, VPC firewall and subnets, Memorystore
 * for Redis.
 */
import * as gcp from "@pulumi/gcp";
import * as k8s from "@pulumi/kubernetes";
import type { PolicyResource } from "@pulumi/policy";
import { configOf, matchesAny, requireValue, stackPolicy, stringList, tokenPolicy, typedPolicy } from "./lib/define";
import { namespaceKey, sameNamespace, selects, showNamespace } from "./lib/k8s";
import { containersOf, podOf, POD_TYPES } from "./lib/pods";
import { podPolicy } from "./podSecurity";
import { isUnknown, isUnset, knownItems, knownString, read, show, Unknown, UNKNOWN } from "./lib/values";

const NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy";

/** Whether a NetworkPolicy denies all ingress / all egress to the pods it selects. */
function denials(policy: PolicyResource): { ingress: boolean | Unknown; egress: boolean | Unknown } {
    const spec = read(() => policy.props.spec);
    if (isUnknown(spec)) {
        return { ingress: UNKNOWN, egress: UNKNOWN };
    }
    const types = read(() => spec?.policyTypes);
    const egressRules = read(() => spec?.egress);
    const ingressRules = read(() => spec?.ingress);
    if (isUnknown(types) || knownItems(types).length !== (types?.length ?? 0)) {
        return { ingress: UNKNOWN, egress: UNKNOWN };
    }
    // Kubernetes default: Ingress always, Egress only when egress rules are given.
    const effectiveTypes: unknown[] = isUnset(types) ? (isUnset(egressRules) ? ["Ingress"] : ["Ingress", "Egress"]) : types;
    const deniesAll = (type: string, rules: unknown): boolean | Unknown => {
        if (!effectiveTypes.includes(type)) {
            return false;
        }
        if (isUnknown(rules)) {
            return UNKNOWN;
        }
        return isUnset(rules) || (Array.isArray(rules) && rules.length === 0);
    };
    return { ingress: deniesAll("Ingress", ingressRules), egress: deniesAll("Egress", egressRules) };
}

export const workloadHasDefaultDenyNetworkPolicy = stackPolicy({
    name: "workload-has-default-deny-network-policy",
    description: "Every pod-bearing workload must be selected by a NetworkPolicy in its namespace that denies all ingress and all egress; explicit allows come on top.",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps: "Add a NetworkPolicy with podSelector: {} and policyTypes [Ingress, Egress] and no rules to the namespace, then allow only the traffic each workload needs.",
    covers: ["CKV2_K8S_6", "polaris:missingNetworkPolicy"],
}, [...POD_TYPES, NETWORK_POLICY], (args, report) => {
    const policies = args.resources.filter((r) => r.type === NETWORK_POLICY).map((np) => ({
        np, ns: namespaceKey(np) as string | Unknown, deny: denials(np),
    }));
    const anyDeny = policies.some(({ deny }) => deny.ingress !== false || deny.egress !== false);
    for (const workload of args.resources.filter((r) => POD_TYPES.includes(r.type))) {
        const ns = namespaceKey(workload);
        const pod = podOf(workload.type, workload.props);
        if (pod === undefined) {
            continue;
        }
        let ingress = false;
        let egress = false;
        let undecided = ns === UNKNOWN || pod === UNKNOWN;
        for (const { np, ns: npNs, deny } of undecided ? [] : policies) {
            if (deny.ingress === false && deny.egress === false) {
                continue;
            }
            const same = sameNamespace(npNs, ns);
            const selected = same === UNKNOWN ? UNKNOWN
                : same && selects(read(() => np.props.spec?.podSelector), pod === UNKNOWN ? UNKNOWN : pod.labels, true);
            if (selected === UNKNOWN || (selected && (isUnknown(deny.ingress) || isUnknown(deny.egress)))) {
                undecided = true;
            }
            ingress ||= selected === true && deny.ingress === true;
            egress ||= selected === true && deny.egress === true;
        }
        if (undecided && anyDeny) {
            continue;
        }
        const missing = [ingress ? undefined : "ingress", egress ? undefined : "egress"].filter((d) => d !== undefined);
        if (missing.length > 0) {
            const where = ns === UNKNOWN ? "its namespace" : showNamespace(ns);
            report(`${workload.name} is not selected by a default-deny ${missing.join(" and ")} NetworkPolicy in ${where}.`, workload.urn);
        }
    }
});

export const serviceRestrictsLoadBalancerType = typedPolicy({
    name: "service-restricts-load-balancer-type",
    description: "Services of type LoadBalancer expose pods directly to the internet, past the Ingress's TLS, HTTPS redirect and SSL policy; only allow-listed ones may use it (the Ingress is the front door).",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps: "Use a ClusterIP Service behind the Ingress, or allow-list the Service's Pulumi name in allowedServices when a LoadBalancer Service is intended (then also restrict spec.loadBalancerSourceRanges).",
    covers: ["kube-linter:exposed-services"],
    configSchema: {
        properties: { allowedServices: stringList([], "Pulumi resource-name globs of Services that may be of type LoadBalancer.") },
    },
}, k8s.core.v1.Service, (service, args, report) => {
    const { allowedServices } = configOf(args, { allowedServices: [] as string[] });
    if (read(() => service.spec?.type) === "LoadBalancer" && !matchesAny(args.name, allowedServices)) {
        report(`Service ${args.name} is of type LoadBalancer; use the Ingress or allow-list it in allowedServices.`);
    }
});

export const serviceForbidsNodePort = typedPolicy({
    name: "service-forbids-node-port",
    description: "Services must not be of type NodePort: it opens the port on every node's address, beside the NetworkPolicies' intent and the Ingress (which uses container-native load balancing and needs no node ports).",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps: "Use type ClusterIP (the GKE Ingress reaches pods through NEGs), or allow-list the Service's Pulumi name in allowedServices.",
    covers: ["kube-score:service-type", "kube-linter:exposed-services"],
    configSchema: {
        properties: { allowedServices: stringList([], "Pulumi resource-name globs of Services that may be of type NodePort.") },
    },
}, k8s.core.v1.Service, (service, args, report) => {
    const { allowedServices } = configOf(args, { allowedServices: [] as string[] });
    if (read(() => service.spec?.type) === "NodePort" && !matchesAny(args.name, allowedServices)) {
        report(`Service ${args.name} is of type NodePort; use ClusterIP behind the Ingress or allow-list it in allowedServices.`);
    }
});

/** Whether a rule's port list leaves every port open (no list, an empty list, or an entry without a port). */
function allPorts(ports: unknown): boolean {
    if (isUnset(ports)) {
        return true;
    }
    const list = knownItems(ports as unknown[]);
    return Array.isArray(ports) && list.length === ports.length
        && (list.length === 0 || list.some((p) => isUnset(read(() => (p as { port?: unknown }).port))));
}

/** Why a rule's peer list lets in (or out) everyone, or `undefined`. */
function openPeers(peers: unknown): string | undefined {
    if (isUnknown(peers)) {
        return undefined;
    }
    if (isUnset(peers) || (Array.isArray(peers) && peers.length === 0)) {
        return "no peers (everyone)";
    }
    const open = knownItems(peers as { ipBlock?: { cidr?: unknown } }[])
        .map((peer) => knownString(read(() => peer.ipBlock?.cidr)))
        .find((cidr) => cidr !== undefined && OPEN_RANGES.includes(cidr));
    return open !== undefined ? `ipBlock ${open}` : undefined;
}

export const networkPolicyForbidsAllowAll = typedPolicy({
    name: "network-policy-forbids-allow-all",
    description: "A NetworkPolicy must not allow all ingress or all egress (a rule with no peers, or an ipBlock 0.0.0.0/0 or ::/0, on every port): on top of the default deny it silently reopens everything for the pods it selects.",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps: "Name the peers (podSelector, namespaceSelector, a narrow ipBlock) and the ports of each rule, or allow-list the NetworkPolicy's Pulumi name in allowedPolicies.",
    covers: ["CKV2_K8S_6"],
    configSchema: {
        properties: { allowedPolicies: stringList([], "Pulumi resource-name globs of NetworkPolicies that may allow all traffic.") },
    },
}, k8s.networking.v1.NetworkPolicy, (policy, args, report) => {
    const { allowedPolicies } = configOf(args, { allowedPolicies: [] as string[] });
    if (matchesAny(args.name, allowedPolicies)) {
        return;
    }
    const selector = read(() => policy.spec?.podSelector);
    const selects = isUnset(selector) || (!isUnknown(selector) && Object.keys(selector).length === 0) ? "every pod of the namespace" : "the pods it selects";
    const types = read(() => policy.spec?.policyTypes);
    for (const [direction, field, peerField] of [["ingress", "ingress", "from"], ["egress", "egress", "to"]] as const) {
        // Rules of a direction the policy does not list in policyTypes have no effect.
        const listed = knownItems(types as unknown[] | undefined);
        if (!isUnset(types) && !isUnknown(types) && listed.length === (types as unknown[]).length
            && !listed.includes(direction === "ingress" ? "Ingress" : "Egress")) {
            continue;
        }
        knownItems(read(() => policy.spec?.[field] as Record<string, unknown>[] | undefined)).forEach((rule, index) => {
            const peers = openPeers(read(() => rule[peerField]));
            if (peers !== undefined && allPorts(read(() => rule.ports))) {
                report(`spec.${field}[${index}] allows all ${direction} (${peers}, every port) for ${selects}; name the peers and ports.`);
            }
        });
    }
});

/** Container ports of a pod as `{ label, port }`. */
function containerPorts(spec: Parameters<typeof containersOf>[0]): { label: string; port: number; name?: string }[] {
    return containersOf(spec).flatMap(({ container, label }) => knownItems(read(() => container.ports)).flatMap((p) => {
        const port = read(() => p.containerPort);
        return typeof port === "number" ? [{ label, port, name: knownString(read(() => p.name)) }] : [];
    }));
}

export const podForbidsSshPort = podPolicy({
    name: "pod-forbids-ssh-port",
    description: "Containers must not expose port 22: an SSH server in a pod is a way in that bypasses the platform's deploy path and audit logs.",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps: "Remove the SSH server and its containerPort 22; inspect pods through logs, or break-glass access in the Cloud Console.",
    covers: ["kube-linter:ssh-port"],
}, (pod, report) => {
    for (const { label, port } of containerPorts(pod.spec).filter((p) => p.port === 22)) {
        report(`${label} exposes containerPort ${port} (SSH); remove it.`);
    }
});

export const podAvoidsPrivilegedPorts = podPolicy({
    name: "pod-avoids-privileged-ports",
    description: "Containers should listen on ports of 1024 and above: a port below 1024 needs root or NET_BIND_SERVICE, which the restricted profile takes away.",
    severity: "low",
    enforcementLevel: "advisory",
    remediationSteps: "Listen on a high port (the app uses 8000) and map it in the Service (port 80 → targetPort http).",
    covers: ["kube-linter:privileged-ports"],
}, (pod, report) => {
    for (const { label, port } of containerPorts(pod.spec).filter((p) => p.port > 0 && p.port < 1024)) {
        report(`${label} listens on containerPort ${port}, a privileged port; use a port ≥ 1024.`);
    }
});

const MANAGED_CERTIFICATES = "networking.gke.io/managed-certificates";
const PRE_SHARED_CERT = "ingress.gcp.kubernetes.io/pre-shared-cert";

export const ingressRequiresTls = typedPolicy({
    name: "ingress-requires-tls",
    description: "An Ingress must terminate TLS: spec.tls, a GKE ManagedCertificate or a pre-shared certificate.",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps: "Add the networking.gke.io/managed-certificates annotation naming a ManagedCertificate for the domain, or spec.tls.",
    covers: ["polaris:tlsSettingsMissing"],
}, k8s.networking.v1.Ingress, (ingress, _args, report) => {
    const tls = read(() => ingress.spec?.tls);
    const managed = read(() => ingress.metadata?.annotations?.[MANAGED_CERTIFICATES]);
    const preShared = read(() => ingress.metadata?.annotations?.[PRE_SHARED_CERT]);
    const anyUnknown = [tls, managed, preShared].some(isUnknown);
    const hasTls = Array.isArray(tls) && tls.length > 0;
    if (!anyUnknown && !hasTls && (isUnset(managed) || managed === "") && (isUnset(preShared) || preShared === "")) {
        report(`the Ingress serves plain HTTP only; add the ${MANAGED_CERTIFICATES} annotation or spec.tls.`);
    }
});

const FRONTEND_CONFIG_ANNOTATION = "networking.gke.io/v1beta1.FrontendConfig";

export const ingressDisablesPlainHttp = typedPolicy({
    name: "ingress-disables-plain-http",
    description: "An Ingress must not serve the app over plain HTTP: redirect through a FrontendConfig or disable HTTP.",
    severity: "medium",
    enforcementLevel: "advisory",
    remediationSteps: `Reference a FrontendConfig with redirectToHttps via the ${FRONTEND_CONFIG_ANNOTATION} annotation, or set kubernetes.io/ingress.allow-http: "false".`,
}, k8s.networking.v1.Ingress, (ingress, _args, report) => {
    const frontendConfig = read(() => ingress.metadata?.annotations?.[FRONTEND_CONFIG_ANNOTATION]);
    const allowHttp = read(() => ingress.metadata?.annotations?.["kubernetes.io/ingress.allow-http"]);
    if (!isUnknown(frontendConfig) && !isUnknown(allowHttp) && (isUnset(frontendConfig) || frontendConfig === "") && allowHttp !== "false") {
        report(`the Ingress serves plain HTTP; add the ${FRONTEND_CONFIG_ANNOTATION} annotation (HTTPS redirect) or kubernetes.io/ingress.allow-http: "false".`);
    }
});

const FRONTEND_CONFIG = "kubernetes:networking.gke.io/v1beta1:FrontendConfig";

export const frontendConfigRedirectsToHttps = tokenPolicy({
    name: "frontend-config-redirects-to-https",
    description: "A GKE FrontendConfig must redirect HTTP to HTTPS.",
    severity: "medium",
    enforcementLevel: "advisory",
    remediationSteps: "Set spec.redirectToHttps.enabled: true (responseCodeName MOVED_PERMANENTLY_DEFAULT).",
}, [FRONTEND_CONFIG], (props, _args, report) => {
    requireValue(report, "spec.redirectToHttps.enabled", read(() => props.spec?.redirectToHttps?.enabled), true);
});

export const frontendConfigSetsSslPolicy = tokenPolicy({
    name: "frontend-config-sets-ssl-policy",
    description: "A GKE FrontendConfig must name an SSL policy, so the load balancer does not accept old TLS versions.",
    severity: "low",
    enforcementLevel: "advisory",
    remediationSteps: "Create a compute SSLPolicy (MODERN, TLS 1.2+) and set spec.sslPolicy to its name.",
}, [FRONTEND_CONFIG], (props, _args, report) => {
    const sslPolicy = read(() => props.spec?.sslPolicy);
    if (isUnset(sslPolicy) || sslPolicy === "") {
        report("spec.sslPolicy is unset; the load balancer would accept TLS 1.0.");
    }
});

export const computeSslPolicyRequiresModernTls = typedPolicy({
    name: "compute-ssl-policy-requires-modern-tls",
    description: "SSL policies must require TLS 1.2 or newer with a MODERN or RESTRICTED profile (the API defaults are TLS 1.0, COMPATIBLE).",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps: "Set minTlsVersion: \"TLS_1_2\" and profile: \"MODERN\" (or RESTRICTED).",
    covers: ["CKV_GCP_4"],
    configSchema: {
        properties: {
            allowedMinTlsVersions: stringList(["TLS_1_2", "TLS_1_3"], "Accepted values of minTlsVersion."),
            allowedProfiles: stringList(["MODERN", "RESTRICTED"], "Accepted values of profile."),
        },
    },
}, gcp.compute.SSLPolicy, (policy, args, report) => {
    const { allowedMinTlsVersions, allowedProfiles } = configOf(args, {
        allowedMinTlsVersions: ["TLS_1_2", "TLS_1_3"], allowedProfiles: ["MODERN", "RESTRICTED"],
    });
    const version = read(() => policy.minTlsVersion) ?? "TLS_1_0";
    const profile = read(() => policy.profile) ?? "COMPATIBLE";
    if (!isUnknown(version) && !allowedMinTlsVersions.includes(version)) {
        report(`minTlsVersion is ${show(version)}; use one of ${allowedMinTlsVersions.join(", ")}.`);
    }
    if (!isUnknown(profile) && !allowedProfiles.includes(profile)) {
        report(`profile is ${show(profile)}; use one of ${allowedProfiles.join(", ")}.`);
    }
});

/**
 * Source ranges that mean "anyone": the two catch-alls, and the unspecified addresses written
 * without a prefix length (0.0.0.0, ::, ::0), which Checkov also reads as open
 * (tests/terraform/graph/checks/resources/GCPComputeFirewallOverlyPermissiveToAllTraffic): almost
 * certainly a catch-all with its /0 lost, never a host a rule should name.
 */
const OPEN_RANGES = ["0.0.0.0/0", "::/0", "0.0.0.0", "::", "::0"];

export const computeFirewallForbidsPublicIngress = typedPolicy({
    name: "compute-firewall-forbids-public-ingress",
    description: "Firewall rules must not open ports to the whole internet (0.0.0.0/0, ::/0) other than the allow-listed web ports.",
    severity: "critical",
    enforcementLevel: "mandatory",
    remediationSteps: "Narrow sourceRanges (e.g. to the Google health-check ranges 35.191.0.0/16, 130.211.0.0/22) or the allowed ports.",
    covers: ["CKV_GCP_2", "CKV_GCP_3", "CKV_GCP_75", "CKV_GCP_77", "CKV_GCP_88", "CKV_GCP_106", "CKV2_GCP_12"],
    configSchema: {
        // Only 443: VPC firewall rules govern traffic to VMs, not to load-balancer front ends; the
        // HTTP→HTTPS redirect happens on the load balancer, and the nodes are private.
        properties: { allowedPublicPorts: stringList(["443"], "Ports that may be open to 0.0.0.0/0.") },
    },
}, gcp.compute.Firewall, (firewall, args, report) => {
    const { allowedPublicPorts } = configOf(args, { allowedPublicPorts: ["443"] });
    if (read(() => firewall.direction) === "EGRESS" || read(() => firewall.disabled) === true) {
        return;
    }
    const ranges = read(() => firewall.sourceRanges);
    const noSource = isUnset(ranges) && isUnset(read(() => firewall.sourceTags)) && isUnset(read(() => firewall.sourceServiceAccounts));
    const open = noSource ? ["0.0.0.0/0 (no source given)"] : knownItems(ranges).filter((r) => OPEN_RANGES.includes(r));
    if (open.length === 0) {
        return;
    }
    for (const allow of knownItems(read(() => firewall.allows))) {
        const protocol = knownString(read(() => allow.protocol)) ?? "?";
        const ports = read(() => allow.ports);
        if (isUnknown(ports) || !["tcp", "udp", "sctp", "all"].includes(protocol)) {
            continue;
        }
        const known = knownItems(ports);
        if (known.length === 0 && (isUnset(ports) || ports.length === 0)) {
            report(`allows every ${protocol} port from ${open.join(", ")}; list only ${allowedPublicPorts.join(", ")}.`);
        }
        for (const port of known.filter((p) => !allowedPublicPorts.includes(String(p)))) {
            report(`allows ${protocol} port ${port} from ${open.join(", ")}; only ${allowedPublicPorts.join(", ")} may be public.`);
        }
    }
});

export const computeNetworkDisablesAutoSubnets = typedPolicy({
    name: "compute-network-disables-auto-subnets",
    description: "VPC networks must be custom-mode (autoCreateSubnetworks: false); auto mode creates a subnet in every region.",
    severity: "medium",
    enforcementLevel: "advisory",
    remediationSteps: "Set autoCreateSubnetworks: false and create the subnets explicitly.",
    covers: ["CKV2_GCP_2"],
}, gcp.compute.Network, (network, _args, report) => {
    const auto = read(() => network.autoCreateSubnetworks);
    if (!isUnknown(auto) && auto !== false) {
        report(`autoCreateSubnetworks is ${show(auto)} (the default is true); set it to false.`);
    }
});

export const computeSubnetworkEnablesPrivateGoogleAccess = typedPolicy({
    name: "compute-subnetwork-enables-private-google-access",
    description: "Subnets of private nodes must enable Private Google Access so pods reach Google APIs without public IPs.",
    severity: "medium",
    enforcementLevel: "advisory",
    remediationSteps: "Set privateIpGoogleAccess: true on the subnetwork.",
    covers: ["CKV_GCP_74"],
}, gcp.compute.Subnetwork, (subnet, _args, report) => {
    requireValue(report, "privateIpGoogleAccess", read(() => subnet.privateIpGoogleAccess), true);
});

export const computeSubnetworkEnablesFlowLogs = typedPolicy({
    name: "compute-subnetwork-enables-flow-logs",
    description: "Subnets should record VPC flow logs (CIS GCP 3.8).",
    severity: "low",
    enforcementLevel: "advisory",
    remediationSteps: "Set logConfig (e.g. aggregationInterval INTERVAL_5_SEC, flowSampling 0.5, metadata INCLUDE_ALL_METADATA).",
    covers: ["CKV_GCP_26"],
}, gcp.compute.Subnetwork, (subnet, _args, report) => {
    if (isUnset(read(() => subnet.logConfig))) {
        report("logConfig is unset; flow logs are off.");
    }
});

export const redisInstanceRequiresAuth = typedPolicy({
    name: "redis-instance-requires-auth",
    description: "Memorystore for Redis must require AUTH.",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps: "Set authEnabled: true and pass the AUTH string to the app as a secret.",
    covers: ["CKV_GCP_95"],
}, gcp.redis.Instance, (redis, _args, report) => {
    requireValue(report, "authEnabled", read(() => redis.authEnabled), true);
});

export const redisInstanceEncryptsInTransit = typedPolicy({
    name: "redis-instance-encrypts-in-transit",
    description: "Memorystore for Redis should encrypt traffic in transit (SERVER_AUTHENTICATION).",
    severity: "medium",
    enforcementLevel: "advisory",
    remediationSteps: "Set transitEncryptionMode: \"SERVER_AUTHENTICATION\" and connect with rediss:// and the server CA.",
    covers: ["CKV_GCP_97"],
}, gcp.redis.Instance, (redis, _args, report) => {
    requireValue(report, "transitEncryptionMode", read(() => redis.transitEncryptionMode), "SERVER_AUTHENTICATION");
});
