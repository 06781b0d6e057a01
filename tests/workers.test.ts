/**
 * Background workers (`workers.<name>`) and the fixture with every new option at once (workers,
 * schedules, media, settings/WSGI modules, Spot): config validation with exact messages, service
 * account ids, and one render checked against the official Kubernetes schemas and the policy pack.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { serviceAccountId, SERVICE_ACCOUNT_ID } from "../components/naming";
import { SPOT_PREEMPTION_GRACE_SECONDS } from "../components/spot";
import { WORKER_GRACE_SECONDS } from "../components/workers";
import { ConfigError, validateConfig } from "../config";
import { validateObjects } from "../cli/lib/k8sValidate";
import { kubernetesObjects } from "../cli/lib/manifests";
import { runPolicies } from "../cli/lib/policyRunner";
import { buildStackExport } from "../cli/lib/stackExport";
import { Rendered, T, renderStack, stackConfig, withoutStackTraces } from "./helpers/platform";

/* eslint-disable @typescript-eslint/no-explicit-any */

const BASE: Record<string, string> = {
    "gcp:project": "acme-staging",
    "gcp:region": "europe-west1",
    "django-platform:domain": "app.example.com",
    "django-platform:image": "repo/app:1.0",
};

function problems(extra: Record<string, unknown>): string[] {
    const raw: Record<string, string> = { ...BASE };
    for (const [k, v] of Object.entries(extra)) raw[`django-platform:${k}`] = JSON.stringify(v);
    try {
        validateConfig(raw, "staging");
    } catch (err) {
        assert.ok(err instanceof ConfigError);
        return err.problems;
    }
    return [];
}

