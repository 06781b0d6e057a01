import * as gcp from "@pulumi/gcp";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { BinaryAuthorizationMode, binaryAuthorizationPolicy, clusterEvaluationMode } from "./binaryAuthorization";
import { labelsFor } from "./kube";

/** Arguments of {@link Cluster}. */
export interface ClusterArgs {
    /** GCP project id. */
    readonly project: string;
    /** Region of an Autopilot cluster. */
    readonly region: string;
    /** Stack name; labels and the default namespace use it. */
    readonly stack: string;
    /** `autopilot` creates a cluster; `existing` looks one up. @default "autopilot" */
    readonly mode?: "autopilot" | "existing";
    /** Existing cluster name (mode `existing`). */
    readonly existingName?: string;
    /** Existing cluster location. @default the region */
    readonly existingLocation?: string;
    /** VPC id (mode `autopilot`). */
    readonly networkId: pulumi.Input<string>;
    /** Subnet id (mode `autopilot`). */
    readonly subnetId: pulumi.Input<string>;
    /** Secondary range names for pods and services. */
    readonly podsRangeName: string;
    readonly servicesRangeName: string;
    /** Control-plane /28 for private nodes. @default "172.16.0.0/28" */
    readonly masterCidr?: string;
    /**
     * Networks that may reach the control plane's IP endpoint. With none, the IP endpoint is
     * turned off and the DNS-based endpoint (checked by IAM) is the only way in.
     * @default [] (IP endpoint off)
     */
    readonly masterAuthorizedNetworks?: ReadonlyArray<{ readonly cidr: string; readonly name: string }>;
    /** GKE release channel. @default "REGULAR" */
    readonly releaseChannel?: "RAPID" | "REGULAR" | "STABLE";
    /** GKE deletion protection; also Pulumi `protect` on the cluster and its Secrets KMS key. @default true */
    readonly deletionProtection?: boolean;
    /**
     * Google Groups for RBAC: the Google Workspace / Cloud Identity group
     * `gke-security-groups@<domain>` whose member groups RoleBindings may name
     * (https://cloud.google.com/kubernetes-engine/docs/how-to/google-groups-rbac). Mode `autopilot`
     * only. @default unset (RBAC subjects are individual Google accounts; access is granted by IAM)
     */
    readonly rbacSecurityGroup?: string;
    /** Namespace for the app. @default `django-<stack>` */
    readonly namespace?: string;
    /**
     * Mode `autopilot`: id of the nodes' Google service account, created with its grants by the IAM
     * step (`roles/container.defaultNodeServiceAccount`, `roles/artifactregistry.reader` on the
     * images' repositories, components/identities.ts) and looked up here. Required in that mode.
     */
    readonly nodeServiceAccountId?: string;
    /**
     * Binary Authorization (`security.binaryAuthorization`), mode `autopilot` only: the cluster
     * evaluates the project's policy, which is written for `images` (every image the stack runs;
     * components/binaryAuthorization.ts). @default off
     */
    readonly binaryAuthorization?: { readonly mode: BinaryAuthorizationMode; readonly images: readonly string[] };
}

/** Raised when the control plane cannot be reached through its DNS-based endpoint. */
export class ClusterAccessError extends pulumi.RunError {
    constructor(message: string) {
        super(message);
        this.name = "ClusterAccessError";
    }
}

/** What {@link existingClusterDnsEndpoint} reads of `gcp.container.getCluster`. */
export interface ExistingClusterEndpoints {
    readonly name: string;
    readonly location?: string;
    readonly project?: string;
    readonly controlPlaneEndpointsConfigs?: ReadonlyArray<{
        readonly dnsEndpointConfigs?: ReadonlyArray<{ readonly endpoint?: string; readonly allowExternalTraffic?: boolean }>;
    }>;
}

/**
 * The DNS-based control-plane endpoint of an existing cluster (`gke-<id>.<location>.gke.goog`).
 *
 * The program only talks to the control plane through it (see {@link gkeKubeconfig}), so a cluster
 * whose DNS endpoint does not accept user traffic (`allowExternalTraffic` false, unless someone
 * turned it on) stops the run with the command that turns it on:
 * `gcloud container clusters update <name> --location <location> --enable-dns-access`
 * (https://cloud.google.com/kubernetes-engine/docs/how-to/latest/network-isolation). Falling back
 * to the IP endpoint would fail later and less clearly: CI runners have no stable address that
 * master authorized networks could admit.
 *
 * @throws {ClusterAccessError} when the endpoint is missing or closed to user traffic.
 */
