/**
 * What the CI deployer may do, as data: tests read it, docs quote it, {@link Deployer} grants it.
 *
 * Least privilege without predefined admin roles (CIS 1.5 / CKV_GCP_42 flag any `*Admin` role on a
 * service account): the deploy gets a custom role listing exactly the permissions the main
 * program's resources need, one group per component, plus `roles/container.developer` for the
 * Kubernetes objects. Changing IAM on the project is split into its own custom role whose binding
 * carries a condition that allows granting only {@link GRANTABLE_PROJECT_ROLES}, so the deployer
 * cannot grant itself (or anyone) owner. Everything else is granted on single resources by the
 * components that own them (state bucket, KMS keys, image repository).
 */

/** Permissions the deploy needs for one part of the platform, and why. */
export interface PermissionGroup {
    /** The component(s) of the main program that need these permissions. */
    readonly purpose: string;
    /** IAM permission names. */
    readonly permissions: readonly string[];
}

const crud = (prefix: string, ...extra: string[]): string[] =>
    ["create", "delete", "get", "list", "update", ...extra].map((verb) => `${prefix}.${verb}`);

/** The custom deployer role, grouped by the component that needs each permission. */
export const DEPLOYER_PERMISSIONS: readonly PermissionGroup[] = [
    {
        purpose: "components/network.ts: VPC, subnet with secondary ranges, Cloud Router + NAT",
        permissions: [
            ...crud("compute.networks", "use"),
            ...crud("compute.subnetworks", "use", "setPrivateIpGoogleAccess"),
            ...crud("compute.routers", "use"),
            "compute.regionOperations.get",
            "compute.globalOperations.get",
            "compute.regions.get",
            "compute.projects.get",
        ],
    },
    {
        purpose: "components/network.ts: private services access (VPC_PEERING range + servicenetworking connection)",
        permissions: [
            "compute.globalAddresses.createInternal",
            "compute.globalAddresses.deleteInternal",
            "compute.networks.addPeering",
            "compute.networks.removePeering",
            "servicenetworking.services.addPeering",
            "servicenetworking.services.get",
            "servicenetworking.operations.get",
        ],
    },
    {
        purpose: "components/statics.ts + networking.ts: static IPs, Cloud CDN backend bucket, HTTPS load balancer",
        permissions: [
            "compute.globalAddresses.create",
            "compute.globalAddresses.delete",
            "compute.globalAddresses.get",
            "compute.globalAddresses.list",
            "compute.globalAddresses.use",
            "compute.addresses.create",
            "compute.addresses.delete",
            "compute.addresses.get",
            "compute.addresses.list",
            "compute.addresses.use",
            ...crud("compute.backendBuckets", "use"),
            ...crud("compute.urlMaps", "use"),
            "compute.targetHttpProxies.create",
            "compute.targetHttpProxies.delete",
            "compute.targetHttpProxies.get",
            "compute.targetHttpProxies.list",
            "compute.targetHttpProxies.use",
            "compute.targetHttpProxies.setUrlMap",
            "compute.targetHttpsProxies.create",
            "compute.targetHttpsProxies.delete",
            "compute.targetHttpsProxies.get",
            "compute.targetHttpsProxies.list",
            "compute.targetHttpsProxies.use",
            "compute.targetHttpsProxies.setUrlMap",
            "compute.targetHttpsProxies.setSslCertificates",
            "compute.targetHttpsProxies.setSslPolicy",
            "compute.sslCertificates.create",
            "compute.sslCertificates.delete",
            "compute.sslCertificates.get",
            "compute.sslCertificates.list",
            ...crud("compute.sslPolicies", "use"),
            "compute.globalForwardingRules.create",
            "compute.globalForwardingRules.delete",
            "compute.globalForwardingRules.get",
            "compute.globalForwardingRules.list",
            "compute.globalForwardingRules.setTarget",
        ],
    },
    {
        purpose: "components/statics.ts: the static files and access-log buckets, their IAM (public read of objects)",
        permissions: [...crud("storage.buckets", "getIamPolicy", "setIamPolicy"), "storage.objects.list", "storage.objects.delete"],
    },
    {
        purpose: "components/database.ts: Cloud SQL instance, database, user",
        permissions: [...crud("cloudsql.instances"), ...crud("cloudsql.databases"), ...crud("cloudsql.users")],
    },
    {
        purpose: "components/cache.ts (mode memorystore): Memorystore for Redis",
        permissions: [...crud("redis.instances", "getAuthString"), "redis.operations.get"],
    },
    {
        purpose: "components/cluster.ts: GKE Autopilot cluster and its kubeconfig",
        permissions: [...crud("container.clusters", "getCredentials"), "container.operations.get", "container.operations.list"],
    },
    {
        // No cloudkms.cryptoKeyVersions.destroy: CI must never be able to destroy key material
        // (it would also reach the stacks' secrets keys). Destroying a stack is done by a human.
        purpose: "components/cluster.ts: KMS key ring and key for GKE application-layer Secrets encryption, granted to the GKE service agent",
        permissions: [
            "cloudkms.keyRings.create",
            "cloudkms.keyRings.get",
            "cloudkms.cryptoKeys.create",
            "cloudkms.cryptoKeys.get",
            "cloudkms.cryptoKeys.update",
            "cloudkms.cryptoKeys.getIamPolicy",
            "cloudkms.cryptoKeys.setIamPolicy",
        ],
    },
    {
        purpose: "components/workload.ts + cluster.ts: Google service accounts of the app and the nodes, their Workload Identity binding, attaching the node SA",
        permissions: [...crud("iam.serviceAccounts", "actAs", "getIamPolicy", "setIamPolicy"), "resourcemanager.projects.get"],
    },
];

