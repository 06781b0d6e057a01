/**
 * Spot Pods and the preemption grace period (components/spot.ts, components/termination.ts).
 *
 * Google's pages disagree: the Autopilot Spot Pods page says 25 s, the Spot VM and preemptible VM
 * pages 15 s for non-system Pods on current GKE versions (docs/gcp-facts.md quotes both). The
 * platform plans for 15 s: every Spot pod it renders asks for no more, the web pods' whole
 * termination sequence (preStop, gunicorn's graceful timeout, the margin) fits in it, CronJob runs
 * stopped by a preemption start again, and a Spot web tier never runs a single replica. The last
 * test runs the rendered gunicorn command for real and preempts it as the kubelet's graceful node
 * shutdown does (the pod's grace period cut to 15 s), with requests in flight.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { request } from "node:http";
import { createConnection } from "node:net";
import { join } from "node:path";
import { describe, it } from "node:test";
import { AUTOPILOT_SPOT_PODS_PAGE_GRACE_SECONDS, SPOT_PREEMPTION_GRACE_SECONDS, SPOT_VM_PAGES_GRACE_SECONDS, isSpotPodSpec, preemptionGraceSeconds } from "../components/spot";
import { SHUTDOWN_MARGIN_SECONDS } from "../components/termination";
import { ConfigError, validateConfig } from "../config";
import { imageBaseEnv } from "../cli/lib/appPython";
import { LocalPod, type PodPlan } from "../cli/lib/local/pod";
import { freePort, waitFor } from "../cli/lib/local/processes";
import { ROOT, T, renderStack, stackConfig } from "./helpers/platform";

/* eslint-disable @typescript-eslint/no-explicit-any */

/** Every pod template a render holds: Deployments' and CronJobs' (with their kind and name). */
function podTemplates(resources: Array<{ type: string; name: string; inputs: any }>): Array<{ where: string; spec: any }> {
    const out: Array<{ where: string; spec: any }> = [];
    for (const r of resources) {
        if (r.type === T.deployment) out.push({ where: `Deployment ${r.name}`, spec: r.inputs.spec.template.spec });
        if (r.type === "kubernetes:batch/v1:CronJob") out.push({ where: `CronJob ${r.name}`, spec: r.inputs.spec.jobTemplate.spec.template.spec });
    }
    return out;
}

/** The value after `flag` in a command line. */
function argument(command: readonly string[], flag: string): string {
    const i = command.indexOf(flag);
    assert.ok(i >= 0, `${flag} in ${command.join(" ")}`);
    return command[i + 1] as string;
}

describe("Spot: the grace period a preemption gives", () => {
    it("is the shorter of Google's two figures: 15 s (Spot VM and preemptible VM pages), not the Autopilot page's 25 s", () => {
        assert.deepEqual([AUTOPILOT_SPOT_PODS_PAGE_GRACE_SECONDS, SPOT_VM_PAGES_GRACE_SECONDS], [25, 15]);
        assert.equal(SPOT_PREEMPTION_GRACE_SECONDS, 15);
        assert.equal(preemptionGraceSeconds(37), 15, "a pod that asks for more gets 15 s");
        assert.equal(preemptionGraceSeconds(10), 10);
        const facts = readFileSync(join(ROOT, "docs/gcp-facts.md"), "utf8");
        for (const url of ["https://cloud.google.com/kubernetes-engine/docs/how-to/autopilot-spot-pods", "https://cloud.google.com/kubernetes-engine/docs/concepts/spot-vms", "https://cloud.google.com/kubernetes-engine/docs/how-to/preemptible-vms"]) {
            assert.ok(facts.includes(url), `docs/gcp-facts.md cites ${url}`);
        }
        assert.match(facts, /1\.22\.8-gke\.200/, "with the GKE version note");
    });
});

