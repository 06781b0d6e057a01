/**
 * What a first real `pulumi up` (and the next one, a month later) needs from GCP, GKE and the
 * providers, each as a test with its source: the order of IAM grants and pods, Job timeouts, the
 * auto-grown Cloud SQL disk, the private services range, and the config values GCP rejects.
 * Where the source is a provider's own documentation shipped in node_modules, the test reads it
 * there, so a provider upgrade that changes the behaviour fails here first.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { ConfigError, validateConfig } from "../config";
import { DISK_SIZE_PROPERTY } from "../components/database";
import { autopilotRatioViolation, customTierProblem, editionAcceptsTier, overlappingRanges } from "../components/gcpLimits";
import { JOB_DEADLINE_SECONDS, JOB_TIMEOUTS } from "../components/workload";
import { CapturedResource } from "../cli/lib/mockRuntime";
import { ROOT, Rendered, T, renderStack } from "./helpers/platform";

const BASE: Record<string, string> = {
    "gcp:project": "acme-staging",
    "gcp:region": "europe-west1",
    "django-platform:domain": "app.example.com",
    "django-platform:image": "repo/app:1.0",
};
const json = (v: unknown) => JSON.stringify(v);

function problemsFor(patch: Record<string, string>): string[] {
    try {
        validateConfig({ ...BASE, ...patch }, "staging");
    } catch (err) {
        assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
        return err.problems;
    }
    return [];
}

/** Go-style duration ("20m", "1h30m") in seconds. */
function seconds(duration: string): number {
    let total = 0;
    for (const [, n, unit] of duration.matchAll(/(\d+)(h|m|s)/g)) {
        total += Number(n) * { h: 3600, m: 60, s: 1 }[unit as "h" | "m" | "s"];
    }
    return total;
}

const providerDoc = (relative: string) => readFileSync(join(ROOT, "node_modules", relative), "utf8");

let staging: Rendered;
let production: Rendered;
before(async () => {
    // One at a time: the mock runtime is process-wide.
    staging = await renderStack("staging");
    production = await renderStack("production");
});

describe("Jobs: Pulumi waits as long as the Job may run, and a refresh never re-runs them", () => {
    it("the Kubernetes provider's own default wait for a Job is 10 minutes, shorter than the Job's deadline", () => {
        // Source: @pulumi/kubernetes batch/v1 Job: "If the Job has not reached a Ready state after 10 minutes, it will time out".
        assert.match(providerDoc("@pulumi/kubernetes/batch/v1/job.d.ts"), /has not reached a Ready state after 10 minutes/);
        assert.ok(JOB_DEADLINE_SECONDS > 600, "if the deadline fitted the default, customTimeouts would not be needed");
    });

    for (const stack of ["staging", "production"]) {
        it(`${stack}: every Job's customTimeouts cover its activeDeadlineSeconds; no TTL`, () => {
            const r = stack === "staging" ? staging : production;
            const jobs = r.all(T.job);
            assert.equal(jobs.length, 2);
            for (const job of jobs) {
                const spec = (job.inputs as any).spec;
                assert.ok(seconds(job.customTimeouts!.create) > spec.activeDeadlineSeconds, `${job.name} create timeout ${job.customTimeouts!.create}`);
                assert.ok(seconds(job.customTimeouts!.update) > spec.activeDeadlineSeconds, `${job.name} update timeout ${job.customTimeouts!.update}`);
                // With a TTL the cluster deletes the finished Job; `pulumi refresh` then drops it from
                // the state and the next `up` runs the migration again with the same image.
                assert.equal(spec.ttlSecondsAfterFinished, undefined, job.name);
                assert.equal(job.deleteBeforeReplace, true, `${job.name}: a new image replaces the Job (names are unique)`);
            }
        });
    }

    it("the timeout constant itself is a valid Go duration longer than the deadline", () => {
        assert.match(JOB_TIMEOUTS.create!, /^\d+m$/);
        assert.ok(seconds(JOB_TIMEOUTS.create!) >= JOB_DEADLINE_SECONDS + 60);
    });
});