describe("workers config", () => {
    it("defaults: 1-2 replicas, 250m/512Mi, one DB connection, 60 s grace", () => {
        const cfg = validateConfig({ ...BASE, "django-platform:workers": JSON.stringify({ tasks: { command: ["python", "manage.py", "demo_worker"] } }) }, "staging");
        assert.deepEqual(cfg.workers.tasks, { command: ["python", "manage.py", "demo_worker"], minReplicas: 1, maxReplicas: 2, targetCpuUtilization: 70, cpu: "250m", memory: "512Mi", dbConnections: 1, terminationGracePeriodSeconds: WORKER_GRACE_SECONDS });
        assert.deepEqual(validateConfig(BASE, "staging").workers, {});
    });

    it("names must be short DNS labels; the fix suggests one", () => {
        assert.deepEqual(problems({ workers: { Mail_Sender: { command: ["x"] } } }), [
            "django-platform:workers.Mail_Sender: must be a lower-case DNS label of at most 20 characters (letters, digits, hyphens; starting with a letter) (got \"Mail_Sender\"). Fix: `pulumi config rm --path workers.Mail_Sender`, then set it as workers.mail-sender.",
        ]);
        assert.equal(problems({ workers: { "a-very-long-worker-name": { command: ["x"] } } }).length, 1);
        assert.deepEqual(problems({ workers: { "twenty-characters-ok": { command: ["x"] } } }), []);
    });

    it("a command is required; minReplicas ≤ maxReplicas; Autopilot's memory per CPU", () => {
        assert.deepEqual(problems({ workers: { tasks: { command: [] } } }), [
            "django-platform:workers.tasks.command: must name a command, e.g. [\"python\", \"manage.py\", \"…\"] (got []). Fix: `pulumi config set --path workers.tasks.command '[\"python\",\"manage.py\",\"demo_worker\"]'`.",
        ]);
        assert.deepEqual(problems({ workers: { tasks: { command: ["x"], minReplicas: 3, maxReplicas: 2 } } }), [
            "django-platform:workers.tasks.minReplicas (3) must be less than or equal to django-platform:workers.tasks.maxReplicas (2). Fix: `pulumi config set --path workers.tasks.maxReplicas 3`.",
        ]);
        const [ratio] = problems({ workers: { tasks: { command: ["x"], cpu: "2", memory: "512Mi" } } });
        assert.match(ratio, /^django-platform:workers\.tasks\.memory \(512Mi\) does not fit django-platform:workers\.tasks\.cpu \(2\): GKE Autopilot/);
    });

    it("the connection budget counts each worker's rollout × dbConnections", () => {
        // db-f1-micro: 25 connections, 22 usable. Web: 1 replica (+1 surge +1 draining +1 disruption) × 1 × 1 = 4, Jobs 2.
        const web = { minReplicas: 1, maxReplicas: 1, gunicornWorkers: 1, gunicornThreads: 1 };
        const database = { tier: "db-f1-micro" };
        // A worker has no minReadySeconds, so all 3 old pods may drain while 3 + 1 surge run, plus one
        // autoscaler step: 8 pods × 2 connections = 16; 4 + 2 + 16 = 22 fits.
        assert.deepEqual(problems({ database, workload: web, workers: { tasks: { command: ["x"], maxReplicas: 3, dbConnections: 2 } } }), []);
        // × 3 = 24: 30 > 22.
        const [budget] = problems({ database, workload: web, workers: { tasks: { command: ["x"], maxReplicas: 3, dbConnections: 3 } } });
        assert.match(budget, /^connection budget exceeded: .* \+ 2 Job connections \+ 24 worker connections \(workers\.\*: rollouts at maxReplicas × dbConnections\) = 30, but db-f1-micro allows 25 max_connections \(22 after 3 reserved for superusers\)\. Fix: .*fewer workers\.\*\.maxReplicas or dbConnections/);
    });

    it("on Spot Pods: the grace period defaults to what a preemption gives, and more is refused with the fix", () => {
        const spot = { minReplicas: 2, spot: true };
        const cfg = validateConfig({ ...BASE, "django-platform:workload": JSON.stringify(spot), "django-platform:workers": JSON.stringify({ tasks: { command: ["x"] } }) }, "staging");
        assert.equal(cfg.workers.tasks.terminationGracePeriodSeconds, SPOT_PREEMPTION_GRACE_SECONDS);
        assert.deepEqual(problems({ workload: spot, workers: { tasks: { command: ["x"], terminationGracePeriodSeconds: 15 } } }), []);
        assert.deepEqual(problems({ workload: spot, workers: { tasks: { command: ["x"], terminationGracePeriodSeconds: 60 } } }), [
            "django-platform:workers.tasks.terminationGracePeriodSeconds is 60 with django-platform:workload.spot true: a preempted Spot node gives its pods 15 s whatever they ask for (Google's Spot VM pages; docs/gcp-facts.md), so the worker would get 60 s on a rollout and 15 s when its node is preempted. " +
                "Fix: `pulumi config set --path workers.tasks.terminationGracePeriodSeconds 15` (a task still running 15 s after SIGTERM is then stopped and must be safe to run again), or `pulumi config set --path workload.spot false` for tasks that need longer.",
        ]);
        // On regular capacity any grace period up to an hour is kept.
        assert.deepEqual(problems({ workload: { maxReplicas: 4 }, workers: { tasks: { command: ["x"], terminationGracePeriodSeconds: 3600 } } }), []);
    });
});

describe("service account ids (6-30 characters, deterministic)", () => {
    it("short names stay readable; long ones are cut and hashed, valid and distinct", () => {
        assert.equal(serviceAccountId("staging", "web"), "dj-staging-web");
        assert.equal(serviceAccountId("production", "w-tasks"), "dj-production-w-tasks");
        const a = serviceAccountId("customer-acceptance-eu", "w-twenty-characters-ok");
        const b = serviceAccountId("customer-acceptance-eu", "w-twenty-characters-no");
        for (const id of [a, b, serviceAccountId("Prod_Stack.1", "w-x"), serviceAccountId("x", "web")]) {
            assert.match(id, SERVICE_ACCOUNT_ID, id);
            assert.ok(id.length >= 6 && id.length <= 30, id);
        }
        assert.notEqual(a, b);
        assert.equal(a, serviceAccountId("customer-acceptance-eu", "w-twenty-characters-ok"), "same inputs, same id");
    });
});

/**
 * Every new option at once, on staging (Spot on). Two workers and two schedules need more
 * connections than staging's shared-core tier has, so the fixture takes a dedicated-core one.
 */
