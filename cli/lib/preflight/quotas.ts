/**
 * `quotas`: is there Compute Engine quota left for what the stack creates?
 *
 * Compute Engine `regions.get` (https://cloud.google.com/compute/docs/reference/rest/v1/regions/get):
 * GET https://compute.googleapis.com/compute/v1/projects/<p>/regions/<r> and `projects.get`
 * (https://cloud.google.com/compute/docs/reference/rest/v1/projects/get):
 * GET https://compute.googleapis.com/compute/v1/projects/<p>; both answer `"quotas": [{"metric",
 * "limit", "usage"}]` (regional quotas; project-wide ones). Needs compute.regions.get and
 * compute.projects.get (in roles/compute.viewer; the bootstrap's preflight role); without them the
 * check is `unchecked`, which a strict run fails.
 *
 * What the stack needs, counted on the rendered stack:
 * - CPUS (region) and CPUS_ALL_REGIONS (project): the CPU requests of every pod at full scale (the
 *   web Deployment at its HPA maxReplicas plus the rolling update's surge, Redis StatefulSets, the
 *   migrate/collectstatic Jobs, native sidecars). Autopilot runs pods on Compute Engine nodes of the
 *   project, which count against these quotas (https://cloud.google.com/kubernetes-engine/quotas);
 *   nodes also carry system pods and unused room, so fewer than twice the need left is a warning.
 * - STATIC_ADDRESSES and IN_USE_ADDRESSES (region): one per Cloud NAT with automatic allocation, which
 *   "creates a static (reserved) regional external IP address … These addresses count towards
 *   per-project quotas" (https://cloud.google.com/nat/docs/ports-and-addresses#addresses).
 * - Project-wide: one of NETWORKS, SUBNETWORKS, ROUTERS, SSL_POLICIES, BACKEND_BUCKETS, URL_MAPS,
 *   TARGET_HTTP(S)_PROXIES, SSL_CERTIFICATES per such resource; GLOBAL_INTERNAL_ADDRESSES for the
 *   private services range and STATIC_ADDRESSES for each reserved global external IP; forwarding
 *   rules by scheme (EXTERNAL: FORWARDING_RULES, EXTERNAL_MANAGED:
 *   GLOBAL_EXTERNAL_MANAGED_FORWARDING_RULES). A GKE Ingress (class gce) adds at least a URL map,
 *   an HTTPS proxy and forwarding rule, an HTTP proxy and forwarding rule when plain HTTP is allowed
 *   (https://cloud.google.com/kubernetes-engine/docs/concepts/ingress-xlb); a ManagedCertificate one
 *   SSL certificate. Backend services, health checks, NEGs and firewall rules that GKE adds are not
 *   counted (their number depends on the controller).
 * - Cloud Armor, project-wide (https://cloud.google.com/armor/quotas): SECURITY_POLICIES, the global
 *   edge and backend security policies together; SECURITY_POLICY_RULES, every rule in them, basic
 *   and advanced alike; SECURITY_POLICY_CEVAL_RULES, the rules with an
 *   advanced match condition (an expression: the preconfigured WAF and Log4j rules, the region-code
 *   deny-lists). Counted from each rendered `gcp.compute.SecurityPolicy`'s rules, the default rule
 *   included. The CEVAL metric's name is the one Compute's `projects.get` reports and its quota
 *   errors name ("Quota 'SECURITY_POLICY_CEVAL_RULES' exceeded … limit name =
 *   SECURITY-POLICY-CEVAL-RULES-per-project"); limits of 20, and of 0 on trial billing accounts,
 *   have been reported, which the deny-lists alone can exceed (edge.armor.denyCountries of 50
 *   codes is 10 such rules, twice with the CDN's edge policy).
 *
 * Not Compute Engine quotas, so not checked here: Cloud SQL instances and storage, Memorystore
 * capacity, GKE clusters per region (docs/preflight.md).
 */
import { permissionOf } from "../../../bootstrap/preflightReads";
import { deniedPermission, describeError, disabledService } from "./google";
import { ofType, type StackModel } from "./model";
import { unchecked, type CheckContext, type CheckResult, type CheckStatus } from "./types";

