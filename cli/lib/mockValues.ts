/**
 * What the cloud would compute for each resource type and provider function, for offline runs.
 *
 * Values are deterministic (derived from names) so synth output is stable and diffable, and use
 * documentation address ranges (RFC 5737 TEST-NET) so nobody mistakes them for real endpoints.
 */
import { createHash } from "node:crypto";

/** A short stable suffix, like the engine's auto-naming suffix but derived from the name. */
export function autonameSuffix(name: string): string {
    return createHash("sha256").update(name).digest("hex").slice(0, 7);
}

const FAKE_CA = Buffer.from("-----BEGIN CERTIFICATE-----\nMOCK\n-----END CERTIFICATE-----\n").toString("base64");

/**
 * A GKE DNS-based control-plane endpoint, `gke-<hex id>.<location>.gke.goog` like the ones GKE
 * reports (API: ControlPlaneEndpointsConfig.DNSEndpointConfig.endpoint, "Ex: uid.us-central1.gke.goog"),
 * derived from the cluster name.
 */
export function fakeDnsEndpoint(clusterName: string, location: string): string {
    return `gke-${createHash("sha256").update(clusterName).digest("hex").slice(0, 36)}.${location}.gke.goog`;
}

/**
 * A parseable, self-signed PEM certificate standing in for a Memorystore server CA (its key was
 * thrown away: it can verify nothing), so the rendered DJANGO_APP_CACHE_CA_CERT loads in the app.
 */
export const FAKE_REDIS_SERVER_CA = [
    "-----BEGIN CERTIFICATE-----",
    "MIIBnzCCAUWgAwIBAgIUMP9Acz0iMOWE90iggkzH9qIpT9cwCgYIKoZIzj0EAwIw",
    "JTEjMCEGA1UEAwwaTW9jayBNZW1vcnlzdG9yZSBTZXJ2ZXIgQ0EwHhcNMjYxMTI3",
    "MTYxNzA0WhcNMzYxMTI0MTYxNzA0WjAlMSMwIQYDVQQDDBpNb2NrIE1lbW9yeXN0",
    "b3JlIFNlcnZlciBDQTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABOW+kJqV5xwO",
    "wr4+zg1wBU71zAFrdLMM0aRfOd21pGujfWNKaXihX0kc8xPw0jw0PpVFuKTN4x/p",
    "eKFNGbbD5L6jUzBRMB0GA1UdDgQWBBRKfeIR2HelMhgZSJwjLi/pYhbSvjAfBgNV",
    "HSMEGDAWgBRKfeIR2HelMhgZSJwjLi/pYhbSvjAPBgNVHRMBAf8EBTADAQH/MAoG",
    "CCqGSM49BAMCA0gAMEUCIQCAxuAiueW1nAdtsNCusSWzSXQUF4HmWDP38ruREGV7",
    "sAIgfnq2NK2wNtB6RgCNixqVjPAq8QEIIor4lCJY1Clsz5s=",
    "-----END CERTIFICATE-----",
].join("\n") + "\n";

type Props = Record<string, unknown>;

/**
 * Adds Kubernetes-style `metadata.name` autonaming (`<name>-<suffix>`) when no name was given. The
 * suffix also depends on the kind, as the provider's random suffixes differ per object: a ConfigMap
 * and a Secret of the same logical name get different names (transition tests tell references apart
 * by value).
 */
function kubernetesOutputs(type: string, name: string, inputs: Props): Props {
    const metadata = { ...((inputs.metadata as Props | undefined) ?? {}) };
    if (!metadata.name) {
        metadata.name = `${name}-${autonameSuffix(`${type}::${name}`)}`;
    }
    return { ...inputs, metadata };
}

