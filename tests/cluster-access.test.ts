/**
 * How Pulumi (and CI) reach the GKE control plane: through the cluster's DNS-based endpoint, where
 * IAM checks every request, instead of an IP endpoint that only an IP allow-list protects (GitHub-
 * hosted runners have no stable IPs).
 *
 * Sources:
 * - DNS-based endpoint, IAM-checked (`container.clusters.connect`), reachable from any network that
 *   reaches Google APIs: https://cloud.google.com/kubernetes-engine/docs/concepts/network-isolation#dns-based_endpoint
 * - enabling it (`--enable-dns-access`), `allowExternalTraffic`:
 *   https://cloud.google.com/kubernetes-engine/docs/how-to/latest/network-isolation
 * - the API field: ControlPlaneEndpointsConfig.DNSEndpointConfig.endpoint, "Output only … Ex:
 *   uid.us-central1.gke.goog. Always present" (google.container.v1 reference)
 * - its certificate is from a public CA, so no cluster CA in the kubeconfig: Google's
 *   get-gke-credentials action, src/client.ts `createKubeConfig` ("if the endpoint is DNS-based
 *   endpoint (suffix: "gke.goog"), we can not use the cluster's CA cert")
 * - the provider input shape and what it sends: hashicorp/terraform-provider-google,
 *   google/services/container/resource_container_cluster.go (`control_plane_endpoints_config`,
 *   `expandControlPlaneEndpointsConfig`); node_modules/@pulumi/gcp/types/input.d.ts
 *   (`ClusterControlPlaneEndpointsConfig`)
 * - roles/container.developer (the deployer's role) includes container.clusters.connect:
 *   https://cloud.google.com/iam/docs/roles-permissions/container
 */
import assert from "node:assert/strict";
import { renderIamProgram } from "../maint/gen-deployer-types";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { ClusterAccessError, existingClusterDnsEndpoint, gkeKubeconfig } from "../components/cluster";
import { ConfigError, validateConfig } from "../config";
import { gkeClusterRestrictsControlPlaneAccess } from "../policy/gke";
import { runPolicies } from "../cli/lib/policyRunner";
import { buildStackExport, type StackExport } from "../cli/lib/stackExport";
import { ROOT, type Rendered, renderStack, stackConfig, T } from "./helpers/platform";

const DNS_ENDPOINT = /^gke-[0-9a-f]{36}\.europe-west1\.gke\.goog$/;
const EXISTING = {
    "django-platform:cluster": { mode: "existing", name: "shared-gke", location: "europe-west1" },
    "django-platform:network": { mode: "existing", name: "shared", subnetName: "gke", privateServicesRangeName: "google-managed-services-shared" },
};

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function kubeconfigOf(r: Rendered): any {
    return JSON.parse(r.inputs(T.k8sProvider).kubeconfig);
}

const stacks: Record<string, Rendered> = {};
before(async () => {
    stacks.staging = await renderStack("staging");
    stacks.production = await renderStack("production");
    stacks.existing = await renderStack("staging", EXISTING);
});

