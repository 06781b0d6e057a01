/**
 * Monthly cost estimate of a rendered stack: pure, from the resources synth captured (type, name,
 * inputs, parent) and the price table (./prices.ts). Two columns: `idle` (every HorizontalPodAutoscaler
 * at `minReplicas`) and `peak` (at `maxReplicas`); StatefulSets count their `replicas`, Jobs and
 * CronJobs their assumed runs. Usage-priced items (egress, requests, NAT data, storage) use the
 * stack's usage and the assumptions of ./assumptions.ts, stated in each line and in docs/costs.md, and are the
 * same in both columns.
 *
 * Every resource type must be priced here or listed in {@link FREE_TYPES} with the reason; any
 * other type lands in `unpriced` (tests/cost.test.ts fails on it).
 */
import { isSpotPodSpec } from "../../../components/spot";
import type { Usage } from "../../../config";
import type { CapturedResource } from "../mockRuntime";
import { ASSUMPTIONS, assumptionText, DEFAULT_USAGE, type Assumptions } from "./assumptions";
import { FREE_TYPES } from "./freeTypes";
import { GIB, parseQuantity, podRequests, runsPerMonth, type Json, type PodRequests } from "./pods";
import { CURRENCY, HOURS_PER_MONTH, PRICE_DATE, PRICE_TABLE_VERSION, priceFor, type PriceKey, type ResolvedPrice } from "./prices";

/** One line of the estimate, monthly USD. */
export interface CostLine {
    /** Platform component (network, database, cache, statics, cluster, workload, networking, …). */
    readonly component: string;
    /** What is billed. */
    readonly item: string;
    /** The resource (`type` and `name`) the line comes from. */
    readonly type: string;
    readonly resource: string;
    readonly idle: number;
    readonly peak: number;
    /** How it was computed. */
    readonly detail: string;
    /** Regions whose prices stood in for the stack's region. */
    readonly estimatedFrom?: string[];
}

/** Idle and peak of one component. */
export interface ComponentTotal {
    readonly idle: number;
    readonly peak: number;
}

/** The `cost` of report.json. */
export interface CostEstimate {
    readonly currency: string;
    readonly priceDate: string;
    readonly priceTableVersion: string;
    readonly region: string;
    readonly hoursPerMonth: number;
    readonly assumptions: string[];
    readonly lines: CostLine[];
    readonly components: Record<string, ComponentTotal>;
    readonly idle: number;
    readonly peak: number;
    /** Types with no charge of their own, with the reason (one entry per type present). */
    readonly free: Array<{ readonly type: string; readonly reason: string }>;
    /** Types present that this estimate does not know: a bug to fix in cli/lib/cost. */
    readonly unpriced: string[];
    /** Notes on the region's prices (borrowed from another region). */
    readonly notes: string[];
    /**
     * The GKE free tier credit of the stack's cluster: `taken` when the stack's usage says it takes
     * the billing account's one credit (then it is a line of the estimate), the amount it is worth
     * either way; undefined when the stack creates no cluster.
     */
    readonly freeTierCredit?: { readonly taken: boolean; readonly amount: number };
}

const round2 = (n: number): number => Math.round(n * 100) / 100;
/** Google's GKE pricing page: "$74.40 in monthly credits per billing account". */
const GKE_PRICING_PAGE = "https://cloud.google.com/kubernetes-engine/pricing";
const money = (n: number): string => `${n < 0 ? "-" : ""}$${Math.abs(n).toFixed(2)}`;
/** A unit price with as many decimals as it has (up to 7). */
const unit = (n: number): string => `$${+n.toFixed(7)}`;

/** Options of {@link estimateCost}. */
export interface EstimateOptions {
    /** The stack's `gcp:region`. */
    readonly region: string;
    /** The stack's expected traffic and storage (config `usage`). @default {@link DEFAULT_USAGE} */
    readonly usage?: Usage;
}