describe("IAM before use: pods start only after the grants they use exist", () => {
    // IAM changes take effect after a delay ("Access change propagation",
    // https://cloud.google.com/iam/docs/access-change-propagation); a pod started before its grant
    // gets 403s from the metadata server, the Auth Proxy or Cloud Storage and burns its retries.
    const named = (r: Rendered, type: string, name: string): CapturedResource => r.one(type, name);
    const dependsOn = (r: Rendered, resource: CapturedResource, type: string, name: string) =>
        assert.ok(resource.dependencies.includes(named(r, type, name).urn), `${resource.name} must depend on ${name}`);

    for (const stack of ["staging", "production"]) {
        it(`${stack}: migrate, collectstatic and the web Deployment wait for their grants`, () => {
            const r = stack === "staging" ? staging : production;
            const migrate = named(r, T.job, "django-workload-migrate");
            const collectstatic = named(r, T.job, "django-workload-collectstatic");
            const web = named(r, T.deployment, "django-workload-web");
            // roles/cloudsql.client comes from the IAM step, run before the stack's first deploy
            // (docs/bootstrap.md); the program makes no project grant to wait for.
            assert.deepEqual(r.all(T.projectIam), []);
            dependsOn(r, web, T.saIam, "django-workload-web-workload-identity");
            dependsOn(r, web, T.bucketIam, "django-statics-web-object-viewer");
            // The migrate Job runs as its own identity and waits for the IAM database users it grants to.
            dependsOn(r, migrate, T.saIam, "django-workload-migrate-workload-identity");
            for (const user of ["django-database-iam-migrate", "django-database-iam-web"]) {
                dependsOn(r, migrate, T.sqlUser, user);
                dependsOn(r, web, T.sqlUser, user);
            }
            dependsOn(r, collectstatic, T.saIam, "django-workload-collectstatic-workload-identity");
            dependsOn(r, collectstatic, T.bucketIam, "django-statics-collectstatic-object-admin");
        });
    }

    it("the web pods read the static bucket as themselves (read access granted, not assumed from public read)", () => {
        const viewer = staging.inputs(T.bucketIam, "django-statics-web-object-viewer");
        assert.equal(viewer.role, "roles/storage.objectViewer");
        assert.match(viewer.member, /^serviceAccount:dj-staging-web@/);
    });
});

describe("Cloud SQL: the disk grows by itself, and a later `pulumi up` must not shrink it", () => {
    it("the provider documents that diskSize overrides auto-resize unless its changes are ignored", () => {
        // Source: @pulumi/gcp DatabaseInstanceSettings.diskSize.
        assert.match(providerDoc("@pulumi/gcp/types/input.d.ts"), /Note that this value will override the resizing from `diskAutoresize` if that feature is enabled\. To avoid this, set `lifecycle\.ignore_changes` on this field\./);
    });
    for (const stack of ["staging", "production"]) {
        it(`${stack}: auto-resize on, the size ignored after creation`, () => {
            const r = stack === "staging" ? staging : production;
            const instance = r.one(T.sqlInstance);
            assert.equal((instance.inputs as any).settings.diskAutoresize, true);
            assert.deepEqual(instance.ignoreChanges, [DISK_SIZE_PROPERTY]);
            assert.equal(DISK_SIZE_PROPERTY, "settings.diskSize");
        });
    }
});

describe("in-cluster Redis: a persistence change replaces the master, one master at a time", () => {
    // Kubernetes refuses in-place changes of volumeClaimTemplates: "updates to statefulset spec for
    // fields other than 'replicas', 'ordinals', 'template', 'updateStrategy',
    // 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"
    // (kubernetes/kubernetes pkg/apis/apps/validation/validation.go, ValidateStatefulSetUpdate).
    it("the master is replaced on a volumeClaimTemplates change, deleting the old one first", () => {
        const master = production.one(T.statefulSet, "django-cache-master");
        assert.ok((master.inputs as any).spec.volumeClaimTemplates.length === 1, "production keeps the master on a PVC");
        assert.deepEqual(master.replaceOnChanges, ["spec.volumeClaimTemplates"]);
        assert.equal(master.deleteBeforeReplace, true, "create-before-delete would put two masters behind one Service");
    });
});

