/**
 * The Kubernetes side, rendered from the real stack files under mocks: objects consistent with
 * each other, secure pod defaults, the env contract, NetworkPolicies, Jobs and Redis.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { DATABASE_USER_VARIABLE, MEDIA_BUCKET_VARIABLE, MEDIA_SIGNER_VARIABLE, PLAIN_VARIABLES, SECRET_VARIABLES, SETTINGS_MODULE_VARIABLE } from "../components/appEnv";
import { SCHEMA_STEP } from "../components/databaseRoles";
import { REDIS_IMAGE } from "../components/cache";
import { imageFingerprint } from "../components/podTemplates";
import { CapturedResource } from "../cli/lib/mockRuntime";
import { Rendered, T, renderStack } from "./helpers/platform";

/* eslint-disable @typescript-eslint/no-explicit-any */
const stacks: Record<string, Rendered> = {};
before(async () => {
    stacks.staging = await renderStack("staging");
    stacks.production = await renderStack("production");
});

const CRON_JOB = "kubernetes:batch/v1:CronJob";
const POD_KINDS = [T.deployment, T.statefulSet, T.job, CRON_JOB];
const templateOf = (r: CapturedResource): any => (r.type === CRON_JOB ? (r.inputs as any).spec.jobTemplate.spec.template : (r.inputs as any).spec.template);
const podSpecOf = (r: CapturedResource): any => templateOf(r).spec;
const podLabelsOf = (r: CapturedResource): Record<string, string> => templateOf(r).metadata.labels;
const WEB = "django-workload-web";
const matches = (selector: Record<string, string>, labels: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);
const nameOf = (r: CapturedResource): string => (r.outputs as any).metadata.name;

function selects(policySelector: any, labels: Record<string, string>): boolean {
    const okLabels = matches(policySelector.matchLabels ?? {}, labels);
    const okExpr = (policySelector.matchExpressions ?? []).every((e: any) => e.operator === "In" && e.values.includes(labels[e.key]));
    return okLabels && okExpr;
}

describe("consistency of the rendered objects", () => {
    for (const stack of ["staging", "production"]) {
        it(`${stack}: the HPA targets the Deployment, which has no replicas`, () => {
            const r = stacks[stack];
            const deployment = r.one(T.deployment, WEB);
            const hpa = r.inputs(T.hpa, WEB);
            assert.deepEqual(hpa.spec.scaleTargetRef, { apiVersion: "apps/v1", kind: "Deployment", name: nameOf(deployment) });
            assert.equal((deployment.inputs as any).spec.replicas, undefined);
            assert.ok(hpa.spec.minReplicas <= hpa.spec.maxReplicas);
            assert.equal(hpa.spec.metrics[0].resource.name, "cpu");
        });

        it(`${stack}: every selector matches its pods' labels, Services point at named ports`, () => {
            const r = stacks[stack];
            for (const workload of r.resources.filter((x) => [T.deployment, T.statefulSet].includes(x.type as never))) {
                assert.ok(matches((workload.inputs as any).spec.selector.matchLabels, podLabelsOf(workload)), `${workload.name} selector`);
            }
            for (const svc of r.all(T.service)) {
                const spec = (svc.inputs as any).spec;
                const targets = r.resources.filter((x) => [T.deployment, T.statefulSet].includes(x.type as never) && matches(spec.selector, podLabelsOf(x)));
                assert.equal(targets.length, 1, `${svc.name} selects ${targets.length} workloads`);
                const ports = podSpecOf(targets[0]).containers.flatMap((c: any) => c.ports ?? []);
                for (const p of spec.ports) {
                    assert.ok(ports.some((cp: any) => cp.name === p.targetPort || cp.containerPort === p.targetPort), `${svc.name} port ${p.targetPort} not exposed by ${targets[0].name}`);
                }
            }
            for (const pdb of r.all(T.pdb)) {
                const spec = (pdb.inputs as any).spec;
                assert.equal(spec.maxUnavailable, 1, "PDBs must allow disruptions");
                assert.ok(r.resources.some((x) => POD_KINDS.includes(x.type as never) && matches(spec.selector.matchLabels, podLabelsOf(x))), `${pdb.name} selects nothing`);
            }
        });

        it(`${stack}: the Ingress routes to the web Service's port, with its certificate and frontend config`, () => {
            const r = stacks[stack];
            const ingress = r.inputs(T.ingress);
            const svc = r.one(T.service, "django-workload-web");
            assert.deepEqual(ingress.spec.defaultBackend.service, { name: nameOf(svc), port: { number: 80 } });
            const cert = r.one("kubernetes:networking.gke.io/v1:ManagedCertificate");
            assert.equal(ingress.metadata.annotations["networking.gke.io/managed-certificates"], nameOf(cert));
            assert.equal(ingress.metadata.annotations["kubernetes.io/ingress.global-static-ip-name"], (r.one(T.globalAddress, "django-networking-ip").outputs as any).name);
            const backend = r.inputs("kubernetes:cloud.google.com/v1:BackendConfig");
            assert.equal(JSON.parse((svc.inputs as any).metadata.annotations["cloud.google.com/backend-config"]).default, backend.metadata.name);
            assert.equal(backend.spec.healthCheck.requestPath, "/readyz/");
            assert.equal(r.inputs("kubernetes:networking.gke.io/v1beta1:FrontendConfig").spec.redirectToHttps.enabled, true);
        });
    }
});

