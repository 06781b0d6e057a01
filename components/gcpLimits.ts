/**
 * Limits that Google Cloud enforces on values this program passes through from config, as pure
 * functions with their sources. `config.ts` turns each violation into a config error before
 * anything is created; without them the same value fails minutes into `pulumi up`, or is silently
 * changed by GCP.
 */
import * as ipaddr from "ipaddr.js";

/** Autopilot's accepted vCPU:memory ratio (memory GiB per vCPU) for the general-purpose compute class. */
export const AUTOPILOT_MEMORY_GIB_PER_CPU = { min: 1, max: 6.5 } as const;

/** CPU quantity (`500m`, `1`, `1.5`) in vCPUs. */
export function cpuQuantity(quantity: string): number {
    return quantity.endsWith("m") ? Number(quantity.slice(0, -1)) / 1000 : Number(quantity);
}

/** Memory quantity (`512Mi`, `1Gi`) in GiB. */
export function memoryQuantityGib(quantity: string): number {
    return quantity.endsWith("Gi") ? Number(quantity.slice(0, -2)) : Number(quantity.slice(0, -2)) / 1024;
}

/**
 * Checks a container's CPU and memory request against Autopilot's ratio. Autopilot changes
 * requests outside 1:1–1:6.5 (it raises the smaller one), so the pod would be billed and sized for
 * something other than what the config says ("Resource requests in Autopilot", minimum and maximum
 * requests for the general-purpose compute class:
 * https://cloud.google.com/kubernetes-engine/docs/concepts/autopilot-resource-requests).
 * Returns the memory range (in Mi) that fits the CPU, or `undefined` when the pair fits.
 */
export function autopilotRatioViolation(cpu: string, memory: string): { minMi: number; maxMi: number } | undefined {
    const cpus = cpuQuantity(cpu);
    const perCpu = memoryQuantityGib(memory) / cpus;
    if (perCpu >= AUTOPILOT_MEMORY_GIB_PER_CPU.min && perCpu <= AUTOPILOT_MEMORY_GIB_PER_CPU.max) {
        return undefined;
    }
    return {
        minMi: Math.ceil(cpus * AUTOPILOT_MEMORY_GIB_PER_CPU.min * 1024),
        maxMi: Math.floor(cpus * AUTOPILOT_MEMORY_GIB_PER_CPU.max * 1024),
    };
}

/**
 * The Cloud SQL tiers each edition accepts for PostgreSQL. Enterprise takes the shared-core and
 * custom (`db-custom-<vCPUs>-<MiB>`) tiers; Enterprise Plus only its performance-optimized tiers
 * (`db-perf-optimized-N-<vCPUs>`). Source: "About instance settings", machine types per edition
 * (https://cloud.google.com/sql/docs/postgres/instance-settings) and "Cloud SQL editions"
 * (https://cloud.google.com/sql/docs/editions-intro).
 */
export function editionAcceptsTier(edition: "ENTERPRISE" | "ENTERPRISE_PLUS", tier: string): boolean {
    const perfOptimized = tier.startsWith("db-perf-optimized-");
    return edition === "ENTERPRISE_PLUS" ? perfOptimized : !perfOptimized;
}

/**
 * Shape rules of a custom tier `db-custom-<vCPUs>-<MiB>`: 1 vCPU or an even number up to 96;
 * memory a multiple of 256 MiB, at least 3840 MiB, and 0.9 to 6.5 GB per vCPU. Source: "Create
 * instances", custom machine types (https://cloud.google.com/sql/docs/postgres/create-instance#machine-types).
 * Returns what is wrong, or `undefined` for a valid (or non-custom) tier.
 */
export function customTierProblem(tier: string): string | undefined {
    const match = /^db-custom-(\d+)-(\d+)$/.exec(tier);
    if (!match) {
        return undefined;
    }
    const cpus = Number(match[1]);
    const memoryMi = Number(match[2]);
    if (!(cpus === 1 || (cpus % 2 === 0 && cpus >= 2 && cpus <= 96))) {
        return `${cpus} vCPUs: a custom tier has 1 vCPU or an even number from 2 to 96`;
    }
    if (memoryMi % 256 !== 0) {
        return `${memoryMi} MiB: memory must be a multiple of 256 MiB`;
    }
    if (memoryMi < 3840) {
        return `${memoryMi} MiB: memory must be at least 3840 MiB`;
    }
    const perCpuGb = memoryMi / 1024 / cpus;
    if (perCpuGb < 0.9 || perCpuGb > 6.5) {
        return `${memoryMi} MiB for ${cpus} vCPU${cpus === 1 ? "" : "s"}: memory must be 0.9 to 6.5 GB per vCPU (${Math.ceil((0.9 * cpus * 1024) / 256) * 256}–${Math.floor((6.5 * cpus * 1024) / 256) * 256} MiB)`;
    }
    return undefined;
}

/**
 * Pairs of IPv4 ranges that overlap. GCP refuses overlapping subnet ranges in one VPC, and a
 * private services range or control-plane range that overlaps the subnet, pod or service ranges
 * makes addresses ambiguous (routes conflict: "Ranges must not overlap",
 * https://cloud.google.com/vpc/docs/subnets#valid-ranges ,
 * https://cloud.google.com/vpc/docs/configure-private-services-access#allocating-range).
 */
export function overlappingRanges(ranges: Readonly<Record<string, string>>): Array<[string, string]> {
    const parsed = Object.entries(ranges).map(([key, cidr]) => [key, ipaddr.IPv4.parseCIDR(cidr)] as const);
    const overlaps: Array<[string, string]> = [];
    for (let i = 0; i < parsed.length; i++) {
        for (let j = i + 1; j < parsed.length; j++) {
            const [a, ra] = parsed[i];
            const [b, rb] = parsed[j];
            if (ra[0].match(rb) || rb[0].match(ra)) {
                overlaps.push([a, b]);
            }
        }
    }
    return overlaps;
}
