/**
 * What the usage-priced lines of the estimate assume: the stack's own `usage` config (defaults in
 * config.ts `usageSchema`) and the assumptions that are the same for every stack.
 */
import { usageSchema, type Usage } from "../../../config";
import { HOURS_PER_MONTH } from "./prices";

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
        `Cloud NAT: ${a.natDataGib} GiB/month processed (usage.natDataGib), one node per ${a.natVcpuPerNode} requested vCPUs, ${a.natLogGib} GiB/month of its logs (usage.natLogGib)`,
        `Jobs: ${a.deploysPerMonth} deploys/month (usage.deploysPerMonth), each Job and CronJob run ${a.jobRunMinutes} minutes`,
        `Cloud SQL backups: ${a.sqlBackupDiskMultiple} × the disk size stored`,
        `Cloud DNS: ${a.dnsQueriesMillions} M queries/month per record set; uptime checks from ${a.uptimeDefaultLocations} locations unless selected`,
        a.gkeFreeTierCredit
            ? "the GKE free tier credit ($74.40 per billing account and month, up to the cluster fee) is counted for this stack's cluster (usage.gkeFreeTierCredit true): a billing account gets one, so no other stack on it may count it"
            : "the GKE free tier credit ($74.40 per billing account and month) is not counted (usage.gkeFreeTierCredit false): another stack on the billing account takes it",
        "list prices in USD, no committed-use discounts, no taxes; Spot prices change up to once every 30 days",
    ];
}