/** A quota as Compute reports it. */
export interface Quota {
    readonly metric: string;
    readonly limit: number;
    readonly usage: number;
}

/** What the stack needs of one quota metric, and why. */
export interface QuotaNeed {
    readonly scope: "region" | "project";
    readonly metric: string;
    readonly need: number;
    readonly why: string;
}

type K8s = Record<string, unknown> & { spec?: Record<string, unknown>; metadata?: { name?: string; annotations?: Record<string, string> } };

/** Kubernetes CPU quantity (`250m`, `1`, `1.5`) in cores. */
export function cpuCores(quantity: unknown): number {
    if (typeof quantity === "number") {
        return quantity;
    }
    if (typeof quantity !== "string") {
        return 0;
    }
    const m = /^(\d+(?:\.\d+)?)(m?)$/.exec(quantity.trim());
    return m ? Number(m[1]) / (m[2] ? 1000 : 1) : 0;
}

interface Container {
    resources?: { requests?: { cpu?: unknown } };
    restartPolicy?: string;
}

/** CPU requests of one pod: its containers plus native sidecars (init containers with restartPolicy Always). */
function podCpu(podSpec: { containers?: Container[]; initContainers?: Container[] } | undefined): number {
    const containers = podSpec?.containers ?? [];
    const sidecars = (podSpec?.initContainers ?? []).filter((c) => c.restartPolicy === "Always");
    return [...containers, ...sidecars].reduce((sum, c) => sum + cpuCores(c.resources?.requests?.cpu), 0);
}

function surge(maxSurge: unknown, replicas: number): number {
    if (typeof maxSurge === "number") {
        return maxSurge;
    }
    const pct = typeof maxSurge === "string" ? /^(\d+)%$/.exec(maxSurge) : null;
    // Kubernetes' default maxSurge is 25%, rounded up.
    return Math.ceil(((pct ? Number(pct[1]) : 25) / 100) * replicas);
}

/** Total CPU requests of the stack's pods at full scale, in cores. */
export function cpuAtFullScale(model: StackModel): { cores: number; detail: string[] } {
    const k8s = (type: string) => model.resources.filter((r) => r.custom && r.type === type);
    const deployments = k8s("kubernetes:apps/v1:Deployment");
    const hpas = k8s("kubernetes:autoscaling/v2:HorizontalPodAutoscaler");
    const detail: string[] = [];
    let cores = 0;
    for (const d of deployments) {
        const inputs = d.inputs as K8s;
        const spec = inputs.spec as { replicas?: number; strategy?: { rollingUpdate?: { maxSurge?: unknown } }; template?: { spec?: { containers?: Container[]; initContainers?: Container[] } } } | undefined;
        const name = inputs.metadata?.name ?? (d.outputs as K8s).metadata?.name;
        const hpa = hpas.find((h) => name !== undefined && ((h.inputs as K8s).spec as { scaleTargetRef?: { name?: string } } | undefined)?.scaleTargetRef?.name === name) ?? (deployments.length === 1 && hpas.length === 1 ? hpas[0] : undefined);
        const replicas = hpa ? Number(((hpa.inputs as K8s).spec as { maxReplicas?: number }).maxReplicas ?? 1) : (spec?.replicas ?? 1);
        const pods = replicas + surge(spec?.strategy?.rollingUpdate?.maxSurge, replicas);
        const cpu = podCpu(spec?.template?.spec);
        cores += pods * cpu;
        detail.push(`${d.name} ${pods}×${cpu}`);
    }
    for (const s of k8s("kubernetes:apps/v1:StatefulSet")) {
        const spec = (s.inputs as K8s).spec as { replicas?: number; template?: { spec?: { containers?: Container[]; initContainers?: Container[] } } } | undefined;
        const pods = spec?.replicas ?? 1;
        const cpu = podCpu(spec?.template?.spec);
        cores += pods * cpu;
        detail.push(`${s.name} ${pods}×${cpu}`);
    }
    for (const j of k8s("kubernetes:batch/v1:Job")) {
        const spec = (j.inputs as K8s).spec as { parallelism?: number; template?: { spec?: { containers?: Container[]; initContainers?: Container[] } } } | undefined;
        const pods = spec?.parallelism ?? 1;
        const cpu = podCpu(spec?.template?.spec);
        cores += pods * cpu;
        detail.push(`${j.name} ${pods}×${cpu}`);
    }
    return { cores: Math.round(cores * 1000) / 1000, detail };
}