describe("Spot: every Spot pod's termination fits in a preemption", () => {
    it("staging (Spot, with a worker): each Spot pod asks for at most 15 s; the web pod's preStop + graceful timeout + margin fit in it; CronJob runs stopped by a disruption start again", async () => {
        // A worker needs more connections than db-f1-micro has: the next shared-core tier.
        const r = await renderStack("staging", { "django-platform:database": { tier: "db-g1-small" }, "django-platform:workers": { tasks: { command: ["python", "manage.py", "demo_worker"] } } });
        const templates = podTemplates(r.resources as any);
        const spot = templates.filter((t) => isSpotPodSpec(t.spec));
        assert.deepEqual(spot.map((t) => t.where.split(" ")[0]).sort(), ["CronJob", "Deployment", "Deployment"], "web, the worker and clearsessions run on Spot");
        for (const t of spot) {
            const grace = t.spec.terminationGracePeriodSeconds;
            assert.ok(typeof grace === "number" && grace <= SPOT_PREEMPTION_GRACE_SECONDS, `${t.where}: terminationGracePeriodSeconds ${grace} > ${SPOT_PREEMPTION_GRACE_SECONDS}`);
        }
        const web = r.inputs(T.deployment, "django-workload-web").spec.template.spec;
        const [container] = web.containers;
        const preStop = container.lifecycle.preStop.sleep.seconds;
        const graceful = Number(argument(container.command, "--graceful-timeout"));
        assert.ok(graceful >= 1, "gunicorn keeps a graceful timeout");
        assert.ok(preStop + graceful + SHUTDOWN_MARGIN_SECONDS <= web.terminationGracePeriodSeconds, `preStop ${preStop} + graceful ${graceful} + ${SHUTDOWN_MARGIN_SECONDS} within ${web.terminationGracePeriodSeconds}`);
        const cron = r.all("kubernetes:batch/v1:CronJob").map((c) => c.inputs as any);
        for (const c of cron) {
            assert.deepEqual(c.spec.jobTemplate.spec.podFailurePolicy, { rules: [{ action: "Ignore", onPodConditions: [{ type: "DisruptionTarget", status: "True" }] }] });
            assert.equal(c.spec.jobTemplate.spec.template.spec.restartPolicy, "Never", "a pod failure policy needs restartPolicy Never");
            assert.ok(c.spec.jobTemplate.spec.template.spec.terminationGracePeriodSeconds < 60, "a Replace run is gone before cron's next minute");
        }
        // The provider's own API reference: what Ignore does, and that a replacement waits for the
        // stopped pod (so a preempted run and its replacement never hold connections together).
        const api = readFileSync(join(ROOT, "node_modules/@pulumi/kubernetes/types/input.d.ts"), "utf8");
        assert.match(api, /Ignore: indicates that the counter towards the \.backoffLimit is not\s+\*\s+incremented and a replacement pod is created/);
        assert.match(api, /When using podFailurePolicy, Failed is the the only allowed value/);
        assert.match(api, /Failed means to wait until a previously created Pod is fully terminated/);
    });

    it("production (regular capacity): the pods keep their longer grace periods", async () => {
        const r = await renderStack("production");
        const templates = podTemplates(r.resources as any);
        assert.equal(templates.filter((t) => isSpotPodSpec(t.spec)).length, 0);
        const web = r.inputs(T.deployment, "django-workload-web").spec.template.spec;
        assert.equal(web.terminationGracePeriodSeconds, 37);
        assert.equal(argument(web.containers[0].command, "--graceful-timeout"), "25");
        assert.equal(r.inputs(T.deployment, "django-worker-tasks-pods").spec.template.spec.terminationGracePeriodSeconds, 60);
    });

    it("a Spot web tier never runs a single replica: the staging HPA keeps two, and validation refuses one", async () => {
        const r = await renderStack("staging");
        const hpa = r.all(T.hpa).map((h) => h.inputs as any).find((h) => h.metadata.labels["app.kubernetes.io/component"] === "web");
        assert.ok(hpa.spec.minReplicas >= 2);
        assert.throws(() => validateConfig(stackConfig("staging", { "django-platform:workload": { minReplicas: 1 } }).config, "staging"), (err: unknown) => {
            assert.ok(err instanceof ConfigError);
            assert.ok(err.problems.some((p) => p.startsWith("django-platform:workload.minReplicas is 1 with django-platform:workload.spot true")), err.problems.join("\n"));
            return true;
        });
    });
});

