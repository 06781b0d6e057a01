import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";

/**
 * Private Google Access through `private.googleapis.com`: its four addresses, and the DNS that sends
 * every `*.googleapis.com` name there ("Create a private DNS zone for googleapis.com … a CNAME
 * record for *.googleapis.com that points to private.googleapis.com … an A record for
 * private.googleapis.com … 199.36.153.8/30", https://cloud.google.com/vpc/docs/configure-private-google-access,
 * DNS configuration). The subnet's `privateIpGoogleAccess` lets internal addresses use them, and
 * the VPC's default route to the default internet gateway carries them (the same page, routing).
 */
export const PRIVATE_GOOGLE_APIS = {
    domain: "googleapis.com.",
    host: "private.googleapis.com.",
    addresses: ["199.36.153.8", "199.36.153.9", "199.36.153.10", "199.36.153.11"],
} as const;

/**
 * What Cloud NAT logs: `ALL`, every translation (each connection a node opens to the internet,
 * with source and destination) and every error; `ERRORS_ONLY` would leave a pod that sends data to
 * an allowed host without a trace (https://cloud.google.com/nat/docs/monitoring). Billed as Cloud
 * Logging ingestion (docs/costs.md, `usage.natLogGib`).
 */
export const NAT_LOG_FILTER = "ALL";

/** The private services access range of a created VPC, apart from the subnet, pods, services and control plane ranges. */
export const DEFAULT_PRIVATE_SERVICES_CIDR = "10.99.0.0/20";

/**
 * Priority of the VPC's explicit deny-all ingress rule: just above the implied deny (65535), below
 * every allow rule GKE creates (1000).
 */
export const DENY_ALL_INGRESS_PRIORITY = 65534;

/** Arguments of {@link Network}. */
export interface NetworkArgs {
    /** GCP project id. */
    readonly project: string;
    /** Region of the subnet, router and NAT. */
    readonly region: string;
    /** `create` a dedicated VPC, or use an `existing` one by name. @default "create" */
    readonly mode?: "create" | "existing";
    /** Existing VPC name (mode `existing`). */
    readonly existingNetworkName?: string;
    /** Existing subnet name (mode `existing`). */
    readonly existingSubnetName?: string;
    /** Primary range of the subnet (mode `create`). @default "10.10.0.0/20" */
    readonly subnetCidr?: string;
    /** Secondary range for pods (mode `create`). @default "10.20.0.0/16" */
    readonly podsCidr?: string;
    /** Secondary range for services (mode `create`). @default "10.30.0.0/20" */
    readonly servicesCidr?: string;
    /** Name of the pods secondary range. @default "pods" */
    readonly podsRangeName?: string;
    /** Name of the services secondary range. @default "services" */
    readonly servicesRangeName?: string;
    /**
     * The private services access range (Cloud SQL, Memorystore private IPs), pinned so it never
     * lands next to the control plane's range and NetworkPolicy CIDRs are the same in every
     * environment (mode `create`). @default "10.99.0.0/20"
     */
    readonly privateServicesCidr?: string;
    /**
     * Mode `existing`: the name of the VPC's allocated range that its existing private services
     * access connection uses. A VPC has one servicenetworking connection; creating another fails
     * ("Cannot modify allocated ranges in CreateConnection"), so nothing is created in this mode.
     */
    readonly existingPrivateServicesRangeName?: string;
}

/**
 * The VPC the platform lives in: subnet with pod/service secondary ranges (VPC-native GKE), a
 * logged deny-all ingress firewall rule beneath GKE's own rules, private services access for Cloud
 * SQL and Memorystore private IPs, Cloud NAT (every translation logged) so private nodes reach the
 * internet without public IPs (the in-cluster Redis image comes from Docker Hub), and a private
 * DNS zone that resolves Google's API names to Private Google Access's range.
 * In mode `existing` nothing is created: the VPC, subnet and private services range are looked up
 * by name, and the VPC must already give private nodes a way to pull images (Cloud NAT, or images
 * mirrored into Artifact Registry).
 */
