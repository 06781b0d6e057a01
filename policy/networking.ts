/**
 * Networking: default-deny NetworkPolicies, exposure of Services and Ingresses, TLS, VPC firewall
 * and subnets, Memorystore for Redis.
 */
import * as gcp from "@pulumi/gcp";
import * as k8s from "@pulumi/kubernetes";
import type { PolicyResource } from "@pulumi/policy";
import { configOf, matchesAny, requireValue, stackPolicy, stringList, tokenPolicy, typedPolicy } from "./lib/define";
import { namespaceKey, sameNamespace, selects, showNamespace } from "./lib/k8s";
import { podOf, POD_TYPES } from "./lib/pods";
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
    description: "Services of type LoadBalancer expose pods directly to the internet; only allow-listed ones may use it (the Ingress is the front door).",
    severity: "medium",
    enforcementLevel: "advisory",
    remediationSteps: "Use a ClusterIP Service behind the Ingress, or allow-list the Service's Pulumi name in the policy config when a LoadBalancer Service is intended.",
    configSchema: {
        properties: { allowedServices: stringList([], "Pulumi resource-name globs of Services that may be of type LoadBalancer.") },
    },
}, k8s.core.v1.Service, (service, args, report) => {
    const { allowedServices } = configOf(args, { allowedServices: [] as string[] });
    if (read(() => service.spec?.type) === "LoadBalancer" && !matchesAny(args.name, allowedServices)) {
        report(`Service ${args.name} is of type LoadBalancer; use the Ingress or allow-list it in allowedServices.`);
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

const OPEN_RANGES = ["0.0.0.0/0", "::/0"];

export const computeFirewallForbidsPublicIngress = typedPolicy({
    name: "compute-firewall-forbids-public-ingress",
    description: "Firewall rules must not open ports to the whole internet (0.0.0.0/0, ::/0) other than the allow-listed web ports.",
    severity: "critical",
    enforcementLevel: "mandatory",
    remediationSteps: "Narrow sourceRanges (e.g. to the Google health-check ranges 35.191.0.0/16, 130.211.0.0/22) or the allowed ports.",
    configSchema: {
        properties: { allowedPublicPorts: stringList(["80", "443"], "Ports that may be open to 0.0.0.0/0.") },
    },
}, gcp.compute.Firewall, (firewall, args, report) => {
    const { allowedPublicPorts } = configOf(args, { allowedPublicPorts: ["80", "443"] });
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
}, gcp.compute.Subnetwork, (subnet, _args, report) => {
    requireValue(report, "privateIpGoogleAccess", read(() => subnet.privateIpGoogleAccess), true);
});

export const computeSubnetworkEnablesFlowLogs = typedPolicy({
    name: "compute-subnetwork-enables-flow-logs",
    description: "Subnets should record VPC flow logs (CIS GCP 3.8).",
    severity: "low",
    enforcementLevel: "advisory",
    remediationSteps: "Set logConfig (e.g. aggregationInterval INTERVAL_5_SEC, flowSampling 0.5, metadata INCLUDE_ALL_METADATA).",
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
}, gcp.redis.Instance, (redis, _args, report) => {
    requireValue(report, "authEnabled", read(() => redis.authEnabled), true);
});

export const redisInstanceEncryptsInTransit = typedPolicy({
    name: "redis-instance-encrypts-in-transit",
    description: "Memorystore for Redis should encrypt traffic in transit (SERVER_AUTHENTICATION).",
    severity: "medium",
    enforcementLevel: "advisory",
    remediationSteps: "Set transitEncryptionMode: \"SERVER_AUTHENTICATION\" and connect with rediss:// and the server CA.",
}, gcp.redis.Instance, (redis, _args, report) => {
    requireValue(report, "transitEncryptionMode", read(() => redis.transitEncryptionMode), "SERVER_AUTHENTICATION");
});