/** A GET that waits as long as the server takes; resolves with the status, or the error's code. */
function slowGet(port: number, seconds: number): Promise<{ status?: number; error?: string; endedAt: number }> {
    return new Promise((resolve) => {
        const req = request({ host: "127.0.0.1", port, path: `/slow/?s=${seconds}`, agent: false }, (res) => {
            res.resume();
            res.on("end", () => resolve({ status: res.statusCode, endedAt: performance.now() }));
            res.on("error", (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message, endedAt: performance.now() }));
        });
        req.on("error", (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message, endedAt: performance.now() }));
        req.end();
    });
}

/** A request whose body arrives in two parts, `gapMs` apart (a client's slow upload, streamed by the load balancer). */
function slowUpload(port: number, bytes: number, gapMs: number): Promise<{ status?: number; error?: string; endedAt: number }> {
    return new Promise((resolve) => {
        const sock = createConnection({ host: "127.0.0.1", port });
        let data = "";
        let error: string | undefined;
        const half = Math.floor(bytes / 2);
        sock.on("connect", () => {
            sock.write(`POST /slow/?s=0 HTTP/1.1\r\nHost: test\r\nContent-Type: application/octet-stream\r\nContent-Length: ${bytes}\r\nConnection: close\r\n\r\n${"x".repeat(half)}`);
            setTimeout(() => sock.write("y".repeat(bytes - half), () => undefined), gapMs);
        });
        sock.on("data", (chunk) => (data += chunk.toString()));
        sock.on("error", (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
        sock.on("close", () => {
            const status = /^HTTP\/1\.1 (\d{3})/.exec(data)?.[1];
            resolve(status ? { status: Number(status), endedAt: performance.now() } : { error: error ?? "closed without an answer", endedAt: performance.now() });
        });
    });
}

/** A kept-alive connection, idle after one answered request; resolves when the server closes it. */
async function idleKeepAlive(port: number): Promise<{ closed: Promise<number> }> {
    const sock = createConnection({ host: "127.0.0.1", port });
    await new Promise<void>((resolve, reject) => {
        sock.on("error", reject);
        sock.on("connect", () => sock.write("GET /slow/?s=0 HTTP/1.1\r\nHost: test\r\n\r\n"));
        sock.once("data", () => resolve());
    });
    sock.on("error", () => undefined);
    return { closed: new Promise((resolve) => sock.on("close", () => resolve(performance.now()))) };
}

/** The staging web pod's rendered gunicorn command, serving tests/fixtures/slowwsgi on loopback ports, as a local pod. */
async function renderedSpotWebPod(): Promise<{ pod: LocalPod; plan: PodPlan; port: number; preStop: number; graceful: number }> {
    const r = await renderStack("staging");
    const spec = r.inputs(T.deployment, "django-workload-web").spec.template.spec;
    const [container] = spec.containers;
    const rendered: string[] = container.command;
    const preStop = container.lifecycle.preStop.sleep.seconds;
    const graceful = Number(argument(rendered, "--graceful-timeout"));
    const port = await freePort();
    const probePort = await freePort();
    // The rendered command, serving the slow test app on loopback ports instead of the project
    // (the pages' bind and the probes' bind; the worker class comes from app/, on PYTHONPATH).
    const argv = rendered.map((a, i) => (i === 1 ? "slow_wsgi:application" : a === "0.0.0.0:8000" ? `127.0.0.1:${port}` : a === "0.0.0.0:8081" ? `127.0.0.1:${probePort}` : a));
    const plan: PodPlan = {
        workloadLabel: "Deployment/django-workload-web (preempted)",
        workload: { kind: "Deployment", name: "django-workload-web", component: "web", origin: "stack" },
        containerName: "web",
        renderedArgv: rendered,
        argv,
        rewrites: ["serves tests/fixtures/slowwsgi on a loopback port"],
        env: { ...imageBaseEnv(), PYTHONPATH: join(ROOT, "app") },
        cwd: join(ROOT, "tests/fixtures/slowwsgi"),
        mounts: [],
        localPorts: { 8000: port, 8081: probePort },
        namedPorts: {},
        probes: {},
        preStop: container.lifecycle.preStop,
        // The kubelet's graceful node shutdown gives the pod min(its own, the node's) grace period.
        terminationGracePeriodSeconds: preemptionGraceSeconds(spec.terminationGracePeriodSeconds),
        restartPolicy: "Always",
        podIp: "127.0.0.1",
    };
    const pod = new LocalPod(plan, { kind: "none", reason: "a test of the termination sequence only" });
    pod.start();
    await waitFor("gunicorn to answer", async () => (await slowGet(port, 0)).status === 200, { timeoutMs: 20_000 });
    return { pod, plan, port, preStop, graceful };
}

describe("a Spot web pod preempted with requests in flight (the rendered gunicorn, run for real)", () => {
    it("at SIGTERM, every request in flight that can end within gunicorn's graceful timeout is served — running in a thread, or its body still arriving in the worker's event loop — idle keep-alive connections are closed, and gunicorn exits as soon as they are done", async () => {
        const { pod, port, graceful } = await renderedSpotWebPod();
        try {
            const idle = await idleKeepAlive(port);
            // Sent 0.5 s before SIGTERM, both end 1 s before the graceful timeout does: a page that
            // runs in a thread, and an upload whose body is still arriving (read by the event loop).
            const endsAt = graceful - 1;
            const inThread = slowGet(port, endsAt + 0.5);
            const arriving = slowUpload(port, 2_000, (endsAt + 0.5) * 1000);
            await new Promise((resolve) => setTimeout(resolve, 500));
            const sigterm = performance.now();
            const termination = await pod.terminate({ fast: true });
            const [a, b, closedAt] = await Promise.all([inThread, arriving, idle.closed]);
            const after = (t: number) => Math.round((t - sigterm) / 100) / 10;
            assert.ok(termination, "the pod was running");
            assert.equal(a.status, 200, `the page running in a thread at SIGTERM: ${JSON.stringify(a)} at +${after(a.endedAt)} s`);
            assert.equal(b.status, 200, `the upload still arriving at SIGTERM, complete ${endsAt} s later: ${JSON.stringify(b)} at +${after(b.endedAt)} s`);
            assert.ok(after(closedAt) <= 1, `the idle keep-alive connection is closed at SIGTERM (closed at +${after(closedAt)} s)`);
            assert.equal(termination.killed, false);
            assert.ok(termination.seconds <= endsAt + 0.7, `gunicorn exits once its last request is done (+${endsAt} s), not at the end of its ${graceful} s graceful timeout: exited at +${termination.seconds.toFixed(1)} s`);
        } finally {
            await pod.kill();
        }
    });

    it("gunicorn ends its requests and exits before the kubelet's 15 s are over; a request that ends within preStop + graceful timeout of the notice is served, a longer one is cut", async () => {
        const { pod, plan, port, preStop, graceful } = await renderedSpotWebPod();
        try {
            // In flight at the notice: 4 s (ends at +3 s), 20 s (would end at +19 s); sent at the
            // notice, while the load balancer still sends: one that ends at +11 s.
            const short = slowGet(port, 4);
            const long = slowGet(port, 20);
            await new Promise((resolve) => setTimeout(resolve, 1000));
            const notice = performance.now();
            const withinBudget = slowGet(port, preStop + graceful - 2);
            const termination = await pod.terminate();
            const [a, b, c] = await Promise.all([short, long, withinBudget]);
            const after = (t: number) => Math.round((t - notice) / 100) / 10;
            assert.ok(termination, "the pod was running");
            assert.equal(termination.killed, false, `gunicorn exited by itself, before the kubelet's SIGKILL at ${plan.terminationGracePeriodSeconds} s (it took ${termination.seconds.toFixed(1)} s)`);
            assert.ok(termination.seconds >= preStop && termination.seconds <= preStop + graceful + SHUTDOWN_MARGIN_SECONDS, `exit after ${termination.seconds.toFixed(1)} s`);
            assert.equal(a.status, 200, `the 4 s request: ${JSON.stringify(a)}`);
            assert.equal(c.status, 200, `the request that ends within ${preStop + graceful} s of the notice: ${JSON.stringify(c)} at +${after(c.endedAt)} s`);
            assert.equal(b.status, undefined, `the 20 s request is cut: ${JSON.stringify(b)}`);
            assert.ok(after(b.endedAt) <= preStop + graceful + SHUTDOWN_MARGIN_SECONDS, `cut at +${after(b.endedAt)} s, when gunicorn's graceful timeout ended`);
        } finally {
            await pod.kill();
        }
    });
});
