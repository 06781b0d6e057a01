/**
 * The one versioned price table of the cost estimate: Google Cloud list prices in USD, without
 * committed-use or negotiated discounts, taxes or free trials.
 *
 * Every entry names the Google pricing page it belongs to (`source`) and the day it was read
 * (`read`). How far each figure could be checked is recorded honestly in `checked`:
 * - `page`: the figure (or rule) was read in a stored copy of Google's page or documentation;
 * - `secondary`: Google's page renders its price tables in the browser, so the stored copy showed
 *   no figure; the value is the list price as quoted from that page by public secondary copies
 *   (price-table transcriptions and cost write-ups dated 2026) — confirm on the page before relying on it;
 * - `unverified`: no copy with the figure was found; the value is the last list price known to
 *   the author. Each such entry says so in `note`, and docs/costs.md lists them.
 *
 * Region-dependent prices are listed per region; {@link priceFor} estimates a region that has no
 * entry from the nearest listed one and says so. Bump {@link PRICE_TABLE_VERSION} with any change.
 */

/** Version of this table: the read date plus a counter. */
export const PRICE_TABLE_VERSION = "2026-11-27.1";
/** The day the prices were read. */
export const PRICE_DATE = "2026-11-27";
/** Currency of every price. */
export const CURRENCY = "USD";
/**
 * Hours in a billing month as Google's pricing calculator counts them (730 = 8760 / 12); every
 * hourly price is turned into a monthly one with it.
 */
export const HOURS_PER_MONTH = 730;

/** How far a price could be checked (see the module comment). */
export type Checked = "page" | "secondary" | "unverified";

/** One price. */
export interface Price {
    /** USD per {@link unit}. */
    readonly usd: number;
    readonly unit: string;
    /** The Google pricing page it comes from. */
    readonly source: string;
    /** Day it was read (YYYY-MM-DD). */
    readonly read: string;
    readonly checked: Checked;
    readonly note?: string;
}

const GKE = "https://cloud.google.com/kubernetes-engine/pricing";
const SQL = "https://cloud.google.com/sql/pricing";
const REDIS = "https://cloud.google.com/memorystore/docs/redis/pricing";
const NAT = "https://cloud.google.com/nat/pricing";
const LB = "https://cloud.google.com/vpc/network-pricing#lb";
const VPC = "https://cloud.google.com/vpc/network-pricing";
const CDN = "https://cloud.google.com/cdn/pricing";
const GCS = "https://cloud.google.com/storage/pricing";
const ARMOR = "https://cloud.google.com/armor/pricing";
const DNS = "https://cloud.google.com/dns/pricing";
const OBS = "https://cloud.google.com/stackdriver/pricing";
const KMS = "https://cloud.google.com/kms/pricing";
const DISK = "https://cloud.google.com/compute/disks-image-pricing";

const p = (usd: number, unit: string, source: string, checked: Checked, note?: string): Price => ({ usd, unit, source, read: PRICE_DATE, checked, ...(note ? { note } : {}) });

/** Keys of the table. */
export type PriceKey =
    | "gke.clusterFee"
    | "gke.freeTierCredit"
    | "autopilot.vcpu"
    | "autopilot.memory"
    | "autopilot.ephemeral"
    | "autopilot.spot.vcpu"
    | "autopilot.spot.memory"
    | "autopilot.spot.ephemeral"
    | "disk.balanced"
    | "sql.vcpu"
    | "sql.memory"
    | "sql.ha.vcpu"
    | "sql.ha.memory"
    | "sql.ssd"
    | "sql.ha.ssd"
    | "sql.backup"
    | "sql.f1-micro"
    | "sql.g1-small"
    | "redis.basic.m1"
    | "redis.basic.m2"
    | "redis.basic.m3"
    | "redis.standard.m1"
    | "redis.standard.m2"
    | "redis.standard.m3"
    | "nat.vmHour"
    | "nat.maxGatewayHour"
    | "nat.data"
    | "lb.first5Rules"
    | "lb.extraRule"
    | "lb.dataProcessed"
    | "egress.premium"
    | "ip.external"
    | "cdn.egress"
    | "cdn.cacheFill"
    | "cdn.lookups"
    | "gcs.standard"
    | "gcs.classA"
    | "gcs.classB"
    | "armor.policy"
    | "armor.rule"
    | "armor.requests"
    | "dns.queries"
    | "dns.zone"
    | "logging.ingestion"
    | "monitoring.alertCondition"
    | "monitoring.uptimeExecutions"
    | "monitoring.uptimeFreeExecutions"
    | "kms.keyVersion";