/** The mocked state of a newly created resource of `type`. */
export function fakeOutputs(type: string, name: string, inputs: Props): Props {
    if (type.startsWith("kubernetes:") && !type.startsWith("pulumi:providers:")) {
        return kubernetesOutputs(type, name, inputs);
    }
    const physicalName = (inputs.name as string | undefined) ?? `${name}-${autonameSuffix(name)}`;
    const project = (inputs.project as string | undefined) ?? "mock-project";
    const base: Props = { ...inputs, name: physicalName, selfLink: `https://www.googleapis.com/mock/${type}/${physicalName}` };
    switch (type) {
        case "gcp:sql/databaseInstance:DatabaseInstance":
            return {
                ...base,
                connectionName: `${project}:${(inputs.region as string | undefined) ?? "mock-region"}:${physicalName}`,
                privateIpAddress: "10.99.0.3",
                publicIpAddress: "",
                serviceAccountEmailAddress: `p123456789012-mock@gcp-sa-cloud-sql.iam.gserviceaccount.com`,
            };
        case "gcp:compute/globalAddress:GlobalAddress":
            // One TEST-NET-3 address per name, so two reserved addresses (the site's, the CDN's) differ.
            return { ...base, address: (inputs.address as string | undefined) ?? (inputs.purpose === "VPC_PEERING" ? "10.99.0.0" : `203.0.113.${10 + (parseInt(autonameSuffix(name), 16) % 200)}`) };
        case "gcp:compute/address:Address":
            return { ...base, address: "203.0.113.20" };
        case "gcp:container/cluster:Cluster": {
            // GKE always reports the DNS-based endpoint (output only, "always present"); whether it
            // takes user traffic is dnsEndpointConfig.allowExternalTraffic.
            const endpoints = (inputs.controlPlaneEndpointsConfig as Props | undefined) ?? {};
            const dns = (endpoints.dnsEndpointConfig as Props | undefined) ?? {};
            return {
                ...base,
                endpoint: "203.0.113.30",
                masterAuth: { clusterCaCertificate: FAKE_CA },
                privateClusterConfig: { ...((inputs.privateClusterConfig as Props | undefined) ?? {}), privateEndpoint: "172.16.0.2" },
                controlPlaneEndpointsConfig: { ...endpoints, dnsEndpointConfig: { ...dns, endpoint: fakeDnsEndpoint(physicalName, (inputs.location as string | undefined) ?? "mock-region") } },
            };
        }
        case "gcp:storage/bucket:Bucket":
            return { ...base, url: `gs://${physicalName}` };
        case "gcp:serviceaccount/account:Account": {
            // `name` is the account's resource name, as the provider reports it.
            const email = `${inputs.accountId as string}@${project}.iam.gserviceaccount.com`;
            return { ...base, name: `projects/${project}/serviceAccounts/${email}`, email, member: `serviceAccount:${email}`, uniqueId: "100000000000000000001" };
        }
        case "gcp:projects/iAMCustomRole:IAMCustomRole":
            // The role's full name, which bindings use (`projects/<p>/roles/<id>`).
            return { ...base, name: `projects/${project}/roles/${inputs.roleId as string}` };
        case "gcp:artifactregistry/repository:Repository":
            // The provider's `name` is the repository id ("The name of the repository, for example: repo1").
            return { ...base, name: inputs.repositoryId as string };
        case "gcp:redis/instance:Instance": {
            // In-transit encryption: TLS only, on 6378 for both endpoints, and the instance's own CA(s)
            // in serverCaCerts (https://cloud.google.com/memorystore/docs/redis/about-in-transit-encryption).
            const tls = inputs.transitEncryptionMode === "SERVER_AUTHENTICATION";
            const port = tls ? 6378 : 6379;
            return {
                ...base,
                host: "10.99.1.3",
                port,
                readEndpoint: "10.99.1.4",
                readEndpointPort: port,
                authString: "mock-memorystore-auth",
                serverCaCerts: tls ? [{ cert: FAKE_REDIS_SERVER_CA, createTime: "2025-01-01T00:00:00Z", expireTime: "2035-01-01T00:00:00Z", serialNumber: "0", sha1Fingerprint: "mock" }] : [],
            };
        }
        case "random:index/randomPassword:RandomPassword":
        case "random:index/randomString:RandomString":
            return { ...inputs, result: `mock-${name}-${autonameSuffix(name)}` };
        case "random:index/randomId:RandomId":
            return { ...inputs, hex: autonameSuffix(name), b64Url: autonameSuffix(name) };
        default:
            return base;
    }
}

/** The mocked result of a provider function call (invoke). */
export function fakeInvoke(token: string, inputs: Props): Props {
    switch (token) {
        case "gcp:container/getCluster:getCluster":
            return {
                ...inputs,
                endpoint: "203.0.113.31",
                masterAuths: [{ clusterCaCertificate: FAKE_CA }],
                controlPlaneEndpointsConfigs: [{
                    dnsEndpointConfigs: [{
                        endpoint: fakeDnsEndpoint(inputs.name as string, (inputs.location as string | undefined) ?? "mock-region"),
                        allowExternalTraffic: true,
                        enableK8sCertsViaDns: false,
                        enableK8sTokensViaDns: false,
                    }],
                    ipEndpointsConfigs: [{ enabled: true }],
                }],
                privateClusterConfigs: [{ privateEndpoint: "172.16.0.3", enablePrivateNodes: true }],
                workloadIdentityConfigs: [{ workloadPool: `${(inputs.project as string | undefined) ?? "mock-project"}.svc.id.goog` }],
            };
        case "gcp:compute/getNetwork:getNetwork":
            return { ...inputs, id: `projects/mock-project/global/networks/${inputs.name as string}`, selfLink: `https://www.googleapis.com/compute/v1/projects/mock-project/global/networks/${inputs.name as string}` };
        case "gcp:compute/getSubnetwork:getSubnetwork":
            return { ...inputs, id: `projects/mock-project/regions/mock/subnetworks/${inputs.name as string}`, selfLink: `https://www.googleapis.com/compute/v1/projects/mock-project/regions/mock/subnetworks/${inputs.name as string}`, ipCidrRange: "10.10.0.0/20" };
        case "gcp:compute/getGlobalAddress:getGlobalAddress":
            return { ...inputs, address: "10.98.0.0", prefixLength: 16, purpose: "VPC_PEERING", addressType: "INTERNAL" };
        case "gcp:dns/getRecordSets:getRecordSets":
            // An empty zone: no record set exists yet at the names the stack creates.
            return { ...inputs, id: `projects/${(inputs.project as string | undefined) ?? "mock-project"}/managedZones/${inputs.managedZone as string}`, rrsets: [] };
        case "gcp:serviceaccount/getAccount:getAccount": {
            // An existing account, as the IAM step created it (accountId may be an id or an email).
            const project = (inputs.project as string | undefined) ?? "mock-project";
            const id = inputs.accountId as string;
            const email = id.includes("@") ? id : `${id}@${project}.iam.gserviceaccount.com`;
            return { ...inputs, email, name: `projects/${project}/serviceAccounts/${email}`, member: `serviceAccount:${email}`, uniqueId: "100000000000000000002", displayName: "", disabled: false };
        }
        case "gcp:organizations/getProject:getProject":
            return { ...inputs, number: "123456789012", projectId: (inputs.projectId as string | undefined) ?? "mock-project" };
        default:
            return inputs;
    }
}