export function existingClusterDnsEndpoint(cluster: ExistingClusterEndpoints): string {
    const dns = cluster.controlPlaneEndpointsConfigs?.[0]?.dnsEndpointConfigs?.[0];
    if (dns?.endpoint && dns.allowExternalTraffic === true) {
        return dns.endpoint;
    }
    const where = [cluster.location ? `--location ${cluster.location}` : "", cluster.project ? `--project ${cluster.project}` : ""].filter(Boolean).join(" ");
    const state = dns?.endpoint ? `its DNS-based endpoint ${dns.endpoint} does not allow external traffic` : "it reports no DNS-based endpoint";
    return fail(
        `Cluster ${cluster.name}: ${state}. The platform reaches the control plane only through that endpoint ` +
            "(access checked by IAM, no IP allow-list, so CI can deploy). " +
            `Fix: \`gcloud container clusters update ${cluster.name}${where ? ` ${where}` : ""} --enable-dns-access\` ` +
            "(https://cloud.google.com/kubernetes-engine/docs/how-to/latest/network-isolation).",
    );
}

function fail(message: string): never {
    throw new ClusterAccessError(message);
}

/**
 * Builds a kubeconfig for the cluster's DNS-based control-plane endpoint that authenticates with
 * `gke-gcloud-auth-plugin` (no static credentials).
 *
 * - `server` is `https://<dnsEndpoint>` (`gke-<id>.<location>.gke.goog`): every request is checked
 *   by IAM (`container.clusters.connect`, in `roles/container.developer`) before it reaches the
 *   API server, so no IP allow-list is needed
 *   (https://cloud.google.com/kubernetes-engine/docs/concepts/network-isolation#dns-based_endpoint).
 * - No `certificate-authority-data`: the DNS endpoint serves a certificate from a public CA (Google
 *   Trust Services), not one signed by the cluster CA, so pinning the cluster CA fails with
 *   "x509: certificate signed by unknown authority". Google's own get-gke-credentials action writes
 *   no CA for `*.gke.goog` servers (google-github-actions/get-gke-credentials, src/client.ts,
 *   `createKubeConfig`).
 * - The DNS name is unique to the cluster and kept for its whole life (same network-isolation
 *   page), and no CA is embedded, so the kubeconfig only changes when the cluster does. That
 *   matters: the Kubernetes provider plans a replacement of every Kubernetes resource when the
 *   kubeconfig's active cluster entry changes (pulumi/pulumi-kubernetes,
 *   provider/pkg/provider/provider.go, `DiffConfig`), which a new IP or a rotated CA would have
 *   triggered. A stack already deployed with an IP-endpoint kubeconfig would see that replacement
 *   once; set the provider's `clusterIdentifier` in an `up` before switching to avoid it.
 */
export function gkeKubeconfig(clusterName: string, dnsEndpoint: string): string {
    if (!/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/.test(dnsEndpoint)) {
        fail(`Cluster ${clusterName}: ${JSON.stringify(dnsEndpoint)} is not a DNS-based control-plane endpoint (gke-<id>.<location>.gke.goog).`);
    }
    const context = `gke_${clusterName}`;
    return JSON.stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name: context, cluster: { server: `https://${dnsEndpoint}` } }],
        contexts: [{ name: context, context: { cluster: context, user: context } }],
        "current-context": context,
        users: [{
            name: context,
            user: {
                exec: {
                    apiVersion: "client.authentication.k8s.io/v1beta1",
                    command: "gke-gcloud-auth-plugin",
                    installHint: "Install gke-gcloud-auth-plugin: gcloud components install gke-gcloud-auth-plugin",
                    provideClusterInfo: true,
                },
            },
        }],
    });
}

/**
 * The GKE cluster (Autopilot: private nodes, Workload Identity, Dataplane V2, Secrets encrypted
 * with a KMS key, a dedicated node service account the IAM step created, DNS-based control-plane
 * endpoint) or an existing one; the `kubernetes.Provider` every Kubernetes child must use; and the
 * app namespace, enforcing the `restricted` Pod Security Standard. It grants nothing to any
 * account but the GKE service agent's use of the Secrets key.
 */
export class Cluster extends pulumi.ComponentResource {
    /** Provider for every Kubernetes resource of the platform (always passed explicitly). */
    public readonly provider: k8s.Provider;
    /** The app namespace's name. */
    public readonly namespace: pulumi.Output<string>;
    /** The Workload Identity pool, `<project>.svc.id.goog`. */
    public readonly workloadPool: string;
    /** Cluster name. */
    public readonly clusterName: pulumi.Output<string>;
    /**
     * The DNS-based control-plane endpoint (`gke-<id>.<location>.gke.goog`) the provider talks to;
     * people reach it with `gcloud container clusters get-credentials <name> --dns-endpoint`.
     */
    public readonly dnsEndpoint: pulumi.Output<string>;