describe("pod security (every pod template, every container)", () => {
    for (const stack of ["staging", "production"]) {
        it(stack, () => {
            const r = stacks[stack];
            const pods = r.resources.filter((x) => POD_KINDS.includes(x.type as never));
            assert.ok(pods.length >= 5);
            for (const pod of pods) {
                const spec = podSpecOf(pod);
                assert.equal(spec.automountServiceAccountToken, false, pod.name);
                assert.equal(spec.securityContext.runAsNonRoot, true, pod.name);
                assert.equal(spec.securityContext.seccompProfile.type, "RuntimeDefault", pod.name);
                assert.equal(spec.hostNetwork, undefined);
                for (const c of [...spec.containers, ...(spec.initContainers ?? [])]) {
                    const sc = c.securityContext;
                    assert.equal(sc.allowPrivilegeEscalation, false, `${pod.name}/${c.name}`);
                    assert.equal(sc.readOnlyRootFilesystem, true, `${pod.name}/${c.name}`);
                    assert.deepEqual(sc.capabilities.drop, ["ALL"], `${pod.name}/${c.name}`);
                    assert.notEqual(sc.runAsUser, 0);
                    assert.ok(c.resources.requests.cpu && c.resources.requests.memory && c.resources.limits.memory, `${pod.name}/${c.name} resources`);
                    assert.match(c.image, /:[\w.-]+$|@sha256:/);
                    assert.doesNotMatch(c.image, /:latest$/);
                }
                const namespace = (r.one(T.namespace).outputs as any).metadata.name;
                assert.equal((pod.inputs as any).metadata.namespace, namespace);
            }
        });
    }

    it("the namespace enforces the restricted Pod Security Standard", () => {
        const labels = stacks.staging.inputs(T.namespace).metadata.labels;
        assert.equal(labels["pod-security.kubernetes.io/enforce"], "restricted");
        assert.equal(labels["pod-security.kubernetes.io/warn"], "restricted");
    });
});