/** Prices that are the same in every region (or billed globally). */
const GLOBAL: Readonly<Partial<Record<PriceKey, Price>>> = {
    "gke.clusterFee": p(0.1, "cluster-hour", GKE, "page", "\"A flat cluster management fee of $0.10 per cluster per hour (charged in 1 second increments) applies to all GKE clusters irrespective of the mode of operation\""),
    "gke.freeTierCredit": p(74.4, "billing account-month", GKE, "page", "\"The GKE free tier provides $74.40 in monthly credits per billing account, which is equivalent to one free Autopilot or zonal Standard cluster per month\"; one credit per billing account, not per stack"),
    "nat.vmHour": p(0.0014, "VM-hour (up to 32 VMs)", NAT, "secondary", "Gateway price per VM using the gateway; capped at the 32-VM price"),
    "nat.maxGatewayHour": p(0.044, "gateway-hour (32 VMs or more)", NAT, "secondary"),
    "nat.data": p(0.045, "GiB processed", NAT, "secondary"),
    "lb.first5Rules": p(0.025, "hour for the first 5 forwarding rules of a project", LB, "secondary", "A public transcription of the page's table dated 2026-09-20 reads \"Global forwarding rules - first 5: $0.025 / 1 hour\" and \"Per additional forwarding rule $0.01 / 1 hour\"; rules are counted per project, so two stacks in one project share the first 5"),
    "lb.extraRule": p(0.01, "forwarding rule-hour beyond 5", LB, "secondary"),
    "lb.dataProcessed": p(0.008, "GiB processed by the load balancer", LB, "secondary", "Inbound and outbound data processed, us-central1 (public transcription of the page dated 2026-09-20)"),
    "egress.premium": p(0.12, "GiB to the internet (Premium Tier, first TiB)", VPC, "secondary", "Premium Tier internet data transfer out to North America, 1 GiB to 1 TiB, per a public transcription of the page dated 2026-09-20; the first GiB a month is free (not deducted here)"),
    "ip.external": p(0.005, "external IPv4 address-hour", VPC, "unverified", "Priced as an external IPv4 address in use; whether an address used only by a forwarding rule is charged could not be checked here"),
    "cdn.egress": p(0.08, "GiB cache egress (North America, Europe; first 10 TiB)", CDN, "unverified"),
    "cdn.cacheFill": p(0.01, "GiB cache fill (same continent)", CDN, "unverified"),
    "cdn.lookups": p(0.0075, "10,000 cache lookups", CDN, "unverified"),
    "gcs.classA": p(0.005, "1,000 Class A operations (Standard)", GCS, "unverified"),
    "gcs.classB": p(0.0004, "1,000 Class B operations (Standard)", GCS, "unverified"),
    "armor.policy": p(5, "security policy-month (Standard tier)", ARMOR, "unverified"),
    "armor.rule": p(1, "rule-month (Standard tier)", ARMOR, "unverified"),
    "armor.requests": p(0.75, "million requests evaluated", ARMOR, "unverified"),
    "dns.queries": p(0.4, "million queries (first billion)", DNS, "unverified", "The public managed zone itself belongs to whoever runs the domain, not to this stack"),
    "dns.zone": p(0.2, "managed zone-month (first 25 zones)", DNS, "unverified", "The stack's own private zone googleapis.com (Private Google Access)"),
    "logging.ingestion": p(0.5, "GiB of logs ingested", OBS, "unverified", "Cloud Logging's ingestion price, which includes 30 days of storage; the first 50 GiB a project ingests each month are free (not deducted here: the project's other logs use them too)"),
    "monitoring.alertCondition": p(0.1, "alerting condition-month", OBS, "secondary", "Google documents that \"Alerting charges a per-condition cost\" and a cost per time series returned (https://cloud.google.com/monitoring/alerts/cost-control); the time-series charge ($0.35 per million) is negligible for a handful of series and left out"),
    "monitoring.uptimeExecutions": p(0.3, "1,000 uptime check executions beyond the free allotment", OBS, "unverified"),
    "monitoring.uptimeFreeExecutions": p(1_000_000, "free uptime check executions per project-month", OBS, "unverified"),
    "kms.keyVersion": p(0.06, "active software key version-month", KMS, "unverified"),
};