/** Computes the monthly estimate of a stack from its captured resources. */
export function estimateCost(resources: readonly CapturedResource[], options: EstimateOptions): CostEstimate {
    const { region } = options;
    const usage = options.usage ?? DEFAULT_USAGE;
    const A: Assumptions = { ...usage, ...ASSUMPTIONS };
    const byUrn = new Map(resources.map((r) => [r.urn, r]));
    const lines: CostLine[] = [];
    const borrowed = new Set<string>();
    const price = (key: PriceKey): ResolvedPrice => {
        const resolved = priceFor(key, region);
        if (resolved.estimatedFrom) {
            borrowed.add(`${key} from ${resolved.estimatedFrom}`);
        }
        return resolved;
    };
    const usd = (key: PriceKey): number => price(key).price.usd;
    const from = (...keys: PriceKey[]): string[] | undefined => {
        const regions = [...new Set(keys.map((k) => price(k).estimatedFrom).filter((r): r is string => r !== undefined))];
        return regions.length > 0 ? regions : undefined;
    };
    const componentOf = (r: CapturedResource): string => {
        let parent = r.parent ? byUrn.get(r.parent) : undefined;
        while (parent) {
            const m = /^django-platform:([a-zA-Z]+):/.exec(parent.type);
            if (m && m[1] !== "index") {
                return m[1];
            }
            parent = parent.parent ? byUrn.get(parent.parent) : undefined;
        }
        return "platform";
    };
    const push = (r: CapturedResource, item: string, idle: number, peak: number, detail: string, keys: PriceKey[]): void => {
        const estimatedFrom = from(...keys);
        lines.push({
            component: componentOf(r),
            item,
            type: r.type,
            resource: r.name,
            idle: round2(idle),
            peak: round2(peak),
            detail: estimatedFrom ? `${detail}; prices estimated from ${estimatedFrom.join(", ")} (no ${region} price listed)` : detail,
            ...(estimatedFrom ? { estimatedFrom } : {}),
        });
    };

    const podMonthly = (pod: PodRequests, spot: boolean, hours = HOURS_PER_MONTH): number => {
        const k = spot ? "autopilot.spot." : "autopilot.";
        return hours * (pod.cpu * usd(`${k}vcpu` as PriceKey) + pod.memoryGib * usd(`${k}memory` as PriceKey) + pod.ephemeralGib * usd(`${k}ephemeral` as PriceKey));
    };
    const podKeys = (spot: boolean): PriceKey[] => (spot ? ["autopilot.spot.vcpu", "autopilot.spot.memory", "autopilot.spot.ephemeral"] : ["autopilot.vcpu", "autopilot.memory", "autopilot.ephemeral"]);
    const describePod = (pod: PodRequests, spot: boolean): string =>
        `${+pod.cpu.toFixed(3)} vCPU, ${+pod.memoryGib.toFixed(3)} GiB, ${+pod.ephemeralGib.toFixed(3)} GiB ephemeral per pod${spot ? ", Spot" : ""}`;

    // Which HPA scales which Deployment: by the target's name (explicit, or Pulumi's auto-name `<name>-<7 hex>`).
    const hpas = resources.filter((r) => r.type === "kubernetes:autoscaling/v2:HorizontalPodAutoscaler");
    const hpaFor = (d: CapturedResource): Json | undefined => {
        const name = (d.inputs as Json)?.metadata?.name;
        const ns = (d.inputs as Json)?.metadata?.namespace;
        return hpas
            .map((h) => (h.inputs as Json)?.spec)
            .find((spec, i) => {
                const target = spec?.scaleTargetRef;
                const hNs = (hpas[i].inputs as Json)?.metadata?.namespace;
                const sameName = target?.name === name || new RegExp(`^${d.name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}-[0-9a-f]{7}$`).test(String(target?.name ?? ""));
                return target?.kind === "Deployment" && sameName && (hNs === undefined || ns === undefined || hNs === ns);
            });
    };

    let podVcpuIdle = 0;
    let podVcpuPeak = 0;
    const forwardingRules: Array<{ r: CapturedResource; count: number; what: string }> = [];
    const unpriced = new Set<string>();
    const free = new Map<string, string>();
    // Cloud NAT lines are priced once the pods' vCPUs are known (after the loop).
    const natLines: Array<{ r: CapturedResource; gateway: (vms: number) => number; nodes: (vcpu: number) => number; data: number }> = [];
    let freeTierCredit: CostEstimate["freeTierCredit"];
    let uptimeExecutions = 0;
    let uptimeOwner: CapturedResource | undefined;
    const cdnBuckets = new Set<string>();
    for (const r of resources) {
        if (r.type === "gcp:compute/backendBucket:BackendBucket" && (r.inputs as Json)?.enableCdn) {
            cdnBuckets.add(String((r.inputs as Json).bucketName));
        }
    }

    for (const r of resources) {
        if (!r.custom) {
            continue;
        }
        const inputs = r.inputs as Json;
        switch (r.type) {
            case "gcp:container/cluster:Cluster": {
                const fee = usd("gke.clusterFee") * HOURS_PER_MONTH;
                push(r, "cluster management fee", fee, fee, `${unit(usd("gke.clusterFee"))}/cluster-hour × ${HOURS_PER_MONTH} h`, ["gke.clusterFee"]);
                // One credit per billing account (GKE pricing page), which a stack cannot see: it is
                // counted only where the stack's usage says this stack takes it.
                const credit = round2(Math.min(fee, usd("gke.freeTierCredit")));
                freeTierCredit = { taken: usage.gkeFreeTierCredit, amount: credit };
                if (usage.gkeFreeTierCredit) {
                    push(r, "GKE free tier credit", -credit, -credit, `${unit(usd("gke.freeTierCredit"))} a month per billing account, up to the fee${inputs?.enableAutopilot ? "" : " (zonal or Autopilot clusters only)"}; taken by this stack (usage.gkeFreeTierCredit): no other stack on the billing account may count it`, ["gke.freeTierCredit"]);
                }
                break;
            }
            case "kubernetes:apps/v1:Deployment": {
                const spec = inputs?.spec;
                const pod = podRequests(spec?.template?.spec);
                const spot = isSpotPodSpec(spec?.template?.spec);
                const hpa = hpaFor(r);
                const idleReplicas = hpa ? hpa.minReplicas ?? 1 : spec?.replicas ?? 1;
                const peakReplicas = hpa ? hpa.maxReplicas : spec?.replicas ?? 1;
                podVcpuIdle += idleReplicas * pod.cpu;
                podVcpuPeak += peakReplicas * pod.cpu;
                const each = podMonthly(pod, spot);
                push(r, `Autopilot pods (${idleReplicas}–${peakReplicas})`, idleReplicas * each, peakReplicas * each, `${describePod(pod, spot)}; ${hpa ? `HPA ${idleReplicas}–${peakReplicas}` : `${idleReplicas} replicas`}; ${money(each)} per pod-month`, podKeys(spot));
                break;
            }
            case "kubernetes:apps/v1:StatefulSet": {
                const spec = inputs?.spec;
                const replicas = spec?.replicas ?? 1;
                const pod = podRequests(spec?.template?.spec);
                const spot = isSpotPodSpec(spec?.template?.spec);
                podVcpuIdle += replicas * pod.cpu;
                podVcpuPeak += replicas * pod.cpu;
                const each = podMonthly(pod, spot);
                push(r, `Autopilot pods (${replicas})`, replicas * each, replicas * each, `${describePod(pod, spot)}; ${replicas} replicas; ${money(each)} per pod-month`, podKeys(spot));
                const claimGib = (spec?.volumeClaimTemplates ?? []).reduce((s: number, t: Json) => s + parseQuantity(t?.spec?.resources?.requests?.storage ?? 0) / GIB, 0);
                if (claimGib > 0) {
                    const disk = replicas * claimGib * usd("disk.balanced");
                    push(r, "persistent volumes", disk, disk, `${replicas} × ${claimGib} GiB balanced persistent disk`, ["disk.balanced"]);
                }
                break;
            }
            case "kubernetes:batch/v1:Job": {
                const spec = inputs?.spec;
                const pod = podRequests(spec?.template?.spec);
                const spot = isSpotPodSpec(spec?.template?.spec);
                const minutes = Math.min(A.jobRunMinutes, (spec?.activeDeadlineSeconds ?? Infinity) / 60);
                const hours = (A.deploysPerMonth * minutes) / 60;
                const cost = podMonthly(pod, spot, hours);
                push(r, "Job pods (per deploy)", cost, cost, `${describePod(pod, spot)}; ${A.deploysPerMonth} deploys × ${minutes} min`, podKeys(spot));
                break;
            }
            case "kubernetes:batch/v1:CronJob": {
                const spec = inputs?.spec;
                const podSpec = spec?.jobTemplate?.spec?.template?.spec;
                const pod = podRequests(podSpec);
                const spot = isSpotPodSpec(podSpec);
                const runs = runsPerMonth(String(spec?.schedule ?? "@daily"));
                const minutes = Math.min(A.jobRunMinutes, (spec?.jobTemplate?.spec?.activeDeadlineSeconds ?? Infinity) / 60);
                const cost = podMonthly(pod, spot, (runs * minutes) / 60);
                push(r, `CronJob pods (${runs} runs)`, cost, cost, `${describePod(pod, spot)}; schedule "${spec?.schedule}" = ${runs} runs/month × ${minutes} min`, podKeys(spot));
                break;
            }
            case "kubernetes:core/v1:Service": {
                if (inputs?.spec?.type === "LoadBalancer") {
                    forwardingRules.push({ r, count: 1, what: "Service of type LoadBalancer" });
                } else {
                    free.set(r.type, "ClusterIP and headless Services are free; a Service of type LoadBalancer is billed as a forwarding rule");
                }
                break;
            }
            case "kubernetes:networking.k8s.io/v1:Ingress": {
                const allowHttp = inputs?.metadata?.annotations?.["kubernetes.io/ingress.allow-http"] !== "false";
                forwardingRules.push({ r, count: allowHttp ? 2 : 1, what: allowHttp ? "GKE Ingress: HTTPS and HTTP forwarding rules" : "GKE Ingress: HTTPS forwarding rule" });
                const gib = A.appEgressGib;
                const cost = gib * (usd("lb.dataProcessed") + usd("egress.premium"));
                push(r, "load balancer data + internet egress", cost, cost, `${gib} GiB/month × (${unit(usd("lb.dataProcessed"))} processed + ${unit(usd("egress.premium"))} Premium Tier egress) per GiB (assumption)`, ["lb.dataProcessed", "egress.premium"]);
                break;
            }
            case "gcp:compute/globalForwardingRule:GlobalForwardingRule":
            case "gcp:compute/forwardingRule:ForwardingRule":
                forwardingRules.push({ r, count: 1, what: "forwarding rule" });
                break;
            case "gcp:compute/globalAddress:GlobalAddress":
            case "gcp:compute/address:Address": {
                if ((inputs?.addressType ?? "EXTERNAL") === "EXTERNAL") {
                    const cost = usd("ip.external") * HOURS_PER_MONTH;
                    push(r, "external IPv4 address", cost, cost, `${unit(usd("ip.external"))}/hour (unverified whether an address used only by a forwarding rule is charged)`, ["ip.external"]);
                } else {
                    free.set(r.type, "internal addresses and private services ranges are free");
                }
                break;
            }
            case "gcp:compute/backendBucket:BackendBucket": {
                if (inputs?.enableCdn) {
                    const a = A;
                    const cost = a.staticEgressGib * usd("cdn.egress") + a.cdnCacheFillGib * usd("cdn.cacheFill") + ((a.staticRequestsMillions * 1e6) / 1e4) * usd("cdn.lookups");
                    push(r, "Cloud CDN egress, cache fill, lookups", cost, cost, `${a.staticEgressGib} GiB × ${unit(usd("cdn.egress"))} + ${a.cdnCacheFillGib} GiB fill × ${unit(usd("cdn.cacheFill"))} + ${a.staticRequestsMillions} M lookups × ${unit(usd("cdn.lookups"))}/10k (assumption)`, ["cdn.egress", "cdn.cacheFill", "cdn.lookups"]);
                } else {
                    free.set(r.type, "a backend bucket without CDN is billed through its forwarding rule");
                }
                break;
            }
            case "gcp:storage/bucket:Bucket": {
                const name = r.name.toLowerCase();
                const role = name.includes("log") ? "logs" : name.includes("media") ? "media" : "statics";
                const gib = role === "logs" ? A.logsBucketGib : role === "media" ? A.mediaBucketGib : A.staticsBucketGib;
                const storage = gib * usd("gcs.standard");
                push(r, `bucket storage (${role})`, storage, storage, `${gib} GiB Standard storage (assumption)`, ["gcs.standard"]);
                if (role === "statics") {
                    const viaCdn = [...cdnBuckets].some((b) => b === inputs?.name || b.startsWith(`${r.name}-`));
                    if (!viaCdn) {
                        const a = A;
                        const cost = a.staticEgressGib * usd("egress.premium") + ((a.staticRequestsMillions * 1e6) / 1000) * usd("gcs.classB");
                        push(r, "static files served from the bucket", cost, cost, `${a.staticEgressGib} GiB × ${unit(usd("egress.premium"))} egress + ${a.staticRequestsMillions} M Class B reads (assumption; no CDN)`, ["egress.premium", "gcs.classB"]);
                    }
                }
                break;
            }
            case "gcp:sql/databaseInstance:DatabaseInstance": {
                const s = inputs?.settings ?? {};
                const ha = s.availabilityType === "REGIONAL";
                const tier = String(s.tier ?? "");
                const custom = /^db-custom-(\d+)-(\d+)$/.exec(tier);
                const shared = tier === "db-f1-micro" || tier === "db-g1-small" ? (tier.slice(3) as "f1-micro" | "g1-small") : undefined;
                if (custom) {
                    const cpus = Number(custom[1]);
                    const gib = Number(custom[2]) / 1024;
                    const vk: PriceKey = ha ? "sql.ha.vcpu" : "sql.vcpu";
                    const mk: PriceKey = ha ? "sql.ha.memory" : "sql.memory";
                    const cost = HOURS_PER_MONTH * (cpus * usd(vk) + gib * usd(mk));
                    push(r, `Cloud SQL ${tier}${ha ? " HA" : ""}`, cost, cost, `${cpus} vCPU × ${unit(usd(vk))} + ${gib} GiB × ${unit(usd(mk))} per hour${ha ? " (regional: twice the zonal price)" : ""}`, [vk, mk]);
                } else if (shared) {
                    const key: PriceKey = `sql.${shared}`;
                    const cost = HOURS_PER_MONTH * usd(key) * (ha ? 2 : 1);
                    push(r, `Cloud SQL ${tier}${ha ? " HA" : ""}`, cost, cost, `shared-core ${unit(usd(key))}/hour${ha ? " × 2 (regional)" : ""}`, [key]);
                } else {
                    unpriced.add(`${r.type} (tier ${tier})`);
                }
                const disk = Number(s.diskSize ?? 10);
                const sk: PriceKey = ha ? "sql.ha.ssd" : "sql.ssd";
                push(r, "Cloud SQL storage", disk * usd(sk), disk * usd(sk), `${disk} GB SSD × ${unit(usd(sk))}${ha ? " (regional)" : ""}; auto-resize may grow it`, [sk]);
                if (s.backupConfiguration?.enabled) {
                    const gib = disk * A.sqlBackupDiskMultiple;
                    push(r, "Cloud SQL backups", gib * usd("sql.backup"), gib * usd("sql.backup"), `${gib} GB backup storage (assumption: ${A.sqlBackupDiskMultiple} × disk) × ${unit(usd("sql.backup"))}`, ["sql.backup"]);
                }
                break;
            }
            case "gcp:redis/instance:Instance": {
                const gb = Number(inputs?.memorySizeGb ?? 1);
                const standard = inputs?.tier === "STANDARD_HA";
                const band = gb <= 4 ? "m1" : gb <= 10 ? "m2" : "m3";
                const key = `redis.${standard ? "standard" : "basic"}.${band}` as PriceKey;
                const replicas = Number(inputs?.replicaCount ?? (standard ? 1 : 0));
                // The Standard price covers the primary and one replica; each further read replica is
                // counted as one more node at half that price (unverified: see docs/costs.md).
                const extra = standard ? Math.max(0, replicas - 1) : 0;
                const cost = HOURS_PER_MONTH * gb * usd(key) * (1 + extra / 2);
                push(r, `Memorystore ${standard ? "Standard" : "Basic"} ${gb} GB`, cost, cost, `${gb} GB × ${unit(usd(key))}/GB-hour${extra > 0 ? ` × (1 + ${extra}/2 for read replicas beyond the first)` : ""}${band === "m3" && gb > 35 ? " (priced at the 11-35 GB band)" : ""}`, [key]);
                break;
            }
            case "gcp:compute/routerNat:RouterNat": {
                const nodes = (vcpu: number): number => Math.max(1, Math.ceil(vcpu / A.natVcpuPerNode));
                const gateway = (vms: number): number => HOURS_PER_MONTH * Math.min(vms * usd("nat.vmHour"), usd("nat.maxGatewayHour"));
                const data = A.natDataGib * usd("nat.data");
                // Pods are summed over the whole list, so the node count is computed after the loop.
                natLines.push({ r, gateway, nodes, data });
                const filter = String((inputs?.logConfig as { filter?: unknown } | undefined)?.filter ?? "");
                if (filter === "ALL" || filter === "TRANSLATIONS_ONLY") {
                    const logs = A.natLogGib * usd("logging.ingestion");
                    push(r, `Cloud NAT logs (${filter})`, logs, logs, `${A.natLogGib} GiB × ${unit(usd("logging.ingestion"))} (usage.natLogGib, assumption); the project's first 50 GiB of logs a month are free`, ["logging.ingestion"]);
                }
                break;
            }
            case "gcp:kms/cryptoKey:CryptoKey": {
                const cost = usd("kms.keyVersion");
                push(r, "Cloud KMS key", cost, cost, `one active key version × ${money(cost)}/month (rotation adds versions)`, ["kms.keyVersion"]);
                break;
            }
            case "gcp:compute/securityPolicy:SecurityPolicy": {
                const rules = Array.isArray(inputs?.rules) ? inputs.rules.length : 1;
                const cost = usd("armor.policy") + rules * usd("armor.rule") + A.appRequestsMillions * usd("armor.requests");
                push(r, `Cloud Armor policy (${rules} rules)`, cost, cost, `${unit(usd("armor.policy"))} + ${rules} × ${unit(usd("armor.rule"))} + ${A.appRequestsMillions} M requests × ${unit(usd("armor.requests"))} (assumption)`, ["armor.policy", "armor.rule", "armor.requests"]);
                break;
            }
            case "gcp:dns/recordSet:RecordSet": {
                const cost = A.dnsQueriesMillions * usd("dns.queries");
                const own = resources.some((z) => z.type === "gcp:dns/managedZone:ManagedZone" && (z.outputs?.name ?? z.inputs.name) === inputs?.managedZone);
                push(r, "Cloud DNS queries", cost, cost, `${A.dnsQueriesMillions} M queries × ${unit(usd("dns.queries"))} (assumption); ${own ? "in the stack's private zone" : "the zone is not this stack's"}`, ["dns.queries"]);
                break;
            }
            case "gcp:dns/managedZone:ManagedZone": {
                const cost = usd("dns.zone");
                push(r, "Cloud DNS managed zone", cost, cost, `${unit(usd("dns.zone"))}/zone-month`, ["dns.zone"]);
                break;
            }
            case "gcp:monitoring/alertPolicy:AlertPolicy": {
                const conditions = Array.isArray(inputs?.conditions) ? inputs.conditions.length : 1;
                const cost = conditions * usd("monitoring.alertCondition");
                push(r, `alerting (${conditions} condition${conditions === 1 ? "" : "s"})`, cost, cost, `${conditions} × ${unit(usd("monitoring.alertCondition"))}/condition-month`, ["monitoring.alertCondition"]);
                break;
            }
            case "gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig": {
                const period = parseInt(String(inputs?.period ?? "60s"), 10) || 60;
                const locations = Array.isArray(inputs?.selectedRegions) && inputs.selectedRegions.length > 0 ? inputs.selectedRegions.length : A.uptimeDefaultLocations;
                uptimeExecutions += ((HOURS_PER_MONTH * 3600) / period) * locations;
                uptimeOwner ??= r;
                break;
            }
            default:
                if (FREE_TYPES[r.type]) {
                    free.set(r.type, FREE_TYPES[r.type]);
                } else {
                    unpriced.add(r.type);
                }
        }
    }

    // Forwarding rules are priced per project: the first five together, then each one more.
    const totalRules = forwardingRules.reduce((s, f) => s + f.count, 0);
    if (totalRules > 0) {
        const charge = HOURS_PER_MONTH * (usd("lb.first5Rules") + Math.max(0, totalRules - 5) * usd("lb.extraRule"));
        for (const f of forwardingRules) {
            const share = (charge * f.count) / totalRules;
            push(f.r, `forwarding rules (${f.count} of ${totalRules})`, share, share, `${f.what}; ${unit(usd("lb.first5Rules"))}/hour covers the first 5 rules of the project, shared by rule`, ["lb.first5Rules", "lb.extraRule"]);
        }
    }
    for (const { r, gateway, nodes, data } of natLines) {
        const idleNodes = nodes(podVcpuIdle);
        const peakNodes = nodes(podVcpuPeak);
        push(r, "Cloud NAT gateway + data", gateway(idleNodes) + data, gateway(peakNodes) + data, `${idleNodes}–${peakNodes} nodes (one per ${A.natVcpuPerNode} requested vCPUs) × ${unit(usd("nat.vmHour"))}/VM-hour + ${A.natDataGib} GiB × ${unit(usd("nat.data"))} (assumption)`, ["nat.vmHour", "nat.maxGatewayHour", "nat.data"]);
    }
    if (uptimeOwner) {
        const billable = Math.max(0, uptimeExecutions - usd("monitoring.uptimeFreeExecutions"));
        const cost = (billable / 1000) * usd("monitoring.uptimeExecutions");
        push(uptimeOwner, "uptime checks", cost, cost, `${Math.round(uptimeExecutions).toLocaleString("en-US")} executions/month, ${usd("monitoring.uptimeFreeExecutions").toLocaleString("en-US")} free per project`, ["monitoring.uptimeExecutions", "monitoring.uptimeFreeExecutions"]);
    }

    lines.sort((a, b) => a.component.localeCompare(b.component) || b.peak - a.peak || a.item.localeCompare(b.item));
    const components: Record<string, ComponentTotal> = {};
    for (const l of lines) {
        const c = components[l.component] ?? { idle: 0, peak: 0 };
        components[l.component] = { idle: round2(c.idle + l.idle), peak: round2(c.peak + l.peak) };
    }
    return {
        currency: CURRENCY,
        priceDate: PRICE_DATE,
        priceTableVersion: PRICE_TABLE_VERSION,
        region,
        hoursPerMonth: HOURS_PER_MONTH,
        assumptions: assumptionText(usage),
        lines,
        components,
        idle: round2(lines.reduce((s, l) => s + l.idle, 0)),
        peak: round2(lines.reduce((s, l) => s + l.peak, 0)),
        free: [...free.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([type, reason]) => ({ type, reason })),
        unpriced: [...unpriced].sort(),
        notes: borrowed.size > 0 ? [`${region}: no listed price for ${[...borrowed].sort().join("; ")}; estimated from the nearest listed region, so the real bill may differ by the regional price difference`] : [],
        ...(freeTierCredit ? { freeTierCredit } : {}),
    };
}

