/**
 * The Google Cloud side of the platform, rendered from the real stack files under mocks:
 * secure defaults pinned, staging/production differences, and the database never public.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { CIS_DATABASE_FLAGS, IAM_AUTHENTICATION_FLAG } from "../components/database";
import { Rendered, T, renderStack } from "./helpers/platform";

const stacks: Record<string, Rendered> = {};
before(async () => {
    stacks.staging = await renderStack("staging");
    stacks.production = await renderStack("production");
});

describe("both stacks build a complete resource graph", () => {
    for (const stack of ["staging", "production"]) {
        it(stack, () => {
            const r = stacks[stack];
            const components = new Set(r.resources.filter((x) => !x.custom).map((x) => x.type));
            // The core components (other optional ones, e.g. edge, dns and monitoring, come and go with config).
            for (const type of [
                "django-platform:cache:Cache",
                "django-platform:cluster:Cluster",
                "django-platform:database:Database",
                "django-platform:index:DjangoPlatform",
                "django-platform:media:Media",
                "django-platform:network:Network",
                "django-platform:networking:Networking",
                "django-platform:schedules:Schedule",
                "django-platform:statics:Statics",
                "django-platform:workload:Workload",
            ]) {
                assert.ok(components.has(type), `${stack}: no ${type}`);
            }
            assert.equal(components.has("django-platform:workers:Worker"), stack === "production", "production ships the tasks worker");
            // Every child is named after its parent and parented to it.
            for (const res of r.resources.filter((x) => x.parent)) {
                const parent = r.byUrn(res.parent!);
                assert.ok(parent, `${res.name}: parent ${res.parent} was not registered`);
                assert.ok(res.name.startsWith(`${parent.name}-`), `${res.name} is not named ${parent.name}-<role>`);
            }
            for (const res of r.resources.filter((x) => x.type.startsWith("kubernetes:"))) {
                assert.ok(res.provider?.includes("pulumi:providers:kubernetes::django-cluster-k8s"), `${res.name} does not use the cluster's provider`);
            }
        });
    }
});

describe("Cloud SQL", () => {
    it("is private-only, encrypted, backed up, with the CIS flags and Query Insights", () => {
        for (const r of Object.values(stacks)) {
            const s = r.inputs(T.sqlInstance).settings;
            assert.equal(s.ipConfiguration.ipv4Enabled, false);
            assert.ok(s.ipConfiguration.privateNetwork, "privateNetwork must be set");
            assert.equal(s.ipConfiguration.authorizedNetworks, undefined);
            assert.equal(s.ipConfiguration.sslMode, "TRUSTED_CLIENT_CERTIFICATE_REQUIRED");
            assert.equal(s.backupConfiguration.enabled, true);
            assert.equal(s.backupConfiguration.pointInTimeRecoveryEnabled, true);
            assert.equal(s.insightsConfig.queryInsightsEnabled, true);
            assert.deepEqual(s.maintenanceWindow, { day: 7, hour: 3, updateTrack: "stable" });
            // The CIS flags, and IAM database authentication (both stacks connect through the Auth Proxy).
            assert.deepEqual(s.databaseFlags, [...CIS_DATABASE_FLAGS, IAM_AUTHENTICATION_FLAG].map((f) => ({ ...f })));
            assert.match(r.inputs(T.sqlInstance).databaseVersion, /^POSTGRES_18$/);
        }
    });

    it("waits for the private services connection, which is abandoned on destroy", () => {
        for (const r of Object.values(stacks)) {
            const connection = r.one(T.connection);
            assert.equal(connection.inputs.deletionPolicy, "ABANDON");
            assert.ok(r.one(T.sqlInstance).dependencies.includes(connection.urn));
            assert.equal(r.inputs(T.globalAddress, "django-network-private-services").purpose, "VPC_PEERING");
        }
    });

    const table: Array<[string, (r: Rendered) => unknown, unknown, unknown]> = [
        ["availabilityType", (r) => r.inputs(T.sqlInstance).settings.availabilityType, "ZONAL", "REGIONAL"],
        ["deletionProtection", (r) => r.inputs(T.sqlInstance).deletionProtection, false, true],
        ["deletionProtectionEnabled", (r) => r.inputs(T.sqlInstance).settings.deletionProtectionEnabled, false, true],
        ["Pulumi protect (instance)", (r) => r.one(T.sqlInstance).protect, false, true],
        ["Pulumi protect (database)", (r) => r.one(T.sqlDatabase).protect, false, true],
        ["tier", (r) => r.inputs(T.sqlInstance).settings.tier, "db-f1-micro", "db-custom-2-7680"],
        ["retained backups", (r) => r.inputs(T.sqlInstance).settings.backupConfiguration.backupRetentionSettings.retainedBackups, 7, 30],
        ["GKE deletion protection", (r) => r.inputs(T.cluster).deletionProtection, false, true],
        ["CDN backend bucket", (r) => r.all(T.backendBucket).length, 0, 1],
        ["static URL", (r) => r.result.stackOutputs.staticUrl, "https://storage.googleapis.com/django-statics-bucket-db78c16/", "https://static.example.com/"],
    ];
    for (const [what, read, staging, production] of table) {
        it(`${what}: staging ${String(staging)}, production ${String(production)}`, () => {
            assert.deepEqual(read(stacks.staging), staging);
            assert.deepEqual(read(stacks.production), production);
        });
    }

    it("the schema owner's password is generated and a secret end to end, and reaches no pod", () => {
        const user = stacks.staging.one(T.sqlUser, "django-database-user");
        assert.ok(user.secretInputs.includes("password"), "password input must be a secret");
        const password = stacks.staging.one("random:index/randomPassword:RandomPassword", "django-database-password");
        assert.ok(user.dependencies.includes(password.urn));
        const secret = stacks.staging.all(T.secret).find((s) => s.name === "django-workload-env")!;
        assert.ok(secret.secretInputs.some((p) => p.startsWith("stringData")), "the env Secret's data must stay secret");
        assert.equal((secret.inputs as any).stringData.DJANGO_APP_DB_PASSWORD, undefined, "with IAM authentication no pod gets a database password");
    });

    it("one IAM database user per identity that uses the database, named after its account; migrate joins the schema owner", () => {
        for (const [stack, r] of Object.entries(stacks)) {
            const project = r.inputs(T.sqlInstance).project;
            const iamUsers = r.all(T.sqlUser).filter((u) => u.inputs.type === "CLOUD_IAM_SERVICE_ACCOUNT");
            const expected = ["web", "migrate", ...(stack === "production" ? ["worker-tasks"] : [])];
            assert.deepEqual(iamUsers.map((u) => u.name).sort(), expected.map((e) => `django-database-iam-${e}`).sort());
            for (const u of iamUsers) {
                assert.match(String(u.inputs.name), new RegExp(`^dj-${stack}-[a-z-]+@${project}\\.iam$`), "the email without .gserviceaccount.com");
                assert.equal(u.inputs.password, undefined);
                assert.equal(u.inputs.deletionPolicy, "ABANDON");
                assert.deepEqual(u.inputs.databaseRoles, u.name.endsWith("-migrate") ? ["django"] : undefined);
                assert.ok(u.dependencies.includes(r.one(T.sqlUser, "django-database-user").urn), "the schema owner exists first");
            }
            // No collectstatic user: it never connects.
            assert.ok(!iamUsers.some((u) => String(u.inputs.name).includes("-static@")));
        }
    });

    it("private-ip: the password user for every pod, no IAM users, no IAM flag (docs/architecture.md)", async () => {
        const r = await renderStack("staging", { "django-platform:database": { connector: "private-ip" } });
        assert.deepEqual(r.all(T.sqlUser).map((u) => u.name), ["django-database-user"]);
        assert.deepEqual(r.inputs(T.sqlInstance).settings.databaseFlags, CIS_DATABASE_FLAGS.map((f) => ({ ...f })));
        const secret = r.all(T.secret).find((s) => s.name === "django-workload-env")!;
        assert.ok("DJANGO_APP_DB_PASSWORD" in (secret.inputs as any).stringData);
    });

    const variants: Array<[string, Record<string, unknown>]> = [
        ["private-ip connector", { "django-platform:database": { connector: "private-ip" } }],
        ["HA without backups", { "django-platform:database": { highAvailability: true, backups: { enabled: false } } }],
        ["memorystore", { "django-platform:cache": { mode: "memorystore", replicas: 2, memorySizeGb: 5 } }],
        ["existing network and cluster", { "django-platform:network": { mode: "existing", name: "shared", subnetName: "gke", privateServicesRangeName: "google-managed-services-shared" }, "django-platform:cluster": { mode: "existing", name: "shared-gke" } }],
    ];
    for (const [title, overrides] of variants) {
        it(`never gets a public IP: ${title}`, async () => {
            const r = await renderStack("staging", overrides);
            const ip = r.inputs(T.sqlInstance).settings.ipConfiguration;
            assert.equal(ip.ipv4Enabled, false);
            assert.ok(["ENCRYPTED_ONLY", "TRUSTED_CLIENT_CERTIFICATE_REQUIRED"].includes(ip.sslMode));
        });
    }

    it("sslMode follows the connector", async () => {
        const r = await renderStack("staging", { "django-platform:database": { connector: "private-ip" } });
        assert.equal(r.inputs(T.sqlInstance).settings.ipConfiguration.sslMode, "ENCRYPTED_ONLY");
        assert.equal(r.all(T.projectIam).filter((m) => m.inputs.role === "roles/cloudsql.client").length, 0, "no cloudsql.client without the proxy");
    });
});

describe("network", () => {
    it("custom VPC with pod/service ranges, Cloud NAT for private nodes", () => {
        const r = stacks.staging;
        assert.equal(r.inputs("gcp:compute/network:Network").autoCreateSubnetworks, false);
        const subnet = r.inputs("gcp:compute/subnetwork:Subnetwork");
        assert.deepEqual(subnet.secondaryIpRanges.map((x: { rangeName: string }) => x.rangeName), ["pods", "services"]);
        assert.equal(subnet.privateIpGoogleAccess, true);
        assert.equal(r.all("gcp:compute/routerNat:RouterNat").length, 1);
        const cluster = r.inputs(T.cluster);
        assert.deepEqual(cluster.ipAllocationPolicy, { clusterSecondaryRangeName: "pods", servicesSecondaryRangeName: "services" });
    });

    it("an existing network is looked up, not created", async () => {
        const r = await renderStack("staging", { "django-platform:network": { mode: "existing", name: "shared", subnetName: "gke", privateServicesRangeName: "google-managed-services-shared" } });
        assert.equal(r.all("gcp:compute/network:Network").length, 0);
        assert.ok(r.result.invokes.some((i) => i.token === "gcp:compute/getNetwork:getNetwork" && i.inputs.name === "shared"));
        assert.equal(r.all(T.connection).length, 0, "the VPC's own private services connection is reused, never a second one");
    });
});

describe("statics", () => {
    it("only the static bucket is public, objects only, with CORS from config", () => {
        const r = stacks.production;
        const bucket = r.inputs(T.bucket, "django-statics-bucket");
        assert.equal(bucket.uniformBucketLevelAccess, true);
        assert.equal(bucket.versioning.enabled, true);
        assert.deepEqual(bucket.cors, [{ origins: ["https://www.example.com"], methods: ["GET", "HEAD", "OPTIONS"], responseHeaders: ["Content-Type"], maxAgeSeconds: 3600 }]);
        assert.ok(bucket.logging.logBucket);
        assert.equal(r.inputs(T.bucket, "django-statics-logs").publicAccessPrevention, "enforced");
        const publicGrants = r.all(T.bucketIam).filter((m) => String(m.inputs.member).startsWith("all"));
        assert.deepEqual(publicGrants.map((m) => [m.name, m.inputs.role]), [["django-statics-public-read", "roles/storage.legacyObjectReader"]]);
    });

    it("the CDN: backend bucket with Cloud CDN, managed certificate, HTTPS redirect, TLS 1.2+", () => {
        const r = stacks.production;
        assert.equal(r.inputs(T.backendBucket).enableCdn, true);
        assert.deepEqual(r.inputs("gcp:compute/managedSslCertificate:ManagedSslCertificate").managed.domains, ["static.example.com"]);
        assert.equal(r.inputs("gcp:compute/uRLMap:URLMap", "django-statics-cdn-redirect").defaultUrlRedirect.httpsRedirect, true);
        assert.equal(r.inputs("gcp:compute/sSLPolicy:SSLPolicy", "django-statics-cdn-ssl-policy").minTlsVersion, "TLS_1_2");
        assert.deepEqual(r.all("gcp:compute/globalForwardingRule:GlobalForwardingRule").map((f) => f.inputs.portRange).sort(), ["443", "80"]);
    });
});

describe("GKE", () => {
    it("Autopilot, private nodes, Workload Identity, KMS-encrypted Secrets, dedicated node SA, no IP endpoint without authorized networks", () => {
        const c = stacks.production.inputs(T.cluster);
        assert.equal(c.enableAutopilot, true);
        assert.equal(c.privateClusterConfig.enablePrivateNodes, true);
        assert.equal(c.workloadIdentityConfig.workloadPool, "acme-django-prod.svc.id.goog");
        assert.equal(c.databaseEncryption.state, "ENCRYPTED");
        assert.equal(c.releaseChannel.channel, "STABLE");
        assert.equal(c.datapathProvider, "ADVANCED_DATAPATH");
        assert.match(c.clusterAutoscaling.autoProvisioningDefaults.serviceAccount, /^gke-nodes-production@/);
        assert.equal(c.controlPlaneEndpointsConfig.ipEndpointsConfig.enabled, false, "details in tests/cluster-access.test.ts");
        assert.equal(stacks.production.inputs("gcp:kms/cryptoKey:CryptoKey").rotationPeriod, "7776000s");
    });

    it("the kubeconfig authenticates with gke-gcloud-auth-plugin, no static credentials", () => {
        const kubeconfig = JSON.parse(stacks.staging.inputs(T.k8sProvider).kubeconfig);
        assert.equal(kubeconfig.users[0].user.exec.command, "gke-gcloud-auth-plugin");
        assert.equal(kubeconfig.users[0].user.token, undefined);
        assert.match(kubeconfig.clusters[0].cluster.server, /^https:\/\//);
    });

    it("an existing cluster is looked up by name and location", async () => {
        const r = await renderStack("staging", { "django-platform:cluster": { mode: "existing", name: "shared-gke", location: "europe-west1-b" }, "django-platform:network": { mode: "existing", name: "shared", subnetName: "gke", privateServicesRangeName: "google-managed-services-shared" } });
        assert.equal(r.all(T.cluster).length, 0);
        const lookup = r.result.invokes.find((i) => i.token === "gcp:container/getCluster:getCluster");
        assert.deepEqual([lookup?.inputs.name, lookup?.inputs.location], ["shared-gke", "europe-west1-b"]);
        assert.equal(r.all(T.deployment).length, 1);
    });
});

describe("Private Google Access and egress", () => {
    it("a created VPC resolves *.googleapis.com to private.googleapis.com (199.36.153.8/30) in a private zone bound to it", () => {
        for (const r of Object.values(stacks)) {
            const zone = r.one("gcp:dns/managedZone:ManagedZone", "django-network-googleapis");
            const vpc = r.one("gcp:compute/network:Network", "django-network-vpc");
            assert.deepEqual([zone.inputs.dnsName, zone.inputs.visibility], ["googleapis.com.", "private"]);
            assert.deepEqual((zone.inputs as any).privateVisibilityConfig.networks, [{ networkUrl: vpc.id }]);
            const records = r.all("gcp:dns/recordSet:RecordSet").filter((x) => x.inputs.managedZone === (zone.outputs as any).name);
            assert.deepEqual(records.map((x) => [x.inputs.name, x.inputs.type, x.inputs.rrdatas]).sort(), [
                ["*.googleapis.com.", "CNAME", ["private.googleapis.com."]],
                ["private.googleapis.com.", "A", ["199.36.153.8", "199.36.153.9", "199.36.153.10", "199.36.153.11"]],
            ]);
            assert.equal(r.inputs("gcp:compute/subnetwork:Subnetwork").privateIpGoogleAccess, true);
            // The pods' egress narrows to that range only once the names resolve there.
            const egress = r.one(T.networkPolicy, "django-workload-django-egress");
            for (const x of [zone, ...records]) assert.ok(egress.dependencies.includes(x.urn), `django-egress waits for ${x.name}`);
            assert.deepEqual((egress.inputs as any).spec.egress[1], { to: [{ ipBlock: { cidr: "199.36.153.8/30" } }], ports: [{ protocol: "TCP", port: 443 }] });
        }
    });

    it("Cloud NAT logs every translation, not only errors", () => {
        for (const r of Object.values(stacks)) {
            assert.deepEqual(r.inputs("gcp:compute/routerNat:RouterNat").logConfig, { enable: true, filter: "ALL" });
        }
    });

    it("no internet host by default; network.egressAllowList opens its ranges on 443 for the app's pods, never the private ones inside", async () => {
        for (const r of Object.values(stacks)) {
            assert.equal(r.all(T.networkPolicy).filter((p) => p.name === "django-workload-django-internet-egress").length, 0);
        }
        const open = await renderStack("staging", { "django-platform:network": { egressAllowList: ["203.0.113.0/24", "0.0.0.0/0"] } });
        const spec = open.inputs(T.networkPolicy, "django-workload-django-internet-egress").spec;
        assert.deepEqual(spec.podSelector.matchExpressions[0].values, ["web", "worker", "schedule", "manage"]);
        assert.deepEqual(spec.egress, [{
            to: [{ ipBlock: { cidr: "203.0.113.0/24" } }, { ipBlock: { cidr: "0.0.0.0/0", except: ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16"] } }],
            ports: [{ protocol: "TCP", port: 443 }],
        }]);
    });

    it("network.mode existing: no zone (the VPC must resolve them already, docs/operations.md)", async () => {
        const r = await renderStack("staging", { "django-platform:network": { mode: "existing", name: "shared", subnetName: "gke", privateServicesRangeName: "google-managed-services-shared" } });
        assert.deepEqual(r.all("gcp:dns/managedZone:ManagedZone"), []);
    });
});

describe("IAM", () => {
    it("Workload Identity is bound on the service account, to exactly one Kubernetes SA each", () => {
        const bindings = stacks.staging.all(T.saIam).filter((b) => b.inputs.role === "roles/iam.workloadIdentityUser");
        assert.deepEqual(bindings.map((b) => b.inputs.member).sort(), [
            "serviceAccount:acme-django-staging.svc.id.goog[django-staging/collectstatic]",
            "serviceAccount:acme-django-staging.svc.id.goog[django-staging/migrate]",
            "serviceAccount:acme-django-staging.svc.id.goog[django-staging/web]",
        ]);
        // No other service-account-level grant in the program CI runs: signing as itself is the IAM step's.
        const others = stacks.staging.all(T.saIam).filter((b) => b.inputs.role !== "roles/iam.workloadIdentityUser");
        assert.deepEqual(others.map((b) => [b.name, b.inputs.role]), []);
        assert.equal(stacks.staging.all(T.projectIam).filter((m) => m.inputs.role === "roles/iam.workloadIdentityUser").length, 0);
    });

    it("least privilege: no project grant in the program (the IAM step's), only collectstatic writes statics", () => {
        const r = stacks.staging;
        assert.deepEqual(r.all(T.projectIam), []);
        assert.deepEqual(r.all("gcp:serviceaccount/account:Account"), []);
        const writers = r.all(T.bucketIam).filter((m) => m.inputs.role === "roles/storage.objectAdmin");
        assert.deepEqual(writers.map((w) => w.inputs.member), ["serviceAccount:dj-staging-static@acme-django-staging.iam.gserviceaccount.com"]);
    });
});