describe("the created Autopilot cluster", () => {
    it("enables the DNS-based endpoint for user traffic, Google identities only", () => {
        for (const stack of ["staging", "production"]) {
            const endpoints = stacks[stack].inputs(T.cluster).controlPlaneEndpointsConfig;
            assert.deepEqual(endpoints.dnsEndpointConfig, { allowExternalTraffic: true, enableK8sTokensViaDns: false, enableK8sCertsViaDns: false }, stack);
        }
    });

    // With no authorized network the IP endpoint would admit nobody; it is turned off, and the DNS
    // endpoint (IAM-checked) is the only way in. The provider then sends only `enabled: false` and
    // GKE reports enablePrivateEndpoint true, so the config says true: false would be a permanent
    // diff on providers before hashicorp/terraform-provider-google 7.46 (eea306e0, issue 27901).
    it("without authorized networks (both shipped stacks): the IP endpoint is off, the DNS endpoint is the only way in", () => {
        for (const stack of ["staging", "production"]) {
            const c = stacks[stack].inputs(T.cluster);
            assert.deepEqual(c.controlPlaneEndpointsConfig.ipEndpointsConfig, { enabled: false }, stack);
            assert.equal(c.masterAuthorizedNetworksConfig, undefined, stack);
            assert.equal(c.privateClusterConfig.enablePrivateEndpoint, true, stack);
            assert.equal(c.privateClusterConfig.enablePrivateNodes, true, stack);
            const configured = JSON.parse(stackConfig(stack).config["django-platform:cluster"]) as { masterAuthorizedNetworks?: unknown[] };
            assert.equal(configured.masterAuthorizedNetworks, undefined, `${stack}: no placeholder office range in the stack file`);
        }
    });

    it("with authorized networks: the IP endpoint stays on for people, limited to them (no CI range, no Google ranges)", async () => {
        const r = await renderStack("production", { "django-platform:cluster": { masterAuthorizedNetworks: [{ cidr: "100.64.10.0/24", name: "office" }] } });
        const c = r.inputs(T.cluster);
        assert.deepEqual(c.controlPlaneEndpointsConfig.ipEndpointsConfig, { enabled: true });
        assert.deepEqual(c.masterAuthorizedNetworksConfig, { cidrBlocks: [{ cidrBlock: "100.64.10.0/24", displayName: "office" }], gcpPublicCidrsAccessEnabled: false });
        assert.equal(c.privateClusterConfig.enablePrivateEndpoint, false);
        assert.deepEqual(c.controlPlaneEndpointsConfig.dnsEndpointConfig, stacks.production.inputs(T.cluster).controlPlaneEndpointsConfig.dnsEndpointConfig, "the DNS endpoint does not change");
    });
});

// RFC 5737 reserves 192.0.2.0/24, 198.51.100.0/24 and 203.0.113.0/24 for documentation: no real
// network has those addresses, so such an entry is a placeholder that keeps the IP endpoint open
// to nobody while looking configured (https://www.rfc-editor.org/rfc/rfc5737).
describe("cluster.masterAuthorizedNetworks refuses documentation ranges", () => {
    const problems = (cidr: string) => {
        try {
            validateConfig(stackConfig("staging", { "django-platform:cluster": { masterAuthorizedNetworks: [{ cidr, name: "office" }] } }).config, "staging");
            return [];
        } catch (e) {
            assert.ok(e instanceof ConfigError, String(e));
            return e.problems;
        }
    };
    it("names the key, the range and the fix", () => {
        assert.deepEqual(problems("203.0.113.0/24"), [
            "django-platform:cluster.masterAuthorizedNetworks: office (203.0.113.0/24) is a documentation range (RFC 5737), which no real network uses. Fix: your office's range (`pulumi config set --path 'cluster.masterAuthorizedNetworks[0].cidr' <office CIDR>`), or remove the entry (`pulumi config rm --path 'cluster.masterAuthorizedNetworks[0]'`): without authorized networks the IP endpoint is off and the DNS-based endpoint, checked by IAM, is the way in.",
        ]);
        assert.equal(problems("198.51.100.128/25").length, 1);
        assert.equal(problems("192.0.2.7/32").length, 1);
    });
    it("accepts real ranges, including ones that merely contain a documentation range", () => {
        assert.deepEqual(problems("100.64.10.0/24"), []);
        assert.deepEqual(problems("203.0.0.0/16"), []);
    });
});