const ALL_OPTIONS = {
    "django-platform:workload": { spot: true, settingsModule: "mysite.settings.prod", wsgiModule: "mysite.wsgi" },
    "django-platform:database": { connector: "auth-proxy", tier: "db-custom-1-3840" },
    "django-platform:media": { enabled: true, noncurrentVersionDays: 14 },
    "django-platform:workers": {
        tasks: { command: ["python", "manage.py", "demo_worker"], minReplicas: 1, maxReplicas: 3, terminationGracePeriodSeconds: 12 },
        "long-name-worker-abc": { command: ["python", "manage.py", "other"], targetCpuUtilization: 50 },
    },
    "django-platform:schedules": {
        clearsessions: { schedule: "17 3 * * *", command: ["python", "manage.py", "clearsessions"], timeZone: "Etc/UTC" },
        report: { schedule: "@weekly", command: ["python", "manage.py", "report"], timeZone: "Europe/Berlin", concurrencyPolicy: "Replace" },
    },
};

let r: Rendered;
before(async () => {
    r = await renderStack("staging", ALL_OPTIONS);
});

const worker = () => r.one(T.deployment, "django-worker-tasks-pods");

describe("a worker, rendered", () => {
    it("runs the web image and env with its own command, sizing, grace period, Spot, and no Service or probes", () => {
        const web = r.inputs(T.deployment, "django-workload-web").spec.template.spec;
        const spec = (worker().inputs as any).spec;
        const pod = spec.template.spec;
        const [c] = pod.containers;
        assert.equal(c.image, web.containers[0].image);
        assert.deepEqual(c.envFrom, web.containers[0].envFrom);
        assert.deepEqual(c.command, ["python", "manage.py", "demo_worker"]);
        assert.deepEqual([c.resources.requests.cpu, c.resources.requests.memory, c.resources.limits.memory], ["250m", "512Mi", "512Mi"]);
        assert.equal(c.livenessProbe, undefined);
        assert.equal(c.readinessProbe, undefined);
        assert.equal(c.ports, undefined);
        assert.equal(pod.terminationGracePeriodSeconds, 12);
        // The other worker takes the Spot default: what a preemption gives.
        assert.equal((r.inputs(T.deployment, "django-worker-long-name-worker-abc-pods") as any).spec.template.spec.terminationGracePeriodSeconds, SPOT_PREEMPTION_GRACE_SECONDS);
        assert.deepEqual(pod.nodeSelector, { "cloud.google.com/gke-spot": "true" });
        assert.equal(pod.initContainers[0].name, "cloud-sql-proxy", "the same Auth Proxy sidecar as the web pods");
        assert.deepEqual(pod.securityContext, web.securityContext);
        assert.equal(c.securityContext.readOnlyRootFilesystem, true);
        assert.deepEqual(spec.strategy.rollingUpdate, { maxUnavailable: 0, maxSurge: "25%" });
        const labels = spec.template.metadata.labels;
        assert.ok(!r.all(T.service).some((svc) => Object.entries((svc.inputs as any).spec.selector ?? {}).every(([k, v]) => labels[k] === v)), "no Service selects a worker");
        // The settings module everywhere; gunicorn serves the configured WSGI module.
        assert.deepEqual(c.env.find((e: any) => e.name === "DJANGO_SETTINGS_MODULE"), { name: "DJANGO_SETTINGS_MODULE", value: "mysite.settings.prod" });
        assert.deepEqual(web.containers[0].command.slice(0, 2), ["gunicorn", "mysite.wsgi:application"]);
    });

    it("has its own identity with least privilege, and waits for its grants and migrate", () => {
        const gsa = { outputs: r.account("dj-staging-w-tasks"), inputs: { accountId: "dj-staging-w-tasks" } };
        const email = gsa.outputs.email;
        const member = `serviceAccount:${email}`;
        const c = (worker().inputs as any).spec.template.spec;
        assert.equal(c.serviceAccountName, "worker-tasks");
        assert.equal(r.inputs("kubernetes:core/v1:ServiceAccount", "django-worker-tasks-ksa").metadata.annotations["iam.gke.io/gcp-service-account"], email);
        assert.deepEqual(c.containers[0].env.find((e: any) => e.name === "DJANGO_APP_MEDIA_SIGNER"), { name: "DJANGO_APP_MEDIA_SIGNER", value: email });
        // Grants to the worker's account, and grants on it (Workload Identity; self-signing is the IAM step's).
        const grants = [...r.all(T.projectIam), ...r.all(T.bucketIam), ...r.all(T.saIam)].filter((g) => g.inputs.member === member || g.inputs.serviceAccountId === (gsa.outputs as any).name);
        assert.equal(r.all(T.saIam).find((g) => g.name === "django-worker-tasks-workload-identity")?.inputs.member, "serviceAccount:acme-django-staging.svc.id.goog[django-staging/worker-tasks]");
        // roles/cloudsql.client on the project is the IAM step's (components/identities.ts: cloudSqlClient).
        assert.deepEqual(grants.map((g) => g.inputs.role).sort(), ["roles/iam.workloadIdentityUser", "roles/storage.objectUser"]);
        const bucketGrant = grants.find((g) => g.inputs.role === "roles/storage.objectUser")!;
        assert.equal(bucketGrant.inputs.bucket, (r.one(T.bucket, "django-media-bucket").outputs as any).name, "object user on the media bucket only");
        for (const g of grants) assert.ok(worker().dependencies.includes(g.urn), `the worker waits for ${g.name}`);
        assert.ok(worker().dependencies.includes(r.one(T.job, "django-workload-migrate").urn), "the worker starts after migrate");
        assert.match(gsa.inputs.accountId, SERVICE_ACCOUNT_ID);
        const lookups = r.result.invokes.filter((i) => i.token === "gcp:serviceaccount/getAccount:getAccount").map((i) => String(i.inputs.accountId));
        assert.ok(lookups.length >= 4 && lookups.every((id) => SERVICE_ACCOUNT_ID.test(id)), lookups.join(", "));
        assert.ok(lookups.some((id) => id.startsWith("dj-staging-w-long-na")), "the long worker name is cut to a valid id");
    });

    it("has an HPA and a PDB of its own", () => {
        const hpa = r.inputs(T.hpa, "django-worker-tasks-pods");
        assert.deepEqual(hpa.spec.scaleTargetRef, { apiVersion: "apps/v1", kind: "Deployment", name: (worker().outputs as any).metadata.name });
        assert.deepEqual([hpa.spec.minReplicas, hpa.spec.maxReplicas, hpa.spec.metrics[0].resource.target.averageUtilization], [1, 3, 70]);
        assert.equal(r.inputs(T.hpa, "django-worker-long-name-worker-abc-pods").spec.metrics[0].resource.target.averageUtilization, 50);
        const pdb = r.inputs(T.pdb, "django-worker-tasks-pods");
        assert.deepEqual(pdb.spec.selector.matchLabels, (worker().inputs as any).spec.selector.matchLabels);
        assert.equal(pdb.spec.maxUnavailable, 1);
    });
});

describe("the all-options fixture", () => {
    it("validates against the official Kubernetes schemas", () => {
        const result = validateObjects(kubernetesObjects(r.resources));
        assert.deepEqual(result.errors, []);
        const kinds = kubernetesObjects(r.resources).map((o) => o.kind);
        assert.equal(kinds.filter((k) => k === "CronJob").length, 2);
    });

    it("passes the policy pack (no mandatory violation)", async () => {
        const { config, secretKeys } = stackConfig("staging", ALL_OPTIONS);
        const doc = buildStackExport(structuredClone(r.result), { project: "django-platform", stack: "staging", config, secretKeys });
        const violations = await withoutStackTraces(() => runPolicies(doc));
        assert.deepEqual(violations.filter((v) => v.enforcementLevel === "mandatory").map((v) => `${v.policyName}: ${v.message}`), []);
        // Workers have no probes on purpose (see components/workers.ts); only the advisory rule notes it.
        assert.ok(violations.some((v) => v.policyName === "pod-defines-health-probes" && v.urn.endsWith("django-worker-tasks-pods")));
    });
});
