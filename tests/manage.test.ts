/**
 * `npm run manage`: the one-off Job comes from the stack's rendered migrate pod template (same
 * image, env references, web identity, proxy sidecar), has no retries, a TTL and a deadline, holds
 * no secret value, validates against the official Job schema; `--apply` talks to a fake kubectl
 * on PATH and exits with the command's exit code.
 */
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import { parse } from "yaml";
import { MANAGE_CONTAINER, MANAGE_TTL_SECONDS, jobSuffix, main, manageJobFrom, withLiveNames } from "../tools/manage";
import { validateObjects } from "../tools/lib/k8sValidate";
import { CliIo } from "../tools/lib/cliIo";
import { GOOGLE_LB_RANGES, buildNetworkPolicies } from "../components/networkPolicies";
import { withoutStackTraces } from "./helpers/platform";
import { evaluate, type NetworkPolicy, type NetworkPolicySpec } from "./lib/networkPolicyModel";

/* eslint-disable @typescript-eslint/no-explicit-any */

function captureIo(): CliIo & { out: string[]; err: string[] } {
    const out: string[] = [];
    const err: string[] = [];
    return { out, err, stdout: (t) => out.push(t), stderr: (t) => err.push(t) };
}

let printed: { code: number; io: ReturnType<typeof captureIo>; job: any };
before(async () => {
    const io = captureIo();
    const code = await withoutStackTraces(() => main(["node", "manage", "--stack", "staging", "--", "migrate", "--plan"], io));
    printed = { code, io, job: parse(io.out.join("\n")) };
});

/** The app container's env of a pod spec. */
const app_env = (pod: any): any[] => pod.containers[0].env ?? [];

