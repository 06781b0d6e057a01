/**
 * What each provider does when an input of a resource changes: update in place, or replace (delete
 * and create). A vendored table of the input paths the program sets, read from the providers'
 * sources at pinned commits, so a transition test can decide update vs replace the way the engine
 * does (maint/lib/transitions/plan.ts) without guessing.
 *
 * - Google (pulumi-gcp bridges hashicorp/terraform-provider-google): an input whose Terraform schema
 *   field has `ForceNew: true` (or whose block has) is replaced; a `CustomizeDiff` may force new
 *   conditionally (noted per row). Read at {@link TPG_COMMIT}, file per type in `source`. Terraform
 *   names map to Pulumi's camelCase, and singular block names to plural lists (`rule` → `rules`).
 * - Random (pulumi-random bridges hashicorp/terraform-provider-random): every argument of
 *   `random_password` has a RequiresReplace plan modifier.
 * - Kubernetes (pulumi-kubernetes {@link K8S_VERSION}): `.metadata.name`, `.metadata.namespace`
 *   and the per-kind `forceNew` paths of `provider/pkg/provider/diff.go` (`forceNewProperties`),
 *   matched as prefixes of the changed path (`openapi.PatchPropertiesChanged`); Secrets and
 *   ConfigMaps are replaced on any data change unless the provider sets `enableSecretMutable` /
 *   `enableConfigMapMutable`, which this program does not. The provider itself deletes before
 *   replacing an object whose user-given name stays the same (provider.go `Diff`,
 *   `deleteBeforeReplace`). Read at {@link K8S_COMMIT}.
 * - The Kubernetes provider resource (`pulumi:providers:kubernetes`): `DiffConfig` replaces it
 *   when the kubeconfig's active cluster changes or the kubeconfig is unknown (provider.go
 *   `DiffConfig`), and the engine replaces every resource of a replaced provider
 *   (pulumi/pulumi `pkg/resource/deploy/step_generator.go`, `providerChanged`).
 *
 * A changed input of a type or path that is not here is an error of the transition test (naming
 * the type and the path): add the row from the provider's source rather than guess.
 */

/** hashicorp/terraform-provider-google commit the Google rows were read at (main, 2026-08-21). */
export const TPG_COMMIT = "e03b7622a26cf4e878f90bdccaca6aa3d03a7999";
/** pulumi/pulumi-kubernetes commit the Kubernetes rows were read at (main after v4.32.0; package 4.34.2). */
export const K8S_COMMIT = "94977969d64112b04e19945818a7d5d5f38f631d";
export const K8S_VERSION = "4.34.2";
/** hashicorp/terraform-provider-random, resource_password.go. */
export const RANDOM_SOURCE = "hashicorp/terraform-provider-random internal/provider/resource_password.go (every attribute: RequiresReplace)";
/** pulumi/pulumi commit the engine rules (protect, provider replacement, delete order) were read at. */
export const PULUMI_COMMIT = "1b5949891b3cefcb9974752b24a5ecef0acc86c8";

/** Link to a file of terraform-provider-google at the pinned commit. */
export function tpgUrl(file: string): string {
    return `https://github.com/hashicorp/terraform-provider-google/blob/${TPG_COMMIT}/google/${file}`;
}

/** How one type treats changes of its inputs. Paths are dotted Pulumi input paths without array indices. */
export interface TypeRules {
    /** Where the rows were read: a file under `google/` at {@link TPG_COMMIT}, or another source. */
    readonly source: string;
    /** Paths (or blocks) whose change replaces the resource. */
    readonly replace: readonly string[];
    /** Paths (or blocks, when no field inside is ForceNew) that update in place. */
    readonly update: readonly string[];
    /**
     * Input paths that name the object in the cloud. A replacement whose new object has the same
     * identity collides with the old one unless the old one is deleted first. `name` counts as
     * identity only when the program sets it: otherwise the engine auto-names it with a random
     * suffix, new on every replacement.
     */
    readonly identity: readonly string[];
    /** Conditional replacements (`CustomizeDiff`) worth knowing, in words. */
    readonly note?: string;
}

