/**
 * The reliability lab's own models (maint/reliability.ts runs them against the rendered stacks):
 * small and fast, each checked against the behaviour it stands for.
 *
 * - Open-loop load: requests go out at their times whatever the answers; the outage is the longest
 *   run of seconds with requests and no success; recovery is the first second from which ≥ 90 % succeed.
 * - The load balancer model: the BackendConfig's health check (healthy and unhealthy thresholds),
 *   NEG attach/detach after a delay, the NEG readiness gate, 503 without a healthy endpoint, the
 *   backend timeout as each request's deadline — run against real HTTP servers.
 * - The rollout: one sync of the Deployment controller against the examples of the Kubernetes docs
 *   and rolling.go, terminating pods not counted.
 * - The pod observer's figures, and the pod emulation's additions the lab uses (replicas on their
 *   own ports, preStop on a liveness kill, a capped grace period, a container killed and restarted).
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { after, before, describe, it } from "node:test";
import type { AddressInfo } from "node:net";
import { LocalPod, type PodPlan } from "../cli/lib/local/pod";
import { replicaPlan } from "../cli/lib/local/plan";
import { renderStack } from "../cli/lib/local/render";
import { EndpointHealth, LoadBalancer, PropagatedFlag, backendServiceOf, exchange, localPortOf, type BackendService } from "../maint/lib/reliabilityBalancer";
import { CHECKS, SCHEDULE, judgeSpot, recoveredAt, rowPasses, seededRandom, SPOT_GRACE_SECONDS, within, type SpotObservation } from "../maint/lib/reliabilityChecks";
import { arrivalTimes, longestOutage, openLoop, percentile, sleep, type RequestRecord } from "../maint/lib/reliabilityLoad";
import { ConnectionOwners, connectionInodes, connectionPeaks, restartsBetween, secondsWithoutReadyPod, unreadyAtOnce, type Sample } from "../maint/lib/reliabilityObserve";
import { GroupProcess } from "../cli/lib/local/processes";
import { peakOf, resolveFenceposts, rolloutStep } from "../maint/lib/reliabilityRollout";
import { largestAcceptedMaxReplicas } from "../maint/lib/reliabilityRun";
import { validateConfig } from "../config";
import { applyOverrides } from "../maint/lib/configOverrides";
import { loadStackConfig } from "../cli/lib/stackConfig";
import { REPO } from "./lib/rendered";

const rec = (sentAt: number, outcome: RequestRecord["outcome"] = "ok"): RequestRecord => ({ kind: "page", sentAt, endedAt: sentAt + 10, outcome });

describe("open-loop load", () => {
    it("request i is due at i / rate", () => {
        assert.deepEqual(arrivalTimes(10, 1000), [0, 100, 200, 300, 400, 500, 600, 700, 800, 900]);
        assert.throws(() => arrivalTimes(0, 1000), /rate must be positive/);
    });

    it("keeps sending at its rate while every answer hangs (a closed loop would have sent one per client)", async () => {
        const sentAt: number[] = [];
        let release!: () => void;
        const hung = new Promise<void>((resolve) => (release = resolve));
        const t0 = performance.now();
        const run = openLoop({ ratePerSecond: 50, durationMs: 1000, t0, send: async () => {
            sentAt.push(performance.now() - t0);
            await hung;
            return 1;
        } });
        await sleep(1100);
        assert.equal(sentAt.length, 50, "every arrival went out although no answer came back");
        const gaps = sentAt.slice(1).map((t, i) => t - (sentAt[i] as number));
        assert.ok(percentile(gaps, 50) >= 15 && percentile(gaps, 50) <= 25, `arrivals 20 ms apart, got a median gap of ${percentile(gaps, 50)} ms`);
        release();
        assert.equal((await run).length, 50);
    });

    it("stops sending when told to", async () => {
        let n = 0;
        let stop = false;
        const run = openLoop({ ratePerSecond: 100, durationMs: Number.POSITIVE_INFINITY, stop: () => stop, send: async () => ++n });
        await sleep(200);
        stop = true;
        const sent = (await run).length;
        assert.ok(sent >= 15 && sent <= 25, `about 20 in 200 ms, got ${sent}`);
    });
});

describe("outage and recovery", () => {
    it("the outage is the longest run of seconds with requests and no success, counted by send time", () => {
        const records = [rec(100), rec(1500), rec(2100, "lb-no-backend"), rec(2900, "lb-timeout"), rec(3100, "http-5xx"), rec(4200, "lb-no-backend"), rec(5000), rec(7000, "backend-reset")];
        assert.deepEqual(longestOutage(records), { seconds: 3, from: 2 });
        assert.deepEqual(longestOutage(records, 0, 2000), { seconds: 0 });
        assert.deepEqual(longestOutage(records, 6000), { seconds: 1, from: 7 });
    });

    it("one success in a second ends a run; a second without requests neither ends nor extends it", () => {
        assert.deepEqual(longestOutage([rec(1000, "lb-timeout"), rec(1500), rec(2000, "lb-timeout")]), { seconds: 1, from: 2 });
        assert.deepEqual(longestOutage([rec(1000, "lb-timeout"), rec(3000, "lb-timeout")]), { seconds: 2, from: 1 });
    });

    it("recovery: the first second after the fault from which every second has ≥ 90 % successes", () => {
        const records = [rec(10_100, "lb-no-backend"), rec(11_100), rec(12_100, "lb-no-backend"), rec(13_100), rec(14_100), ...Array.from({ length: 10 }, (_, i) => rec(15_000 + i * 50, i === 0 ? "lb-timeout" : "ok"))];
        assert.equal(recoveredAt(records, 10_000), 3);
        assert.equal(recoveredAt([rec(10_100, "lb-no-backend")], 10_000), undefined);
    });
});

describe("the load balancer model", () => {
    it("reads the rendered BackendConfig of the web Service (staging)", async () => {
        const { docs } = await renderStack({ stack: "staging" });
        const service = backendServiceOf(docs);
        const config = docs.find((d) => d.kind === "BackendConfig") as unknown as { spec: { timeoutSec: number; healthCheck: Record<string, unknown> } };
        assert.equal(service.timeoutSec, config.spec.timeoutSec);
        assert.deepEqual(
            { ...service.healthCheck },
            { requestPath: config.spec.healthCheck.requestPath, port: config.spec.healthCheck.port, checkIntervalSec: config.spec.healthCheck.checkIntervalSec, timeoutSec: config.spec.healthCheck.timeoutSec, healthyThreshold: config.spec.healthCheck.healthyThreshold, unhealthyThreshold: config.spec.healthCheck.unhealthyThreshold },
        );
        assert.throws(() => backendServiceOf(docs.filter((d) => d.kind !== "BackendConfig")), /no BackendConfig/);
    });

    it("health: unhealthy until healthyThreshold passes in a row, healthy until unhealthyThreshold failures in a row", () => {
        const h = new EndpointHealth({ healthyThreshold: 2, unhealthyThreshold: 3 });
        assert.equal(h.healthy, false, "a new endpoint starts unhealthy");
        h.record(true);
        assert.equal(h.healthy, false);
        h.record(false);
        h.record(true);
        assert.equal(h.healthy, false, "the passes must be in a row");
        h.record(true);
        assert.equal(h.healthy, true);
        h.record(false);
        h.record(false);
        assert.equal(h.healthy, true);
        h.record(true);
        h.record(false);
        h.record(false);
        assert.equal(h.healthy, true, "the failures must be in a row");
        h.record(false);
        assert.equal(h.healthy, false);
    });

    it("a slow body reaches the backend at the client's pace, after complete headers", async () => {
        const arrivals: number[] = [];
        let headersAt = 0;
        const server = createServer((req, res) => {
            headersAt = performance.now();
            req.on("data", () => arrivals.push(performance.now()));
            req.on("end", () => res.end("ok"));
        });
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        try {
            const started = performance.now();
            const result = await exchange((server.address() as AddressInfo).port, { method: "POST", path: "/", body: Buffer.alloc(4000, 97), bodyChunks: 4, bodyDurationMs: 800 }, 5000);
            assert.equal(result.outcome, "ok");
            assert.ok(headersAt - started < 150, `the headers arrive at once (${(headersAt - started).toFixed(0)} ms)`);
            assert.ok(arrivals.length >= 4 && (arrivals.at(-1) as number) - (arrivals[0] as number) >= 500, `the body arrives over the upload's time (${arrivals.map((a) => (a - started).toFixed(0)).join(", ")} ms)`);
        } finally {
            server.close();
        }
    });

    it("an endpoint change takes effect after the propagation delay", () => {
        const flag = new PropagatedFlag(2000);
        flag.set(true, 1000);
        assert.equal(flag.get(2999), false);
        assert.equal(flag.get(3000), true);
        flag.set(false, 5000);
        assert.equal(flag.get(6999), true);
        assert.equal(flag.get(7000), false);
    });

    describe("against real HTTP servers", () => {
        type FakePod = { ready: boolean; isTerminating: boolean; running: boolean; plan: { port: { container: number; local: number }; localPorts: Record<number, number>; podIp: string; workloadLabel: string } };
        const servers: Server[] = [];
        let hang = false;
        const serve = async (label: string): Promise<FakePod> => {
            const server = createServer((req, res) => {
                if (req.url === "/slow/" && hang) return; // never answers
                if (req.url === "/wait/") return void setTimeout(() => res.end(label), 700);
                res.end(label);
            });
            servers.push(server);
            await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
            return { ready: false, isTerminating: false, running: true, plan: { port: { container: 8000, local: (server.address() as AddressInfo).port }, localPorts: {}, podIp: "127.0.0.1", workloadLabel: label } };
        };
        const service: BackendService = { timeoutSec: 1, drainingTimeoutSec: 1, healthCheck: { requestPath: "/readyz/", checkIntervalSec: 0.1, timeoutSec: 0.1, healthyThreshold: 1, unhealthyThreshold: 3 } };
        let lb: LoadBalancer;
        let a: FakePod;
        let b: FakePod;

        before(async () => {
            a = await serve("a");
            b = await serve("b");
            lb = new LoadBalancer({ service, host: "site.example", t0: performance.now(), propagationSeconds: 0.3 });
            lb.add(a as unknown as LocalPod);
            lb.add(b as unknown as LocalPod);
        });
        after(() => {
            lb.stop();
            for (const s of servers) s.close();
        });

        it("sends nothing to pods that are not ready: 503 from the load balancer", async () => {
            const r = await lb.send("page", { method: "GET", path: "/" });
            assert.equal(r.outcome, "lb-no-backend");
            assert.equal(lb.negReady(a as unknown as LocalPod), false);
        });

        it("a ready pod gets traffic once its endpoint is attached and its health check passed; then its NEG readiness gate is true", async () => {
            a.ready = true;
            await sleep(200);
            assert.deepEqual(lb.serving(), [], "not before the NEG propagation delay");
            await sleep(500);
            assert.deepEqual(lb.serving().map((p) => p.plan.workloadLabel), ["a"]);
            assert.equal(lb.negReady(a as unknown as LocalPod), true);
            assert.equal(lb.negReady(b as unknown as LocalPod), false);
            const r = await lb.send("page", { method: "GET", path: "/" });
            assert.deepEqual([r.outcome, r.pod], ["ok", "a"]);
        });

        it("spreads requests over the serving pods", async () => {
            b.ready = true;
            await sleep(700);
            const pods = await Promise.all(Array.from({ length: 6 }, () => lb.send("page", { method: "GET", path: "/" })));
            assert.deepEqual(pods.map((r) => r.pod).sort(), ["a", "a", "a", "b", "b", "b"]);
        });

        it("a request that gets no answer ends at the backend timeout", async () => {
            hang = true;
            const r = await lb.send("page", { method: "GET", path: "/slow/" });
            hang = false;
            assert.equal(r.outcome, "lb-timeout");
            assert.ok(r.endedAt - r.sentAt >= 990 && r.endedAt - r.sentAt < 1500, `${r.endedAt - r.sentAt} ms`);
        });

        it("a terminating pod leaves after the propagation delay; a request in flight to it still completes", async () => {
            const inFlight = lb.sendTo(b as unknown as LocalPod, "page", { method: "GET", path: "/wait/" });
            b.isTerminating = true;
            assert.equal(lb.serving().length, 2, "still attached right after the deletion");
            await sleep(450);
            assert.deepEqual(lb.serving().map((p) => p.plan.workloadLabel), ["a"]);
            const done = await inFlight;
            assert.deepEqual([done.outcome, done.pod], ["ok", "b"], "sent before the deletion, answered after the detach");
            const sent = await lb.sendTo(b as unknown as LocalPod, "page", { method: "GET", path: "/" });
            assert.equal(sent.pod, "a", "a pod out of the NEG gets no new request");
        });
    });
});

describe("the rolling update (the Deployment controller, pkg/controller/deployment/rolling.go)", () => {
    it("maxSurge is rounded up, maxUnavailable down; both 0 make maxUnavailable 1", () => {
        assert.deepEqual(resolveFenceposts({ maxSurge: "25%", maxUnavailable: 0 }, 4), { surge: 1, unavailable: 0 });
        assert.deepEqual(resolveFenceposts({ maxSurge: "25%", maxUnavailable: "25%" }, 3), { surge: 1, unavailable: 0 });
        assert.deepEqual(resolveFenceposts({ maxSurge: "30%", maxUnavailable: "30%" }, 10), { surge: 3, unavailable: 3 });
        assert.deepEqual(resolveFenceposts({ maxSurge: "25%", maxUnavailable: "25%" }, 32), { surge: 8, unavailable: 8 });
        assert.deepEqual(resolveFenceposts({ maxSurge: 0, maxUnavailable: 0 }, 5), { surge: 0, unavailable: 1 });
    });

    it("kubernetes.io's maxSurge/maxUnavailable 30 % example: the new ReplicaSet goes to 3 at once, the old one to 7", () => {
        const fence = resolveFenceposts({ maxSurge: "30%", maxUnavailable: "30%" }, 10);
        const first = rolloutStep(10, fence, { replicas: 0, available: 0 }, { replicas: 10, available: 10 });
        assert.deepEqual(first, { newReplicas: 3, oldReplicas: 10 }, "total 13 = 130 % of desired");
        const second = rolloutStep(10, fence, { replicas: 3, available: 0 }, { replicas: 10, available: 10 });
        assert.deepEqual(second, { newReplicas: 3, oldReplicas: 7 }, "70 % of desired stay available");
    });

    it("rolling.go's own example: unavailable new pods keep the old ReplicaSet from shrinking further", () => {
        const fence = { surge: 3, unavailable: 2 };
        assert.deepEqual(rolloutStep(10, fence, { replicas: 5, available: 0 }, { replicas: 8, available: 7 }), { newReplicas: 5, oldReplicas: 8 }, "13 − 8 − 5 = 0: no scale-down");
    });

    it("3 replicas, 25 %/25 %: a new pod, then an old one, and so on; never more than 4 pods counted, never fewer than 3 available", () => {
        const fence = resolveFenceposts({ maxSurge: "25%", maxUnavailable: "25%" }, 3);
        let state = { newReplicas: 0, oldReplicas: 3 };
        const seen: string[] = [];
        for (let i = 0; i < 20 && !(state.newReplicas === 3 && state.oldReplicas === 0); i += 1) {
            // Every pod becomes available before the next sync.
            state = rolloutStep(3, fence, { replicas: state.newReplicas, available: state.newReplicas }, { replicas: state.oldReplicas, available: state.oldReplicas });
            seen.push(`${state.newReplicas}/${state.oldReplicas}`);
            assert.ok(state.newReplicas + state.oldReplicas <= 4);
            assert.ok(state.newReplicas + state.oldReplicas >= 3);
        }
        assert.deepEqual(seen, ["1/3", "1/2", "2/2", "2/1", "3/1", "3/0"]);
    });

    it("terminating pods are not counted: while a deleted pod drains, the next wave starts — more pods run than replicas + maxSurge", () => {
        // 4 replicas, maxSurge 1, maxUnavailable 0 (staging's web at its largest accepted maxReplicas).
        // A new pod is available 2 syncs after it is created; a deleted pod drains for 5 syncs.
        const fence = resolveFenceposts({ maxSurge: "25%", maxUnavailable: 0 }, 4);
        const pods: Array<{ version: "old" | "new"; created: number; deleted?: number }> = Array.from({ length: 4 }, () => ({ version: "old" as const, created: -10 }));
        let most = 0;
        for (let t = 0; t < 40; t += 1) {
            const active = (v: "old" | "new") => pods.filter((p) => p.version === v && p.deleted === undefined);
            const state = (v: "old" | "new") => ({ replicas: active(v).length, available: active(v).filter((p) => t - p.created >= 2).length });
            const next = rolloutStep(4, fence, state("new"), state("old"));
            for (let i = active("new").length; i < next.newReplicas; i += 1) pods.push({ version: "new", created: t });
            for (const p of active("old").slice(next.oldReplicas)) p.deleted = t;
            const running = pods.filter((p) => p.deleted === undefined || t - p.deleted < 5).length;
            most = Math.max(most, running);
        }
        assert.equal(pods.filter((p) => p.version === "new").length, 4);
        assert.ok(most > 4 + fence.surge, `pods running at once: ${most}`);
        assert.equal(most, 7, "4 + 1 surge + 2 draining waves");
    });

    it("peaks: ends before starts at the same time", () => {
        assert.deepEqual(peakOf([{ at: 0, alive: 1, terminating: 0 }, { at: 5, alive: -1, terminating: 0 }, { at: 5, alive: 1, terminating: 0 }]), { alive: 1, terminating: 0 });
    });
});

describe("what the lab checks against", () => {
    it("the largest maxReplicas is the largest the config validation accepts", () => {
        const raw = loadStackConfig({ stack: "staging", projectDir: REPO }).config;
        const largest = largestAcceptedMaxReplicas("staging");
        const accepts = (r: number) => {
            try {
                validateConfig(applyOverrides(raw, { "django-platform:workload": { maxReplicas: r } }), "staging");
                return true;
            } catch {
                return false;
            }
        };
        assert.equal(accepts(largest), true);
        assert.equal(accepts(largest + 1), false);
    });

    it("the Spot check runs both grace periods Google's pages give: 25 s (Autopilot Spot Pods) and 15 s (Spot VMs on current GKE)", () => {
        assert.deepEqual([...SPOT_GRACE_SECONDS].sort((x, y) => y - x), [25, 15]);
    });

    describe("the Spot check's verdict (judgeSpot)", () => {
        // Times in ms after the run's start; the notice at 10 s.
        const N = 10_000;
        const req = (sentS: number, endedS: number, outcome: RequestRecord["outcome"], needsS = 0) => ({
            record: { kind: "upload", sentAt: N + sentS * 1000, endedAt: N + endedS * 1000, outcome, pod: "web-0" } as RequestRecord,
            needsMs: needsS * 1000,
        });
        // Staging as rendered now: preStop 10 s, --graceful-timeout 3 s, terminationGracePeriodSeconds 15.
        const now: SpotObservation = {
            noticeAt: N,
            preStopSeconds: 10,
            gracefulTimeoutSeconds: 3,
            terminationGracePeriodSeconds: 15,
            capSeconds: 15,
            termination: { seconds: 12.1, killed: false, exitCode: 0, signal: null },
            endpointLeftAt: N + 2_000,
            requests: [req(0.5, 0.6, "ok"), req(-1, 7, "ok", 8), req(-1, 11.1, "ok", 12), req(-1, 13, "backend-reset", 19), req(1.5, 13, "backend-reset", 19)],
        };
        const failed = (o: SpotObservation) => judgeSpot(o).limits.filter((l) => !within(l)).map((l) => l.what);
        const row = (o: SpotObservation) => ({ check: "spot", title: "", setup: [], ...judgeSpot(o) });

        it("passes the design: the pod exits before SIGKILL, every request that ends within preStop + graceful timeout is served, longer ones are cut and reported, not counted", () => {
            const v = judgeSpot(now);
            assert.equal(v.drainSeconds, 13);
            assert.equal(v.graceSeconds, 15);
            assert.equal(rowPasses(row(now)), true, failed(now).join("; "));
            assert.match(v.figures.join("\n"), /needing longer: 2, cut 2 \(backend-reset 2\) — cut beyond the drain window \(expected: long requests belong on regular capacity, docs\/operations\.md\)/);
            assert.match(v.figures.join("\n"), /exited 0 at 12\.1 s/);
            assert.equal(judgeSpot({ ...now, capSeconds: 25 }).drainSeconds, 13, "the 25 s figure: the pod's own 15 s is what bounds it");
        });

        it("fails when requests in flight are cut at SIGTERM (the event-loop reads gthread dropped: an upload still arriving at +10 s)", () => {
            const cutAtSigterm: SpotObservation = { ...now, termination: { seconds: 10.2, killed: false, exitCode: 0, signal: null }, requests: [req(-1, 7, "ok", 8), req(-1, 10.0, "backend-reset", 12), req(-1, 10.0, "backend-reset", 19)] };
            assert.deepEqual(failed(cutAtSigterm), ["requests cut that would have ended within the drain window"]);
        });

        it("fails when the pod is SIGKILLed: the older pods' 45 s grace period (preStop 10 + --graceful-timeout 25 + 10) capped at 15 s by a preemption", () => {
            const old: SpotObservation = { ...now, terminationGracePeriodSeconds: 45, gracefulTimeoutSeconds: 25, termination: { seconds: 15, killed: true, exitCode: null, signal: "SIGKILL" }, requests: [req(-1, 15, "backend-reset", 19)] };
            assert.equal(judgeSpot(old).drainSeconds, 15, "the kubelet's SIGKILL bounds the window");
            assert.deepEqual(failed(old), ["preempted pod SIGKILLed (its termination sequence did not fit the grace period)"]);
            assert.deepEqual(failed({ ...now, termination: undefined }), ["preempted pod SIGKILLed (its termination sequence did not fit the grace period)"], "a pod that was not running at the notice proves nothing");
        });

        it("fails when the load balancer sends to the pod after its endpoint left the NEG", () => {
            assert.deepEqual(failed({ ...now, requests: [...now.requests, req(2.5, 2.6, "ok")] }), ["requests sent to the preempted pod after its endpoint left the NEG"]);
        });

        it("does not judge requests that end within 1 s of the window's end; a page (needs 0) sent before the detach must be served", () => {
            assert.equal(rowPasses(row({ ...now, requests: [req(-1, 12.5, "backend-reset", 13.2)] })), true);
            assert.deepEqual(failed({ ...now, requests: [req(1.9, 10.1, "backend-reset")] }), ["requests cut that would have ended within the drain window"]);
        });
    });

    it("a full run schedules every variant of every check exactly once", () => {
        const scheduled = SCHEDULE.flat(2).sort();
        const variants = CHECKS.flatMap((c) => c.variants.map((v) => `${c.name}:${v}`)).sort();
        assert.deepEqual(scheduled, variants);
        assert.deepEqual(CHECKS.map((c) => c.point), [1, 2, 3, 4, 5, 6], "one check per numbered point of issue 24");
    });

    it("long uploads' durations are the same in every run", () => {
        const a = seededRandom(7);
        const b = seededRandom(7);
        const xs = Array.from({ length: 5 }, () => a());
        assert.deepEqual(xs, Array.from({ length: 5 }, () => b()));
        assert.ok(xs.every((x) => x >= 0 && x < 1));
    });
});

describe("the pod observer's figures", () => {
    const sample = (at: number, pods: Record<string, [ready: boolean, restarts?: number, terminating?: boolean]>): Sample => ({
        at,
        pods: Object.fromEntries(Object.entries(pods).map(([k, [ready, restarts = 0, terminating = false]]) => [k, { ready, restarts, terminating, everReady: true }])),
    });
    const samples = [
        sample(0, { a: [true], b: [true], c: [true] }),
        sample(1000, { a: [false], b: [true], c: [true] }),
        sample(2000, { a: [false], b: [false], c: [false] }),
        sample(3500, { a: [false, 1], b: [false, 1], c: [true, 1, true] }),
        sample(4000, { a: [true, 1], b: [true, 1], c: [false, 1, true] }),
    ];
    it("pods unready at once (terminating pods left out), seconds without a ready pod, restarts", () => {
        assert.equal(unreadyAtOnce(samples, 0, 5000), 3);
        assert.equal(unreadyAtOnce(samples, 3000, 5000), 2);
        assert.equal(secondsWithoutReadyPod(samples, 0, 5000), 2);
        assert.equal(restartsBetween(samples, 0, 5000), 3);
        assert.equal(restartsBetween(samples, 3500, 5000), 0);
    });
});

describe("the pod emulation's additions the lab uses (cli/lib/local/pod.ts, plan.ts)", () => {
    // A stand-in container: an HTTP server that fails /healthz/ when FAIL_LIVENESS is set, and
    // takes GRACE_MS to exit on SIGTERM (a server finishing its requests).
    const script = [
        "const http = require('http');",
        "const port = Number(process.argv[1].split(':')[1]);",
        "const server = http.createServer((req, res) => { res.statusCode = req.url === '/healthz/' && process.env.FAIL_LIVENESS ? 500 : 200; res.end('x'); });",
        "process.on('SIGTERM', () => setTimeout(() => process.exit(0), Number(process.env.GRACE_MS || 0)));",
        "server.listen(port, '127.0.0.1');",
    ].join("\n");
    const plan = (env: Record<string, string>, preStopSeconds: number, grace: number): PodPlan => ({
        workloadLabel: "Deployment/test",
        workload: { kind: "Deployment", name: "test", component: "web" } as PodPlan["workload"],
        containerName: "web",
        renderedArgv: [process.execPath, "-e", script, "0.0.0.0:8000"],
        argv: [process.execPath, "-e", script, "127.0.0.1:1"],
        rewrites: [],
        env: { PATH: "/usr/bin:/bin", ...env },
        cwd: process.cwd(),
        mounts: [],
        port: { name: "http", container: 8000, local: 1 },
        localPorts: { 8000: 1 },
        namedPorts: { http: 8000 },
        probes: {
            readiness: { httpGet: { path: "/readyz/", port: "http" }, periodSeconds: 1, timeoutSeconds: 1, failureThreshold: 1 },
            liveness: { httpGet: { path: "/healthz/", port: "http" }, periodSeconds: 1, timeoutSeconds: 1, failureThreshold: 2 },
        },
        preStop: { sleep: { seconds: preStopSeconds } },
        terminationGracePeriodSeconds: grace,
        restartPolicy: "Always",
        podIp: "127.0.0.1",
    });
    const none = { kind: "none", reason: "test" } as const;

    it("a replica listens on its own port, rebound from the rendered command", async () => {
        const [one, two] = await Promise.all([replicaPlan(plan({}, 0, 5), 1), replicaPlan(plan({}, 0, 5), 2)]);
        assert.notEqual(one.port?.local, two.port?.local);
        assert.deepEqual(one.argv.at(-1), `127.0.0.1:${one.port?.local}`);
        assert.match(two.workloadLabel, / pod 2$/);
    });

    it("a replica rebinds every declared port its command binds (a serving port and a probes port)", async () => {
        const twoPorts: PodPlan = {
            ...plan({}, 0, 5),
            renderedArgv: ["gunicorn", "--bind", "0.0.0.0:8000", "--bind", "0.0.0.0:8081"],
            namedPorts: { http: 8000, probes: 8081 },
        };
        const replica = await replicaPlan(twoPorts, 3);
        const binds = replica.argv.filter((a) => a.startsWith("127.0.0.1:"));
        assert.equal(binds.length, 2);
        assert.notEqual(binds[0], binds[1]);
        assert.equal(binds[0], `127.0.0.1:${replica.port?.local}`);
        const ports = replica.localPorts;
        assert.deepEqual(binds, [`127.0.0.1:${ports[8000]}`, `127.0.0.1:${ports[8081]}`]);
        assert.equal(localPortOf(replica, 8081), ports[8081], "the load balancer's health check finds the probes port");
        assert.equal(localPortOf(replica, 8000), replica.port?.local);
        assert.equal(localPortOf(replica, 9999), undefined, "a port the command does not bind is not served");
    });

    it("a liveness kill runs preStop first, then the container restarts (restartPolicy Always)", async () => {
        const events: Array<{ at: number; message: string }> = [];
        const t0 = performance.now();
        const watched = new LocalPod(await replicaPlan(plan({ FAIL_LIVENESS: "1" }, 1, 5), 1), none, { restart: true, onEvent: (message) => events.push({ at: performance.now() - t0, message }) });
        watched.start();
        try {
            while (watched.restarts === 0 && performance.now() - t0 < 8000) await sleep(50);
            const killed = events.find((e) => /kubelet kills the container/.test(e.message));
            const restarting = events.find((e) => /restarting in/.test(e.message));
            assert.ok(killed && restarting, JSON.stringify(events));
            assert.ok(restarting.at - killed.at >= 950, `the container exited ${restarting.at - killed.at} ms after the kill: preStop (1 s) ran first`);
        } finally {
            await watched.kill();
        }
    });

    it("terminate with a capped grace period kills what outlives it; killContainer kills from outside and the kubelet restarts it", async () => {
        const ready: boolean[] = [];
        const watched = new LocalPod(await replicaPlan(plan({ GRACE_MS: "5000" }, 0, 30), 1), none, { restart: true, onReadyChange: (r) => ready.push(r) });
        watched.start();
        assert.equal(await watched.waitReady(5000), true, `${watched.failure} ${watched.lastLines(5).join(" | ")}`);
        const record = await watched.terminate({ graceSeconds: 1 });
        assert.equal(record?.killed, true);
        assert.equal(record?.graceSeconds, 1);
        assert.ok((record?.seconds ?? 0) < 2, `${record?.seconds} s`);
        assert.deepEqual(ready, [true, false]);

        const crash = new LocalPod(await replicaPlan(plan({}, 0, 5), 2), none, { restart: true });
        crash.start();
        assert.equal(await crash.waitReady(5000), true);
        crash.killContainer();
        while (crash.restarts === 0) await sleep(50);
        assert.equal(crash.isTerminating, false, "a killed container is not a deleted pod");
        await crash.kill();
    });
});

describe("who holds database connections, seen from the operating system", () => {
    it("reads established connections to a port from /proc/net/tcp", () => {
        const table = [
            "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
            "   0: 0100007F:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000   105        0 111 1",
            "   1: 0100007F:9C40 0100007F:1538 01 00000000:00000000 00:00000000 00000000     0        0 222 1",
            "   2: 0100007F:1538 0100007F:9C40 01 00000000:00000000 00:00000000 00000000   105        0 333 1",
            "   3: 0100007F:9C41 0100007F:1538 06 00000000:00000000 03:00000000 00000000     0        0 0 3",
        ].join("\n");
        assert.deepEqual([...connectionInodes(0x1538, table)], ["222"], "the client side of an established connection; not the listener, the server side or TIME_WAIT");
    });

    it("counts the connections each holder's processes own", async () => {
        const server = createServer();
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        const port = (server.address() as AddressInfo).port;
        const client = new GroupProcess("client", process.execPath, ["-e", `const net = require('net'); for (let i = 0; i < 3; i++) net.connect(${port}, '127.0.0.1'); setTimeout(() => {}, 60000);`]);
        const owners = new ConnectionOwners(port, performance.now());
        try {
            owners.add({ label: "client", pid: () => client.pid });
            owners.add({ label: "nobody", pid: () => undefined });
            let held = 0;
            for (let i = 0; i < 50 && held < 3; i += 1) {
                await sleep(100);
                owners.sample();
                held = owners.samples.at(-1)?.held.get("client") ?? 0;
            }
            assert.equal(held, 3);
            assert.equal(owners.samples.at(-1)?.held.has("nobody"), false);
        } finally {
            owners.stop();
            await client.stop("SIGKILL");
            server.close();
        }
    });

    it("the worst case counts the holders of one moment, each at the most it was ever seen holding", () => {
        const at = (held: Record<string, number>) => ({ held: new Map(Object.entries(held)) });
        const peaks = connectionPeaks([at({ "web 1": 3, "web 2": 1 }), at({ "web 2": 3, "web 3": 1, Jobs: 2 }), at({ "web 3": 3 })], (l) => l.split(" ")[0] as string);
        assert.deepEqual(peaks, { observed: 6, holdersAtOnce: { web: 2, Jobs: 1 }, worstCase: 8 });
    });
});