describe("npm run manage (print)", () => {
    it("prints a Job built from the migrate pod template, running manage.py with the given arguments", () => {
        assert.equal(printed.code, 0, printed.io.err.join("\n"));
        const job = printed.job;
        assert.equal(job.kind, "Job");
        assert.match(job.metadata.name, /^django-manage-\d{8}t\d{6}-[0-9a-f]{4}$/);
        assert.equal(job.metadata.namespace, "django-staging");
        assert.equal(job.metadata.labels["app.kubernetes.io/component"], "manage");
        assert.equal(job.spec.backoffLimit, 0);
        assert.equal(job.spec.ttlSecondsAfterFinished, MANAGE_TTL_SECONDS);
        assert.equal(job.spec.activeDeadlineSeconds, 3600);
        const pod = job.spec.template.spec;
        assert.equal(pod.restartPolicy, "Never");
        assert.equal(pod.serviceAccountName, "web", "runs as the web identity (rows, not the schema), not the migrate one");
        assert.deepEqual(app_env(pod).filter((e: any) => e.name.startsWith("DJANGO_APP_DB_")), [{ name: "DJANGO_APP_DB_USER", value: "dj-staging-web@acme-django-staging.iam" }], "the web identity's own database login, no schema role");
        assert.equal(pod.automountServiceAccountToken, false);
        const [app] = pod.containers;
        assert.equal(app.name, MANAGE_CONTAINER);
        assert.deepEqual(app.command, ["python", "manage.py", "migrate", "--plan"]);
        assert.equal(app.securityContext.readOnlyRootFilesystem, true);
        assert.ok(app.envFrom.some((e: any) => e.secretRef?.name), "references the env Secret");
        assert.equal(pod.initContainers[0].name, "cloud-sql-proxy", "the Auth Proxy sidecar of staging");
        assert.equal(pod.initContainers[0].restartPolicy, "Always");
    });

    it("holds no secret value and is a valid batch/v1 Job by the official schema", () => {
        const text = printed.io.out.join("\n");
        assert.doesNotMatch(text, /DJANGO_APP_(SECRET_KEY|DB_PASSWORD|CACHE_PASSWORD)/);
        assert.doesNotMatch(text, /\[secret/);
        const result = validateObjects([{ urn: "manage", apiVersion: "batch/v1", kind: "Job", name: printed.job.metadata.name, namespace: printed.job.metadata.namespace, patch: false, object: printed.job }]);
        assert.deepEqual(result.errors, []);
        assert.equal(result.validated, 1);
    });

    it("usage errors exit 2", async () => {
        const io = captureIo();
        assert.equal(await main(["node", "manage", "--", "check"], io), 2);
        assert.match(io.err.join("\n"), /--stack/);
        assert.equal(await main(["node", "manage", "--stack", "staging", "--deadline", "0", "--", "check"], captureIo()), 2);
    });

    it("suffixes are DNS-safe and differ between runs in the same second", () => {
        const now = new Date("2026-01-02T03:04:05.678Z");
        const a = jobSuffix(now);
        assert.match(a, /^20260102t030405-[0-9a-f]{4}$/);
        const many = new Set(Array.from({ length: 20 }, () => jobSuffix(now)));
        assert.ok(many.size > 1);
    });
});

describe("npm run manage --apply (fake kubectl on PATH)", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "manage-kubectl-"));
    const log = path.join(dir, "calls.log");
    const applied = path.join(dir, "applied.yaml");
    const image = "europe-west1-docker.pkg.dev/acme-django-ci/django/app:0.1.0";
    const liveDeployment = (img: string) => JSON.stringify({
        items: [{
            spec: {
                template: {
                    spec: {
                        containers: [{ name: "web", image: img, envFrom: [{ configMapRef: { name: "django-workload-env-live1" } }, { secretRef: { name: "django-workload-env-live2" } }] }],
                        initContainers: [{ name: "cloud-sql-proxy", args: ["--private-ip", "acme:europe-west1:django-database-instance-live"] }],
                    },
                },
            },
        }],
    });
    /** A kubectl that logs its calls, answers gets from files, prints two log lines and reports `exitCode`. */
    function fakeKubectl(exitCode: number, img = image): Record<string, string> {
        writeFileSync(path.join(dir, "deployments.json"), liveDeployment(img));
        writeFileSync(path.join(dir, "pods.json"), JSON.stringify({ items: [{ status: { containerStatuses: [{ name: MANAGE_CONTAINER, state: { terminated: { exitCode } } }] } }] }));
        writeFileSync(path.join(dir, "job.json"), JSON.stringify({ status: exitCode === 0 ? { succeeded: 1 } : { failed: 1 } }));
        writeFileSync(path.join(dir, "kubectl"), `#!/bin/sh
echo "$*" >> "${log}"
case "$1 $2" in
  "get deployments") cat "${dir}/deployments.json" ;;
  "get pods") cat "${dir}/pods.json" ;;
  "get job") cat "${dir}/job.json" ;;
  "apply -f") cat > "${applied}"; echo "job.batch/created" ;;
  "logs -f") echo "Planned operations:"; echo "  No planned migration operations." ;;
  *) echo "unexpected: $*" >&2; exit 9 ;;
esac
`);
        chmodSync(path.join(dir, "kubectl"), 0o755);
        writeFileSync(log, "");
        return { ...process.env, PATH: `${dir}:${process.env.PATH}` };
    }

    it("applies the Job with the live env names, follows its logs and exits with the command's exit code", async () => {
        const io = captureIo();
        const code = await withoutStackTraces(() => main(["node", "manage", "--stack", "staging", "--apply", "--poll-ms", "10", "--", "migrate", "--plan"], io, fakeKubectl(3)));
        assert.equal(code, 3, io.err.join("\n"));
        assert.deepEqual(io.out, ["Planned operations:", "  No planned migration operations."]);
        const calls = readFileSync(log, "utf8").trim().split("\n");
        assert.match(calls[0], /^get deployments -n django-staging -l app\.kubernetes\.io\/component=web,app\.kubernetes\.io\/instance=staging -o json$/);
        assert.equal(calls[1], "apply -f -");
        assert.match(calls[2], /^logs -f job\/django-manage-\S+ -n django-staging -c manage$/);
        const job = parse(readFileSync(applied, "utf8"));
        const [app] = job.spec.template.spec.containers;
        assert.deepEqual(app.envFrom, [{ configMapRef: { name: "django-workload-env-live1" } }, { secretRef: { name: "django-workload-env-live2" } }], "env names from the live web Deployment");
        assert.deepEqual(job.spec.template.spec.initContainers[0].args, ["--private-ip", "acme:europe-west1:django-database-instance-live"]);
        assert.ok(io.err.some((l) => /finished with exit code 3/.test(l)));
    });
});