/** Flat, sorted, de-duplicated permissions of the deployer's custom role. */
export function deployerPermissions(): string[] {
    return [...new Set(DEPLOYER_PERMISSIONS.flatMap((g) => g.permissions))].sort();
}

/**
 * Permissions to change the project's IAM policy. Bound with {@link grantCondition}, so they only
 * work for the roles in {@link GRANTABLE_PROJECT_ROLES}; reading the policy stays allowed because
 * the attribute is empty for calls that grant nothing.
 */
export const PROJECT_IAM_PERMISSIONS: readonly string[] = ["resourcemanager.projects.getIamPolicy", "resourcemanager.projects.setIamPolicy"];

/**
 * The only roles the deployer may grant on the project: what the platform gives its own service
 * accounts (Cloud SQL Auth Proxy, GKE node service account). None of them contains
 * `setIamPolicy` or lets the holder change roles, so the limit cannot be widened from inside.
 */
export const GRANTABLE_PROJECT_ROLES: readonly string[] = [
    "roles/cloudsql.client",
    "roles/cloudsql.instanceUser",
    "roles/container.defaultNodeServiceAccount",
    "roles/logging.logWriter",
    "roles/monitoring.metricWriter",
    "roles/monitoring.viewer",
    "roles/stackdriver.resourceMetadata.writer",
    "roles/autoscaling.metricsWriter",
    "roles/artifactregistry.reader",
];

/** Predefined roles the deployer gets on the project, each with its reason. */
export const DEPLOYER_PREDEFINED_ROLES: readonly { readonly role: string; readonly why: string }[] = [
    {
        role: "roles/container.developer",
        why: "create and update the Kubernetes objects (namespace, Deployments, StatefulSets, Jobs, Services, Secrets, NetworkPolicies, Ingress and GKE CRDs) through the GKE API; no cluster or RBAC administration",
    },
];

/**
 * The IAM condition (CEL) that lets a binding add or remove only `roles`, using the
 * `iam.googleapis.com/modifiedGrantsByRole` API attribute ("Set limits on granting roles" in the
 * IAM docs).
 */
export function grantCondition(roles: readonly string[]): string {
    return `api.getAttribute('iam.googleapis.com/modifiedGrantsByRole', []).hasOnly([${roles.map((r) => `'${r}'`).join(", ")}])`;
}