describe("private services access", () => {
    it("create mode: the range is pinned (10.99.0.0/20), apart from the control plane's 172.16.0.0/28", () => {
        const range = staging.inputs(T.globalAddress, "django-network-private-services");
        assert.equal(range.address, "10.99.0.0");
        assert.equal(range.prefixLength, 20);
        assert.equal(staging.all(T.connection).length, 1);
    });

    it("existing mode reuses the VPC's range and creates no second servicenetworking connection", async () => {
        const r = await renderStack("staging", {
            "django-platform:network": { mode: "existing", name: "shared", subnetName: "gke", privateServicesRangeName: "google-managed-services-shared" },
        });
        assert.equal(r.all(T.connection).length, 0);
        assert.equal(r.all(T.globalAddress).filter((a) => (a.inputs as any).purpose === "VPC_PEERING").length, 0);
        assert.equal(r.all("gcp:compute/routerNat:RouterNat").length, 0);
        const lookup = r.result.invokes.find((i) => i.token === "gcp:compute/getGlobalAddress:getGlobalAddress");
        assert.equal(lookup?.inputs.name, "google-managed-services-shared");
        // The database egress rule follows the looked-up range, not a guess.
        const egress = r.all(T.networkPolicy).map((p) => (p.inputs as any).spec).find((s) => JSON.stringify(s).includes("10.98.0.0/16"));
        assert.ok(egress, "the django egress policy allows the existing range (mocked as 10.98.0.0/16)");
    });
});