const IAM_MEMBER = "tpgiamresource/resource_iam_member.go (IamMemberBaseSchema: role, member, condition ForceNew)";

/** Google and Random rows, by Pulumi type token. */
export const TYPE_RULES: Readonly<Record<string, TypeRules>> = {
    "gcp:sql/databaseInstance:DatabaseInstance": {
        source: "services/sql/resource_sql_database_instance.go",
        replace: ["project", "region", "name", "encryptionKeyName", "settings.collation"],
        update: [
            "databaseVersion", "deletionProtection", "settings.tier", "settings.edition", "settings.availabilityType",
            "settings.backupConfiguration", "settings.databaseFlags", "settings.deletionProtectionEnabled",
            "settings.diskAutoresize", "settings.diskSize", "settings.diskType", "settings.insightsConfig",
            "settings.ipConfiguration.enablePrivatePathForGoogleCloudServices", "settings.ipConfiguration.ipv4Enabled",
            "settings.ipConfiguration.privateNetwork", "settings.ipConfiguration.sslMode", "settings.maintenanceWindow",
            "settings.userLabels",
        ],
        identity: ["project", "name"],
        note: "CustomizeDiff forces new when private_network goes from set to unset (privateNetworkCustomizeDiff) and when the disk would shrink with autoresize off (diskSizeCutomizeDiff); neither can happen here (a private network is always set, autoresize is on).",
    },
    "gcp:sql/database:Database": {
        source: "services/sql/resource_sql_database.go",
        replace: ["project", "instance", "name"],
        update: ["charset", "collation", "deletionPolicy"],
        identity: ["project", "instance", "name"],
    },
    "gcp:sql/user:User": {
        source: "services/sql/resource_sql_user.go",
        replace: ["project", "instance", "name", "host", "type"],
        // databaseRoles: write-only, sent with users.update (the roles are reassigned in place).
        update: ["password", "deletionPolicy", "databaseRoles"],
        identity: ["project", "instance", "name"],
    },
    "gcp:storage/bucket:Bucket": {
        source: "services/storage/resource_storage_bucket.go",
        replace: ["project", "name", "location"],
        update: ["cors", "forceDestroy", "lifecycleRules", "logging", "publicAccessPrevention", "uniformBucketLevelAccess", "versioning", "labels"],
        identity: ["name"],
    },
    "gcp:storage/bucketIAMMember:BucketIAMMember": {
        source: `services/storage/iam_storage_bucket.go (bucket ForceNew) and ${IAM_MEMBER}`,
        replace: ["bucket", "role", "member", "condition"],
        update: [],
        identity: ["bucket", "role", "member"],
    },
    "gcp:projects/iAMMember:IAMMember": {
        source: `services/resourcemanager/iam_project.go (project ForceNew) and ${IAM_MEMBER}`,
        replace: ["project", "role", "member", "condition"],
        update: [],
        identity: ["project", "role", "member"],
    },
    "gcp:serviceaccount/iAMMember:IAMMember": {
        source: `services/resourcemanager/iam_service_account.go (service_account_id ForceNew) and ${IAM_MEMBER}`,
        replace: ["serviceAccountId", "role", "member", "condition"],
        update: [],
        identity: ["serviceAccountId", "role", "member"],
    },
    "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember": {
        source: `services/kms/iam_kms_crypto_key.go (crypto_key_id ForceNew) and ${IAM_MEMBER}`,
        replace: ["cryptoKeyId", "role", "member", "condition"],
        update: [],
        identity: ["cryptoKeyId", "role", "member"],
    },
    "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember": {
        source: `services/artifactregistry/iam_artifact_registry_repository.go (project, location, repository ForceNew) and ${IAM_MEMBER}`,
        replace: ["project", "location", "repository", "role", "member", "condition"],
        update: [],
        identity: ["project", "location", "repository", "role", "member"],
    },
    "gcp:serviceaccount/account:Account": {
        source: "services/resourcemanager/resource_google_service_account.go",
        replace: ["project", "accountId"],
        update: ["displayName", "description", "disabled"],
        identity: ["project", "accountId"],
    },
    "gcp:kms/keyRing:KeyRing": {
        source: "services/kms/resource_kms_key_ring.go",
        replace: ["project", "location", "name"],
        update: [],
        identity: ["project", "location", "name"],
    },
    "gcp:kms/cryptoKey:CryptoKey": {
        source: "services/kms/resource_kms_crypto_key.go",
        replace: ["keyRing", "purpose", "name"],
        update: ["rotationPeriod", "labels", "deletionPolicy"],
        identity: ["keyRing", "name"],
    },
    "gcp:container/cluster:Cluster": {
        source: "services/container/resource_container_cluster.go",
        replace: [
            "project", "location", "name", "network", "subnetwork", "enableAutopilot", "datapathProvider",
            "ipAllocationPolicy.clusterSecondaryRangeName", "ipAllocationPolicy.servicesSecondaryRangeName",
            "privateClusterConfig.masterIpv4CidrBlock", "masterAuth.clientCertificateConfig",
        ],
        update: [
            "authenticatorGroupsConfig", "binaryAuthorization", "clusterAutoscaling.autoProvisioningDefaults.serviceAccount", "controlPlaneEndpointsConfig",
            "databaseEncryption", "deletionProtection", "enableLegacyAbac", "loggingService", "monitoringService",
            "masterAuthorizedNetworksConfig", "privateClusterConfig.enablePrivateEndpoint", "privateClusterConfig.enablePrivateNodes",
            "releaseChannel", "resourceLabels", "workloadIdentityConfig",
        ],
        identity: ["project", "location", "name"],
        note: "CustomizeDiff forces new on enabling enable_l4_ilb_subsetting or enable_fqdn_network_policy, and on Autopilot's dns_config additive VPC scope; the program sets none of them.",
    },
    "gcp:binaryauthorization/policy:Policy": {
        source: "services/binaryauthorization/resource_binary_authorization_policy.go",
        replace: ["project"],
        update: ["description", "globalPolicyEvaluationMode", "admissionWhitelistPatterns", "defaultAdmissionRule", "clusterAdmissionRules"],
        identity: ["project"],
        note: "A project singleton: create and update both PUT the one policy; delete puts Google's default (allow every image) back.",
    },
    "gcp:compute/network:Network": {
        source: "services/compute/resource_compute_network.go",
        replace: ["project", "name", "autoCreateSubnetworks", "description"],
        update: ["routingMode"],
        identity: ["project", "name"],
    },
    "gcp:compute/subnetwork:Subnetwork": {
        source: "services/compute/resource_compute_subnetwork.go",
        replace: ["project", "region", "name", "network"],
        update: ["ipCidrRange", "logConfig", "privateIpGoogleAccess", "secondaryIpRanges"],
        identity: ["project", "region", "name"],
        note: "ip_cidr_range updates in place only to expand the range; Google refuses a shrink (the API, not the provider).",
    },
    "gcp:compute/firewall:Firewall": {
        source: "services/compute/resource_compute_firewall.go",
        replace: ["project", "name", "direction"],
        update: ["denies", "allows", "description", "logConfig", "network", "priority", "sourceRanges"],
        identity: ["project", "name"],
    },
    "gcp:compute/router:Router": {
        source: "services/compute/resource_compute_router.go",
        replace: ["project", "region", "name", "network"],
        update: [],
        identity: ["project", "region", "name"],
    },
    "gcp:compute/routerNat:RouterNat": {
        source: "services/compute/resource_compute_router_nat.go",
        replace: ["project", "region", "name", "router"],
        update: ["logConfig", "natIpAllocateOption", "sourceSubnetworkIpRangesToNat"],
        identity: ["project", "region", "router", "name"],
    },
    "gcp:compute/globalAddress:GlobalAddress": {
        source: "services/compute/resource_compute_global_address.go",
        replace: ["project", "name", "address", "addressType", "network", "prefixLength", "purpose"],
        update: ["labels"],
        identity: ["project", "name"],
    },
    "gcp:servicenetworking/connection:Connection": {
        source: "services/servicenetworking/resource_service_networking_connection.go",
        replace: ["network", "service"],
        update: ["reservedPeeringRanges", "deletionPolicy"],
        identity: ["network", "service"],
    },
    "gcp:compute/sSLPolicy:SSLPolicy": {
        source: "services/compute/resource_compute_ssl_policy.go",
        replace: ["project", "name"],
        update: ["minTlsVersion", "profile"],
        identity: ["project", "name"],
    },
    "gcp:compute/securityPolicy:SecurityPolicy": {
        source: "services/compute/resource_compute_security_policy.go",
        replace: ["project", "name", "type"],
        update: ["adaptiveProtectionConfig", "advancedOptionsConfig", "description", "rules"],
        identity: ["project", "name"],
    },
    "gcp:compute/backendBucket:BackendBucket": {
        source: "services/compute/resource_compute_backend_bucket.go",
        replace: ["project", "name"],
        update: ["bucketName", "cdnPolicy", "compressionMode", "edgeSecurityPolicy", "enableCdn"],
        identity: ["project", "name"],
    },
    "gcp:compute/managedSslCertificate:ManagedSslCertificate": {
        source: "services/compute/resource_compute_managed_ssl_certificate.go",
        replace: ["project", "name", "managed"],
        update: [],
        identity: ["project", "name"],
    },
    "gcp:compute/uRLMap:URLMap": {
        source: "services/compute/resource_compute_url_map.go",
        replace: ["project", "name"],
        update: ["defaultService", "defaultUrlRedirect"],
        identity: ["project", "name"],
    },
    "gcp:compute/targetHttpProxy:TargetHttpProxy": {
        source: "services/compute/resource_compute_target_http_proxy.go",
        replace: ["project", "name"],
        update: ["urlMap"],
        identity: ["project", "name"],
    },
    "gcp:compute/targetHttpsProxy:TargetHttpsProxy": {
        source: "services/compute/resource_compute_target_https_proxy.go",
        replace: ["project", "name"],
        update: ["sslCertificates", "sslPolicy", "urlMap"],
        identity: ["project", "name"],
    },
    "gcp:compute/globalForwardingRule:GlobalForwardingRule": {
        source: "services/compute/resource_compute_global_forwarding_rule.go",
        replace: ["project", "name", "ipAddress", "portRange"],
        update: ["loadBalancingScheme", "target", "labels"],
        identity: ["project", "name"],
    },
    "gcp:dns/managedZone:ManagedZone": {
        source: "services/dns/resource_dns_managed_zone.go",
        replace: ["project", "name", "dnsName", "visibility"],
        update: ["description", "privateVisibilityConfig", "labels", "forceDestroy"],
        identity: ["project", "name"],
    },
    "gcp:dns/recordSet:RecordSet": {
        source: "services/dns/resource_dns_record_set.go",
        replace: ["project", "managedZone", "name"],
        update: ["rrdatas", "ttl", "type"],
        identity: ["project", "managedZone", "name", "type"],
    },
    "gcp:redis/instance:Instance": {
        source: "services/redis/resource_redis_instance.go",
        replace: ["project", "region", "name", "authorizedNetwork", "connectMode", "reservedIpRange", "tier", "transitEncryptionMode"],
        update: ["authEnabled", "labels", "memorySizeGb", "readReplicasMode", "redisConfigs", "redisVersion", "replicaCount"],
        identity: ["project", "region", "name"],
        note: "CustomizeDiff forces new when redis_version decreases (isRedisVersionDecreasing).",
    },
    "gcp:monitoring/alertPolicy:AlertPolicy": {
        source: "services/monitoring/resource_monitoring_alert_policy.go",
        replace: ["project"],
        update: ["alertStrategy", "combiner", "conditions", "displayName", "documentation", "enabled", "notificationChannels", "severity"],
        identity: [],
    },
    "gcp:monitoring/dashboard:Dashboard": {
        source: "services/monitoring/resource_monitoring_dashboard.go",
        replace: ["project"],
        update: ["dashboardJson"],
        identity: [],
    },
    "gcp:monitoring/notificationChannel:NotificationChannel": {
        source: "services/monitoring/resource_monitoring_notification_channel.go",
        replace: ["project"],
        update: ["displayName", "labels", "type"],
        identity: [],
    },
    "gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig": {
        source: "services/monitoring/resource_monitoring_uptime_check_config.go",
        replace: ["project", "monitoredResource", "httpCheck.requestMethod"],
        update: ["displayName", "httpCheck", "period", "timeout"],
        identity: [],
    },
    "random:index/randomPassword:RandomPassword": {
        source: RANDOM_SOURCE,
        replace: ["length", "special", "overrideSpecial", "upper", "lower", "numeric", "minLower", "minUpper", "minNumeric", "minSpecial", "keepers"],
        update: [],
        identity: [],
    },
};

