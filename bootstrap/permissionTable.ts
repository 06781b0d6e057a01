/**
 * What Google Cloud permissions `pulumi up` of the main program needs, per Pulumi type token: one
 * row per resource type (and per provider function the program invokes), with the permissions the
 * provider's Create, Read, Update, label and Delete paths call, and where that is written down.
 *
 * The deployer's custom role is computed from this table for the types the program actually
 * registers (bootstrap/resourceTypes.json, written by `npm run gen:deployer-types` from renders of
 * every mode and checked by tests/deployer-permissions.test.ts), see {@link permissionsFor}.
 *
 * How a row is read:
 * - `create` / `read` / `update` / `delete`: what the provider calls for that step, including the
 *   polling of the long-running operation it waits on (`compute.globalOperations.get`, …) and the
 *   `Read` it runs right after a create. `read` is also what `pulumi refresh` (and a preview with
 *   `--refresh`) needs.
 * - `label`: what setting labels needs beyond `create`. pulumi-gcp ≥ 8 adds the
 *   `goog-pulumi-provisioned` attribution label to every labellable resource; for most types the
 *   labels travel in the create request, but for global addresses, addresses and global forwarding
 *   rules the Terraform provider creates first and then calls `setLabels` ("Labels cannot be set in a
 *   create"), so the role needs `*.setLabels` even though the program sets no labels there.
 * - `destroyOnly`: permissions only a full `pulumi destroy` (or a replacement the program never
 *   makes) would call. They are listed apart and are NOT in the deployer's role: destroying a stack
 *   is done by a human.
 * - `unverified`: permissions of the row whose requirement no source confirms (field-level `*.use`
 *   checks the REST reference lists per field, kept from the hand-written role); kept because the
 *   cost of a missing one is a failed deploy.
 * - `via`: how a stack's deployer gets the row's permissions. `deployer-role`: the stack deploy
 *   role, bound on the stack's project; `deployer-resource-iam`: the role bound on the project with
 *   a condition on the resource names (the stack's own buckets and GKE Secrets key,
 *   {@link RESOURCE_IAM_CONDITION} in deployerRoles.ts); `pod-binder`: a role the IAM step grants on
 *   each of the stack's pod service accounts (never the project); `iam-step`: none at all — only the
 *   IAM step (`iam/`, run by a person) creates these, and the main program only looks them up; a
 *   predefined role; or `none`.
 * - `onServiceAccount`: permissions Google checks on a service account the resource names (the
 *   nodes' account a cluster runs as), granted on that account only, by the IAM step.
 *
 * Sources. Provider behaviour: hashicorp/terraform-provider-google (the code pulumi-gcp bridges),
 * read at commit e03b7622a26c (main, 2026-08-21), files under `google/services/<service>/`.
 * Method → permission: Google's REST reference pages ("IAM Permissions" of each method), as crawled
 * into iann0036/iam-dataset `gcp/map.json` (commit 2073fa52ac00); Cloud SQL's own table
 * (https://cloud.google.com/sql/docs/postgres/iam-permissions), which that crawl lacks.
 *
 * Pure data and functions: no Pulumi, so the bootstrap, synth and the tests can all load it.
 */

/** Who grants a row's permissions. */
export type Grant = "deployer-role" | "deployer-resource-iam" | "pod-binder" | "iam-step" | "roles/container.developer" | "none";

/** A permission only `pulumi destroy` needs, and why the deployer lacks it. */
export interface DestroyOnly {
    readonly permission: string;
    readonly why: string;
}

/** The permissions one Pulumi type (resource or invoke token) needs. */
export interface PermissionRow {
    /** Exact type or invoke token, or a prefix ending in `*` (e.g. `kubernetes:*`). */
    readonly type: string;
    /** A registered resource, a provider function (`get…Output`), or a family of tokens. */
    readonly kind: "resource" | "invoke" | "pattern";
    /** The file(s) of the main program that use the type. */
    readonly usedBy: string;
    readonly via: Grant;
    readonly create: readonly string[];
    readonly read: readonly string[];
    readonly update: readonly string[];
    readonly label: readonly string[];
    readonly delete: readonly string[];
    readonly destroyOnly: readonly DestroyOnly[];
    /** Permissions of this row no source confirms (see the module comment). */
    readonly unverified?: readonly string[];
    /**
     * Permissions checked on a service account the resource names, granted on that account only
     * (by the IAM step), never in a project role; not part of {@link rowPermissions}.
     */
    readonly onServiceAccount?: readonly string[];
    /** Where each fact comes from: provider files, Google's references. At least one. */
    readonly source: readonly string[];
    readonly notes?: string;
}

// ---------------------------------------------------------------------------------------------
// Sources, written once.

const TPG = "hashicorp/terraform-provider-google@e03b7622a26c";
const tpg = (file: string, what: string): string => `${TPG} google/services/${file}: ${what}`;
const COMPUTE_OPS = tpg("compute/compute_operation.go", "ComputeOperationWaiter.QueryOp GETs projects/{p}/global/operations/{op} or regions/{r}/operations/{op}");
const REST = (method: string): string => `https://cloud.google.com/compute/docs/reference/rest/v1/${method} (IAM Permissions; iann0036/iam-dataset gcp/map.json)`;
const FIELD_USE =
    "Compute Engine REST reference, field-level authorization (a referenced URL map, backend, certificate, SSL policy, target proxy or address needs `*.use`/`get` on it); not in the method-level crawl";
const SQL_TABLE = "https://cloud.google.com/sql/docs/postgres/iam-permissions (Cloud SQL Admin API method → permission; operations.get → cloudsql.instances.get)";
const ATTRIBUTION = "https://www.pulumi.com/registry/packages/gcp/how-to-guides/8-0-migration/ (default label goog-pulumi-provisioned, opt out with gcp:addPulumiAttributionLabel false)";

const GLOBAL_OP = "compute.globalOperations.get";
const REGION_OP = "compute.regionOperations.get";

/** A row with the empty lists filled in. */
function row(r: Partial<PermissionRow> & Pick<PermissionRow, "type" | "kind" | "usedBy" | "via" | "source">): PermissionRow {
    return { create: [], read: [], update: [], label: [], delete: [], destroyOnly: [], ...r };
}

// ---------------------------------------------------------------------------------------------
// The table.

