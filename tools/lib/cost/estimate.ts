/**
 * Monthly cost estimate of a rendered stack: pure, from the resources synth captured (type, name,
 * inputs, parent) and the price table (./prices.ts). Two columns: `idle` (every HorizontalPodAutoscaler
 * at `minReplicas`) and `peak` (at `maxReplicas`); StatefulSets count their `replicas`, Jobs and
 * CronJobs their assumed runs. Usage-priced items (egress, requests, NAT data, storage) use the
 * traffic assumptions in {@link ASSUMPTIONS}, stated in each line and in docs/costs.md, and are the
 * same in both columns.
 *
 * Every resource type must be priced here or listed in {@link FREE_TYPES} with the reason; any
 * other type lands in `unpriced` (tests/cost.test.ts fails on it).
 */
import { CronExpressionParser } from "cron-parser";
import { AUTOPILOT_MEMORY_GIB_PER_CPU } from "../../../components/gcpLimits";
import { isSpotPodSpec } from "../../../components/spot";
import { usageSchema, type Usage } from "../../../config";
import type { CapturedResource } from "../mockRuntime";
import { CURRENCY, HOURS_PER_MONTH, PRICE_DATE, PRICE_TABLE_VERSION, priceFor, type PriceKey, type ResolvedPrice } from "./prices";

/**
 * Assumptions of the usage-priced lines that are the same for every stack. The traffic a stack
 * expects is its own config (`usage`, {@link Usage}: defaults in config.ts `usageSchema`).
 */
export const ASSUMPTIONS = {
    /** Stored in the statics bucket (all versions), GiB. */
    staticsBucketGib: 1,
    /** Stored in an access-log bucket, GiB. */
    logsBucketGib: 1,
    /** Autopilot nodes behind Cloud NAT: one per this many requested vCPUs (at least one). */
    natVcpuPerNode: 2,
    /** How long a Job or CronJob pod runs, minutes (at most its activeDeadlineSeconds). */
    jobRunMinutes: 5,
    /** Cloud SQL backup storage, as a multiple of the disk size (daily incremental backups). */
    sqlBackupDiskMultiple: 1,
    /** DNS queries a month per record set, millions. */
    dnsQueriesMillions: 1,
    /** Uptime check locations when a check does not select regions. */
    uptimeDefaultLocations: 6,
} as const;

/** The usage of a stack with nothing set: the defaults of config.ts `usageSchema`. */
export const DEFAULT_USAGE: Usage = usageSchema.parse({});

/**
 * The `usage` of a stack's raw config (fully-qualified key → JSON string, as stack files and the
 * CLI hold it), defaults filled in. Invalid usage is the program's config error to report; here it
 * falls back to the defaults so that the estimate never hides that error.
 */
export function usageOfConfig(config: Readonly<Record<string, string | undefined>>): Usage {
    const raw = config["django-platform:usage"];
    try {
        const parsed = usageSchema.safeParse(raw === undefined ? {} : JSON.parse(raw));
        return parsed.success ? parsed.data : DEFAULT_USAGE;
    } catch {
        return DEFAULT_USAGE;
    }
}

/** Every assumption of one estimate: the stack's usage and the fixed ones. */
export type Assumptions = Usage & typeof ASSUMPTIONS;

/** Human-readable form of the assumptions, for the report and docs/costs.md. */
export function assumptionText(usage: Usage = DEFAULT_USAGE): string[] {
    const a: Assumptions = { ...usage, ...ASSUMPTIONS };
    return [
        `${HOURS_PER_MONTH} hours a month; idle = every HPA at minReplicas, peak = at maxReplicas; usage items are the same in both columns`,
        `app traffic (usage.appEgressGib, usage.appRequestsMillions): ${a.appEgressGib} GiB/month of responses to the internet, ${a.appRequestsMillions} M requests/month`,
        `static files (usage.staticEgressGib, usage.staticRequestsMillions, usage.cdnCacheFillGib): ${a.staticEgressGib} GiB/month, ${a.staticRequestsMillions} M requests/month (via Cloud CDN when on, with ${a.cdnCacheFillGib} GiB/month cache fill; else from the bucket)`,
        `bucket storage: statics ${a.staticsBucketGib} GiB, access logs ${a.logsBucketGib} GiB, media ${a.mediaBucketGib} GiB (usage.mediaBucketGib)`,
        `Cloud NAT: ${a.natDataGib} GiB/month processed (usage.natDataGib), one node per ${a.natVcpuPerNode} requested vCPUs`,
        `Jobs: ${a.deploysPerMonth} deploys/month (usage.deploysPerMonth), each Job and CronJob run ${a.jobRunMinutes} minutes`,
        `Cloud SQL backups: ${a.sqlBackupDiskMultiple} × the disk size stored`,
        `Cloud DNS: ${a.dnsQueriesMillions} M queries/month per record set; uptime checks from ${a.uptimeDefaultLocations} locations unless selected`,
        "the GKE free tier credit ($74.40 per billing account and month) is counted for this stack's cluster: with several clusters on one billing account, only one gets it",
        "list prices in USD, no committed-use discounts, no taxes; Spot prices change up to once every 30 days",
    ];
}

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
    /** Types present that this estimate does not know: a bug to fix in tools/lib/cost. */
    readonly unpriced: string[];
    /** Notes on the region's prices (borrowed from another region). */
    readonly notes: string[];
}