describe("the web Deployment", () => {
    it("gunicorn from config, probes, rollout and shutdown settings, Auth Proxy native sidecar", () => {
        const d = stacks.staging.inputs(T.deployment, WEB);
        const spec = d.spec.template.spec;
        const web = spec.containers[0];
        assert.deepEqual(web.command.slice(0, 2), ["gunicorn", "config.wsgi:application"]);
        // Pulumi.staging.yaml: gunicornWorkers 1, gunicornThreads 3.
        assert.equal(web.command[web.command.indexOf("--workers") + 1], "1");
        assert.equal(web.command[web.command.indexOf("--threads") + 1], "3");
        assert.equal(web.livenessProbe.httpGet.path, "/healthz/");
        assert.equal(web.readinessProbe.httpGet.path, "/readyz/");
        assert.equal(web.startupProbe.httpGet.path, "/healthz/");
        assert.equal(d.spec.strategy.rollingUpdate.maxUnavailable, 0);
        // The grace period covers the preStop and gunicorn's graceful timeout (on Spot all of it fits in 15 s: tests/spot.test.ts).
        assert.ok(spec.terminationGracePeriodSeconds > web.lifecycle.preStop.sleep.seconds + Number(web.command[web.command.indexOf("--graceful-timeout") + 1]));
        assert.deepEqual(spec.volumes.map((v: any) => v.name), ["tmp"]);
        assert.deepEqual(spec.topologySpreadConstraints.map((t: any) => t.topologyKey), ["topology.kubernetes.io/zone", "kubernetes.io/hostname"]);
        const proxy = spec.initContainers[0];
        assert.equal(proxy.restartPolicy, "Always");
        assert.ok(proxy.args.includes("--private-ip"));
        assert.equal(proxy.args.at(-1), "acme-django-staging:europe-west1:django-database-instance-9b6feab");
        assert.equal(web.resources.requests.cpu, "250m");
    });

    it("no proxy sidecar with the private-ip connector", async () => {
        const r = await renderStack("staging", { "django-platform:database": { connector: "private-ip" } });
        assert.deepEqual(r.inputs(T.deployment, WEB).spec.template.spec.initContainers, []);
        const env = r.inputs(T.configMap).data;
        assert.equal(env.DJANGO_APP_DB_HOST, "10.99.0.3");
        assert.equal(env.DJANGO_APP_DB_SSLMODE, "require");
    });
});

describe("Jobs", () => {
    it("are named after the image, never expire (a refresh must not forget them), and run before the rollout", () => {
        const r = stacks.staging;
        const fingerprint = imageFingerprint("europe-west1-docker.pkg.dev/acme-django-ci/django/app:0.1.0");
        const migrate = r.one(T.job, "django-workload-migrate");
        const collect = r.one(T.job, "django-workload-collectstatic");
        assert.equal((migrate.inputs as any).metadata.name, `django-workload-migrate-${fingerprint}`);
        assert.equal((collect.inputs as any).metadata.name, `django-workload-collectstatic-${fingerprint}`);
        for (const job of [migrate, collect]) {
            assert.equal((job.inputs as any).spec.ttlSecondsAfterFinished, undefined);
        }
        const deployment = r.one(T.deployment, WEB);
        assert.ok(deployment.dependencies.includes(migrate.urn), "Deployment waits for migrate");
        assert.ok(deployment.dependencies.includes(collect.urn), "Deployment waits for collectstatic");
        assert.ok(collect.dependencies.includes(migrate.urn), "collectstatic runs after migrate");
        // IAM database authentication: the schema step (grants for the data identities), then migrate
        // in the same process (components/databaseRoles.ts; tests/database-roles.test.ts runs it).
        assert.deepEqual(podSpecOf(migrate).containers[0].command, ["python", "-c", SCHEMA_STEP, "dj-staging-web@acme-django-staging.iam"]);
        assert.equal(podSpecOf(migrate).serviceAccountName, "migrate");
        assert.equal(podSpecOf(collect).serviceAccountName, "collectstatic");
    });

    it("a new image gives new Job names", async () => {
        const r = await renderStack("staging", { "django-platform:image": "europe-west1-docker.pkg.dev/acme-django-ci/django/app:0.2.0" });
        const name = (r.one(T.job, "django-workload-migrate").inputs as any).metadata.name;
        assert.notEqual(name, (stacks.staging.one(T.job, "django-workload-migrate").inputs as any).metadata.name);
        assert.match(name, /^django-workload-migrate-[0-9a-f]{10}$/);
    });
});