/** Every type the main program can register or invoke, with its permissions. */
export const PERMISSION_TABLE: readonly PermissionRow[] = [
    // --- components/network.ts -----------------------------------------------------------------
    row({
        type: "gcp:compute/network:Network",
        kind: "resource",
        usedBy: "components/network.ts",
        via: "deployer-role",
        create: ["compute.networks.create", GLOBAL_OP],
        read: ["compute.networks.get"],
        update: ["compute.networks.update", "compute.networks.get", GLOBAL_OP],
        delete: ["compute.networks.delete", GLOBAL_OP],
        source: [
            tpg("compute/resource_compute_network.go", "POST/GET/PATCH/DELETE projects/{p}/global/networks[/{name}], each waited on with ComputeOperationWaitTime"),
            COMPUTE_OPS,
            REST("networks/insert, networks/patch (compute.networks.update + get), networks/delete"),
        ],
        notes: "delete_default_routes_on_create is not set, so no routes.list/delete after create.",
    }),
    row({
        type: "gcp:compute/subnetwork:Subnetwork",
        kind: "resource",
        usedBy: "components/network.ts",
        via: "deployer-role",
        create: ["compute.subnetworks.create", "compute.networks.updatePolicy", REGION_OP],
        read: ["compute.subnetworks.get"],
        update: ["compute.subnetworks.update", "compute.subnetworks.get", "compute.subnetworks.setPrivateIpGoogleAccess", "compute.subnetworks.expandIpCidrRange", REGION_OP],
        delete: ["compute.subnetworks.delete", REGION_OP],
        source: [
            tpg("compute/resource_compute_subnetwork.go", "POST …/subnetworks; update: POST …/setPrivateIpGoogleAccess, POST …/expandIpCidrRange (a wider ip_cidr_range), PATCH (log config, secondary ranges); DELETE"),
            COMPUTE_OPS,
            REST("subnetworks/insert, subnetworks/patch, subnetworks/setPrivateIpGoogleAccess, subnetworks/expandIpCidrRange"),
            "compute.networks.updatePolicy on the VPC: a subnetwork create denied with \"Required 'compute.subnetworks.create' … Required 'compute.networks.updatePolicy' permission for 'projects/…/global/networks/default'\" (https://github.com/world-federation-of-advertisers/cross-media-measurement/issues/2956)",
        ],
    }),
    row({
        type: "gcp:compute/router:Router",
        kind: "resource",
        usedBy: "components/network.ts",
        via: "deployer-role",
        create: ["compute.routers.create", REGION_OP],
        read: ["compute.routers.get"],
        update: ["compute.routers.update", "compute.routers.get", REGION_OP],
        delete: ["compute.routers.delete", REGION_OP],
        source: [tpg("compute/resource_compute_router.go", "POST/GET/PATCH/DELETE projects/{p}/regions/{r}/routers[/{name}]"), COMPUTE_OPS, REST("routers/insert, routers/patch, routers/delete")],
        notes: "routers.insert lists only compute.routers.create; compute.networks.updatePolicy is in the role anyway for the subnetwork.",
    }),
    row({
        type: "gcp:compute/firewall:Firewall",
        kind: "resource",
        usedBy: "components/network.ts",
        via: "deployer-role",
        create: ["compute.firewalls.create", "compute.networks.updatePolicy", GLOBAL_OP],
        read: ["compute.firewalls.get"],
        update: ["compute.firewalls.update", "compute.networks.updatePolicy", GLOBAL_OP],
        delete: ["compute.firewalls.delete", "compute.networks.updatePolicy", GLOBAL_OP],
        source: [tpg("compute/resource_compute_firewall.go", "POST/GET/PATCH/DELETE projects/{p}/global/firewalls[/{name}], waited on with ComputeOperationWaitTime"), COMPUTE_OPS, REST("firewalls/insert, firewalls/patch, firewalls/delete")],
        notes: "Google's firewall reference lists compute.networks.updatePolicy beside compute.firewalls.* for insert, patch and delete (the rule changes the network's policy).",
    }),
    row({
        type: "gcp:compute/routerNat:RouterNat",
        kind: "resource",
        usedBy: "components/network.ts",
        via: "deployer-role",
        create: ["compute.routers.get", "compute.routers.update", REGION_OP],
        read: ["compute.routers.get"],
        update: ["compute.routers.get", "compute.routers.update", REGION_OP],
        delete: ["compute.routers.get", "compute.routers.update", REGION_OP],
        source: [tpg("compute/resource_compute_router_nat.go", "a NAT is a field of its router: GET the router, then PATCH projects/{p}/regions/{r}/routers/{router} on create, update and delete"), COMPUTE_OPS, REST("routers/patch")],
        notes: "natIpAllocateOption AUTO_ONLY: Google allocates the NAT addresses, the deployer reserves none.",
    }),
    row({
        type: "gcp:compute/globalAddress:GlobalAddress",
        kind: "resource",
        usedBy: "components/network.ts (private services range), components/networking.ts + statics.ts (load balancer IPs)",
        via: "deployer-role",
        create: ["compute.globalAddresses.create", "compute.globalAddresses.createInternal", "compute.networks.use", GLOBAL_OP, "compute.globalAddresses.get"],
        read: ["compute.globalAddresses.get"],
        update: ["compute.globalAddresses.setLabels", GLOBAL_OP],
        label: ["compute.globalAddresses.setLabels"],
        delete: ["compute.globalAddresses.delete", "compute.globalAddresses.deleteInternal", GLOBAL_OP],
        unverified: ["compute.networks.use"],
        source: [
            tpg(
                "compute/resource_compute_global_address.go",
                "Create POSTs …/global/addresses, waits, then, when effective_labels is not empty (the attribution label makes it so), Reads and POSTs …/addresses/{name}/setLabels: \"Labels cannot be set in a create. We'll have to set them here.\"",
            ),
            ATTRIBUTION,
            REST("globalAddresses/insert (create or createInternal), globalAddresses/setLabels, globalAddresses/delete (delete or deleteInternal)"),
            FIELD_USE,
        ],
        notes: "The VPC_PEERING range is INTERNAL (createInternal/deleteInternal), the load balancer IPs EXTERNAL (create/delete).",
    }),
    row({
        type: "gcp:compute/address:Address",
        kind: "resource",
        usedBy: "not used by the program today; kept so a regional address cannot be added without its setLabels",
        via: "deployer-role",
        create: ["compute.addresses.create", "compute.addresses.createInternal", REGION_OP, "compute.addresses.get"],
        read: ["compute.addresses.get"],
        update: ["compute.addresses.setLabels", REGION_OP],
        label: ["compute.addresses.setLabels"],
        delete: ["compute.addresses.delete", "compute.addresses.deleteInternal", REGION_OP],
        source: [
            tpg("compute/resource_compute_address.go", "Create POSTs …/regions/{r}/addresses, waits, Reads, then POSTs …/addresses/{name}/setLabels (\"Labels cannot be set in a create\")"),
            ATTRIBUTION,
            REST("addresses/insert, addresses/setLabels, addresses/delete"),
        ],
    }),
    row({
        type: "gcp:servicenetworking/connection:Connection",
        kind: "resource",
        usedBy: "components/network.ts",
        via: "deployer-role",
        create: ["servicenetworking.services.addPeering", "servicenetworking.operations.get", "resourcemanager.projects.get", "servicenetworking.services.get"],
        read: ["servicenetworking.services.get", "resourcemanager.projects.get"],
        update: ["servicenetworking.services.addPeering", "servicenetworking.operations.get", "resourcemanager.projects.get"],
        delete: [],
        destroyOnly: [
            {
                permission: "servicenetworking.services.deleteConnection",
                why: "the program sets deletionPolicy ABANDON, so neither a destroy nor a replacement calls connections.deleteConnection; removing the private services connection (which would cut Cloud SQL and Memorystore off) is left to a human",
            },
        ],
        unverified: ["servicenetworking.services.addPeering"],
        source: [
            tpg(
                "servicenetworking/resource_service_networking_connection.go",
                "RetrieveServiceNetworkingNetworkName GETs the project (Projects.Get, for its number); Create calls Services.Connections.Create and waits on the operation (service_networking_operation_hw.go: Operations.Get), then Read calls Connections.List; Update calls Connections.Patch; Delete returns early for deletion_policy ABANDON",
            ),
            "iann0036/iam-dataset gcp/map.json: services.connections.list → servicenetworking.services.get, operations.get → servicenetworking.operations.get, connections.deleteConnection → servicenetworking.services.deleteConnection",
            "https://cloud.google.com/service-infrastructure/docs/service-networking/reference/rest/v1/services.connections/create (requires servicenetworking.services.addPeering on the parent; not in the crawl) and roles/servicenetworking.networksAdmin",
            "iann0036/iam-dataset gcp/map.json: cloudresourcemanager.projects.get → resourcemanager.projects.get",
        ],
        notes:
            "The VPC peering itself is made by the Service Networking service agent (roles/servicenetworking.serviceAgent holds compute.networks.addPeering), so the deployer no longer gets compute.networks.addPeering/removePeering.",
    }),

    // --- components/statics.ts (CDN) + networking.ts --------------------------------------------
    row({
        type: "gcp:compute/backendBucket:BackendBucket",
        kind: "resource",
        usedBy: "components/statics.ts",
        via: "deployer-role",
        create: ["compute.backendBuckets.create", GLOBAL_OP, "compute.backendBuckets.setSecurityPolicy", "compute.securityPolicies.use"],
        read: ["compute.backendBuckets.get"],
        update: ["compute.backendBuckets.update", GLOBAL_OP, "compute.backendBuckets.setSecurityPolicy", "compute.securityPolicies.use"],
        delete: ["compute.backendBuckets.delete", GLOBAL_OP],
        unverified: ["compute.backendBuckets.setSecurityPolicy", "compute.securityPolicies.use"],
        source: [
            tpg("compute/resource_compute_backend_bucket.go", "POST/GET/PUT/DELETE projects/{p}/global/backendBuckets[/{name}]; with edge_security_policy (components/edge.ts sets it when edge.armor deny-lists and the CDN are on) a POST …/backendBuckets/{name}/setEdgeSecurityPolicy after create and on change"),
            COMPUTE_OPS,
            REST("backendBuckets/insert, backendBuckets/update, backendBuckets/delete"),
            "compute.backendBuckets.setSecurityPolicy and compute.securityPolicies.use: the permission names of setting a policy on a backend bucket, as in iann0036/iam-dataset gcp/roles (compute.securityAdmin holds securityPolicies.use); the method-to-permission mapping of setEdgeSecurityPolicy was not read from Google's reference",
        ],
    }),
    row({
        type: "gcp:compute/managedSslCertificate:ManagedSslCertificate",
        kind: "resource",
        usedBy: "components/statics.ts",
        via: "deployer-role",
        create: ["compute.sslCertificates.create", GLOBAL_OP],
        read: ["compute.sslCertificates.get"],
        delete: ["compute.sslCertificates.delete", GLOBAL_OP],
        source: [tpg("compute/resource_compute_managed_ssl_certificate.go", "POST/GET/DELETE projects/{p}/global/sslCertificates[/{name}]; Update is a no-op (every field forces replacement)"), COMPUTE_OPS, REST("sslCertificates/insert, sslCertificates/delete")],
    }),
    row({
        type: "gcp:compute/sSLPolicy:SSLPolicy",
        kind: "resource",
        usedBy: "components/statics.ts, components/networking.ts",
        via: "deployer-role",
        create: ["compute.sslPolicies.create", GLOBAL_OP],
        read: ["compute.sslPolicies.get"],
        update: ["compute.sslPolicies.update", "compute.sslPolicies.get", GLOBAL_OP],
        delete: ["compute.sslPolicies.delete", GLOBAL_OP],
        source: [tpg("compute/resource_compute_ssl_policy.go", "POST/GET/PATCH/DELETE projects/{p}/global/sslPolicies[/{name}]"), COMPUTE_OPS, REST("sslPolicies/insert, sslPolicies/patch, sslPolicies/delete")],
        notes: "The ingress' SSL policy (networking.ts) is attached by the GKE Ingress controller through the FrontendConfig, not by the deployer.",
    }),
    row({
        type: "gcp:compute/uRLMap:URLMap",
        kind: "resource",
        usedBy: "components/statics.ts",
        via: "deployer-role",
        create: ["compute.urlMaps.create", "compute.backendBuckets.use", GLOBAL_OP],
        read: ["compute.urlMaps.get"],
        update: ["compute.urlMaps.update", "compute.backendBuckets.use", GLOBAL_OP],
        delete: ["compute.urlMaps.delete", GLOBAL_OP],
        unverified: ["compute.backendBuckets.use"],
        source: [tpg("compute/resource_compute_url_map.go", "POST/GET/PUT/DELETE projects/{p}/global/urlMaps[/{name}]"), COMPUTE_OPS, REST("urlMaps/insert, urlMaps/update, urlMaps/delete"), FIELD_USE],
    }),
    row({
        type: "gcp:compute/targetHttpProxy:TargetHttpProxy",
        kind: "resource",
        usedBy: "components/statics.ts",
        via: "deployer-role",
        create: ["compute.targetHttpProxies.create", "compute.urlMaps.use", GLOBAL_OP],
        read: ["compute.targetHttpProxies.get"],
        update: ["compute.targetHttpProxies.setUrlMap", "compute.urlMaps.use", GLOBAL_OP],
        delete: ["compute.targetHttpProxies.delete", GLOBAL_OP],
        unverified: ["compute.urlMaps.use"],
        source: [tpg("compute/resource_compute_target_http_proxy.go", "POST/GET/DELETE …/global/targetHttpProxies; update POSTs projects/{p}/targetHttpProxies/{name}/setUrlMap"), COMPUTE_OPS, REST("targetHttpProxies/insert, targetHttpProxies/setUrlMap"), FIELD_USE],
    }),
    row({
        type: "gcp:compute/targetHttpsProxy:TargetHttpsProxy",
        kind: "resource",
        usedBy: "components/statics.ts",
        via: "deployer-role",
        create: ["compute.targetHttpsProxies.create", "compute.urlMaps.use", "compute.sslCertificates.get", "compute.sslPolicies.use", GLOBAL_OP],
        read: ["compute.targetHttpsProxies.get"],
        update: [
            "compute.targetHttpsProxies.setUrlMap",
            "compute.targetHttpsProxies.setSslCertificates",
            "compute.targetHttpsProxies.setSslPolicy",
            "compute.urlMaps.use",
            "compute.sslCertificates.get",
            "compute.sslPolicies.use",
            GLOBAL_OP,
        ],
        delete: ["compute.targetHttpsProxies.delete", GLOBAL_OP],
        unverified: ["compute.urlMaps.use", "compute.sslCertificates.get", "compute.sslPolicies.use"],
        source: [
            tpg("compute/resource_compute_target_https_proxy.go", "POST/GET/DELETE …/global/targetHttpsProxies; update POSTs …/setUrlMap, …/setSslCertificates, …/setSslPolicy (and setQuicOverride/setCertificateMap/PATCH for fields the program does not set)"),
            COMPUTE_OPS,
            REST("targetHttpsProxies/insert, setUrlMap, setSslCertificates, setSslPolicy"),
            FIELD_USE,
        ],
    }),
    row({
        type: "gcp:compute/globalForwardingRule:GlobalForwardingRule",
        kind: "resource",
        usedBy: "components/statics.ts",
        via: "deployer-role",
        create: ["compute.globalForwardingRules.create", "compute.targetHttpProxies.use", "compute.targetHttpsProxies.use", "compute.globalAddresses.use", GLOBAL_OP, "compute.globalForwardingRules.get"],
        read: ["compute.globalForwardingRules.get"],
        update: [
            "compute.globalForwardingRules.setTarget",
            "compute.globalForwardingRules.setLabels",
            "compute.globalForwardingRules.update",
            "compute.targetHttpProxies.use",
            "compute.targetHttpsProxies.use",
            GLOBAL_OP,
        ],
        label: ["compute.globalForwardingRules.setLabels"],
        delete: ["compute.globalForwardingRules.delete", GLOBAL_OP],
        unverified: ["compute.targetHttpProxies.use", "compute.targetHttpsProxies.use", "compute.globalAddresses.use"],
        source: [
            tpg(
                "compute/resource_compute_global_forwarding_rule.go",
                "Create POSTs …/global/forwardingRules, waits, then (effective_labels not empty) Reads and POSTs …/forwardingRules/{name}/setLabels (\"Labels cannot be set in a create\"); update: setLabels, setTarget, PATCH (load_balancing_scheme migration)",
            ),
            ATTRIBUTION,
            COMPUTE_OPS,
            REST("globalForwardingRules/insert, setLabels, setTarget, patch, delete"),
            FIELD_USE,
        ],
    }),

    // --- components/cluster.ts ----------------------------------------------------------------
    row({
        type: "gcp:container/cluster:Cluster",
        kind: "resource",
        usedBy: "components/cluster.ts",
        via: "deployer-role",
        create: ["container.clusters.create", "container.operations.get", "container.clusters.get", "compute.instanceGroupManagers.list"],
        read: ["container.clusters.get", "compute.instanceGroupManagers.list"],
        update: ["container.clusters.update", "container.operations.get"],
        // On the nodes' service account only: roles/iam.serviceAccountUser granted there by the IAM step.
        onServiceAccount: ["iam.serviceAccounts.actAs"],
        label: ["container.clusters.update"],
        delete: ["container.clusters.delete", "container.operations.get"],
        source: [
            tpg("container/resource_container_cluster.go", "Projects.Locations.Clusters.Create/Get/Update/SetResourceLabels/SetLegacyAbac/SetMaintenancePolicy/Delete; Read flattens node_pool through flattenClusterNodePools"),
            tpg(
                "container/resource_container_node_pool.go",
                "flattenNodePool → instanceGroupManagerCache.refreshIfNeeded → compute InstanceGroupManagers.List(project, zone); the Autopilot skip is `strings.HasPrefix(\"gk3\", name)` (arguments reversed), so gk3- IGMs are listed too",
            ),
            tpg("container/container_operation.go", "ContainerOperationWaiter: Projects.Locations.Operations.Get"),
            "iann0036/iam-dataset gcp/map.json: container clusters.create/get/update/delete, setResourceLabels → container.clusters.update, operations.get → container.operations.get, compute.instanceGroupManagers.list",
            "https://cloud.google.com/iam/docs/attach-service-accounts (attaching a service account to a resource, here autoProvisioningDefaults.serviceAccount, needs iam.serviceAccounts.actAs on it)",
            "https://cloud.google.com/kubernetes-engine/docs/reference/api-permissions (projects.locations.clusters.create: container.clusters.create on the containing project, and iam.serviceAccounts.actAs on the specified service account)",
        ],
        notes: "roles/container.developer has container.clusters.get/connect but not container.operations.get, hence both here. actAs is checked on the nodes' service account, so it is granted there (the IAM step's roles/iam.serviceAccountUser for the stack's deployer), never project-wide.",
    }),
    row({
        type: "gcp:binaryauthorization/policy:Policy",
        kind: "resource",
        usedBy: "components/cluster.ts, binaryAuthorization.ts (only with security.binaryAuthorization on)",
        via: "deployer-role",
        // A project singleton: create and update PUT projects/{project}/policy, delete PUTs Google's
        // default policy back (allow every image).
        create: ["binaryauthorization.policy.update", "binaryauthorization.policy.get"],
        read: ["binaryauthorization.policy.get"],
        update: ["binaryauthorization.policy.update", "binaryauthorization.policy.get"],
        delete: ["binaryauthorization.policy.update"],
        source: [
            tpg("binaryauthorization/resource_binary_authorization_policy.go", "Create/Update: PUT projects/{{project}}/policy, Read: GET, Delete: PUT DefaultBinaryAuthorizationPolicy (ALWAYS_ALLOW)"),
            "iann0036/iam-dataset gcp/map.json: binaryauthorization.projects.getPolicy → binaryauthorization.policy.get, projects.updatePolicy → binaryauthorization.policy.update; gcp/roles/binaryauthorization.policyEditor.json holds both",
        ],
        notes: "The deployer can loosen the policy it writes; so can it push any image to the allowlisted repository. Binary Authorization here keeps Kubernetes identities that can create pods (not CI) to the stack's images (docs/architecture.md, \"Binary Authorization\").",
    }),
    row({
        type: "gcp:kms/keyRing:KeyRing",
        kind: "resource",
        usedBy: "components/cluster.ts",
        via: "deployer-role",
        create: ["cloudkms.keyRings.create"],
        read: ["cloudkms.keyRings.get"],
        source: [tpg("kms/resource_kms_key_ring.go", "POST …/keyRings?keyRingId=, GET; Delete only forgets it (\"KMS KeyRing resources cannot be deleted from Google Cloud\")"), "iann0036/iam-dataset gcp/map.json: keyRings.create/get"],
    }),
    row({
        type: "gcp:kms/cryptoKey:CryptoKey",
        kind: "resource",
        usedBy: "components/cluster.ts",
        via: "deployer-role",
        create: ["cloudkms.cryptoKeys.create"],
        read: ["cloudkms.cryptoKeys.get"],
        update: ["cloudkms.cryptoKeys.update", "cloudkms.cryptoKeys.get"],
        label: ["cloudkms.cryptoKeys.update"],
        destroyOnly: [
            { permission: "cloudkms.cryptoKeyVersions.list", why: "resourceKMSCryptoKeyDelete → clearCryptoKeyVersions lists the versions to destroy them" },
            {
                permission: "cloudkms.cryptoKeyVersions.destroy",
                why: "deleting a CryptoKey destroys all its versions (kms_utils.go clearCryptoKeyVersions); CI must never be able to destroy key material, which would also reach the stacks' secrets keys. The key is protected where deletion protection is on; a stack is destroyed by a human",
            },
        ],
        source: [
            tpg("kms/resource_kms_crypto_key.go", "POST …/cryptoKeys?cryptoKeyId=, GET, PATCH; Delete (deletion_policy DELETE, the default) calls clearCryptoKeyVersions and disableCryptoKeyRotation (kms_utils.go: CryptoKeyVersions.List/Destroy, CryptoKeys.Patch)"),
            "iann0036/iam-dataset gcp/map.json: cryptoKeys.create/get/patch, cryptoKeyVersions.list/destroy",
        ],
        notes: "Labels (incl. the attribution label) are sent in the create request.",
    }),
    row({
        type: "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember",
        kind: "resource",
        usedBy: "components/cluster.ts (the GKE service agent on the Secrets key)",
        via: "deployer-resource-iam",
        create: ["cloudkms.cryptoKeys.getIamPolicy", "cloudkms.cryptoKeys.setIamPolicy"],
        read: ["cloudkms.cryptoKeys.getIamPolicy"],
        update: ["cloudkms.cryptoKeys.getIamPolicy", "cloudkms.cryptoKeys.setIamPolicy"],
        delete: ["cloudkms.cryptoKeys.getIamPolicy", "cloudkms.cryptoKeys.setIamPolicy"],
        source: ["hashicorp/terraform-provider-google google/tpgiamresource/resource_iam_member.go (read-modify-write of the key's policy)", "iann0036/iam-dataset gcp/map.json: cryptoKeys.getIamPolicy/setIamPolicy"],
    }),
    row({
        type: "gcp:serviceaccount/account:Account",
        kind: "resource",
        usedBy: "iam/stackIam.ts (the main program only looks them up: getAccount)",
        via: "iam-step",
        create: ["iam.serviceAccounts.create", "iam.serviceAccounts.get"],
        read: ["iam.serviceAccounts.get"],
        update: ["iam.serviceAccounts.update", "iam.serviceAccounts.get"],
        delete: ["iam.serviceAccounts.delete"],
        source: [tpg("resourcemanager/resource_google_service_account.go", "ServiceAccounts.Create, then polls ServiceAccounts.Get until visible; Patch; Delete (Enable/Disable only when `disabled` changes)"), "iann0036/iam-dataset gcp/map.json: serviceAccounts.create/get/patch/delete"],
    }),
    row({
        type: "gcp:serviceaccount/iAMMember:IAMMember",
        kind: "resource",
        usedBy: "components/workload.ts (Workload Identity bindings, media self-signing, on the stack's own pod accounts), iam/stackIam.ts",
        via: "pod-binder",
        create: ["iam.serviceAccounts.getIamPolicy", "iam.serviceAccounts.setIamPolicy"],
        read: ["iam.serviceAccounts.getIamPolicy"],
        update: ["iam.serviceAccounts.getIamPolicy", "iam.serviceAccounts.setIamPolicy"],
        delete: ["iam.serviceAccounts.getIamPolicy", "iam.serviceAccounts.setIamPolicy"],
        source: ["hashicorp/terraform-provider-google google/tpgiamresource/resource_iam_member.go", "iann0036/iam-dataset gcp/map.json: serviceAccounts.getIamPolicy/setIamPolicy"],
    }),
    row({
        type: "gcp:projects/iAMMember:IAMMember",
        kind: "resource",
        usedBy: "iam/stackIam.ts (roles/cloudsql.client, the nodes' roles/container.defaultNodeServiceAccount)",
        via: "iam-step",
        create: ["resourcemanager.projects.getIamPolicy", "resourcemanager.projects.setIamPolicy"],
        read: ["resourcemanager.projects.getIamPolicy"],
        update: ["resourcemanager.projects.getIamPolicy", "resourcemanager.projects.setIamPolicy"],
        delete: ["resourcemanager.projects.getIamPolicy", "resourcemanager.projects.setIamPolicy"],
        source: ["hashicorp/terraform-provider-google google/tpgiamresource/resource_iam_member.go", "iann0036/iam-dataset gcp/map.json: cloudresourcemanager.projects.getIamPolicy/setIamPolicy"],
        notes: "Only the IAM step changes the project IAM policy; its role's binding allows granting only GRANTABLE_PROJECT_ROLES (deployerRoles.ts). The deployer has no resourcemanager.projects.setIamPolicy.",
    }),
    row({
        type: "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember",
        kind: "resource",
        usedBy: "iam/stackIam.ts (the nodes' pull on the images' repositories)",
        via: "iam-step",
        create: ["artifactregistry.repositories.getIamPolicy", "artifactregistry.repositories.setIamPolicy"],
        read: ["artifactregistry.repositories.getIamPolicy"],
        update: ["artifactregistry.repositories.getIamPolicy", "artifactregistry.repositories.setIamPolicy"],
        delete: ["artifactregistry.repositories.getIamPolicy", "artifactregistry.repositories.setIamPolicy"],
        source: [tpg("artifactregistry/iam_artifact_registry_repository.go", "{ArtifactRegistryBasePath}projects/{p}/locations/{l}/repositories/{r}:getIamPolicy / :setIamPolicy"), "iann0036/iam-dataset gcp/map.json: repositories.getIamPolicy/setIamPolicy"],
        notes: "The IAM step's runner gets these on the image repository only (bootstrap/imageRegistry.ts grantIamManagement); no CI identity has them.",
    }),

    // --- components/database.ts ----------------------------------------------------------------
    row({
        type: "gcp:sql/databaseInstance:DatabaseInstance",
        kind: "resource",
        usedBy: "components/database.ts",
        via: "deployer-role",
        create: ["cloudsql.instances.create", "cloudsql.instances.get", "cloudsql.users.list", "resourcemanager.projects.get", "servicenetworking.services.get"],
        read: ["cloudsql.instances.get"],
        update: ["cloudsql.instances.update", "cloudsql.instances.get"],
        delete: ["cloudsql.instances.delete", "cloudsql.instances.get"],
        source: [
            tpg(
                "sql/resource_sql_database_instance.go",
                "Instances.Insert, waited on with sqladmin_operation.go (Operations.Get); right after a create of a primary it calls Users.List to delete a 'root'@'%' user (MySQL only, but the list runs for every engine); with a private network, sqlDatabaseInstanceServiceNetworkPrecheck GETs the project and lists service networking connections (failures are logged and skipped); Instances.Patch/Update; Instances.Delete",
            ),
            SQL_TABLE,
        ],
        notes: "settings.userLabels (and the attribution label) travel in the insert/patch body.",
    }),
    row({
        type: "gcp:sql/database:Database",
        kind: "resource",
        usedBy: "components/database.ts",
        via: "deployer-role",
        create: ["cloudsql.databases.create", "cloudsql.instances.get"],
        read: ["cloudsql.databases.get", "cloudsql.instances.get"],
        update: ["cloudsql.databases.update", "cloudsql.instances.get"],
        delete: ["cloudsql.databases.delete", "cloudsql.instances.get"],
        source: [tpg("sql/resource_sql_database.go", "POST/GET/PUT/DELETE projects/{p}/instances/{i}/databases[/{name}], Read also GETs the instance; operations waited on"), SQL_TABLE],
    }),
    row({
        type: "gcp:sql/user:User",
        kind: "resource",
        usedBy: "components/database.ts",
        via: "deployer-role",
        create: ["cloudsql.users.create", "cloudsql.instances.get"],
        read: ["cloudsql.users.list", "cloudsql.instances.get"],
        update: ["cloudsql.users.update", "cloudsql.instances.get"],
        delete: ["cloudsql.users.delete", "cloudsql.instances.get"],
        source: [tpg("sql/resource_sql_user.go", "Users.Insert (after Instances.Get), Read: Instances.Get + Users.List, Users.Update, Users.Delete (skipped for deletion_policy ABANDON)"), SQL_TABLE],
        notes: "The program sets deletionPolicy ABANDON, so users.delete is not called today; it stays for a future rename of the user.",
    }),

    // --- components/cache.ts (mode memorystore) -------------------------------------------------
    row({
        type: "gcp:redis/instance:Instance",
        kind: "resource",
        usedBy: "components/cache.ts",
        via: "deployer-role",
        create: ["redis.instances.create", "redis.operations.get", "redis.instances.get", "redis.instances.getAuthString"],
        read: ["redis.instances.get", "redis.instances.getAuthString"],
        update: ["redis.instances.update", "redis.instances.upgrade", "redis.operations.get"],
        label: ["redis.instances.update"],
        delete: ["redis.instances.delete", "redis.operations.get"],
        source: [
            tpg(
                "redis/resource_redis_instance.go",
                "POST …/instances?instanceId=, waited on with redis_operation.go (GET of the operation name); Read's decoder GETs …/instances/{name}/authString whenever authEnabled is true and fails the read without it; PATCH; POST …:upgrade when redis_version changes; DELETE",
            ),
            "iann0036/iam-dataset gcp/map.json: instances.create/get/patch (redis.instances.update)/upgrade/delete/getAuthString, operations.get → redis.operations.get",
        ],
    }),

    // --- components/statics.ts (buckets) --------------------------------------------------------
    row({
        type: "gcp:storage/bucket:Bucket",
        kind: "resource",
        usedBy: "components/statics.ts",
        via: "deployer-role",
        create: ["storage.buckets.create", "storage.buckets.get"],
        read: ["storage.buckets.get"],
        update: ["storage.buckets.update", "storage.buckets.get"],
        label: ["storage.buckets.update"],
        delete: ["storage.buckets.delete", "storage.objects.list", "storage.objects.delete"],
        source: [
            tpg(
                "storage/resource_storage_bucket.go",
                "Buckets.Insert then polls Buckets.Get; Buckets.Patch; Delete with force_destroy lists all object versions (Objects.List) and deletes them (Objects.Delete) before Buckets.Delete; listing Anywhere Caches (storage.anywhereCaches.list) is tried and its errors ignored",
            ),
            "iann0036/iam-dataset gcp/map.json: buckets.insert/get/patch/delete, objects.list/delete",
        ],
        notes: "Object deletion is kept: statics.forceDestroy stacks (staging) delete non-empty buckets on replacement too.",
    }),
    row({
        type: "gcp:storage/bucketIAMMember:BucketIAMMember",
        kind: "resource",
        usedBy: "components/statics.ts, media.ts, accessLogs.ts",
        via: "deployer-resource-iam",
        create: ["storage.buckets.getIamPolicy", "storage.buckets.setIamPolicy"],
        read: ["storage.buckets.getIamPolicy"],
        update: ["storage.buckets.getIamPolicy", "storage.buckets.setIamPolicy"],
        delete: ["storage.buckets.getIamPolicy", "storage.buckets.setIamPolicy"],
        source: [tpg("storage/iam_storage_bucket.go", "GET/PUT b/{bucket}/iam"), "iann0036/iam-dataset gcp/map.json: buckets.getIamPolicy/setIamPolicy"],
    }),

    // --- components/edge.ts, dns.ts, monitoring.ts --------------------------------------------------
    row({
        type: "gcp:compute/securityPolicy:SecurityPolicy",
        kind: "resource",
        usedBy: "components/edge.ts (Cloud Armor backend policy; edge policy for the CDN backend bucket)",
        via: "deployer-role",
        create: ["compute.securityPolicies.create", GLOBAL_OP, "compute.securityPolicies.get", "compute.securityPolicies.setLabels"],
        read: ["compute.securityPolicies.get"],
        update: ["compute.securityPolicies.update", "compute.securityPolicies.setLabels", GLOBAL_OP],
        label: ["compute.securityPolicies.setLabels"],
        delete: ["compute.securityPolicies.delete", GLOBAL_OP],
        source: [
            `hashicorp/terraform-provider-google@029bdc0674f3 google/services/compute/resource_compute_security_policy.go: Create calls SecurityPolicies.Insert, waits (ComputeOperationWaitTime), then, with effective labels (the attribution label), Reads and calls SecurityPolicies.SetLabels ("Labels cannot be set in a create"); Update calls SetLabels, Patch, and AddRule / PatchRule / RemoveRule per changed rule priority; Delete calls SecurityPolicies.Delete`,
            COMPUTE_OPS,
            REST("securityPolicies/insert, patch, addRule, patchRule, removeRule (compute.securityPolicies.update), setLabels, delete"),
            "iann0036/iam-dataset gcp/roles/compute.securityAdmin.json: compute.securityPolicies.{create,get,update,setLabels,delete,use}",
        ],
        notes: "GKE's Ingress controller, not the deployer, attaches the backend policy named in the BackendConfig (it runs as GKE's service agent).",
    }),
    row({
        type: "gcp:dns/managedZone:ManagedZone",
        kind: "resource",
        usedBy: "components/network.ts (the private zone googleapis.com of a created VPC: Private Google Access)",
        via: "deployer-role",
        create: ["dns.managedZones.create", "dns.networks.bindPrivateDNSZone", "dns.managedZones.get"],
        read: ["dns.managedZones.get"],
        update: ["dns.managedZones.update", "dns.networks.bindPrivateDNSZone", "dns.managedZones.get"],
        delete: ["dns.managedZones.delete"],
        source: [
            tpg("dns/resource_dns_managed_zone.go", "ManagedZones.Create, Read: ManagedZones.Get, Update: ManagedZones.Patch (visibility config), Delete: ManagedZones.Delete (record sets are the program's own resources, deleted first)"),
            "https://cloud.google.com/dns/docs/access-control (creating a private zone needs dns.managedZones.create and, on each network it is visible to, dns.networks.bindPrivateDNSZone)",
            "iann0036/iam-dataset gcp/roles/dns.admin.json: dns.managedZones.{create,delete,get,update}, dns.networks.bindPrivateDNSZone",
        ],
    }),
    row({
        type: "gcp:dns/recordSet:RecordSet",
        kind: "resource",
        usedBy: "components/dns.ts (only with dns.managedZone), components/network.ts (the googleapis.com records of Private Google Access, in the stack's own private zone)",
        via: "deployer-role",
        // Create is authoritative: the change that adds the record also deletes any record set of the
        // same name and type already in the zone, which needs dns.resourceRecordSets.delete.
        create: ["dns.resourceRecordSets.list", "dns.changes.create", "dns.resourceRecordSets.create", "dns.resourceRecordSets.delete", "dns.changes.get"],
        read: ["dns.resourceRecordSets.list"],
        update: ["dns.changes.create", "dns.resourceRecordSets.update", "dns.resourceRecordSets.create", "dns.resourceRecordSets.delete", "dns.changes.get"],
        delete: ["dns.changes.create", "dns.resourceRecordSets.delete", "dns.changes.get"],
        source: [
            tpg(
                "dns/resource_dns_record_set.go",
                "resourceDnsRecordSetCreate lists the zone's record sets (ResourceRecordSets.List) and adds every set of the same name and type to the change's deletions (\"The terraform provider is authoritative, so what we do here is check if any records that we are trying to create already exist and make sure we delete them, before adding in the changes requested\"), then Changes.Create and waits on Changes.Get; Read lists by name and type; Update and Delete are Changes.Create with deletions/additions",
            ),
            "iann0036/iam-dataset gcp/roles/dns.admin.json: dns.changes.{create,get}, dns.resourceRecordSets.{create,delete,list,update}",
            "https://cloud.google.com/dns/docs/access-control (dns.changes.create: to create a record, dns.changes.create and dns.resourceRecordSets.create; to update, …update; to delete, …delete) and https://cloud.google.com/dns/docs/reference/v1/changes/create (\"additional permissions are checked depending on the specific additions or deletions contained in the payload\")",
        ],
        notes: "With dns.project set to another project, these permissions are needed there (grant roles/dns.admin on the zone's project, or this row's permissions in a custom role), not in the stack's project.",
    }),
    row({
        type: "gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig",
        kind: "resource",
        usedBy: "components/monitoring.ts",
        via: "deployer-role",
        create: ["monitoring.uptimeCheckConfigs.create", "monitoring.uptimeCheckConfigs.get"],
        read: ["monitoring.uptimeCheckConfigs.get"],
        update: ["monitoring.uptimeCheckConfigs.update"],
        delete: ["monitoring.uptimeCheckConfigs.delete"],
        source: [
            tpg("monitoring/resource_monitoring_uptime_check_config.go", "POST v3/projects/{p}/uptimeCheckConfigs, GET/PATCH/DELETE v3/{name}; synchronous, no operation"),
            "iann0036/iam-dataset gcp/roles/monitoring.editor.json: monitoring.uptimeCheckConfigs.{create,get,update,delete}",
        ],
    }),
    row({
        type: "gcp:monitoring/alertPolicy:AlertPolicy",
        kind: "resource",
        usedBy: "components/monitoring.ts",
        via: "deployer-role",
        create: ["monitoring.alertPolicies.create", "monitoring.alertPolicies.get"],
        read: ["monitoring.alertPolicies.get"],
        update: ["monitoring.alertPolicies.update"],
        delete: ["monitoring.alertPolicies.delete"],
        source: [
            tpg("monitoring/resource_monitoring_alert_policy.go", "POST v3/projects/{p}/alertPolicies, GET/PATCH/DELETE v3/{name} (a per-project mutex in the provider, no operation)"),
            "iann0036/iam-dataset gcp/roles/monitoring.editor.json: monitoring.alertPolicies.{create,get,update,delete}",
        ],
    }),
    row({
        type: "gcp:monitoring/notificationChannel:NotificationChannel",
        kind: "resource",
        usedBy: "components/monitoring.ts",
        via: "deployer-role",
        create: ["monitoring.notificationChannels.create", "monitoring.notificationChannels.get"],
        read: ["monitoring.notificationChannels.get"],
        update: ["monitoring.notificationChannels.update"],
        delete: ["monitoring.notificationChannels.delete"],
        source: [
            tpg("monitoring/resource_monitoring_notification_channel.go", "POST v3/projects/{p}/notificationChannels, GET/PATCH/DELETE v3/{name}"),
            "iann0036/iam-dataset gcp/roles/monitoring.editor.json: monitoring.notificationChannels.{create,get,update,delete}",
        ],
    }),
    row({
        type: "gcp:monitoring/dashboard:Dashboard",
        kind: "resource",
        usedBy: "components/monitoring.ts",
        via: "deployer-role",
        create: ["monitoring.dashboards.create", "monitoring.dashboards.get"],
        read: ["monitoring.dashboards.get"],
        update: ["monitoring.dashboards.update"],
        delete: ["monitoring.dashboards.delete"],
        source: [
            tpg("monitoring/resource_monitoring_dashboard.go", "POST v1/projects/{p}/dashboards, GET/PATCH/DELETE v1/{name} with the dashboard JSON"),
            "iann0036/iam-dataset gcp/roles/monitoring.editor.json: monitoring.dashboards.{create,get,update,delete}",
        ],
    }),

    // --- provider functions (get…Output) ------------------------------------------------------
    row({
        type: "gcp:organizations/getProject:getProject",
        kind: "invoke",
        usedBy: "components/cluster.ts",
        via: "deployer-role",
        read: ["resourcemanager.projects.get"],
        source: [
            tpg("resourcemanager/resource_google_project.go", "resourceGoogleProjectRead: Projects.Get, then cloudbilling Projects.GetBillingInfo, whose error fails the read unless the Billing API is disabled"),
            "https://cloud.google.com/billing/docs/reference/rest/v1/projects/getBillingInfo (\"must have the resourcemanager.projects.get permission for the project\")",
        ],
    }),
    row({
        type: "gcp:serviceaccount/getAccount:getAccount",
        kind: "invoke",
        usedBy: "components/workload.ts, workers.ts, cluster.ts (the accounts the IAM step created)",
        via: "deployer-role",
        read: ["iam.serviceAccounts.get"],
        source: [
            tpg("resourcemanager/data_source_google_service_account.go", "dataSourceGoogleServiceAccountRead: Projects.ServiceAccounts.Get(projects/{p}/serviceAccounts/{email})"),
            "iann0036/iam-dataset gcp/map.json: serviceAccounts.get → iam.serviceAccounts.get",
        ],
    }),
    row({
        type: "gcp:compute/getNetwork:getNetwork",
        kind: "invoke",
        usedBy: "components/network.ts (mode existing)",
        via: "deployer-role",
        read: ["compute.networks.get"],
        source: [tpg("compute/data_source_google_compute_network.go", "GET projects/{p}/global/networks/{name}"), REST("networks/get")],
    }),
    row({
        type: "gcp:compute/getSubnetwork:getSubnetwork",
        kind: "invoke",
        usedBy: "components/network.ts (mode existing)",
        via: "deployer-role",
        read: ["compute.subnetworks.get"],
        source: [tpg("compute/data_source_google_compute_subnetwork.go", "GET projects/{p}/regions/{r}/subnetworks/{name}"), REST("subnetworks/get")],
    }),
    row({
        type: "gcp:compute/getGlobalAddress:getGlobalAddress",
        kind: "invoke",
        usedBy: "components/network.ts (mode existing)",
        via: "deployer-role",
        read: ["compute.globalAddresses.get"],
        source: [tpg("compute/data_source_google_compute_global_address.go", "GlobalAddresses.Get"), REST("globalAddresses/get")],
    }),
    row({
        type: "gcp:dns/getRecordSets:getRecordSets",
        kind: "invoke",
        usedBy: "components/dns.ts (only with dns.managedZone: the record sets already at each name, judged before the record set is created)",
        via: "deployer-role",
        read: ["dns.resourceRecordSets.list"],
        source: [
            tpg("dns/data_source_dns_record_sets.go", "dataSourceDnsRecordSetsRead calls ResourceRecordSets.List(project, zone).Name(name) over all pages"),
            "https://cloud.google.com/dns/docs/reference/rest/v1/resourceRecordSets/list (IAM: dns.resourceRecordSets.list)",
        ],
        notes: "With dns.project set to another project, needed there (the RecordSet row's note).",
    }),
    row({
        type: "gcp:container/getCluster:getCluster",
        kind: "invoke",
        usedBy: "components/cluster.ts (mode existing)",
        via: "deployer-role",
        read: ["container.clusters.get", "compute.instanceGroupManagers.list"],
        source: [
            tpg("container/data_source_google_container_cluster.go", "datasourceContainerClusterRead calls resourceContainerClusterRead, which lists the node pools' instance group managers (see the Cluster row)"),
            "iann0036/iam-dataset gcp/map.json: clusters.get, instanceGroupManagers.list",
        ],
    }),

    // --- families of types --------------------------------------------------------------------
    row({
        type: "kubernetes:*",
        kind: "pattern",
        usedBy: "components/cluster.ts, workload.ts, cache.ts, networking.ts",
        via: "roles/container.developer",
        source: [
            "https://cloud.google.com/kubernetes-engine/docs/how-to/iam (roles/container.developer: Kubernetes API objects inside clusters, no RBAC or cluster administration)",
            "iann0036/iam-dataset gcp/roles/container.developer.json (checked per kind by tests/deployer-permissions.test.ts: kubernetesIamPermissions)",
        ],
        notes: "The kubeconfig authenticates with gke-gcloud-auth-plugin; container.clusters.get/connect come with the same role.",
    }),
    row({
        type: "random:*",
        kind: "pattern",
        usedBy: "components/database.ts, cache.ts",
        via: "none",
        source: ["@pulumi/random: computed locally by the provider, no cloud API"],
    }),
    row({
        type: "pulumi:providers:*",
        kind: "pattern",
        usedBy: "components/cluster.ts (kubernetes provider) and the default providers",
        via: "none",
        source: ["Provider resources only hold configuration; the calls they make are counted on the resources that use them"],
    }),
    row({
        type: "pulumi:pulumi:Stack",
        kind: "pattern",
        usedBy: "index.ts",
        via: "none",
        source: ["The stack root resource: no provider"],
    }),
    row({
        type: "django-platform-iam:*",
        kind: "pattern",
        usedBy: "iam/*.ts",
        via: "none",
        source: ["ComponentResources are grouping only: the engine calls no provider for them"],
    }),
    row({
        type: "django-platform:*",
        kind: "pattern",
        usedBy: "components/*.ts",
        via: "none",
        source: ["ComponentResources are grouping only: the engine calls no provider for them"],
    }),
];