/** Resource types that cost nothing by themselves, with the reason. */
export const FREE_TYPES: Readonly<Record<string, string>> = {
    "pulumi:providers:kubernetes": "Pulumi provider, not a cloud resource",
    "pulumi:providers:gcp": "Pulumi provider, not a cloud resource",
    "pulumi:providers:random": "Pulumi provider, not a cloud resource",
    "random:index/randomPassword:RandomPassword": "generated in Pulumi state only",
    "random:index/randomId:RandomId": "generated in Pulumi state only",
    "random:index/randomString:RandomString": "generated in Pulumi state only",
    "gcp:projects/iAMMember:IAMMember": "IAM bindings are free",
    "gcp:serviceaccount/iAMMember:IAMMember": "IAM bindings are free",
    "gcp:storage/bucketIAMMember:BucketIAMMember": "IAM bindings are free",
    "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember": "IAM bindings are free",
    "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember": "IAM bindings are free; the repository is not this stack's",
    "gcp:serviceaccount/account:Account": "service accounts are free",
    "gcp:projects/service:Service": "enabling an API is free",
    "gcp:compute/network:Network": "a VPC network has no charge of its own",
    "gcp:compute/subnetwork:Subnetwork": "subnets have no charge of their own",
    "gcp:compute/firewall:Firewall": "VPC firewall rules are free",
    "gcp:compute/router:Router": "a Cloud Router used only for Cloud NAT has no charge; NAT is billed on the RouterNat line",
    "gcp:servicenetworking/connection:Connection": "private services access peering has no charge of its own",
    "gcp:compute/sSLPolicy:SSLPolicy": "SSL policies are free",
    "gcp:compute/managedSslCertificate:ManagedSslCertificate": "Google-managed certificates are free",
    "gcp:compute/targetHttpProxy:TargetHttpProxy": "billed through its forwarding rule",
    "gcp:compute/targetHttpsProxy:TargetHttpsProxy": "billed through its forwarding rule",
    "gcp:compute/uRLMap:URLMap": "billed through its forwarding rule",
    "gcp:kms/keyRing:KeyRing": "key rings are free; keys are billed on the CryptoKey line",
    "gcp:sql/database:Database": "billed on the instance line",
    "gcp:sql/user:User": "billed on the instance line",
    "gcp:monitoring/notificationChannel:NotificationChannel": "notification channels are free",
    "gcp:monitoring/dashboard:Dashboard": "custom dashboards are free",
    "kubernetes:core/v1:Namespace": "Kubernetes API object; Autopilot bills Pods only",
    "kubernetes:core/v1:ConfigMap": "Kubernetes API object; Autopilot bills Pods only",
    "kubernetes:core/v1:Secret": "Kubernetes API object; Autopilot bills Pods only",
    "kubernetes:core/v1:ServiceAccount": "Kubernetes API object; Autopilot bills Pods only",
    "kubernetes:networking.k8s.io/v1:NetworkPolicy": "Kubernetes API object; Autopilot bills Pods only",
    "kubernetes:policy/v1:PodDisruptionBudget": "Kubernetes API object; Autopilot bills Pods only",
    "kubernetes:autoscaling/v2:HorizontalPodAutoscaler": "sets the replicas the Deployment lines are priced at",
    "kubernetes:cloud.google.com/v1:BackendConfig": "configures the Ingress's load balancer, billed on the Ingress line",
    "kubernetes:networking.gke.io/v1beta1:FrontendConfig": "configures the Ingress's load balancer, billed on the Ingress line",
    "kubernetes:networking.gke.io/v1:ManagedCertificate": "Google-managed certificates are free",
    "kubernetes:rbac.authorization.k8s.io/v1:Role": "Kubernetes API object; Autopilot bills Pods only",
    "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding": "Kubernetes API object; Autopilot bills Pods only",
};