describe("config values GCP rejects or silently changes are config errors", () => {
    const table: Array<[string, Record<string, string>, string]> = [
        [
            "ENTERPRISE_PLUS with a custom tier",
            { "django-platform:database": json({ edition: "ENTERPRISE_PLUS" }) },
            "django-platform:database.tier db-custom-1-3840 is not available in the Cloud SQL edition ENTERPRISE_PLUS (got \"db-custom-1-3840\" with database.edition \"ENTERPRISE_PLUS\"); ENTERPRISE takes db-custom-* and shared-core tiers, ENTERPRISE_PLUS only db-perf-optimized-N-*. Fix: `pulumi config set --path database.tier db-perf-optimized-N-2`, or `pulumi config set --path database.edition ENTERPRISE`.",
        ],
        [
            "ENTERPRISE with a performance-optimized tier",
            { "django-platform:database": json({ tier: "db-perf-optimized-N-2", maxConnections: 200 }) },
            "django-platform:database.tier db-perf-optimized-N-2 is not available in the Cloud SQL edition ENTERPRISE (got \"db-perf-optimized-N-2\" with database.edition \"ENTERPRISE\"); ENTERPRISE takes db-custom-* and shared-core tiers, ENTERPRISE_PLUS only db-perf-optimized-N-*. Fix: `pulumi config set --path database.edition ENTERPRISE_PLUS`, or a custom tier such as `pulumi config set --path database.tier db-custom-2-7680`.",
        ],
        [
            "a custom tier with an odd vCPU count",
            { "django-platform:database": json({ tier: "db-custom-3-7680", maxConnections: 200 }) },
            "django-platform:database.tier: Cloud SQL rejects the custom tier db-custom-3-7680 (3 vCPUs: a custom tier has 1 vCPU or an even number from 2 to 96). Fix: `pulumi config set --path database.tier db-custom-2-7680`.",
        ],
        [
            "Autopilot CPU:memory ratio",
            { "django-platform:workload": json({ cpu: "2", memory: "1Gi" }) },
            "django-platform:workload.memory (1Gi) does not fit django-platform:workload.cpu (2): GKE Autopilot needs 1 to 6.5 GiB of memory per vCPU and would change the requests. Fix: `pulumi config set --path workload.memory 2048Mi` (any value from 2048Mi to 13312Mi), or change workload.cpu.",
        ],
        [
            "existing cluster with a created network",
            { "django-platform:cluster": json({ mode: "existing", name: "shared-gke" }) },
            "django-platform:cluster.mode existing needs django-platform:network.mode existing (got network.mode \"create\"): Cloud SQL's private IP would live in a new VPC that the existing cluster cannot reach. Fix: `pulumi config set --path network.mode existing` with `network.name` and `network.subnetName` of the cluster's VPC.",
        ],
        [
            "existing network without its private services range",
            { "django-platform:network": json({ mode: "existing", name: "shared", subnetName: "gke" }) },
            "django-platform:network.privateServicesRangeName is required when network.mode is existing (got nothing): the VPC's existing private services access range is reused, because a second servicenetworking connection on one VPC fails (\"Cannot modify allocated ranges in CreateConnection\"). Fix: `pulumi config set --path network.privateServicesRangeName <range>` (find it with `gcloud compute addresses list --global --filter=purpose=VPC_PEERING`).",
        ],
        [
            "overlapping ranges",
            { "django-platform:network": json({ privateServicesCidr: "10.20.0.0/20" }) },
            "django-platform:network.podsCidr (10.20.0.0/16) overlaps django-platform:network.privateServicesCidr (10.20.0.0/20): GCP needs distinct ranges in one VPC. Fix: `pulumi config set --path network.privateServicesCidr <a free range>`.",
        ],
        [
            "the removed loadbalancer mode names its replacement",
            { "django-platform:networking": json({ mode: "loadbalancer" }) },
            "django-platform:networking.mode: must be ingress: the loadbalancer mode was removed, because a plain-HTTP Service of type LoadBalancer cannot serve the app, which redirects every request to HTTPS; the ingress mode serves HTTPS with a managed certificate (got \"loadbalancer\"). Fix: `pulumi config set --path networking.mode ingress`.",
        ],
        [
            "a number stored by `config set --path` where a string is expected gets --type string, not config rm",
            { "django-platform:appEnv": json({ MAX_UPLOAD_MB: 10 }) },
            "django-platform:appEnv.MAX_UPLOAD_MB: must be a string, but the CLI stored 10 as a number (got 10). Fix: `pulumi config set --path --type string appEnv.MAX_UPLOAD_MB 10`.",
        ],
        [
            "a key under a misspelt project namespace is an error, not ignored",
            { "django-platfrom:cache": json({ replicas: 3 }) },
            "django-platfrom:cache: \"django-platfrom\" is not this project's namespace, so the value would be ignored (got \"{\\\"replicas\\\":3}\"). Fix: `pulumi config rm django-platfrom:cache`, then set it as django-platform:cache.",
        ],
    ];
    for (const [title, patch, expected] of table) {
        it(title, () => assert.deepEqual(problemsFor(patch), [expected]));
    }

    it("regions with two-digit numbers exist (europe-west10 Berlin, europe-west12 Turin) and are accepted", () => {
        assert.deepEqual(problemsFor({ "gcp:region": "europe-west10" }), []);
        assert.deepEqual(problemsFor({ "gcp:region": "europe-west12" }), []);
        assert.equal(problemsFor({ "gcp:region": "europe-westx" }).length, 1);
    });

    it("keys of other packages (gcp:, kubernetes:) and unrelated namespaces stay allowed", () => {
        assert.deepEqual(problemsFor({ "kubernetes:enableServerSideApply": "true", "myteam:owner": "web" }), []);
    });

    it("fix commands quote paths with brackets, so zsh does not expand them as globs", () => {
        const [problem] = problemsFor({ "django-platform:statics": json({ corsOrigins: ["http://app.example.com"] }) });
        assert.match(problem, /pulumi config set --path 'statics\.corsOrigins\[0\]' /);
    });

    it("the rules themselves, at their edges", () => {
        assert.equal(editionAcceptsTier("ENTERPRISE", "db-custom-1-3840"), true);
        assert.equal(editionAcceptsTier("ENTERPRISE_PLUS", "db-perf-optimized-N-8"), true);
        assert.equal(customTierProblem("db-custom-1-3840"), undefined);
        assert.equal(customTierProblem("db-custom-2-7680"), undefined);
        assert.match(customTierProblem("db-custom-1-3800")!, /multiple of 256/);
        assert.match(customTierProblem("db-custom-8-3840")!, /0\.9 to 6\.5 GB per vCPU \(7424–53248 MiB\)/);
        assert.match(customTierProblem("db-custom-1-3584")!, /at least 3840 MiB/);
        assert.match(customTierProblem("db-custom-1-7168")!, /0\.9 to 6\.5 GB per vCPU/);
        assert.equal(autopilotRatioViolation("250m", "256Mi"), undefined); // 1:1
        assert.equal(autopilotRatioViolation("1", "6656Mi"), undefined); // 1:6.5
        assert.deepEqual(autopilotRatioViolation("1", "6657Mi"), { minMi: 1024, maxMi: 6656 });
        assert.deepEqual(autopilotRatioViolation("500m", "256Mi"), { minMi: 512, maxMi: 3328 });
        assert.deepEqual(overlappingRanges({ a: "10.0.0.0/16", b: "10.1.0.0/16", c: "10.0.128.0/20" }), [["a", "c"]]);
    });
});