describe("the Kubernetes provider's kubeconfig", () => {
    it("talks to the DNS endpoint over https, with the system CAs (no cluster CA)", () => {
        for (const stack of ["staging", "production"]) {
            const cluster = kubeconfigOf(stacks[stack]).clusters[0].cluster;
            const endpoint = (stacks[stack].one(T.cluster).outputs.controlPlaneEndpointsConfig as { dnsEndpointConfig: { endpoint: string } }).dnsEndpointConfig.endpoint;
            assert.match(endpoint, DNS_ENDPOINT);
            assert.deepEqual(cluster, { server: `https://${endpoint}` }, stack);
        }
    });

    it("authenticates with gke-gcloud-auth-plugin and holds no static credentials", () => {
        const kubeconfig = kubeconfigOf(stacks.production);
        assert.equal(kubeconfig.users.length, 1);
        const user = kubeconfig.users[0].user;
        assert.deepEqual(Object.keys(user), ["exec"]);
        assert.equal(user.exec.command, "gke-gcloud-auth-plugin");
        assert.equal(user.exec.apiVersion, "client.authentication.k8s.io/v1beta1");
        const text = JSON.stringify(kubeconfig);
        for (const key of ["token", "password", "client-certificate-data", "client-key-data", "certificate-authority-data", "auth-provider"]) {
            assert.ok(!text.includes(`"${key}"`), `kubeconfig has ${key}`);
        }
    });

    it("refuses something that is not a host name", () => {
        assert.throws(() => gkeKubeconfig("c", "https://gke-1.europe-west1.gke.goog"), ClusterAccessError);
        assert.throws(() => gkeKubeconfig("c", ""), ClusterAccessError);
    });
});

