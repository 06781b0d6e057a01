/**
 * `npm run manage`: the one-off Job comes from the stack's rendered migrate pod template (same
 * image, env references, web identity, proxy sidecar), has no retries, a TTL and a deadline, holds
 * no secret value, validates against the official Job schema; `--apply` talks to a fake kubectl
 * on PATH and exits with the command's exit code.
 */
import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { spawn, spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { parse } from "yaml";
import { MANAGE_CONTAINER, MANAGE_TTL_SECONDS, jobSuffix, main, manageJobFrom, withLiveNames } from "../cli/manage";
import { venvPython } from "../cli/lib/appPython";
import { validateObjects } from "../cli/lib/k8sValidate";
import { CliIo } from "../cli/lib/cliIo";
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
    after(() => rmSync(dir, { recursive: true, force: true }));
    const log = path.join(dir, "calls.log");
    const appliedJob = path.join(dir, "job.yaml");
    const appliedSecret = path.join(dir, "secret.yaml");
    const attachInput = path.join(dir, "attach.stdin");
    const image = "europe-west1-docker.pkg.dev/acme-django-ci/django/app:0.1.0";
    const JOB_UID = "5f1c2a9e-0000-4000-8000-000000000001";
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
    /**
     * A kubectl that logs its argv, answers gets from files, keeps what it is asked to create (the
     * Job and the Secret, apart), prints two log lines and reports `exitCode`; `context: false` is a
     * machine without a kubeconfig.
     */
    function fakeKubectl(exitCode: number, o: { img?: string; context?: boolean; deployments?: string } = {}): Record<string, string> {
        writeFileSync(path.join(dir, "deployments.json"), o.deployments ?? liveDeployment(o.img ?? image));
        writeFileSync(path.join(dir, "pods.json"), JSON.stringify({ items: [{ metadata: { name: "django-manage-x-abcde" }, status: { phase: "Succeeded", containerStatuses: [{ name: MANAGE_CONTAINER, state: { terminated: { exitCode } } }] } }] }));
        writeFileSync(path.join(dir, "job.json"), JSON.stringify({ status: exitCode === 0 ? { succeeded: 1 } : { failed: 1 } }));
        for (const f of [appliedJob, appliedSecret, attachInput]) rmSync(f, { force: true });
        writeFileSync(path.join(dir, "kubectl"), `#!/bin/sh
echo "$*" >> "${log}"
case "$1 $2" in
  "config current-context") ${o.context === false ? 'echo "error: current-context is not set" >&2; exit 1' : "echo gke_acme_europe-west1_cluster"} ;;
  "get deployments") cat "${dir}/deployments.json" ;;
  "get pods") if [ -f "${dir}/running.json" ]; then cat "${dir}/running.json"; rm "${dir}/running.json"; else cat "${dir}/pods.json"; fi ;;
  "get job") cat "${dir}/job.json" ;;
  "create -f")
    body=$(cat)
    case "$body" in
      *"kind: Secret"*) printf '%s' "$body" > "${appliedSecret}"; echo "secret/created" ;;
      *) printf '%s' "$body" > "${appliedJob}"; echo '{"apiVersion":"batch/v1","kind":"Job","metadata":{"uid":"${JOB_UID}"}}' ;;
    esac ;;
  "attach -i") cat > "${attachInput}"; echo "attached output is not printed twice" ;;
  "logs -f") echo "Planned operations:"; echo "  No planned migration operations." ;;
  "delete secret") echo "secret deleted" ;;
  *) echo "unexpected: $*" >&2; exit 9 ;;
esac
`);
        chmodSync(path.join(dir, "kubectl"), 0o755);
        writeFileSync(log, "");
        return { ...process.env, PATH: `${dir}:${process.env.PATH}` };
    }
    const calls = () => readFileSync(log, "utf8").trim().split("\n");

    it("applies the Job with the live env names, follows its logs and exits with the command's exit code", async () => {
        const io = captureIo();
        const code = await withoutStackTraces(() => main(["node", "manage", "--stack", "staging", "--apply", "--poll-ms", "10", "--", "migrate", "--plan"], io, fakeKubectl(3)));
        assert.equal(code, 3, io.err.join("\n"));
        assert.deepEqual(io.out, ["Planned operations:", "  No planned migration operations."]);
        const c = calls();
        assert.equal(c[0], "config current-context");
        assert.match(c[1], /^get deployments -n django-staging -l app\.kubernetes\.io\/component=web,app\.kubernetes\.io\/instance=staging -o json$/);
        assert.equal(c[2], "create -f - -o json");
        assert.match(c[3], /^logs -f job\/django-manage-\S+ -n django-staging -c manage$/);
        const job = parse(readFileSync(appliedJob, "utf8"));
        const [app] = job.spec.template.spec.containers;
        assert.deepEqual(app.envFrom, [{ configMapRef: { name: "django-workload-env-live1" } }, { secretRef: { name: "django-workload-env-live2" } }], "env names from the live web Deployment");
        assert.deepEqual(job.spec.template.spec.initContainers[0].args, ["--private-ip", "acme:europe-west1:django-database-instance-live"]);
        assert.ok(io.err.some((l) => /finished with exit code 3/.test(l)));
        assert.equal(existsSync(appliedSecret), false, "no Secret without --env");
    });

    it("--env passes a value from the local environment through a short-lived Secret owned by the Job; the value is in no argv, Job or output", async () => {
        const password = "correct horse battery staple 7f3a";
        const io = captureIo();
        const env = { ...fakeKubectl(0), DJANGO_SUPERUSER_PASSWORD: password };
        const code = await withoutStackTraces(() => main(["node", "manage", "--stack", "staging", "--apply", "--poll-ms", "10", "--env", "DJANGO_SUPERUSER_PASSWORD", "--", "createsuperuser", "--no-input", "--username", "admin", "--email", "admin@example.com"], io, env));
        assert.equal(code, 0, io.err.join("\n"));
        const job = parse(readFileSync(appliedJob, "utf8"));
        const secret = parse(readFileSync(appliedSecret, "utf8"));
        const [app] = job.spec.template.spec.containers;
        assert.deepEqual(app.command, ["python", "manage.py", "createsuperuser", "--no-input", "--username", "admin", "--email", "admin@example.com"]);
        assert.deepEqual(app.env.filter((e: any) => e.name === "DJANGO_SUPERUSER_PASSWORD"), [{ name: "DJANGO_SUPERUSER_PASSWORD", valueFrom: { secretKeyRef: { name: `${job.metadata.name}-env`, key: "DJANGO_SUPERUSER_PASSWORD" } } }]);
        // The Secret: immutable, owned by the Job (the Job's TTL removes it even if this tool dies), deleted when the Job ends.
        assert.equal(secret.kind, "Secret");
        assert.equal(secret.metadata.name, `${job.metadata.name}-env`);
        assert.equal(secret.metadata.namespace, "django-staging");
        assert.equal(secret.immutable, true);
        assert.deepEqual(secret.metadata.ownerReferences, [{ apiVersion: "batch/v1", kind: "Job", name: job.metadata.name, uid: JOB_UID }]);
        assert.equal(Buffer.from(secret.data.DJANGO_SUPERUSER_PASSWORD, "base64").toString("utf8"), password);
        const c = calls();
        assert.deepEqual(c.map((l) => l.split(" ").slice(0, 2).join(" ")), ["config current-context", "get deployments", "create -f", "create -f", "logs -f", "get job", "get pods", "delete secret"]);
        assert.equal(c[c.length - 1], `delete secret ${job.metadata.name}-env -n django-staging --ignore-not-found`);
        // Nowhere else: not in kubectl's argv (ps, shell history), the Job (etcd, kubectl get job -o yaml) or the output.
        const encoded = Buffer.from(password).toString("base64");
        for (const [where, text] of [["argv", readFileSync(log, "utf8")], ["Job", readFileSync(appliedJob, "utf8")], ["output", [...io.out, ...io.err].join("\n")]]) {
            assert.ok(!text.includes(password) && !text.includes(encoded), `the value appears in the ${where}`);
        }
    });

    it("--env without a local value asks for it without echo when there is a terminal, and refuses NAME=value or a contract variable", async () => {
        const io = captureIo();
        const asked: string[] = [];
        const input = { readSecret: async (prompt: string) => (asked.push(prompt), "typed-at-the-prompt"), readStdin: async () => Buffer.alloc(0) };
        const env = fakeKubectl(0);
        delete env.DJANGO_SUPERUSER_PASSWORD;
        assert.equal(await withoutStackTraces(() => main(["node", "manage", "--stack", "staging", "--apply", "--poll-ms", "10", "--env", "DJANGO_SUPERUSER_PASSWORD", "--", "createsuperuser", "--no-input"], io, env, input)), 0, io.err.join("\n"));
        assert.deepEqual(asked, ["DJANGO_SUPERUSER_PASSWORD (not echoed): "]);
        assert.equal(Buffer.from(parse(readFileSync(appliedSecret, "utf8")).data.DJANGO_SUPERUSER_PASSWORD, "base64").toString(), "typed-at-the-prompt");

        const noTty = captureIo();
        assert.equal(await main(["node", "manage", "--stack", "staging", "--apply", "--env", "DJANGO_SUPERUSER_PASSWORD", "--", "createsuperuser"], noTty, env, { readSecret: async () => undefined, readStdin: async () => Buffer.alloc(0) }), 2);
        assert.match(noTty.err.join("\n"), /DJANGO_SUPERUSER_PASSWORD is not set in your environment and there is no terminal to ask for it/);

        const inline = captureIo();
        assert.equal(await main(["node", "manage", "--stack", "staging", "--env", "DJANGO_SUPERUSER_PASSWORD=hunter2", "--", "createsuperuser"], inline, env), 2);
        assert.match(inline.err.join("\n"), /--env takes a name, not NAME=value: the value would stay in your shell history/);
        assert.doesNotMatch(inline.err.join("\n"), /hunter2/);

        const contract = captureIo();
        assert.equal(await main(["node", "manage", "--stack", "staging", "--env", "DJANGO_APP_SECRET_KEY", "--", "check"], contract, env), 2);
        assert.match(contract.err.join("\n"), /DJANGO_APP_SECRET_KEY is set by the platform/);
    });

    it("--env without --apply prints the Job with the Secret reference and asks for no value", async () => {
        const io = captureIo();
        const env = fakeKubectl(0);
        const input = { readSecret: async () => assert.fail("no value is needed to print the Job"), readStdin: async () => Buffer.alloc(0) };
        assert.equal(await withoutStackTraces(() => main(["node", "manage", "--stack", "staging", "--env", "DJANGO_SUPERUSER_PASSWORD", "--", "createsuperuser", "--no-input"], io, env, input)), 0, io.err.join("\n"));
        const job = parse(io.out.join("\n"));
        assert.deepEqual(job.spec.template.spec.containers[0].env.at(-1), { name: "DJANGO_SUPERUSER_PASSWORD", valueFrom: { secretKeyRef: { name: `${job.metadata.name}-env`, key: "DJANGO_SUPERUSER_PASSWORD" } } });
        assert.match(io.err.join("\n"), /--apply creates the Secret .*-env from your environment/);
    });

    it("--stdin attaches local stdin to the command (stdinOnce), then prints its whole log", async () => {
        const io = captureIo();
        const script = "from django.contrib.auth import get_user_model\nprint(get_user_model().objects.count())\n";
        const input = { readSecret: async () => undefined, readStdin: async () => Buffer.from(script) };
        const env = fakeKubectl(0);
        // The first look finds the command running (waiting for its stdin); later ones find it done.
        writeFileSync(path.join(dir, "running.json"), JSON.stringify({ items: [{ metadata: { name: "django-manage-x-abcde" }, status: { phase: "Running", containerStatuses: [{ name: MANAGE_CONTAINER, state: { running: {} } }] } }] }));
        const code = await withoutStackTraces(() => main(["node", "manage", "--stack", "staging", "--apply", "--stdin", "--poll-ms", "10", "--", "shell"], io, env, input));
        assert.equal(code, 0, io.err.join("\n"));
        const [app] = parse(readFileSync(appliedJob, "utf8")).spec.template.spec.containers;
        assert.equal(app.stdin, true);
        assert.equal(app.stdinOnce, true);
        assert.equal(app.tty, undefined);
        assert.equal(readFileSync(attachInput, "utf8"), script);
        const c = calls();
        assert.ok(c.includes("attach -i pod/django-manage-x-abcde -n django-staging -c manage"), c.join("\n"));
        assert.ok(c.indexOf("attach -i pod/django-manage-x-abcde -n django-staging -c manage") < c.findIndex((l) => l.startsWith("logs -f")));
        assert.ok(!io.out.includes("attached output is not printed twice"));
    });

    it("without a kubeconfig it says how to get credentials for this stack's cluster (DNS endpoint), before anything else", async () => {
        const io = captureIo();
        assert.equal(await withoutStackTraces(() => main(["node", "manage", "--stack", "staging", "--apply", "--", "check"], io, fakeKubectl(0, { context: false }))), 3);
        const err = io.err.join("\n");
        assert.match(err, /kubectl has no current context/);
        assert.ok(err.includes('gcloud container clusters get-credentials "$(pulumi stack output clusterName --stack staging)" --dns-endpoint --region europe-west1 --project acme-django-staging'), err);
        assert.deepEqual(calls(), ["config current-context"]);

        const missing = captureIo();
        assert.equal(await withoutStackTraces(() => main(["node", "manage", "--stack", "staging", "--apply", "--", "check"], missing, { ...process.env, PATH: "/nonexistent" })), 3);
        assert.match(missing.err.join("\n"), /kubectl is not installed.*gcloud components install kubectl gke-gcloud-auth-plugin/);
    });

    it("pointed at another cluster (no web Deployment), it says which context it used and how to switch", async () => {
        const io = captureIo();
        assert.equal(await withoutStackTraces(() => main(["node", "manage", "--stack", "staging", "--apply", "--", "check"], io, fakeKubectl(0, { deployments: JSON.stringify({ items: [] }) }))), 3);
        const err = io.err.join("\n");
        assert.match(err, /found 0 in namespace django-staging of context gke_acme_europe-west1_cluster/);
        assert.ok(err.includes("--dns-endpoint --region europe-west1 --project acme-django-staging"), err);
    });

    it("when the cluster runs another image, it never advises a pulumi up (which would roll a CI deploy back): pin the deployed image first", async () => {
        const io = captureIo();
        const live = "europe-west1-docker.pkg.dev/acme-django-ci/django/app@sha256:" + "c".repeat(64);
        assert.equal(await withoutStackTraces(() => main(["node", "manage", "--stack", "staging", "--apply", "--", "check"], io, fakeKubectl(0, { img: live }))), 3);
        const err = io.err.join("\n");
        assert.doesNotMatch(err, /pulumi up/);
        assert.ok(err.includes(`the cluster's web pods run ${live}, but the stack file says ${image}`), err);
        assert.ok(err.includes('pulumi config set --stack staging image "$(pulumi stack output image --stack staging)"'), err);
        assert.ok(!existsSync(appliedJob), "nothing is applied");
    });
});