/**
 * A Kubernetes resource quantity as a number of base units (cores, bytes). Suffixes as the
 * Kubernetes API defines them: decimal `m k M G T P E` and binary `Ki Mi Gi Ti Pi Ei`
 * (https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/quantity/).
 */
export function parseQuantity(value: unknown): number {
    if (typeof value === "number") {
        return value;
    }
    const match = /^([0-9.]+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/.exec(String(value ?? "0").trim());
    if (!match) {
        throw new Error(`not a Kubernetes quantity: ${String(value)}`);
    }
    const factor: Record<string, number> = {
        "": 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
        Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
    };
    return Number(match[1]) * factor[match[2] ?? ""];
}

const GIB = 2 ** 30;

/** What Autopilot bills for one Pod: vCPU, memory GiB, ephemeral storage GiB. */
export interface PodRequests {
    readonly cpu: number;
    readonly memoryGib: number;
    readonly ephemeralGib: number;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

function containerRequests(c: Json): PodRequests {
    const r = c?.resources?.requests ?? {};
    return { cpu: parseQuantity(r.cpu ?? 0), memoryGib: parseQuantity(r.memory ?? 0) / GIB, ephemeralGib: parseQuantity(r["ephemeral-storage"] ?? 0) / GIB };
}

const add = (a: PodRequests, b: PodRequests): PodRequests => ({ cpu: a.cpu + b.cpu, memoryGib: a.memoryGib + b.memoryGib, ephemeralGib: a.ephemeralGib + b.ephemeralGib });
const max = (a: PodRequests, b: PodRequests): PodRequests => ({ cpu: Math.max(a.cpu, b.cpu), memoryGib: Math.max(a.memoryGib, b.memoryGib), ephemeralGib: Math.max(a.ephemeralGib, b.ephemeralGib) });
const ZERO: PodRequests = { cpu: 0, memoryGib: 0, ephemeralGib: 0 };

/**
 * The requests Autopilot bills for a Pod spec: the Pod's effective requests, i.e. the sum of its
 * containers plus its sidecars (init containers with `restartPolicy: Always`, such as the Cloud SQL
 * Auth Proxy), or an ordinary init container plus the sidecars started before it when that is
 * larger (Kubernetes, "Sidecar containers" → resource sharing within containers,
 * https://kubernetes.io/docs/concepts/workloads/pods/sidecar-containers/#resource-sharing-within-containers).
 * Autopilot bills "the resource requests of the Kubernetes PodSpec"
 * (https://cloud.google.com/kubernetes-engine/pricing). The memory:CPU ratio is then brought into
 * Autopilot's accepted range by raising the smaller request, as Autopilot does
 * (components/gcpLimits.ts {@link AUTOPILOT_MEMORY_GIB_PER_CPU}).
 */
export function podRequests(spec: Json): PodRequests {
    let sidecars = ZERO;
    let initPeak = ZERO;
    for (const c of spec?.initContainers ?? []) {
        const r = containerRequests(c);
        if (c.restartPolicy === "Always") {
            sidecars = add(sidecars, r);
        } else {
            initPeak = max(initPeak, add(sidecars, r));
        }
    }
    const running = (spec?.containers ?? []).map(containerRequests).reduce(add, sidecars);
    const pod = max(running, initPeak);
    if (pod.cpu === 0) {
        return pod;
    }
    const perCpu = pod.memoryGib / pod.cpu;
    if (perCpu < AUTOPILOT_MEMORY_GIB_PER_CPU.min) {
        return { ...pod, memoryGib: pod.cpu * AUTOPILOT_MEMORY_GIB_PER_CPU.min };
    }
    if (perCpu > AUTOPILOT_MEMORY_GIB_PER_CPU.max) {
        return { ...pod, cpu: pod.memoryGib / AUTOPILOT_MEMORY_GIB_PER_CPU.max };
    }
    return pod;
}

/**
 * Runs of a cron schedule in one billing month: {@link HOURS_PER_MONTH} hours from 2026-01-05
 * (a Monday) 00:00. cron-parser expands the fields; the runs are counted per day, not iterated
 * (iterating cost about a millisecond a run). Day of month and day of week combine as in cron:
 * when both are restricted, a day matching either runs. The schedule's time zone is ignored (a
 * daylight-saving shift moves runs, it hardly changes their number); expressions with `L` or `#`
 * are iterated instead.
 */
export function runsPerMonth(schedule: string): number {
    const start = Date.UTC(2026, 0, 5);
    const end = start + HOURS_PER_MONTH * 3600 * 1000;
    const expression = CronExpressionParser.parse(schedule, { currentDate: new Date(start), endDate: new Date(end), tz: "UTC" });
    const f = expression.fields;
    const numbers = (values: readonly (number | string)[]): number[] | undefined => (values.every((v) => typeof v === "number") ? (values as number[]) : undefined);
    const [seconds, minutes, hours, days, months, weekdays] = [f.second.values, f.minute.values, f.hour.values, f.dayOfMonth.values, f.month.values, f.dayOfWeek.values].map(numbers);
    if (!seconds || !minutes || !hours || !days || !months || !weekdays) {
        let runs = 0;
        while (expression.hasNext() && runs < 50_000) {
            expression.next();
            runs++;
        }
        return runs;
    }
    const dayOfWeek = new Set(weekdays.map((d) => d % 7));
    const dayOfMonth = new Set(days);
    const month = new Set(months);
    const domAny = f.dayOfMonth.isWildcard;
    const dowAny = f.dayOfWeek.isWildcard;
    let runs = 0;
    for (let day = start; day < end; day += 86_400_000) {
        const d = new Date(day);
        const domHit = dayOfMonth.has(d.getUTCDate());
        const dowHit = dayOfWeek.has(d.getUTCDay());
        const dayRuns = month.has(d.getUTCMonth() + 1) && (domAny && dowAny ? true : domAny ? dowHit : dowAny ? domHit : domHit || dowHit);
        if (!dayRuns) {
            continue;
        }
        const secondsLeft = (end - day) / 1000;
        for (const h of hours) {
            for (const m of minutes) {
                runs += seconds.filter((s) => h * 3600 + m * 60 + s < secondsLeft).length;
            }
        }
    }
    return runs;
}

const round2 = (n: number): number => Math.round(n * 100) / 100;
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
                const credit = Math.min(fee, usd("gke.freeTierCredit"));
                push(r, "GKE free tier credit", -credit, -credit, `${unit(usd("gke.freeTierCredit"))} a month per billing account, up to the fee${inputs?.enableAutopilot ? "" : " (zonal or Autopilot clusters only)"}; assumes no other cluster on the billing account uses it`, ["gke.freeTierCredit"]);
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
                push(r, "Cloud DNS queries", cost, cost, `${A.dnsQueriesMillions} M queries × ${unit(usd("dns.queries"))} (assumption); the zone is not this stack's`, ["dns.queries"]);
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
    };
}

/** The short cost block of the synth summary. */
export function formatCost(cost: CostEstimate, top = 6): string[] {
    const out = [`Monthly cost estimate (${cost.currency}, list prices of ${cost.priceDate}, ${cost.region}): idle ${money(cost.idle)}, peak ${money(cost.peak)}`];
    const width = Math.max(...Object.keys(cost.components).map((c) => c.length), 9);
    for (const [component, t] of Object.entries(cost.components).sort(([, a], [, b]) => b.peak - a.peak)) {
        out.push(`  ${component.padEnd(width)}  idle ${money(t.idle).padStart(9)}  peak ${money(t.peak).padStart(9)}`);
    }
    out.push("  Largest lines (peak):");
    for (const l of [...cost.lines].sort((a, b) => b.peak - a.peak).slice(0, top)) {
        out.push(`    ${money(l.peak).padStart(9)}  ${l.component}: ${l.item} (${l.resource})`);
    }
    for (const n of cost.notes) {
        out.push(`  Note: ${n}`);
    }
    for (const t of cost.unpriced) {
        out.push(`  UNPRICED ${t}: no price or free reason in tools/lib/cost/estimate.ts`);
    }
    out.push("  Assumptions and sources: report.json `cost`, docs/costs.md.");
    return out;
}