describe("docs/gcp-facts.md: every fact has a source, the code that relies on it and its test", () => {
    const rows = readFileSync(join(ROOT, "docs", "gcp-facts.md"), "utf8")
        .split("\n")
        .filter((line) => line.startsWith("| ") && !line.startsWith("| fact") && !line.startsWith("| ---"))
        .map((line) => line.split(" | ").map((cell) => cell.replace(/^\| |\s*\|$/g, "")));
    it("has the facts", () => assert.ok(rows.length >= 20, `${rows.length} rows`));
    for (const [fact, source, code, test] of rows) {
        it(fact.slice(0, 90), () => {
            assert.match(source, /https:\/\/|node_modules|@pulumi\/|issue \d+/, "a source anyone can open");
            for (const [, file] of [...code.matchAll(/`([\w./-]+\.(?:ts|py))`/g), ...test.matchAll(/`([\w./-]+\.(?:ts|py))`/g)]) {
                assert.doesNotThrow(() => readFileSync(join(ROOT, file)), `${file} exists`);
            }
            assert.match(test, /`tests\/[\w.-]+\.test\.ts`/);
        });
    }
});

describe("private services range size", () => {
    it("a range smaller than /24 is refused", () => {
        assert.deepEqual(problemsFor({ "django-platform:network": json({ privateServicesCidr: "10.99.0.0/26" }) }), [
            "django-platform:network.privateServicesCidr (10.99.0.0/26) is smaller than /24, the smallest range private services access allocates (https://cloud.google.com/vpc/docs/configure-private-services-access#allocating-range). Fix: `pulumi config set --path network.privateServicesCidr 10.99.0.0/20`.",
        ]);
    });
});

describe("Google Groups for RBAC", () => {
    it("cluster.rbacSecurityGroup reaches the cluster's authenticatorGroupsConfig", async () => {
        const r = await renderStack("staging", { "django-platform:cluster": { rbacSecurityGroup: "gke-security-groups@example.com" } });
        assert.equal(r.inputs(T.cluster).authenticatorGroupsConfig.securityGroup, "gke-security-groups@example.com");
        assert.equal(staging.inputs(T.cluster).authenticatorGroupsConfig, undefined);
    });
    // GKE accepts only a group named gke-security-groups@<domain> (https://cloud.google.com/kubernetes-engine/docs/how-to/google-groups-rbac).
    it("only the group GKE requires is accepted", () => {
        assert.equal(problemsFor({ "django-platform:cluster": json({ rbacSecurityGroup: "admins@example.com" }) }).length, 1);
    });
});