describe("the --env prompt (a real terminal: util-linux script gives the process a pty)", () => {
    const script = ["/usr/bin/script", "/bin/script"].find((f) => existsSync(f));
    it("reads a value without echoing it, and says there is no terminal when there is none", { skip: script ? false : "util-linux script is not installed" }, async () => {
        const value = "s3cret-typed-value";
        const program = `require(${JSON.stringify(path.join(__dirname, "..", "cli", "manage"))}).promptHidden("pw: ").then((v) => console.log("read " + (v === ${JSON.stringify(value)} ? "the value" : JSON.stringify(v))))`;
        const child = spawn(script as string, ["-q", "-e", "-c", `${process.execPath} --import tsx -e '${program}'`, "/dev/null"], { cwd: path.join(__dirname, ".."), stdio: ["pipe", "pipe", "pipe"] });
        let out = "";
        const finished = new Promise<number | null>((resolve) => child.on("close", resolve));
        child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
            out += chunk;
            // Type only once the prompt is up (raw mode is on): as a person would.
            if (out.includes("pw: ") && !out.includes("typed")) {
                out += "typed";
                child.stdin.write(`${value}\r`);
            }
        });
        const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
        const code = await finished;
        clearTimeout(timer);
        assert.equal(code, 0, out);
        assert.match(out, /read the value/);
        assert.ok(!out.includes(value), `the value was echoed: ${JSON.stringify(out)}`);
        // Without a controlling terminal (a new session), no prompt: manage says so instead.
        const detached = spawn(process.execPath, ["--import", "tsx", "-e", `require(${JSON.stringify(path.join(__dirname, "..", "cli", "manage"))}).promptHidden("pw: ").then((v) => console.log(String(v)))`], { cwd: path.join(__dirname, ".."), detached: true, stdio: ["ignore", "pipe", "pipe"] });
        let said = "";
        detached.stdout.setEncoding("utf8").on("data", (c: string) => (said += c));
        assert.equal(await new Promise((resolve) => detached.on("close", resolve)), 0);
        assert.equal(said.trim(), "undefined");
    });
});