/** Region-dependent prices. */
const REGIONAL: Readonly<Record<string, Partial<Record<PriceKey, Price>>>> = {
    "us-central1": {
        "autopilot.vcpu": p(0.0445, "vCPU-hour (general-purpose Pod)", GKE, "secondary"),
        "autopilot.memory": p(0.0049225, "GiB-hour (general-purpose Pod)", GKE, "secondary"),
        "autopilot.ephemeral": p(0.0000548, "GiB-hour ephemeral storage (general-purpose Pod)", GKE, "unverified"),
        "autopilot.spot.vcpu": p(0.0133, "vCPU-hour (general-purpose Spot Pod)", GKE, "secondary", "Spot prices \"are dynamic and can change up to once every 30 days, but always provide discounts of 60-91% off of the corresponding regular price\" (same page)"),
        "autopilot.spot.memory": p(0.0014767, "GiB-hour (general-purpose Spot Pod)", GKE, "secondary"),
        "autopilot.spot.ephemeral": p(0.0000548, "GiB-hour ephemeral storage (general-purpose Spot Pod)", GKE, "unverified", "Ephemeral storage has no Spot discount"),
        "disk.balanced": p(0.1, "GiB-month balanced persistent disk (PersistentVolumeClaim, standard-rwo)", DISK, "unverified"),
        "sql.vcpu": p(0.0413, "vCPU-hour (Enterprise, zonal)", SQL, "secondary"),
        "sql.memory": p(0.007, "GiB-hour (Enterprise, zonal)", SQL, "secondary"),
        "sql.ha.vcpu": p(0.0826, "vCPU-hour (Enterprise, regional/HA)", SQL, "secondary", "HA is billed at twice the zonal price"),
        "sql.ha.memory": p(0.014, "GiB-hour (Enterprise, regional/HA)", SQL, "secondary"),
        "sql.ssd": p(0.17, "GiB-month SSD storage (zonal)", SQL, "secondary"),
        "sql.ha.ssd": p(0.34, "GiB-month SSD storage (regional/HA)", SQL, "secondary"),
        "sql.backup": p(0.08, "GiB-month backup storage", SQL, "secondary"),
        "sql.f1-micro": p(0.0105, "instance-hour db-f1-micro (zonal)", SQL, "unverified"),
        "sql.g1-small": p(0.035, "instance-hour db-g1-small (zonal)", SQL, "unverified"),
        "redis.basic.m1": p(0.049, "GiB-hour Basic, 1-4 GB", REDIS, "unverified"),
        "redis.basic.m2": p(0.027, "GiB-hour Basic, 5-10 GB", REDIS, "unverified"),
        "redis.basic.m3": p(0.023, "GiB-hour Basic, 11-35 GB", REDIS, "unverified"),
        "redis.standard.m1": p(0.064, "GiB-hour Standard, 1-4 GB (primary and one replica)", REDIS, "unverified"),
        "redis.standard.m2": p(0.054, "GiB-hour Standard, 5-10 GB (primary and one replica)", REDIS, "unverified"),
        "redis.standard.m3": p(0.046, "GiB-hour Standard, 11-35 GB (primary and one replica)", REDIS, "unverified"),
        "gcs.standard": p(0.02, "GiB-month Standard storage, regional", GCS, "secondary"),
    },
    "europe-west1": {
        "gcs.standard": p(0.02, "GiB-month Standard storage, regional", GCS, "secondary"),
    },
};

/** Regions of the table with region-dependent prices. */
export const LISTED_REGIONS = Object.keys(REGIONAL);

/**
 * Listed regions to try for a region without its own price, nearest first: same geography
 * (`europe-*`, `us-*`, …), then us-central1, Google's reference region in its price tables.
 */
export function fallbackRegions(region: string): string[] {
    const area = region.split("-")[0];
    const sameArea = LISTED_REGIONS.filter((r) => r !== region && r.split("-")[0] === area);
    return [...new Set([...sameArea, "us-central1"])].filter((r) => r !== region);
}

/** A price found for a region; `estimatedFrom` is set when it was borrowed from another region. */
export interface ResolvedPrice {
    readonly key: PriceKey;
    readonly price: Price;
    readonly region: string;
    readonly estimatedFrom?: string;
}

/** The price of `key` in `region`, global, own-region, or estimated from the nearest listed region. */
export function priceFor(key: PriceKey, region: string): ResolvedPrice {
    const global = GLOBAL[key];
    if (global) {
        return { key, price: global, region };
    }
    const own = REGIONAL[region]?.[key];
    if (own) {
        return { key, price: own, region };
    }
    for (const other of fallbackRegions(region)) {
        const borrowed = REGIONAL[other]?.[key];
        if (borrowed) {
            return { key, price: borrowed, region, estimatedFrom: other };
        }
    }
    throw new Error(`price table ${PRICE_TABLE_VERSION} has no price ${key} for ${region} or any fallback region`);
}

/** Every entry of the table, for docs/costs.md and the tests. */
export function priceTable(): Array<{ key: PriceKey; region: string; price: Price }> {
    const rows: Array<{ key: PriceKey; region: string; price: Price }> = [];
    for (const [key, price] of Object.entries(GLOBAL)) {
        rows.push({ key: key as PriceKey, region: "all", price: price as Price });
    }
    for (const [region, entries] of Object.entries(REGIONAL)) {
        for (const [key, price] of Object.entries(entries)) {
            rows.push({ key: key as PriceKey, region, price: price as Price });
        }
    }
    return rows;
}
