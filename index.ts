/**
 * django-platform: one DjangoPlatform per stack, from the stack's validated config.
 * `loadConfig()` throws a ConfigError naming every bad key before any resource is registered.
 *
 * The reference consumer of the package: it imports the package's public entry point by name
 * (api.ts, through package.json's `exports` here and tsconfig.json's `paths` for tsc) and nothing
 * internal, as a project made from templates/django-platform does.
 */
import { DjangoPlatform, loadConfig } from "django-platform";

const config = loadConfig();
const platform = new DjangoPlatform("django", config);

/** The app image this stack runs (pinned), e.g. for promoting staging's image to production. */
export const image = config.image;
/** Public URL of the site. */
export const url = platform.url;
/** IP address to point the domain's A record at. */
export const ipAddress = platform.networking.ipAddress;
/** `STATIC_URL` of the app (https). */
export const staticUrl = platform.statics.url;
/** IP address for the CDN domain's A record, when the CDN is enabled. */
export const cdnIpAddress = platform.statics.cdnIpAddress;
/** Cloud SQL instance connection name (`project:region:instance`). */
export const databaseInstance = platform.database.connection.instanceConnectionName;
/** Kubernetes namespace of the app. */
export const namespace = platform.cluster.namespace;
/** GKE cluster name. */
export const clusterName = platform.cluster.clusterName;
/** The app's Google service account. */
export const appServiceAccount = platform.workload.serviceAccountEmail;
/**
 * The DNS records the site needs (name, type, ttl, value). With `dns.managedZone` set they exist
 * in that zone; otherwise create exactly these at your DNS provider.
 */
export const dnsRecords = platform.dns.records;
/** Whether `dnsRecords` are managed by this stack (`dns.managedZone` set). */
export const dnsRecordsManaged = platform.dns.managed;
/** Id of the HTTPS uptime check on /healthz/ (when monitoring is enabled). */
export const uptimeCheckId = platform.monitoring?.uptimeCheckId;