describe("manageJobFrom / withLiveNames (pure)", () => {
    const template = {
        spec: { template: { spec: { containers: [{ name: "migrate", image: "i:1", command: ["python", "manage.py", "migrate"], envFrom: [{ configMapRef: { name: "a" } }] }], initContainers: [] } } },
    };
    const web = { spec: { template: { spec: { serviceAccountName: "web", containers: [{ name: "web", env: [{ name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } }, { name: "DJANGO_APP_DB_USER", value: "web-user" }] }] } } } };
    it("renames the app container, replaces its command, and runs it as the web identity", () => {
        const m = manageJobFrom(template, web, { stack: "s", namespace: "ns", args: ["shell", "-c", "print(1)"], suffix: "x", deadlineSeconds: 60 });
        assert.equal(m.name, "django-manage-x");
        assert.deepEqual(m.job.spec.template.spec.containers[0].command, ["python", "manage.py", "shell", "-c", "print(1)"]);
        assert.equal(m.job.spec.template.spec.containers[0].image, "i:1");
        assert.equal(m.job.spec.template.spec.serviceAccountName, "web");
        assert.deepEqual(m.job.spec.template.spec.containers[0].env, [{ name: "DJANGO_APP_DB_USER", value: "web-user" }], "the web container's own env, without the pod IP");
        assert.deepEqual(template.spec.template.spec.containers[0].command, ["python", "manage.py", "migrate"], "the template is not mutated");
        assert.throws(() => withLiveNames(m, { spec: { template: { spec: { containers: [{ name: "worker" }] } } } }), /no container named web/);
        // The cluster runs another image than the stack file: refuse (the command would run other code).
        assert.throws(() => withLiveNames(m, { spec: { template: { spec: { containers: [{ name: "web", image: "i:2", envFrom: [] }] } } } }), /run i:2, but the stack file says i:1; deploy it first/);
    });
});

describe("a one-off pod on the network", () => {
    it("reaches the database, Google APIs and the allowed internet hosts like the web pods, but not Redis, and nothing reaches it", () => {
        const ns = "django-staging";
        const specs = buildNetworkPolicies({
            stack: "staging",
            webPort: 8000,
            ingressSourceRanges: GOOGLE_LB_RANGES,
            databasePort: 3307,
            databaseCidr: "10.99.0.0/20",
            cache: { egress: [{ to: [{ podSelector: { matchLabels: { "app.kubernetes.io/component": "cache-master" } } }], ports: [{ protocol: "TCP", port: 6379 }] }] },
            egressAllowList: ["203.0.113.0/24"],
        });
        const cluster = { policies: Object.entries(specs).map(([name, spec]): NetworkPolicy => ({ name, namespace: ns, spec: spec as NetworkPolicySpec })) };
        const manage = { kind: "pod" as const, namespace: ns, labels: printed.job.spec.template.metadata.labels };
        const redis = { kind: "pod" as const, namespace: ns, labels: { "app.kubernetes.io/component": "cache-master" } };
        const ok = (from: any, to: any, port: number) => evaluate(cluster, { from, to, port }).allowed;
        assert.equal(ok(manage, { kind: "ip", address: "10.99.0.5" }, 3307), true, "Cloud SQL through the proxy");
        assert.equal(ok(manage, { kind: "ip", address: "199.36.153.9" }, 443), true, "Google APIs (private.googleapis.com)");
        assert.equal(ok(manage, { kind: "ip", address: "203.0.113.7" }, 443), true, "an allowed internet host");
        assert.equal(ok(manage, { kind: "ip", address: "93.184.216.34" }, 443), false, "no other internet host");
        assert.equal(ok(manage, { kind: "ip", address: "169.254.169.252" }, 988), true, "metadata server");
        assert.equal(ok(manage, redis, 6379), false, "no Redis");
        assert.equal(ok({ kind: "ip", address: "130.211.0.1" }, manage, 8000), false, "no ingress");
    });
});