export class Network extends pulumi.ComponentResource {
    /** VPC self link / id, for Cloud SQL `privateNetwork` and GKE. */
    public readonly networkId: pulumi.Output<string>;
    /** VPC name. */
    public readonly networkName: pulumi.Output<string>;
    /** Subnet self link / id for GKE. */
    public readonly subnetId: pulumi.Output<string>;
    /** Pods secondary range name. */
    public readonly podsRangeName: string;
    /** Services secondary range name. */
    public readonly servicesRangeName: string;
    /**
     * What private-IP services must `dependsOn`: the servicenetworking connection this component
     * creates (without it the Cloud SQL API fails with "network doesn't have at least 1 private
     * services connection"); empty in mode `existing`, where the connection already exists.
     */
    public readonly privateServicesDependencies: pulumi.Resource[];
    /** Name of the reserved private services access range (for Memorystore `reservedIpRange`). */
    public readonly privateServicesRangeName: pulumi.Output<string>;
    /** CIDR of that range, where Cloud SQL and Memorystore private IPs live (for egress rules). */
    public readonly privateServicesCidr: pulumi.Output<string>;
    /**
     * The private DNS zone `googleapis.com` of a created VPC and its records, which send Google's
     * API names to Private Google Access's range; empty in mode `existing`, whose VPC must resolve
     * them so already (docs/operations.md, "Use an existing VPC or cluster").
     */
    public readonly privateGoogleAccess: pulumi.Resource[] = [];

    constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
        super("django-platform:network:Network", name, {}, opts);
        const mode = args.mode ?? "create";
        this.podsRangeName = args.podsRangeName ?? "pods";
        this.servicesRangeName = args.servicesRangeName ?? "services";