    constructor(name: string, args: ClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("django-platform:cluster:Cluster", name, {}, opts);
        this.workloadPool = `${args.project}.svc.id.goog`;

        if ((args.mode ?? "autopilot") === "existing") {
            if (!args.existingName) {
                throw new Error(`Cluster ${name}: mode "existing" needs existingName (cluster.name).`);
            }
            const found = gcp.container.getClusterOutput({
                name: args.existingName,
                location: args.existingLocation ?? args.region,
                project: args.project,
            }, { parent: this });
            this.clusterName = found.name;
            this.dnsEndpoint = found.apply((c) => existingClusterDnsEndpoint(c));
        } else {
            const cluster = this.createAutopilot(name, args);
            this.clusterName = cluster.name;
            this.dnsEndpoint = pulumi.all([cluster.name, cluster.controlPlaneEndpointsConfig]).apply(([n, c]) =>
                c?.dnsEndpointConfig?.endpoint || fail(`Cluster ${n}: GKE returned no DNS-based control-plane endpoint (controlPlaneEndpointsConfig.dnsEndpointConfig.endpoint).`),
            );
        }

        this.provider = new k8s.Provider(`${name}-k8s`, {
            kubeconfig: pulumi.all([this.clusterName, this.dnsEndpoint]).apply(([n, e]) => gkeKubeconfig(n, e)),
            enableServerSideApply: true,
            deleteUnreachable: false,
        }, { parent: this });

        const namespace = new k8s.core.v1.Namespace(`${name}-namespace`, {
            metadata: {
                name: args.namespace ?? `django-${args.stack}`,
                labels: {
                    ...labelsFor("namespace", args.stack),
                    "pod-security.kubernetes.io/enforce": "restricted",
                    "pod-security.kubernetes.io/enforce-version": "latest",
                    "pod-security.kubernetes.io/warn": "restricted",
                    "pod-security.kubernetes.io/warn-version": "latest",
                    "pod-security.kubernetes.io/audit": "restricted",
                },
            },
        }, { parent: this, provider: this.provider });
        this.namespace = namespace.metadata.name;

        this.registerOutputs({ clusterName: this.clusterName, namespace: this.namespace, dnsEndpoint: this.dnsEndpoint });
    }

