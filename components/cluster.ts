import * as gcp from "@pulumi/gcp";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
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
    /** Networks that may reach the public control-plane endpoint. @default [] (none) */
    readonly masterAuthorizedNetworks?: ReadonlyArray<{ readonly cidr: string; readonly name: string }>;
    /** GKE release channel. @default "REGULAR" */
    readonly releaseChannel?: "RAPID" | "REGULAR" | "STABLE";
    /** GKE deletion protection. @default true */
    readonly deletionProtection?: boolean;
    /** Namespace for the app. @default `django-<stack>` */
    readonly namespace?: string;
}

/** Builds a kubeconfig that authenticates with `gke-gcloud-auth-plugin` (no static credentials). */
export function gkeKubeconfig(clusterName: string, endpoint: string, caCertificate: string): string {
    const context = `gke_${clusterName}`;
    return JSON.stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name: context, cluster: { server: `https://${endpoint}`, "certificate-authority-data": caCertificate } }],
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
 * with a KMS key, dedicated node service account) or an existing one; the `kubernetes.Provider`
 * every Kubernetes child must use; and the app namespace, enforcing the `restricted` Pod
 * Security Standard.
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

    constructor(name: string, args: ClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("django-platform:cluster:Cluster", name, {}, opts);
        this.workloadPool = `${args.project}.svc.id.goog`;
        let endpoint: pulumi.Output<string>;
        let ca: pulumi.Output<string>;

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
            endpoint = found.endpoint;
            ca = found.masterAuths.apply((auths) => auths[0]?.clusterCaCertificate ?? "");
        } else {
            const cluster = this.createAutopilot(name, args);
            this.clusterName = cluster.name;
            endpoint = cluster.endpoint;
            ca = cluster.masterAuth.clusterCaCertificate.apply((c) => c ?? "");
        }

        this.provider = new k8s.Provider(`${name}-k8s`, {
            kubeconfig: pulumi.all([this.clusterName, endpoint, ca]).apply(([n, e, c]) => gkeKubeconfig(n, e, c)),
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

        this.registerOutputs({ clusterName: this.clusterName, namespace: this.namespace });
    }

    private createAutopilot(name: string, args: ClusterArgs): gcp.container.Cluster {
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

        // Nodes run as a dedicated, minimal service account, never the default compute SA.
        const nodeSa = new gcp.serviceaccount.Account(`${name}-nodes`, {
            project: args.project,
            accountId: `gke-nodes-${args.stack}`.slice(0, 30),
            displayName: "GKE Autopilot nodes (django-platform)",
        }, { parent: this });
        const nodeRole = new gcp.projects.IAMMember(`${name}-nodes-role`, {
            project: args.project,
            role: "roles/container.defaultNodeServiceAccount",
            member: nodeSa.member,
        }, { parent: this });

        // Nodes pull the app image from Artifact Registry (CIS GKE 5.2.1: grant only this reader role).
        const registryRole = new gcp.projects.IAMMember(`${name}-nodes-registry`, {
            project: args.project,
            role: "roles/artifactregistry.reader",
            member: nodeSa.member,
        }, { parent: this });

        return new gcp.container.Cluster(`${name}-gke`, {
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
                enablePrivateEndpoint: false,
                masterIpv4CidrBlock: args.masterCidr ?? "172.16.0.0/28",
            },
            masterAuthorizedNetworksConfig: {
                cidrBlocks: (args.masterAuthorizedNetworks ?? []).map((n) => ({ cidrBlock: n.cidr, displayName: n.name })),
                gcpPublicCidrsAccessEnabled: false,
            },
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
            resourceLabels: { "managed-by": "pulumi", app: "django-platform" },
        }, { parent: this, dependsOn: [keyGrant, nodeRole, registryRole] });
    }
}
