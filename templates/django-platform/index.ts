/**
 * ${DESCRIPTION}: one DjangoPlatform per stack, from the stack's config (Pulumi.<stack>.yaml),
 * validated by the package before any resource is registered.
 */
import { DjangoPlatform, loadConfig } from "django-platform";

const config = loadConfig();
const platform = new DjangoPlatform("django", config);

export const image = config.image;
export const url = platform.url;
export const ipAddress = platform.networking.ipAddress;
export const dnsRecords = platform.dns.records;
export const databaseInstance = platform.database.connection.instanceConnectionName;
export const clusterName = platform.cluster.clusterName;
export const namespace = platform.cluster.namespace;