describe("the environment contract", () => {
    it("every variable is present; secrets only in the Secret; POD_IP from the downward API", () => {
        const r = stacks.staging;
        const data = r.inputs(T.configMap).data;
        const secret = r.one(T.secret, "django-workload-env");
        // Staging has media on (the default), yet its bucket is not in the shared ConfigMap: only the
        // containers whose identity may use it get it, with their signer (media.test.ts).
        assert.deepEqual(Object.keys(data).sort(), [...PLAIN_VARIABLES].sort());
        assert.equal(data.DJANGO_APP_LOG_FORMAT, "json");
        assert.equal(data.DJANGO_APP_GCP_PROJECT, "acme-django-staging");
        assert.deepEqual(Object.keys((secret.inputs as any).stringData).sort(), [...SECRET_VARIABLES].sort());
        for (const name of SECRET_VARIABLES) {
            assert.equal(data[name], undefined, `${name} leaked into the ConfigMap`);
        }
        const web = podSpecOf(r.one(T.deployment, WEB)).containers[0];
        assert.deepEqual(web.envFrom, [{ configMapRef: { name: nameOf(r.one(T.configMap)) } }, { secretRef: { name: nameOf(secret) } }]);
        // Per container: the settings module, the identity's own database login, the media bucket and
        // its signer (the pod's own Google service account).
        assert.deepEqual(web.env, [
            { name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
            { name: SETTINGS_MODULE_VARIABLE, value: "config.settings" },
            { name: DATABASE_USER_VARIABLE, value: "dj-staging-web@acme-django-staging.iam" },
            { name: MEDIA_BUCKET_VARIABLE, value: (r.one(T.bucket, "django-media-bucket").outputs as any).name },
            { name: MEDIA_SIGNER_VARIABLE, value: r.account("dj-staging-web").email },
        ]);
        // Master first, then the replicas' Service when staging runs read replicas (cache.replicas).
        const replicas = r.inputs(T.statefulSet, "django-cache-replica").spec.replicas;
        assert.equal(data.DJANGO_APP_CACHE_LOCATION, ["redis://django-cache-master.django-staging.svc.cluster.local:6379/0", ...(replicas > 0 ? ["redis://django-cache-replicas.django-staging.svc.cluster.local:6379/0"] : [])].join(" "));
        assert.match(data.DJANGO_APP_STATIC_URL, /^https:\/\/.*\/$/);
        assert.equal(data.DJANGO_APP_DB_HOST, "127.0.0.1");
        assert.equal(data.DJANGO_APP_DB_SSLMODE, "disable");
        assert.equal(data.DJANGO_APP_ALLOWED_HOSTS, "staging.example.com");
    });

    it("the reference app's admin, anonymous uploads and anonymous tasks are off in both stacks as shipped; app.* turns each on", async () => {
        for (const stack of ["production", "staging"]) {
            const data = stacks[stack].inputs(T.configMap).data;
            assert.deepEqual(
                [data.DJANGO_APP_ADMIN_ENABLED, data.DJANGO_APP_ADMIN_PATH, data.DJANGO_APP_DEMO_ANONYMOUS_UPLOADS, data.DJANGO_APP_DEMO_ANONYMOUS_TASKS],
                ["false", undefined, "false", "false"],
                stack,
            );
        }
        const open = await renderStack("production", { "django-platform:app": { admin: { enabled: true, path: "staff-7f3a/" }, demo: { anonymousUploads: true, anonymousTasks: true } } });
        const data = open.inputs(T.configMap).data;
        assert.deepEqual(
            [data.DJANGO_APP_ADMIN_ENABLED, data.DJANGO_APP_ADMIN_PATH, data.DJANGO_APP_DEMO_ANONYMOUS_UPLOADS, data.DJANGO_APP_DEMO_ANONYMOUS_TASKS],
            ["true", "staff-7f3a/", "true", "true"],
        );
    });

    it("user extras land in the right object", async () => {
        const r = await renderStack("staging", { "django-platform:appEnv": { FEATURE: "on" }, "django-platform:appSecrets": { API_TOKEN: "s3cret" } });
        assert.equal(r.inputs(T.configMap).data.FEATURE, "on");
        assert.equal(r.inputs(T.configMap).data.API_TOKEN, undefined);
        assert.equal(r.inputs(T.secret, "django-workload-env").stringData.API_TOKEN, "s3cret");
    });
});

describe("NetworkPolicies", () => {
    for (const stack of ["staging", "production"]) {
        it(`${stack}: default deny selects every pod; each pod's needed flows are allowed`, () => {
            const r = stacks[stack];
            const policies = r.all(T.networkPolicy).map((p) => (p.inputs as any).spec);
            const deny = policies.find((p) => Object.keys(p.podSelector).length === 0 && p.policyTypes.includes("Ingress") && p.policyTypes.includes("Egress") && !p.ingress && !p.egress);
            assert.ok(deny, "a default-deny policy for ingress and egress");
            const allowedEgressPorts = (labels: Record<string, string>) =>
                policies.filter((p) => selects(p.podSelector, labels) && p.egress).flatMap((p) => p.egress.flatMap((e: any) => e.ports.map((x: any) => x.port)));
            const web = podLabelsOf(r.one(T.deployment, WEB));
            assert.deepEqual([...new Set(allowedEgressPorts(web))].sort((a, b) => a - b), [53, 80, 443, 988, 3307, 6379]);
            const webIngress = policies.filter((p) => selects(p.podSelector, web) && p.ingress);
            assert.deepEqual(webIngress.flatMap((p) => p.ingress.flatMap((i: any) => i.from.map((f: any) => f.ipBlock.cidr))), ["130.211.0.0/22", "35.191.0.0/16"]);
            const replica = podLabelsOf(r.one(T.statefulSet, "django-cache-replica"));
            assert.deepEqual([...new Set(allowedEgressPorts(replica))].sort((a, b) => a - b), [53, 6379]);
            const redisIngress = policies.filter((p) => selects(p.podSelector, podLabelsOf(r.one(T.statefulSet, "django-cache-master"))) && p.ingress);
            const from = redisIngress.flatMap((p) => p.ingress.flatMap((i: any) => i.from.map((f: any) => f.podSelector.matchLabels["app.kubernetes.io/component"] ?? (f.podSelector.matchLabels["django-platform/cache-client"] === "true" ? "cache clients" : undefined))));
            assert.deepEqual(from.sort(), ["cache clients", "cache-replica"]);
            // The cache clients are the web pods and the workers, nothing else.
            const clients = r.resources.filter((x) => POD_KINDS.includes(x.type as never) && podLabelsOf(x)["django-platform/cache-client"] === "true").map((x) => podLabelsOf(x)["app.kubernetes.io/component"]);
            assert.deepEqual([...new Set(clients)].sort(), stack === "production" ? ["web", "worker"] : ["web"]);
        });
    }
});

describe("Redis", () => {
    it("master + replicas following it with auth from a generated Secret", () => {
        const r = stacks.production;
        const master = podSpecOf(r.one(T.statefulSet, "django-cache-master")).containers[0];
        const replicaSet = r.inputs(T.statefulSet, "django-cache-replica");
        const replica = replicaSet.spec.template.spec.containers[0];
        assert.equal(replicaSet.spec.replicas, 2);
        assert.deepEqual(replica.args.slice(-3), ["--replicaof", "django-cache-master.django-production.svc.cluster.local", "6379"]);
        for (const c of [master, replica]) {
            assert.equal(c.args[c.args.indexOf("--requirepass") + 1], "$(REDIS_PASSWORD)");
            assert.equal(c.env[0].valueFrom.secretKeyRef.key, "password");
            assert.equal(c.image, REDIS_IMAGE, "the official image, pinned by digest");
        }
        assert.equal(master.args[master.args.indexOf("--appendonly") + 1], "yes", "production persists the master");
        assert.ok(r.inputs(T.statefulSet, "django-cache-master").spec.volumeClaimTemplates);
    });

    it("changing cache.replicas changes only the replica StatefulSet", async () => {
        const more = await renderStack("staging", { "django-platform:cache": { replicas: 4 } });
        assert.equal(more.inputs(T.statefulSet, "django-cache-replica").spec.replicas, 4);
        assert.deepEqual(more.inputs(T.statefulSet, "django-cache-master"), stacks.staging.inputs(T.statefulSet, "django-cache-master"));
    });

    it("memorystore: Standard tier with read replicas, AUTH, private service access; same outputs", async () => {
        const r = await renderStack("staging", { "django-platform:cache": { mode: "memorystore", replicas: 2, memorySizeGb: 5 } });
        const redis = r.inputs(T.redis);
        assert.deepEqual([redis.tier, redis.replicaCount, redis.readReplicasMode, redis.authEnabled, redis.connectMode], ["STANDARD_HA", 2, "READ_REPLICAS_ENABLED", true, "PRIVATE_SERVICE_ACCESS"]);
        assert.equal(r.all(T.statefulSet).length, 0);
        assert.equal(r.inputs(T.configMap).data.DJANGO_APP_CACHE_LOCATION, "rediss://10.99.1.3:6378/0 rediss://10.99.1.4:6378/0");
        assert.equal(r.inputs(T.secret, "django-workload-env").stringData.DJANGO_APP_CACHE_PASSWORD, "mock-memorystore-auth");
    });
});