        if (mode === "existing") {
            if (!args.existingNetworkName || !args.existingSubnetName) {
                throw new Error(`Network ${name}: mode "existing" needs existingNetworkName and existingSubnetName (network.name / network.subnetName).`);
            }
            const network = gcp.compute.getNetworkOutput({ name: args.existingNetworkName, project: args.project }, { parent: this });
            const subnet = gcp.compute.getSubnetworkOutput({ name: args.existingSubnetName, region: args.region, project: args.project }, { parent: this });
            this.networkId = network.id;
            this.networkName = network.name;
            this.subnetId = subnet.id;
        } else {
            const vpc = new gcp.compute.Network(`${name}-vpc`, {
                project: args.project,
                autoCreateSubnetworks: false,
                routingMode: "REGIONAL",
                description: "django-platform VPC (managed by Pulumi)",
            }, { parent: this });
            const subnet = new gcp.compute.Subnetwork(`${name}-subnet`, {
                project: args.project,
                region: args.region,
                network: vpc.id,
                ipCidrRange: args.subnetCidr ?? "10.10.0.0/20",
                privateIpGoogleAccess: true,
                secondaryIpRanges: [
                    { rangeName: this.podsRangeName, ipCidrRange: args.podsCidr ?? "10.20.0.0/16" },
                    { rangeName: this.servicesRangeName, ipCidrRange: args.servicesCidr ?? "10.30.0.0/20" },
                ],
                logConfig: { aggregationInterval: "INTERVAL_5_SEC", flowSampling: 0.5, metadata: "INCLUDE_ALL_METADATA" },
            }, { parent: this });
            // The VPC's own deny-all ingress rule, logged. It changes no traffic: the implied rule
            // (priority 65535) already denies all ingress, and the allow rules GKE creates for the
            // control plane, node/pod traffic and load-balancer health checks (priority 1000) win over
            // it, since a lower number is a higher priority (https://cloud.google.com/vpc/docs/firewalls,
            // https://cloud.google.com/kubernetes-engine/docs/concepts/firewall-rules). Unlike the
            // implied rule it is declared and logs what it denies (CKV2_GCP_18).
            new gcp.compute.Firewall(`${name}-deny-all-ingress`, {
                project: args.project,
                network: vpc.id,
                description: "Deny and log all ingress not allowed by a higher-priority rule (managed by Pulumi)",
                direction: "INGRESS",
                priority: DENY_ALL_INGRESS_PRIORITY,
                sourceRanges: ["0.0.0.0/0"],
                denies: [{ protocol: "all" }],
                logConfig: { metadata: "INCLUDE_ALL_METADATA" },
            }, { parent: this });
            const router = new gcp.compute.Router(`${name}-router`, {
                project: args.project,
                region: args.region,
                network: vpc.id,
            }, { parent: this });
            new gcp.compute.RouterNat(`${name}-nat`, {
                project: args.project,
                region: args.region,
                router: router.name,
                natIpAllocateOption: "AUTO_ONLY",
                sourceSubnetworkIpRangesToNat: "ALL_SUBNETWORKS_ALL_IP_RANGES",
                logConfig: { enable: true, filter: NAT_LOG_FILTER },
            }, { parent: this });
            // Google's APIs on private.googleapis.com, for every name of googleapis.com, inside this VPC.
            const zone = new gcp.dns.ManagedZone(`${name}-googleapis`, {
                project: args.project,
                dnsName: PRIVATE_GOOGLE_APIS.domain,
                description: "Private Google Access: *.googleapis.com → private.googleapis.com (managed by Pulumi)",
                visibility: "private",
                privateVisibilityConfig: { networks: [{ networkUrl: vpc.id }] },
            }, { parent: this });
            const record = (key: string, recordName: string, type: string, rrdatas: string[]) =>
                new gcp.dns.RecordSet(`${name}-googleapis-${key}`, { project: args.project, managedZone: zone.name, name: recordName, type, ttl: 300, rrdatas }, { parent: this });
            this.privateGoogleAccess.push(
                zone,
                record("private", PRIVATE_GOOGLE_APIS.host, "A", [...PRIVATE_GOOGLE_APIS.addresses]),
                record("wildcard", `*.${PRIVATE_GOOGLE_APIS.domain}`, "CNAME", [PRIVATE_GOOGLE_APIS.host]),
            );
            this.networkId = vpc.id;
            this.networkName = vpc.name;
            this.subnetId = subnet.id;
        }

        if (mode === "existing") {
            if (!args.existingPrivateServicesRangeName) {
                throw new Error(`Network ${name}: mode "existing" needs existingPrivateServicesRangeName (network.privateServicesRangeName).`);
            }
            const range = gcp.compute.getGlobalAddressOutput({ name: args.existingPrivateServicesRangeName, project: args.project }, { parent: this });
            this.privateServicesRangeName = range.name;
            this.privateServicesCidr = pulumi.interpolate`${range.address}/${range.prefixLength}`;
            this.privateServicesDependencies = [];
        } else {
            const [address, prefixLength] = (args.privateServicesCidr ?? DEFAULT_PRIVATE_SERVICES_CIDR).split("/");
            const range = new gcp.compute.GlobalAddress(`${name}-private-services`, {
                project: args.project,
                purpose: "VPC_PEERING",
                addressType: "INTERNAL",
                address,
                prefixLength: Number(prefixLength),
                network: this.networkId,
            }, { parent: this });
            this.privateServicesRangeName = range.name;
            this.privateServicesCidr = pulumi.interpolate`${range.address}/${range.prefixLength}`;
            this.privateServicesDependencies = [new gcp.servicenetworking.Connection(`${name}-private-services`, {
                network: this.networkId,
                service: "servicenetworking.googleapis.com",
                reservedPeeringRanges: [range.name],
                // Deleting the peering fails while Cloud SQL still holds addresses in it (it is released
                // some days after the instance is gone); abandon it instead of failing `pulumi destroy`.
                deletionPolicy: "ABANDON",
            }, { parent: this })];
        }

        this.registerOutputs({ networkId: this.networkId, networkName: this.networkName, subnetId: this.subnetId });
    }
}
