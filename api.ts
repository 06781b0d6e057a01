/**
 * The public entry point of the `django-platform` package: what a consumer's Pulumi program may
 * import. Everything else in the package (the CLI, the pure helpers behind the components) is
 * internal and may change in any release; see CHANGELOG.md.
 *
 *     import { DjangoPlatform, loadConfig } from "django-platform";
 *     const platform = new DjangoPlatform("django", loadConfig());
 *
 * The repository's own `index.ts` is the reference consumer: it imports this module by the
 * package's name and nothing else of the package.
 */
export { DjangoPlatform } from "./components/platform";
export { Cache, type CacheArgs } from "./components/cache";
export { Cluster, ClusterAccessError, type ClusterArgs } from "./components/cluster";
export { Database, type DatabaseArgs, type DatabaseConnection } from "./components/database";
export { Dns, type DnsArgs, type DnsRecord } from "./components/dns";
export { Edge, type EdgeArgs } from "./components/edge";
export { Media, type MediaArgs } from "./components/media";
export { Monitoring, type MonitoringArgs } from "./components/monitoring";
export { Network, type NetworkArgs } from "./components/network";
export { Networking, type NetworkingArgs } from "./components/networking";
export { Schedule, type ScheduleArgs } from "./components/schedules";
export { Statics, type StaticsArgs } from "./components/statics";
export { Worker, type WorkerArgs } from "./components/workers";
export { Workload, type WorkloadArgs } from "./components/workload";
export {
    ConfigError,
    PROJECT,
    configSchema,
    loadConfig,
    providerSchema,
    usageSchema,
    validateConfig,
    type PlatformConfig,
    type RawConfig,
    type Usage,
} from "./config";