describe("what --env is for: Django's createsuperuser, run for real (the image's Django, in .venv)", () => {
    // A throwaway project on SQLite with the auth app: createsuperuser's behaviour, not ours.
    const program = [
        "import os, sys, django",
        "from django.conf import settings",
        "settings.configure(INSTALLED_APPS=['django.contrib.auth', 'django.contrib.contenttypes'], DATABASES={'default': {'ENGINE': 'django.db.backends.sqlite3', 'NAME': ':memory:'}})",
        "django.setup()",
        "from django.core.management import call_command",
        "call_command('migrate', verbosity=0)",
        "from django.contrib.auth import get_user_model",
        "mode = sys.argv[1]",
        "if mode == 'interactive':",
        "    call_command('createsuperuser', username='admin', email='a@example.com', interactive=True, stdin=sys.stdin)",
        "    print('users:', get_user_model().objects.count())",
        "else:",
        "    call_command('createsuperuser', username='admin', email='a@example.com', interactive=False, verbosity=0)",
        "    u = get_user_model().objects.get(username='admin')",
        "    print(u.has_usable_password(), u.check_password(os.environ.get('DJANGO_SUPERUSER_PASSWORD', '')))",
    ].join("\n");
    const run = (mode: string, env: Record<string, string>) =>
        spawnSync(venvPython(), ["-c", program, mode], { env: { PATH: process.env.PATH ?? "", ...env }, encoding: "utf8", input: "typed-on-stdin\n", timeout: 60_000 });

    it("--no-input takes the password from DJANGO_SUPERUSER_PASSWORD, and leaves it unusable without it", () => {
        const withPassword = run("no-input", { DJANGO_SUPERUSER_PASSWORD: "correct horse battery staple" });
        assert.equal(withPassword.stdout.trim(), "True True", withPassword.stderr);
        const without = run("no-input", {});
        assert.equal(without.stdout.trim(), "False False", without.stderr);
    });

    it("refuses to prompt without a TTY, so stdin cannot carry the password", () => {
        const r = run("interactive", {});
        assert.match(r.stdout, /Superuser creation skipped due to not running in a TTY/, r.stderr);
        assert.match(r.stdout, /users: 0/);
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
        assert.throws(() => withLiveNames(m, { spec: { template: { spec: { containers: [{ name: "web", image: "i:2", envFrom: [] }] } } } }), /run i:2, but the stack file says i:1\. /);
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