    private createAutopilot(name: string, args: ClusterArgs): gcp.container.Cluster {
        if (!args.nodeServiceAccountId) {
            throw new Error(`Cluster ${name}: mode "autopilot" needs nodeServiceAccountId (components/identities.ts nodeServiceAccountId).`);
        }
        const project = gcp.organizations.getProjectOutput({ projectId: args.project }, { parent: this });
        // Application-layer Secrets encryption (CIS GKE 5.3.1) with a key only GKE may use.
        const keyRing = new gcp.kms.KeyRing(`${name}-keyring`, { project: args.project, location: args.region }, { parent: this });
        const key = new gcp.kms.CryptoKey(`${name}-secrets-key`, {
            keyRing: keyRing.id,
            purpose: "ENCRYPT_DECRYPT",
            rotationPeriod: "7776000s",
        }, { parent: this, protect: args.deletionProtection ?? true });
        const keyGrant = new gcp.kms.CryptoKeyIAMMember(`${name}-secrets-key-gke`, {
            cryptoKeyId: key.id,
            role: "roles/cloudkms.cryptoKeyEncrypterDecrypter",
            member: pulumi.interpolate`serviceAccount:service-${project.number}@container-engine-robot.iam.gserviceaccount.com`,
        }, { parent: this });

        // Nodes run as a dedicated, minimal service account, never the default compute SA. The IAM
        // step creates it with roles/container.defaultNodeServiceAccount and pull rights on the
        // images' repositories, and lets this stack's deployer (only) act as it, which creating the
        // cluster with it needs (iam.serviceAccounts.actAs on that one account).
        const nodeSa = gcp.serviceaccount.getAccountOutput({ accountId: args.nodeServiceAccountId, project: args.project }, { parent: this });
        // The project's admission policy exists before the cluster evaluates it; the Kubernetes
        // provider depends on the cluster, so a changed allowlist (a new cache image) is in place
        // before any pod of the same `up` is created.
        const binauthz = args.binaryAuthorization ?? { mode: "off" as const, images: [] };
        const admissionPolicy = binauthz.mode === "off"
            ? undefined
            : binaryAuthorizationPolicy(`${name}-binauthz-policy`, args.project, binauthz.mode, binauthz.images, { parent: this });
        const authorizedNetworks = args.masterAuthorizedNetworks ?? [];
        const ipEndpoint = authorizedNetworks.length > 0;

        const cluster = new gcp.container.Cluster(`${name}-gke`, {
            project: args.project,
            location: args.region,
            enableAutopilot: true,
            network: args.networkId,
            subnetwork: args.subnetId,
            ipAllocationPolicy: {
                clusterSecondaryRangeName: args.podsRangeName,
                servicesSecondaryRangeName: args.servicesRangeName,
            },
            privateClusterConfig: {
                enablePrivateNodes: true,
                // With the IP endpoint off the provider sends no enablePrivateEndpoint and GKE
                // reports true: saying false would be a diff on every preview before
                // hashicorp/terraform-provider-google 7.46 (eea306e0, "fixed a permadiff on
                // enable_private_endpoint … when … ip_endpoints_config.enabled is set to false").
                enablePrivateEndpoint: !ipEndpoint,
                masterIpv4CidrBlock: args.masterCidr ?? "172.16.0.0/28",
            },
            // Two ways in (https://cloud.google.com/kubernetes-engine/docs/concepts/network-isolation):
            // - the DNS-based endpoint, open to any network that reaches Google APIs, every request
            //   checked by IAM (container.clusters.connect) before the API server: what Pulumi (the
            //   provider's kubeconfig) and CI use, since GitHub-hosted runners have no stable IPs.
            //   Only Google identities: Kubernetes service account tokens and client certificates are
            //   refused on it (enableK8sTokensViaDns / enableK8sCertsViaDns false).
            // - the IP-based endpoint, only when masterAuthorizedNetworks lists networks (people who
            //   prefer an allow-listed office network; the DNS endpoint ignores that list). With no
            //   network it would admit nobody, so it is off, as Google recommends ("Use only the
            //   DNS-based endpoint to access your control plane",
            //   https://cloud.google.com/kubernetes-engine/docs/concepts/network-isolation); turning it
            //   on or off later is an in-place update (DesiredControlPlaneEndpointsConfig).
            // The provider sends both blocks in one ControlPlaneEndpointsConfig, authorized networks
            // inside ipEndpointsConfig, and with `enabled: false` nothing but that flag
            // (hashicorp/terraform-provider-google, google/services/container/resource_container_cluster.go,
            // expandControlPlaneEndpointsConfig).
            controlPlaneEndpointsConfig: {
                dnsEndpointConfig: { allowExternalTraffic: true, enableK8sTokensViaDns: false, enableK8sCertsViaDns: false },
                ipEndpointsConfig: { enabled: ipEndpoint },
            },
            ...(ipEndpoint ? {
                masterAuthorizedNetworksConfig: {
                    cidrBlocks: authorizedNetworks.map((n) => ({ cidrBlock: n.cidr, displayName: n.name })),
                    gcpPublicCidrsAccessEnabled: false,
                },
            } : {}),
            releaseChannel: { channel: args.releaseChannel ?? "REGULAR" },
            workloadIdentityConfig: { workloadPool: this.workloadPool },
            datapathProvider: "ADVANCED_DATAPATH",
            databaseEncryption: { state: "ENCRYPTED", keyName: key.id },
            clusterAutoscaling: { autoProvisioningDefaults: { serviceAccount: nodeSa.email } },
            loggingService: "logging.googleapis.com/kubernetes",
            monitoringService: "monitoring.googleapis.com/kubernetes",
            enableLegacyAbac: false,
            masterAuth: { clientCertificateConfig: { issueClientCertificate: false } },
            deletionProtection: args.deletionProtection ?? true,
            ...(args.rbacSecurityGroup ? { authenticatorGroupsConfig: { securityGroup: args.rbacSecurityGroup } } : {}),
            // Written also when off: with the block removed, the provider may suppress the diff
            // (BinaryAuthorizationDiffSuppress; evaluation_mode is Optional+Computed, so it keeps
            // the state's value) or send only `enabled: false` (expandBinaryAuthorization of an
            // empty list), never the evaluation mode (hashicorp/terraform-provider-google
            // google/services/container/resource_container_cluster.go). An explicit DISABLED is
            // sent as such. Updated in place (DesiredBinaryAuthorization).
            binaryAuthorization: { evaluationMode: clusterEvaluationMode(binauthz.mode) },
            resourceLabels: { "managed-by": "pulumi", app: "django-platform" },
        }, {
            parent: this,
            dependsOn: [keyGrant, ...(admissionPolicy ? [admissionPolicy] : [])],
            // GKE's deletion_protection only fails the provider's delete, at the end of an `up` that
            // has already created a replacement cluster and moved every Kubernetes object onto it
            // (masterCidr, network and range changes are ForceNew). Pulumi's protect refuses that
            // replacement in the preview instead (docs/transitions.md).
            protect: args.deletionProtection ?? true,
        });
        return cluster;
    }
}