/** The Compute Engine quota the stack needs, from the rendered stack. */
export function quotaNeeds(model: StackModel): QuotaNeed[] {
    const needs: QuotaNeed[] = [];
    const add = (scope: QuotaNeed["scope"], metric: string, need: number, why: string) => {
        if (need > 0) {
            const existing = needs.find((n) => n.scope === scope && n.metric === metric);
            if (existing) {
                needs[needs.indexOf(existing)] = { ...existing, need: existing.need + need, why: `${existing.why} + ${why}` };
            } else {
                needs.push({ scope, metric, need, why });
            }
        }
    };
    const count = (type: string) => ofType(model, type).length;

    const cpu = cpuAtFullScale(model);
    const cpus = Math.ceil(cpu.cores);
    add("region", "CPUS", cpus, `pod CPU requests at full scale (${cpu.cores} cores)`);
    add("project", "CPUS_ALL_REGIONS", cpus, `pod CPU requests at full scale (${cpu.cores} cores)`);

    const autoNat = ofType(model, "gcp:compute/routerNat:RouterNat").filter((r) => r.inputs.natIpAllocateOption === "AUTO_ONLY").length;
    add("region", "STATIC_ADDRESSES", autoNat, "Cloud NAT automatic IP");
    add("region", "IN_USE_ADDRESSES", autoNat, "Cloud NAT automatic IP");

    add("project", "NETWORKS", count("gcp:compute/network:Network"), "VPC");
    add("project", "SUBNETWORKS", count("gcp:compute/subnetwork:Subnetwork"), "subnet");
    add("project", "ROUTERS", count("gcp:compute/router:Router"), "Cloud Router");
    const addresses = ofType(model, "gcp:compute/globalAddress:GlobalAddress");
    add("project", "GLOBAL_INTERNAL_ADDRESSES", addresses.filter((a) => a.inputs.addressType === "INTERNAL").length, "private services range");
    add("project", "STATIC_ADDRESSES", addresses.filter((a) => a.inputs.addressType !== "INTERNAL").length, "reserved global IPs");
    add("project", "SSL_POLICIES", count("gcp:compute/sSLPolicy:SSLPolicy"), "SSL policies");
    add("project", "BACKEND_BUCKETS", count("gcp:compute/backendBucket:BackendBucket"), "CDN backend bucket");
    add("project", "URL_MAPS", count("gcp:compute/uRLMap:URLMap"), "URL maps");
    add("project", "TARGET_HTTPS_PROXIES", count("gcp:compute/targetHttpsProxy:TargetHttpsProxy"), "HTTPS proxies");
    add("project", "TARGET_HTTP_PROXIES", count("gcp:compute/targetHttpProxy:TargetHttpProxy"), "HTTP proxies");
    add("project", "SSL_CERTIFICATES", count("gcp:compute/managedSslCertificate:ManagedSslCertificate"), "managed certificates");
    const rules = ofType(model, "gcp:compute/globalForwardingRule:GlobalForwardingRule");
    add("project", "GLOBAL_EXTERNAL_MANAGED_FORWARDING_RULES", rules.filter((r) => r.inputs.loadBalancingScheme === "EXTERNAL_MANAGED").length, "forwarding rules");
    add("project", "FORWARDING_RULES", rules.filter((r) => r.inputs.loadBalancingScheme !== "EXTERNAL_MANAGED").length, "forwarding rules");

    const ingresses = model.resources.filter((r) => r.custom && r.type === "kubernetes:networking.k8s.io/v1:Ingress").filter((r) => {
        const annotations = (r.inputs as K8s).metadata?.annotations ?? {};
        const cls = annotations["kubernetes.io/ingress.class"] ?? ((r.inputs as K8s).spec as { ingressClassName?: string } | undefined)?.ingressClassName ?? "gce";
        return cls === "gce";
    });
    for (const ing of ingresses) {
        const allowHttp = ((ing.inputs as K8s).metadata?.annotations ?? {})["kubernetes.io/ingress.allow-http"] !== "false";
        add("project", "URL_MAPS", 1, "GKE Ingress");
        add("project", "TARGET_HTTPS_PROXIES", 1, "GKE Ingress");
        add("project", "FORWARDING_RULES", allowHttp ? 2 : 1, "GKE Ingress");
        add("project", "TARGET_HTTP_PROXIES", allowHttp ? 1 : 0, "GKE Ingress");
    }
    add("project", "SSL_CERTIFICATES", model.resources.filter((r) => r.custom && /^kubernetes:networking\.gke\.io\/v\w+:ManagedCertificate$/.test(r.type)).length, "GKE ManagedCertificate");

    const policies = ofType(model, "gcp:compute/securityPolicy:SecurityPolicy").map((p) => {
        const rules = Array.isArray(p.inputs.rules) ? (p.inputs.rules as { match?: { expr?: { expression?: unknown } } }[]) : [];
        return { name: p.name, rules: rules.length, advanced: rules.filter((r) => typeof r.match?.expr?.expression === "string").length };
    });
    const perPolicy = (key: "rules" | "advanced") => policies.map((p) => `${p.name} ${p[key]}`).join(", ");
    add("project", "SECURITY_POLICIES", policies.length, "Cloud Armor policies");
    add("project", "SECURITY_POLICY_RULES", policies.reduce((n, p) => n + p.rules, 0), `Cloud Armor rules: ${perPolicy("rules")}`);
    add("project", "SECURITY_POLICY_CEVAL_RULES", policies.reduce((n, p) => n + p.advanced, 0), `Cloud Armor rules with an advanced match condition: ${perPolicy("advanced")}`);
    return needs;
}