/** The Kubernetes provider resource: kubeconfig names the cluster (DiffConfig), the rest are provider settings. */
export const K8S_PROVIDER_RULES: TypeRules = {
    source: `pulumi/pulumi-kubernetes@${K8S_COMMIT} provider/pkg/provider/provider.go (DiffConfig)`,
    replace: ["kubeconfig", "context", "cluster", "clusterIdentifier", "renderYamlToDirectory"],
    update: ["enableServerSideApply", "deleteUnreachable", "enableConfigMapMutable", "enableSecretMutable"],
    identity: [],
};

const LABEL_SELECTOR = (prefix: string) => [prefix, `${prefix}.matchExpressions`, `${prefix}.matchLabels`];

/**
 * pulumi-kubernetes `forceNew` (diff.go) of the kinds the program renders, by `apiVersion/kind`, as
 * dotted paths without indices. Kinds not listed (CronJob, HPA, policy/v1 PDB, NetworkPolicy,
 * Ingress, the GKE custom resources, ServiceAccount, Namespace) have no entry there and replace
 * only on a name or namespace change.
 */
export const K8S_FORCE_NEW: Readonly<Record<string, readonly string[]>> = {
    "apps/v1/Deployment": LABEL_SELECTOR("spec.selector"),
    "apps/v1/StatefulSet": ["spec.podManagementPolicy", "spec.revisionHistoryLimit", "spec.serviceName", "spec.volumeClaimTemplates", ...LABEL_SELECTOR("spec.selector")],
    "batch/v1/Job": ["spec.completions", "spec.parallelism", "spec.template", ...LABEL_SELECTOR("spec.selector")],
    "v1/Service": ["spec.clusterIP"],
    "v1/Secret": ["type", "stringData", "data"],
    "v1/ConfigMap": ["binaryData", "data"],
};

/** Paths every Kubernetes object is replaced on (its identity). */
export const K8S_IDENTITY = ["metadata.name", "metadata.namespace"];

/** Removes array indices: `rules[3].match` → `rules.match`. */
export function normalizePath(path: string): string {
    return path.replace(/\[\d+\]/g, "");
}

/** Whether `prefix` is `path` or one of its ancestors (`a` of `a.b`, `a[0]`, `a["b.c"]`). */
export function isPrefix(prefix: string, path: string): boolean {
    return path === prefix || path.startsWith(`${prefix}.`) || path.startsWith(`${prefix}[`);
}

/** The decision for one changed input path of a Google or Random type: the longest matching row wins. */
export function classifyPath(rules: TypeRules, path: string): "replace" | "update" | undefined {
    const p = normalizePath(path);
    let best: { len: number; kind: "replace" | "update" } | undefined;
    for (const [kind, list] of [["replace", rules.replace], ["update", rules.update]] as const) {
        for (const entry of list) {
            if (isPrefix(entry, p) && (!best || entry.length > best.len)) {
                best = { len: entry.length, kind };
            }
        }
    }
    return best?.kind;
}