/** The short cost block of the synth summary. */
export function formatCost(cost: CostEstimate, top = 6): string[] {
    const out = [`Monthly cost estimate (${cost.currency}, list prices of ${cost.priceDate}, ${cost.region}): idle ${money(cost.idle)}, peak ${money(cost.peak)}`];
    const width = Math.max(...Object.keys(cost.components).map((c) => c.length), 9);
    for (const [component, t] of Object.entries(cost.components).sort(([, a], [, b]) => b.peak - a.peak)) {
        out.push(`  ${component.padEnd(width)}  idle ${money(t.idle).padStart(9)}  peak ${money(t.peak).padStart(9)}`);
    }
    const credit = cost.freeTierCredit;
    if (credit) {
        out.push(
            credit.taken
                ? `  GKE free tier credit: ${money(-credit.amount)} in the cluster line above, taken by this stack (usage.gkeFreeTierCredit true); a billing account gets one (${GKE_PRICING_PAGE}), so only one stack may take it`
                : `  GKE free tier credit: not counted (usage.gkeFreeTierCredit false: another stack on the billing account takes it); alone on its billing account this stack would cost ${money(credit.amount)} less`,
        );
    }
    out.push("  Largest lines (peak):");
    for (const l of [...cost.lines].filter((l) => l.peak > 0).sort((a, b) => b.peak - a.peak).slice(0, top)) {
        out.push(`    ${money(l.peak).padStart(9)}  ${l.component}: ${l.item} (${l.resource})`);
    }
    for (const n of cost.notes) {
        out.push(`  Note: ${n}`);
    }
    for (const t of cost.unpriced) {
        out.push(`  UNPRICED ${t}: no price or free reason in cli/lib/cost/estimate.ts`);
    }
    out.push("  Assumptions and sources: report.json `cost`, docs/costs.md.");
    return out;
}