/**
 * The Cloud Quotas id of a Compute metric, by the pattern of the two ids a source confirms
 * (`CPUS-per-project-region`: the `gcp.cloudquota.SQuotaPreference` example of @pulumi/gcp and
 * GoogleCloudPlatform/gcpdiag; `CPUS-ALL-REGIONS-per-project`: gcpdiag). For any other metric the id
 * is a guess ({@link quotaIdVerified}): the fix then looks the id up first.
 */
export function quotaId(scope: QuotaNeed["scope"], metric: string): string {
    return `${metric.replace(/_/g, "-")}-per-project${scope === "region" ? "-region" : ""}`;
}

/** The Cloud Quotas ids a source confirms; {@link quotaId} of any other metric is unverified. */
export const VERIFIED_QUOTA_IDS: ReadonlySet<string> = new Set(["CPUS-per-project-region", "CPUS-ALL-REGIONS-per-project"]);

/** Whether {@link quotaId} of this metric is confirmed by a source. */
export function quotaIdVerified(scope: QuotaNeed["scope"], metric: string): boolean {
    return VERIFIED_QUOTA_IDS.has(quotaId(scope, metric));
}

/**
 * The command that asks for more quota: with a confirmed id, the preference itself; otherwise
 * first the lookup of the real id (`gcloud beta quotas info list`, whose QuotaInfo carries
 * `quotaId` and `metric`: https://cloud.google.com/sdk/gcloud/reference/beta/quotas/info/list),
 * then the preference with the id it prints.
 */
export function quotaIncreaseFix(scope: QuotaNeed["scope"], metric: string, wanted: number, project: string, region: string, email: string): string {
    const id = quotaId(scope, metric);
    const dimensions = scope === "region" ? ` --dimensions=region=${region}` : "";
    if (quotaIdVerified(scope, metric)) {
        return `gcloud beta quotas preferences create --service=compute.googleapis.com --quota-id=${id} --preferred-value=${wanted}${dimensions} --project=${project} --email=${email}`;
    }
    return (
        `find the quota id of ${metric} (${id} is a guess no source confirms): gcloud beta quotas info list --service=compute.googleapis.com --project=${project} --format='value(quotaId,metric)' | grep -i ${metric.toLowerCase()}; ` +
        `then gcloud beta quotas preferences create --service=compute.googleapis.com --quota-id=<that id> --preferred-value=${wanted}${dimensions} --project=${project} --email=${email}`
    );
}

