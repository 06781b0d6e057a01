/**
 * VPC and load balancers: every VPC the stack creates declares its firewall rules, and plain HTTP
 * reaches the internet only through the current external Application Load Balancer.
 * (Firewall sources, SSL policies and subnets are checked in `networking.ts`.)
 */
import * as gcp from "@pulumi/gcp";
import type { PolicyResource } from "@pulumi/policy";
import { stackPolicy, typeTokenOf } from "./lib/define";
import { isUnknown, knownString, read, show } from "./lib/values";

const NETWORK = typeTokenOf(gcp.compute.Network);
const FIREWALL = typeTokenOf(gcp.compute.Firewall);

/** The network's name in a reference: a name, an id (`projects/<p>/global/networks/<n>`) or a self link. */
function networkNameOf(reference: string): string {
    return reference.replace(/\/+$/, "").split("/").pop() ?? reference;
}

/**
 * A VPC without firewall rules in the program relies on the implied rules alone (deny all ingress,
 * allow all egress, priority 65535), which are not resources and log nothing
 * (https://cloud.google.com/vpc/docs/firewalls). Checkov CKV2_GCP_18 asks for a firewall attached
 * to each network. A rule counts when it depends on the network or names it.
 */
export const computeNetworkDefinesFirewallRules = stackPolicy({
    name: "compute-network-defines-firewall-rules",
    description: "Every VPC the stack creates must have firewall rules in the stack (at least an explicit deny-all ingress rule with logging), rather than rely on the implied rules, which log nothing.",
    severity: "low",
    enforcementLevel: "advisory",
    covers: ["CKV2_GCP_18"],
    remediationSteps: "Add a gcp.compute.Firewall on the network: direction INGRESS, denies [{ protocol: \"all\" }], sourceRanges [\"0.0.0.0/0\"], priority 65534, logConfig { metadata: \"INCLUDE_ALL_METADATA\" } (components/network.ts creates it). GKE's own allow rules (priority 1000) still apply.",
}, [NETWORK, FIREWALL], (args, report) => {
    const firewalls = args.resources.filter((r) => r.type === FIREWALL);
    const references = (firewall: PolicyResource): string | undefined => knownString(read(() => firewall.props.network));
    // A rule whose network is not known (yet, or at all) and that depends on no network could be
    // any network's; so could a rule naming a network when that network's own name is not known.
    const undecided = firewalls.some((f) => references(f) === undefined && !f.dependencies.some((d) => d.type === NETWORK));
    for (const network of args.resources.filter((r) => r.type === NETWORK)) {
        const name = knownString(read(() => network.props.name));
        const attached = firewalls.some((f) => f.dependencies.some((d) => d.urn === network.urn)
            || (name !== undefined && references(f) !== undefined && networkNameOf(references(f)!) === name));
        const nameUndecided = name === undefined && firewalls.some((f) => references(f) !== undefined);
        if (!attached && !undecided && !nameUndecided) {
            report(`${network.name} has no firewall rule in the stack; add an explicit deny-all ingress rule with logging at priority 65534.`, network.urn);
        }
    }
});

const FORWARDING_RULES = [typeTokenOf(gcp.compute.GlobalForwardingRule), typeTokenOf(gcp.compute.ForwardingRule)];
const HTTP_PROXIES = [typeTokenOf(gcp.compute.TargetHttpProxy), typeTokenOf(gcp.compute.RegionTargetHttpProxy)];
const HTTPS_PROXIES = [typeTokenOf(gcp.compute.TargetHttpsProxy), typeTokenOf(gcp.compute.RegionTargetHttpsProxy)];

/**
 * Whether a forwarding rule's target is a target HTTP (not HTTPS) proxy: by its URL
 * (`…/targetHttpProxies/<name>`), else — a target not known yet, or not a Compute URL — by the
 * proxy resource the rule depends on. `undefined` when neither tells.
 */
function targetsHttpProxy(rule: PolicyResource): boolean | undefined {
    const target = knownString(read(() => rule.props.target));
    if (target !== undefined && /\/targetHttpProxies\//i.test(target)) {
        return true;
    }
    if (target !== undefined && /\/(targetHttpsProxies|targetSslProxies|targetTcpProxies|targetGrpcProxies|targetInstances|targetPools|targetVpnGateways|serviceAttachments)\//i.test(target)) {
        return false;
    }
    const proxies = rule.dependencies.map((d) => d.type);
    if (proxies.some((t) => HTTPS_PROXIES.includes(t))) {
        return false;
    }
    return proxies.some((t) => HTTP_PROXIES.includes(t)) ? true : undefined;
}

/**
 * Checkov CKV2_GCP_38 (global) fails a forwarding rule that targets an HTTP proxy with the
 * `EXTERNAL` scheme — the classic Application Load Balancer, and the default when the scheme is
 * unset — and accepts `EXTERNAL_MANAGED`, the current global external Application Load Balancer,
 * which components/statics.ts uses for its HTTP→HTTPS redirect. Regional forwarding rules
 * (Checkov CKV2_GCP_37) are checked the same way.
 */
export const computeForwardingRuleForbidsClassicExternalHttp = stackPolicy({
    name: "compute-forwarding-rule-forbids-classic-external-http",
    description: "A forwarding rule that sends plain HTTP to a target HTTP proxy must not use the classic external load balancer (loadBalancingScheme EXTERNAL, the default): use EXTERNAL_MANAGED, and plain HTTP only to redirect to HTTPS.",
    severity: "medium",
    enforcementLevel: "advisory",
    covers: ["CKV2_GCP_38"],
    remediationSteps: "Serve the site through a target HTTPS proxy; keep a port-80 forwarding rule only for a URL map that redirects to HTTPS, with loadBalancingScheme: \"EXTERNAL_MANAGED\" (as components/statics.ts does).",
}, [...FORWARDING_RULES, ...HTTP_PROXIES, ...HTTPS_PROXIES], (args, report) => {
    for (const rule of args.resources.filter((r) => FORWARDING_RULES.includes(r.type))) {
        const scheme = read(() => rule.props.loadBalancingScheme);
        if (isUnknown(scheme) || (typeof scheme === "string" && scheme !== "" && scheme.toUpperCase() !== "EXTERNAL")) {
            continue;
        }
        if (targetsHttpProxy(rule) === true) {
            const shown = typeof scheme === "string" && scheme !== "" ? show(scheme) : "unset (EXTERNAL)";
            report(`${rule.name} sends plain HTTP to a target HTTP proxy on the classic external load balancer (loadBalancingScheme ${shown}); use EXTERNAL_MANAGED and serve the site over HTTPS.`, rule.urn);
        }
    }
});