// ---------------------------------------------------------------------------------------------
// Lookups.

/** The row for a type or invoke token: the exact row, else the longest matching `prefix*` row. */
export function rowFor(type: string, table: readonly PermissionRow[] = PERMISSION_TABLE): PermissionRow | undefined {
    const exact = table.find((r) => r.kind !== "pattern" && r.type === type);
    if (exact) {
        return exact;
    }
    return table
        .filter((r) => r.kind === "pattern" && (r.type.endsWith("*") ? type.startsWith(r.type.slice(0, -1)) : type === r.type))
        .sort((a, b) => b.type.length - a.type.length)[0];
}

/** Every permission of a row that a deploy may call (not the destroy-only ones). */
export function rowPermissions(r: PermissionRow): string[] {
    return [...new Set([...r.create, ...r.read, ...r.update, ...r.label, ...r.delete])].sort();
}

/** A `service.resource.verb` permission name, as IAM spells them. */
export const PERMISSION_NAME = /^[a-z][a-z0-9]*\.[a-z][A-Za-z0-9]*\.[a-z][A-Za-z0-9]*$/;

/** The types a program registers and the provider functions it invokes. */
export interface ProgramTypes {
    readonly resources: readonly string[];
    readonly invokes: readonly string[];
}

/** The permission set of one program (or of the union of its modes). */
export interface PermissionSet {
    /** Resource types and invoke tokens considered, sorted. */
    readonly types: string[];
    /** Types without a row: the table must be extended (the coverage test fails). */
    readonly missing: string[];
    /** The deployer's stack deploy role (bound on the stack's project, unconditionally). */
    readonly deployer: string[];
    /** The deployer's conditional role: IAM of the stack's own buckets and GKE Secrets key. */
    readonly resourceIam: string[];
    /** What the deployer needs on each pod service account (granted there by the IAM step). */
    readonly podBinder: string[];
    /** What the deployer needs on the nodes' service account (granted there by the IAM step). */
    readonly onServiceAccount: string[];
    /** Permissions of rows only the IAM step may use: a program that needs them cannot be deployed by CI. */
    readonly iamStep: string[];
    /** Predefined roles the types need (e.g. roles/container.developer for kubernetes:*). */
    readonly predefinedRoles: string[];
    /** Permissions only `pulumi destroy` needs, deliberately not granted. */
    readonly destroyOnly: DestroyOnly[];
    /** Read permissions (`pulumi preview --refresh` / `pulumi refresh`), for a read-only identity. */
    readonly read: string[];
}