export async function checkQuotas(ctx: CheckContext): Promise<CheckResult> {
    const { project, region } = ctx.config;
    const model = await ctx.model();
    const needs = quotaNeeds(model);
    const [regional, global] = await Promise.all([
        ctx.client.get<{ quotas?: Quota[] }>(`https://compute.googleapis.com/compute/v1/projects/${project}/regions/${region}`),
        ctx.client.get<{ quotas?: Quota[] }>(`https://compute.googleapis.com/compute/v1/projects/${project}`),
    ]);
    for (const res of [regional, global]) {
        if (res.ok) {
            continue;
        }
        const disabled = disabledService(res);
        if (disabled) {
            return unchecked("quotas", `cannot read quotas: ${disabled} is disabled in ${project} (${describeError(res)}); enable it first (see the apis check)`, [`api:${disabled}`], `gcloud services enable compute.googleapis.com --project ${project}`);
        }
        if (res.status === 404 && res === regional) {
            return { id: "quotas", status: "fail", message: `Compute Engine knows no region ${region} in ${project} (${describeError(res)})`, fix: "pulumi config set gcp:region <a region, e.g. europe-west1>" };
        }
        const permission = permissionOf(res === regional ? "compute.regions.get" : "compute.projects.get");
        if (res.status === 403) {
            return unchecked(
                "quotas",
                `cannot read quotas of ${project} (${describeError(res)})`,
                [deniedPermission(res) ?? permission],
                `gcloud projects add-iam-policy-binding ${project} --member=${ctx.identity.member ?? "<member>"} --role=roles/compute.viewer (or re-run the bootstrap, whose preflight role holds compute.regions.get and compute.projects.get)`,
            );
        }
        return { id: "quotas", status: "unchecked", message: `cannot read quotas of ${project} (${describeError(res)})`, fix: null };
    }
    const findings: { status: CheckStatus; text: string; fix?: string }[] = [];
    let checked = 0;
    for (const n of needs) {
        const quotas = (n.scope === "region" ? regional.body?.quotas : global.body?.quotas) ?? [];
        const q = quotas.find((x) => x.metric === n.metric);
        if (!q) {
            continue;
        }
        checked++;
        const left = q.limit - q.usage;
        const where = n.scope === "region" ? `${region} ` : "";
        const text = `${where}${n.metric}: needs ${n.need} (${n.why}), ${left} left of ${q.limit}`;
        if (left < n.need) {
            const wanted = Math.ceil(q.usage + n.need);
            const email = ctx.identity.member?.startsWith("user:") ? ctx.identity.member.slice(5) : "<your email>";
            findings.push({
                status: "fail",
                text,
                fix: quotaIncreaseFix(n.scope, n.metric, wanted, project, region, email),
            });
        } else if (left < 2 * n.need) {
            findings.push({ status: "warn", text: `${text} (less than twice the need)` });
        }
    }
    const status: CheckStatus = findings.some((f) => f.status === "fail") ? "fail" : findings.length > 0 ? "warn" : "pass";
    if (status === "pass") {
        return { id: "quotas", status, message: `enough quota for ${checked} Compute Engine metrics (${needs.filter((n) => n.metric === "CPUS").map((n) => `CPUS ${n.need}`).join("")} in ${region}, ${needs.length} needs counted)`, fix: null };
    }
    const shown = findings.filter((f) => f.status === status);
    const cpuHint = shown.some((f) => /CPUS/.test(f.text)) && status === "fail" ? "; or lower workload.maxReplicas / workload.cpu" : "";
    return {
        id: "quotas",
        status,
        message: `${findings.map((f) => f.text).join("; ")}${cpuHint}`,
        fix: shown.some((f) => f.fix) ? shown.map((f) => f.fix).filter(Boolean).join(" && ") : null,
    };
}