describe("an existing cluster", () => {
    it("is reached through the DNS endpoint that getCluster reports", () => {
        assert.equal(stacks.existing.all(T.cluster).length, 0);
        const lookup = stacks.existing.result.invokes.find((i) => i.token === "gcp:container/getCluster:getCluster");
        assert.ok(lookup, "getCluster was called");
        const server: string = kubeconfigOf(stacks.existing).clusters[0].cluster.server;
        assert.match(server.replace(/^https:\/\//, ""), DNS_ENDPOINT);
        assert.equal(kubeconfigOf(stacks.existing).clusters[0].cluster["certificate-authority-data"], undefined);
    });

    it("without DNS access (or with user traffic off) stops with the command that turns it on", () => {
        const base = { name: "shared-gke", location: "europe-west1", project: "acme-shared" };
        const fix = "Fix: `gcloud container clusters update shared-gke --location europe-west1 --project acme-shared --enable-dns-access`";
        for (const [what, cluster, state] of [
            ["no endpoint config", { ...base, controlPlaneEndpointsConfigs: [] }, "it reports no DNS-based endpoint"],
            ["user traffic off", { ...base, controlPlaneEndpointsConfigs: [{ dnsEndpointConfigs: [{ endpoint: "gke-1.europe-west1.gke.goog", allowExternalTraffic: false }] }] }, "its DNS-based endpoint gke-1.europe-west1.gke.goog does not allow external traffic"],
        ] as const) {
            assert.throws(() => existingClusterDnsEndpoint(cluster), (e: Error) => e instanceof ClusterAccessError && e.message.includes(state) && e.message.includes(fix), what);
        }
        assert.equal(existingClusterDnsEndpoint({ ...base, controlPlaneEndpointsConfigs: [{ dnsEndpointConfigs: [{ endpoint: "gke-1.europe-west1.gke.goog", allowExternalTraffic: true }] }] }), "gke-1.europe-west1.gke.goog");
    });
});

describe("the policy pack", () => {
    const OFFICE = { "django-platform:cluster": { masterAuthorizedNetworks: [{ cidr: "100.64.10.0/24", name: "office" }] } };
    async function exportOf(stack: string, overrides?: typeof OFFICE): Promise<StackExport> {
        const { config, secretKeys } = stackConfig(stack, overrides);
        const rendered = overrides ? await renderStack(stack, overrides) : stacks[stack];
        // A copy: the variants below change it, the rendered stacks stay as they are.
        return structuredClone(buildStackExport(rendered.result, { project: "django-platform", stack, config, secretKeys }));
    }
    const only = { policies: [gkeClusterRestrictsControlPlaneAccess] };
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const clusterOf = (doc: StackExport): Record<string, any> => doc.deployment.resources.find((r) => r.type === T.cluster)!.inputs as Record<string, any>;

    it("accepts the DNS endpoint the platform creates, with and without authorized networks", async () => {
        for (const stack of ["staging", "production"]) {
            assert.deepEqual(await runPolicies(await exportOf(stack), undefined, only), [], stack);
        }
        assert.deepEqual(await runPolicies(await exportOf("production", OFFICE), undefined, only), []);
    });

    it("accepts a DNS-only control plane (IP endpoints off, no authorized networks)", async () => {
        const doc = await exportOf("production");
        const c = clusterOf(doc);
        delete c.masterAuthorizedNetworksConfig;
        c.controlPlaneEndpointsConfig.ipEndpointsConfig.enabled = false;
        assert.deepEqual(await runPolicies(doc, undefined, only), []);
    });

    it("still flags a public IP endpoint open to any address, DNS endpoint or not", async () => {
        const doc = await exportOf("production", OFFICE);
        delete clusterOf(doc).masterAuthorizedNetworksConfig;
        const messages = (await runPolicies(doc, undefined, only)).map((v) => v.message);
        assert.equal(messages.length, 1);
        assert.match(messages[0], /masterAuthorizedNetworksConfig is unset: the public IP endpoint accepts any address/);
        const open = await exportOf("production", OFFICE);
        clusterOf(open).masterAuthorizedNetworksConfig.cidrBlocks.push({ cidrBlock: "0.0.0.0/0", displayName: "all" });
        assert.match((await runPolicies(open, undefined, only))[0]?.message ?? "", /0\.0\.0\.0\/0 opens the control plane/);
    });
});

// Which service account Autopilot nodes run as: the cluster's
// autoscaling.autoprovisioningNodePoolDefaults.serviceAccount. Google reads the Autopilot node
// service account from exactly that field ("For Autopilot mode clusters: gcloud container clusters
// describe … --flatten=autoscaling.autoprovisioningNodePoolDefaults.serviceAccount",
// https://cloud.google.com/kubernetes-engine/docs/troubleshooting/service-accounts); the provider
// sends cluster_autoscaling.auto_provisioning_defaults.service_account as that field on create
// ("the Service Account to be used by the node VMs created by GKE Autopilot or NAP",
// hashicorp/terraform-provider-google website/docs/r/container_cluster.html.markdown;
// resource_container_cluster.go `expandAutoProvisioningDefaults`), and Google's GKE module checks
// it the same way (terraform-google-modules/terraform-google-kubernetes-engine,
// test/integration/simple_autopilot_private_non_default_sa).
describe("Autopilot nodes run as the dedicated node service account", () => {
    it("the cluster names the node service account the IAM step creates (looked up by id), and nothing turns on node auto-provisioning by hand", async () => {
        for (const stack of ["staging", "production"]) {
            const r = stacks[stack];
            const lookup = r.result.invokes.find((i) => i.token === "gcp:serviceaccount/getAccount:getAccount" && String(i.inputs.accountId).startsWith("gke-nodes-"));
            assert.ok(lookup, `${stack}: the program looks the node service account up`);
            const c = r.inputs(T.cluster);
            assert.equal(c.enableAutopilot, true);
            const iam = await renderIamProgram({ name: stack, stack, overrides: {} });
            const sa = iam.resources.find((a) => a.type === "gcp:serviceaccount/account:Account" && a.inputs.accountId === lookup.inputs.accountId);
            assert.ok(sa, `${stack}: the IAM step creates ${String(lookup.inputs.accountId)}`);
            assert.deepEqual(c.clusterAutoscaling, { autoProvisioningDefaults: { serviceAccount: sa.outputs.email } }, stack);
            const grant = iam.resources.find((m) => m.type === "gcp:projects/iAMMember:IAMMember" && (m.inputs as any).role === "roles/container.defaultNodeServiceAccount");
            assert.equal((grant?.inputs as any)?.member, `serviceAccount:${sa.outputs.email as string}`, `${stack}: the minimum role GKE needs on it`);
            assert.deepEqual(r.all("gcp:serviceaccount/account:Account"), [], `${stack}: the program creates no service account`);
        }
    });

    it("docs/operations.md tells how to check it after the cluster exists", () => {
        const ops = readFileSync(join(ROOT, "docs", "operations.md"), "utf8");
        assert.match(ops, /gcloud container clusters describe [^`]{0,200}?--format='value\(autoscaling\.autoprovisioningNodePoolDefaults\.serviceAccount\)'/);
        assert.match(ops, /gke-nodes-<stack>@<project>\.iam\.gserviceaccount\.com/);
    });
});