/** Sorted, de-duplicated. */
const uniq = (items: Iterable<string>): string[] => [...new Set(items)].sort();

/** Computes the permission set of `types` from the table. */
export function permissionsFor(types: ProgramTypes, table: readonly PermissionRow[] = PERMISSION_TABLE): PermissionSet {
    const all = uniq([...types.resources, ...types.invokes]);
    const rows = all.map((t) => ({ type: t, row: rowFor(t, table) }));
    const present = rows.flatMap(({ row: r }) => (r ? [r] : []));
    const destroyOnly = new Map<string, DestroyOnly>();
    for (const r of present) {
        for (const d of r.destroyOnly) {
            destroyOnly.set(d.permission, d);
        }
    }
    const byVia = (via: Grant) => uniq(present.filter((r) => r.via === via).flatMap(rowPermissions));
    const deployer = byVia("deployer-role");
    return {
        types: all,
        missing: rows.filter(({ row: r }) => !r).map(({ type }) => type),
        deployer,
        resourceIam: byVia("deployer-resource-iam"),
        podBinder: byVia("pod-binder"),
        onServiceAccount: uniq(present.flatMap((r) => r.onServiceAccount ?? [])),
        iamStep: byVia("iam-step"),
        predefinedRoles: uniq(present.filter((r) => r.via.startsWith("roles/")).map((r) => r.via)),
        // A permission one row needs to deploy is granted even if another row lists it as destroy-only.
        destroyOnly: [...destroyOnly.values()].filter((d) => !deployer.includes(d.permission)).sort((a, b) => a.permission.localeCompare(b.permission)),
        read: uniq(present.filter((r) => r.via !== "none" && !r.via.startsWith("roles/")).flatMap((r) => r.read)),
    };
}

/**
 * The GKE IAM permissions (`container.<resource>.<verb>`) that creating, reading, updating and
 * deleting a Kubernetes object of `type` (`kubernetes:<group>/<version>:<Kind>`) checks; custom
 * resources (BackendConfig, ManagedCertificate, …) are `container.thirdPartyObjects.*`
 * (https://cloud.google.com/kubernetes-engine/docs/reference/api-permissions).
 */
export function kubernetesIamPermissions(type: string): { write: string[]; read: string[] } {
    const match = /^kubernetes:([^:]+)\/[^/:]+:([A-Za-z]+)$/.exec(type);
    if (!match) {
        throw new Error(`not a Kubernetes object type: ${type}`);
    }
    const [, group, kind] = match;
    const builtIn = ["core", "apps", "batch", "autoscaling", "policy", "networking.k8s.io", "rbac.authorization.k8s.io", "apiextensions.k8s.io", "storage.k8s.io"];
    let resource: string;
    if (!builtIn.includes(group)) {
        resource = "thirdPartyObjects";
    } else {
        const camel = kind[0].toLowerCase() + kind.slice(1);
        resource = camel.endsWith("y") ? `${camel.slice(0, -1)}ies` : /(s|x)$/.test(camel) ? `${camel}es` : `${camel}s`;
    }
    return {
        write: ["create", "update", "delete"].map((v) => `container.${resource}.${v}`),
        read: ["get", "list"].map((v) => `container.${resource}.${v}`),
    };
}
