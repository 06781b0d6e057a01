/**
 * The monthly cost estimate (cli/lib/cost), the Spot scheduling pieces (components/spot.ts) and
 * docs/costs.md. Three renders, shared: staging, staging before its cheap options, and production;
 * Memorystore is priced from a resource with the inputs components/cache.ts gives it.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import { isSpotPodSpec, SPOT_NODE_SELECTOR_KEY, spotScheduling } from "../components/spot";
import { compareCosts, formatComparison } from "../cli/lib/cost/compare";
import { costDocs, STAGING_BEFORE_OVERRIDES } from "../maint/lib/cost/docs";
import { DEFAULT_USAGE, usageOfConfig } from "../cli/lib/cost/assumptions";
import { estimateCost, formatCost, type CostEstimate } from "../cli/lib/cost/estimate";
import { FREE_TYPES } from "../cli/lib/cost/freeTypes";
import { parseQuantity, podRequests, runsPerMonth } from "../cli/lib/cost/pods";
import { fallbackRegions, HOURS_PER_MONTH, LISTED_REGIONS, PRICE_DATE, priceFor, priceTable } from "../cli/lib/cost/prices";
import type { CapturedResource } from "../cli/lib/mockRuntime";
import { main as synthMain } from "../cli/synth";
import { parse, stringify } from "yaml";
import type { Usage } from "../config";
import { renderStack, ROOT, stackConfig, type Rendered } from "./helpers/platform";

const GKE_PRICING = "https://cloud.google.com/kubernetes-engine/pricing";
const SPOT_PODS = "https://cloud.google.com/kubernetes-engine/docs/how-to/autopilot-spot-pods";

describe("Spot Pods on Autopilot (components/spot.ts)", () => {
    // Google, "Run fault-tolerant workloads at lower costs in Spot Pods" (SPOT_PODS): "use the
    // cloud.google.com/gke-spot=true label in a nodeSelector or node affinity". The grace period a
    // preemption gives is tested in tests/spot.test.ts.
    it(`selects Spot capacity with the nodeSelector ${SPOT_NODE_SELECTOR_KEY}: "true" only when enabled (${SPOT_PODS})`, () => {
        assert.deepEqual(spotScheduling(true), { nodeSelector: { "cloud.google.com/gke-spot": "true" } });
        assert.deepEqual(spotScheduling(false), {});
        assert.equal(isSpotPodSpec({ containers: [], ...spotScheduling(true) } as never), true);
        assert.equal(isSpotPodSpec({ nodeSelector: { "cloud.google.com/gke-spot": "false" } }), false);
        assert.equal(isSpotPodSpec(undefined), false);
    });
});

describe("price table (cli/lib/cost/prices.ts)", () => {
    const rows = priceTable();
    it("lists europe-west1 and us-central1, and every price has a Google pricing page, a read date and a check level", () => {
        assert.ok(LISTED_REGIONS.includes("europe-west1") && LISTED_REGIONS.includes("us-central1"), LISTED_REGIONS.join());
        for (const { key, region, price } of rows) {
            assert.match(price.source, /^https:\/\/cloud\.google\.com\//, `${key} ${region}`);
            assert.equal(price.read, PRICE_DATE, `${key} ${region}`);
            assert.match(price.read, /^\d{4}-\d{2}-\d{2}$/);
            assert.ok(["page", "secondary", "unverified"].includes(price.checked), `${key} ${region}`);
            assert.ok(price.usd > 0 && Number.isFinite(price.usd), `${key} ${region}`);
        }
    });
    // The fee and the credit were read on Google's page (GKE_PRICING): "A flat cluster management fee
    // of $0.10 per cluster per hour" and "$74.40 in monthly credits per billing account".
    it(`has the cluster fee and free tier credit as ${GKE_PRICING} states them`, () => {
        assert.equal(priceFor("gke.clusterFee", "europe-west1").price.usd, 0.1);
        assert.equal(priceFor("gke.freeTierCredit", "us-central1").price.usd, 74.4);
        assert.equal(priceFor("gke.clusterFee", "us-central1").price.checked, "page");
    });
    // Same page: Spot prices "are dynamic and can change up to once every 30 days, but always provide
    // discounts of 60-91% off of the corresponding regular price for CPU, memory and GPU".
    it("has Spot Pod prices 60-91 % below the regular ones, as the pricing page guarantees", () => {
        for (const region of LISTED_REGIONS) {
            for (const what of ["vcpu", "memory"] as const) {
                const regular = priceFor(`autopilot.${what}`, region).price.usd;
                const spot = priceFor(`autopilot.spot.${what}`, region).price.usd;
                const discount = 1 - spot / regular;
                assert.ok(discount >= 0.6 && discount <= 0.91, `${region} ${what}: ${(discount * 100).toFixed(1)} % off`);
            }
        }
    });
    it("estimates a region without a price from the nearest listed one and says which", () => {
        assert.deepEqual(fallbackRegions("europe-west4"), ["europe-west1", "us-central1"]);
        assert.equal(priceFor("gcs.standard", "europe-west4").estimatedFrom, "europe-west1");
        assert.equal(priceFor("autopilot.vcpu", "europe-west4").estimatedFrom, "us-central1");
        assert.equal(priceFor("autopilot.vcpu", "us-central1").estimatedFrom, undefined);
        assert.equal(priceFor("autopilot.vcpu", "asia-east1").estimatedFrom, "us-central1");
    });
});

describe("estimate building blocks", () => {
    it("parses Kubernetes quantities", () => {
        assert.equal(parseQuantity("250m"), 0.25);
        assert.equal(parseQuantity("1"), 1);
        assert.equal(parseQuantity("512Mi"), 512 * 2 ** 20);
        assert.equal(parseQuantity("1Gi"), 2 ** 30);
        assert.equal(parseQuantity("1G"), 1e9);
        assert.throws(() => parseQuantity("lots"));
    });
    it("bills a pod for its containers plus sidecars, an init container only when larger, and raises memory to 1 GiB per vCPU", () => {
        const spec = {
            initContainers: [
                { name: "proxy", restartPolicy: "Always", resources: { requests: { cpu: "100m", memory: "128Mi", "ephemeral-storage": "128Mi" } } },
                { name: "setup", resources: { requests: { cpu: "2", memory: "2Gi" } } },
            ],
            containers: [{ name: "web", resources: { requests: { cpu: "250m", memory: "512Mi", "ephemeral-storage": "128Mi" } } }],
        };
        // Init "setup" runs after the proxy started: 2.1 vCPU, 2.125 GiB > the running 0.35 vCPU, 0.625 GiB.
        assert.deepEqual(podRequests(spec), { cpu: 2.1, memoryGib: 2.125, ephemeralGib: 0.25 });
        const running = podRequests({ ...spec, initContainers: [spec.initContainers[0]] });
        assert.deepEqual(running, { cpu: 0.35, memoryGib: 0.625, ephemeralGib: 0.25 });
        // 1 vCPU with 256 MiB is below Autopilot's 1 GiB per vCPU: memory is raised to 1 GiB.
        assert.equal(podRequests({ containers: [{ resources: { requests: { cpu: "1", memory: "256Mi" } } }] }).memoryGib, 1);
    });
    it("counts the runs of a cron schedule in a 730-hour month", () => {
        assert.equal(runsPerMonth("0 * * * *"), HOURS_PER_MONTH);
        assert.equal(runsPerMonth("0 3 * * *"), 31);
        assert.equal(runsPerMonth("30 4 * * 1"), 5);
    });
    it("marks a resource type it does not know as unpriced", () => {
        const r: CapturedResource = { urn: "urn:x", type: "gcp:foo/bar:Bar", name: "x", custom: true, dependencies: [], inputs: {}, secretInputs: [], protect: false, outputs: {} };
        assert.deepEqual(estimateCost([r], { region: "us-central1" }).unpriced, ["gcp:foo/bar:Bar"]);
    });
    it("prices or explicitly frees the types the edge, DNS, monitoring and workers components add", () => {
        const make = (type: string, inputs: Record<string, unknown>): CapturedResource => ({ urn: `urn:${type}`, type, name: type.split(":").pop() ?? "x", custom: true, dependencies: [], inputs, secretInputs: [], protect: false, outputs: {} });
        const pod = { containers: [{ resources: { requests: { cpu: "250m", memory: "256Mi" } } }] };
        const resources = [
            make("gcp:compute/securityPolicy:SecurityPolicy", { rules: [{}, {}, {}] }),
            make("gcp:dns/recordSet:RecordSet", {}),
            make("gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig", { period: "60s" }),
            make("gcp:monitoring/alertPolicy:AlertPolicy", { conditions: [{}, {}] }),
            make("gcp:monitoring/notificationChannel:NotificationChannel", {}),
            make("gcp:monitoring/dashboard:Dashboard", {}),
            make("kubernetes:batch/v1:CronJob", { spec: { schedule: "0 3 * * *", jobTemplate: { spec: { template: { spec: pod } } } } }),
        ];
        const cost = estimateCost(resources, { region: "us-central1" });
        assert.deepEqual(cost.unpriced, []);
        const item = (type: string) => cost.lines.find((l) => l.type === type);
        assert.equal(item("gcp:compute/securityPolicy:SecurityPolicy")?.idle, 5 + 3 + 5 * 0.75);
        assert.equal(item("gcp:monitoring/alertPolicy:AlertPolicy")?.idle, 0.2);
        // 31 runs × 5 min × (0.25 vCPU × $0.0445 + 0.25 GiB × $0.0049225) = $0.03
        assert.equal(item("kubernetes:batch/v1:CronJob")?.idle, Math.round(((31 * 5) / 60) * (0.25 * 0.0445 + 0.25 * 0.0049225) * 100) / 100);
        assert.deepEqual(cost.free.map((f) => f.type).sort(), ["gcp:monitoring/dashboard:Dashboard", "gcp:monitoring/notificationChannel:NotificationChannel"]);
    });
});

describe("estimates of the rendered stacks", () => {
    let staging: Rendered;
    let stagingBefore: Rendered;
    let production: Rendered;
    const estimates: Record<string, CostEstimate> = {};
    const usage: Record<string, Usage> = {};
    const estimate = (r: Rendered, region = "europe-west1", stackUsage?: Usage): CostEstimate => estimateCost(r.resources, { region, usage: stackUsage });
    before(async () => {
        staging = await renderStack("staging");
        stagingBefore = await renderStack("staging", STAGING_BEFORE_OVERRIDES);
        production = await renderStack("production");
        usage.staging = usageOfConfig(stackConfig("staging").config);
        usage.stagingBefore = usageOfConfig(stackConfig("staging", STAGING_BEFORE_OVERRIDES).config);
        usage.production = usageOfConfig(stackConfig("production").config);
        estimates.staging = estimate(staging, "europe-west1", usage.staging);
        estimates.stagingBefore = estimate(stagingBefore, "europe-west1", usage.stagingBefore);
        estimates.production = estimate(production, "europe-west1", usage.production);
        // components/cache.ts creates the Memorystore instance with these inputs (mode memorystore).
        const redis: CapturedResource = {
            urn: "urn:pulumi:staging::django-platform::django-platform:index:DjangoPlatform$django-platform:cache:Cache$gcp:redis/instance:Instance::django-cache-redis",
            type: "gcp:redis/instance:Instance",
            name: "django-cache-redis",
            custom: true,
            parent: staging.resources.find((r) => r.type === "django-platform:cache:Cache")?.urn,
            dependencies: [],
            inputs: { tier: "STANDARD_HA", memorySizeGb: 5, replicaCount: 1, readReplicasMode: "READ_REPLICAS_ENABLED" },
            secretInputs: [],
            protect: false,
            outputs: {},
        };
        const withoutRedisPods = staging.resources.filter((r) => !(r.type === "kubernetes:apps/v1:StatefulSet" && r.name.startsWith("django-cache-")));
        estimates.memorystore = estimateCost([...withoutRedisPods, redis], { region: "europe-west1" });
    });

    it("prices every resource type of every render, or lists it as free with a reason", () => {
        for (const [name, r] of [["staging", staging], ["staging before", stagingBefore], ["production", production]] as const) {
            const cost = estimate(r);
            assert.deepEqual(cost.unpriced, [], `${name}: unpriced types`);
            const priced = new Set(cost.lines.map((l) => l.type));
            for (const type of new Set(r.resources.filter((x) => x.custom).map((x) => x.type))) {
                assert.ok(priced.has(type) || FREE_TYPES[type] !== undefined || cost.free.some((f) => f.type === type), `${name}: ${type} is neither priced nor free`);
            }
        }
    });

    it("adds up: lines to components, components and lines to the totals; idle ≤ peak everywhere", () => {
        for (const [name, cost] of Object.entries(estimates)) {
            const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);
            assert.ok(Math.abs(sum(cost.lines.map((l) => l.idle)) - cost.idle) < 0.005, `${name} idle`);
            assert.ok(Math.abs(sum(cost.lines.map((l) => l.peak)) - cost.peak) < 0.005, `${name} peak`);
            for (const [component, t] of Object.entries(cost.components)) {
                const lines = cost.lines.filter((l) => l.component === component);
                assert.ok(Math.abs(sum(lines.map((l) => l.idle)) - t.idle) < 0.005, `${name} ${component} idle`);
                assert.ok(Math.abs(sum(lines.map((l) => l.peak)) - t.peak) < 0.005, `${name} ${component} peak`);
                assert.ok(t.idle <= t.peak, `${name} ${component}: idle ${t.idle} > peak ${t.peak}`);
            }
            for (const l of cost.lines) {
                assert.ok(l.idle <= l.peak, `${name} ${l.item}`);
            }
            assert.ok(Math.abs(sum(Object.values(cost.components).map((t) => t.idle)) - cost.idle) < 0.01, `${name} components idle`);
            assert.ok(cost.idle <= cost.peak && cost.idle > 0, name);
            assert.equal(cost.currency, "USD");
            assert.equal(cost.priceDate, PRICE_DATE);
        }
    });

    it("prices each mode: CDN on (production) and off (staging), Spot (staging), Memorystore, the HPA range", () => {
        const has = (cost: CostEstimate, item: RegExp) => cost.lines.some((l) => item.test(l.item));
        assert.ok(has(estimates.production, /Cloud CDN/) && !has(estimates.production, /served from the bucket/));
        assert.ok(!has(estimates.staging, /Cloud CDN/) && has(estimates.staging, /served from the bucket/));
        const web = (cost: CostEstimate) => cost.lines.find((l) => l.resource === "django-workload-web" && l.type === "kubernetes:apps/v1:Deployment");
        assert.match(web(estimates.staging)?.detail ?? "", /Spot/);
        assert.doesNotMatch(web(estimates.stagingBefore)?.detail ?? "", /Spot/);
        assert.doesNotMatch(web(estimates.production)?.detail ?? "", /Spot/);
        assert.match(web(estimates.production)?.item ?? "", /\(3–20\)/);
        const redis = estimates.memorystore.lines.filter((l) => l.component === "cache");
        assert.deepEqual(redis.map((l) => l.item), ["Memorystore Standard 5 GB"]);
        // 5 GB × $0.054 per GB-hour (Standard, 5-10 GB) × 730 h.
        assert.equal(redis[0].idle, Math.round(5 * 0.054 * HOURS_PER_MONTH * 100) / 100);
        // europe-west1 has no Autopilot price of its own: the lines say where it came from.
        assert.match(web(estimates.staging)?.detail ?? "", /estimated from us-central1/);
        assert.deepEqual(web(estimates.staging)?.estimatedFrom, ["us-central1"]);
    });

    it("the cheap staging costs at most half of the previous release's staging when idle, the cluster fee apart (the same in both), and its own usage is applied", () => {
        const withoutCluster = (c: CostEstimate) => c.idle - c.components.cluster.idle;
        assert.equal(estimates.staging.components.cluster.idle, estimates.stagingBefore.components.cluster.idle);
        assert.ok(withoutCluster(estimates.staging) <= withoutCluster(estimates.stagingBefore) / 2, `staging idle ${estimates.staging.idle} against ${estimates.stagingBefore.idle} before`);
        assert.equal(usage.staging.appEgressGib, 2);
        assert.equal(usage.production.appEgressGib, DEFAULT_USAGE.appEgressGib);
        const egress = (c: CostEstimate) => c.lines.find((l) => l.item === "load balancer data + internet egress")?.detail ?? "";
        assert.match(egress(estimates.staging), /\b2 GiB/);
        assert.match(egress(estimates.production), /\b50 GiB/);
    });

    it("compares exactly: the Spot option (workload.spot) changes only the web pods, workers and CronJobs", () => {
        // The staging render with its Spot node selectors removed: the same stack on regular pods.
        const regular = staging.resources.map((r) => {
            const text = JSON.stringify(r.inputs);
            return text.includes("cloud.google.com/gke-spot") ? { ...r, inputs: JSON.parse(text.replace(/"cloud\.google\.com\/gke-spot":"true",?/g, "")) } : r;
        });
        const onRegularPods = estimateCost(regular, { region: "europe-west1", usage: usage.staging });
        const c = compareCosts(onRegularPods, estimates.staging, { baseFile: "before/report.json", headStack: "staging" });
        const pod = podRequests(staging.inputs("kubernetes:apps/v1:Deployment", "django-workload-web").spec.template.spec);
        const price = (k: Parameters<typeof priceFor>[0]) => priceFor(k, "europe-west1").price.usd;
        const perPodSaving = HOURS_PER_MONTH * (pod.cpu * (price("autopilot.vcpu") - price("autopilot.spot.vcpu")) + pod.memoryGib * (price("autopilot.memory") - price("autopilot.spot.memory")));
        const hpa = staging.inputs("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "django-workload-web").spec;
        const workload = c.components.find((d) => d.component === "workload");
        assert.ok(workload && Math.abs(workload.idle + hpa.minReplicas * perPodSaving) <= 0.01, `workload idle delta ${workload?.idle}`);
        assert.ok(workload && Math.abs(workload.peak + hpa.maxReplicas * perPodSaving) <= 0.01, `workload peak delta ${workload?.peak}`);
        for (const d of c.components) {
            assert.ok(["workload", "schedules", "workers"].includes(d.component), `unexpected change in ${d.component}`);
            assert.ok(d.idle <= 0 && d.peak <= 0, d.component);
        }
        assert.ok(Math.abs(c.idle - (estimates.staging.idle - onRegularPods.idle)) < 0.005);
        assert.match(c.markdown, /\| workload \| -\$\d+\.\d\d \| -\$\d+\.\d\d \|/);
        assert.match(formatComparison(c).join("\n"), /^Monthly cost change against before\/report\.json \(USD\): idle -\$/);
    });

    it("compares exactly: two more web pods at maxReplicas cost two pods at peak and nothing idle", () => {
        const raised = staging.resources.map((r) =>
            r.type === "kubernetes:autoscaling/v2:HorizontalPodAutoscaler" && r.name === "django-workload-web"
                ? { ...r, inputs: { ...r.inputs, spec: { ...(r.inputs.spec as object), maxReplicas: (r.inputs.spec as { maxReplicas: number }).maxReplicas + 2 } } }
                : r,
        );
        const c = compareCosts(estimates.staging, estimateCost(raised, { region: "europe-west1", usage: usage.staging }), { baseFile: "base.json" });
        const web = estimates.staging.lines.find((l) => l.resource === "django-workload-web" && l.type === "kubernetes:apps/v1:Deployment");
        const perPod = Number(/\$(\d+\.\d\d) per pod-month/.exec(web?.detail ?? "")?.[1]);
        assert.equal(c.idle, 0);
        assert.ok(Math.abs(c.components.find((d) => d.component === "workload")!.peak - 2 * perPod) <= 0.01);
        assert.ok(c.components.every((d) => ["workload", "network"].includes(d.component)), c.components.map((d) => d.component).join());
    });

    it("docs/costs.md is current (run `npm run docs:costs` after changing prices, assumptions or the stacks)", () => {
        const committed = readFileSync(path.join(ROOT, "docs", "costs.md"), "utf8");
        assert.equal(committed, costDocs({ staging: estimates.staging, stagingBefore: estimates.stagingBefore, production: estimates.production }));
    });
});

describe("the GKE free tier credit: one per billing account, taken by the stack that says so", () => {
    let staging: Rendered;
    before(async () => {
        staging = await renderStack("staging");
    });
    const credit = (c: CostEstimate) => c.lines.filter((l) => l.item === "GKE free tier credit");

    it("is not counted unless usage.gkeFreeTierCredit says this stack takes it, and the summary says so on its own line", () => {
        const without = estimateCost(staging.resources, { region: "europe-west1", usage: { ...DEFAULT_USAGE, gkeFreeTierCredit: false } });
        const taken = estimateCost(staging.resources, { region: "europe-west1", usage: { ...DEFAULT_USAGE, gkeFreeTierCredit: true } });
        assert.deepEqual(credit(without), []);
        assert.deepEqual(credit(taken).map((l) => [l.idle, l.peak]), [[-73, -73]], "up to the fee: $0.10 × 730 h");
        assert.ok(Math.abs(without.idle - taken.idle - 73) < 0.005);
        assert.deepEqual(without.freeTierCredit, { taken: false, amount: 73 });
        assert.deepEqual(taken.freeTierCredit, { taken: true, amount: 73 });
        const text = (c: CostEstimate) => formatCost(c).join("\n");
        assert.ok(text(taken).includes("\n  GKE free tier credit: -$73.00 in the cluster line above, taken by this stack (usage.gkeFreeTierCredit true); a billing account gets one (https://cloud.google.com/kubernetes-engine/pricing), so only one stack may take it\n"), text(taken));
        assert.ok(text(without).includes("\n  GKE free tier credit: not counted (usage.gkeFreeTierCredit false: another stack on the billing account takes it); alone on its billing account this stack would cost $73.00 less\n"), text(without));
        // It is not hidden among the largest lines any more, nor counted there.
        assert.doesNotMatch(text(taken).split("Largest lines")[1], /free tier credit/);
    });

    it("is claimed by exactly one of this repository's stacks (one billing account): production", () => {
        const claims = ["staging", "production"].filter((s) => usageOfConfig(stackConfig(s).config).gkeFreeTierCredit);
        assert.deepEqual(claims, ["production"]);
        assert.equal(DEFAULT_USAGE.gkeFreeTierCredit, false);
    });

    it("needs no credit line when the stack creates no cluster (cluster.mode existing)", () => {
        const noCluster = staging.resources.filter((r) => r.type !== "gcp:container/cluster:Cluster");
        assert.equal(estimateCost(noCluster, { region: "europe-west1", usage: { ...DEFAULT_USAGE, gkeFreeTierCredit: true } }).freeTierCredit, undefined);
    });
});

describe("synth --compare-to", () => {
    it("refuses a report it cannot read before running the program (exit 2)", async () => {
        const err: string[] = [];
        const code = await synthMain(["node", "synth", "--stack", "staging", "--compare-to", path.join(ROOT, "no-such-report.json")], { stdout: () => {}, stderr: (s: string) => err.push(s) } as never);
        assert.equal(code, 2);
        assert.match(err.join("\n"), /--compare-to .*no-such-report\.json: cannot read a synth report\.json/);
    });
});

describe("the pull request's cost comment (.github/workflows/pr.yml)", () => {
    type Step = { name?: string; uses?: string; run?: string; with?: Record<string, unknown> };
    type Job = { needs?: string | string[]; steps: Step[] };
    const workflow = parse(readFileSync(path.join(ROOT, ".github", "workflows", "pr.yml"), "utf8")) as { jobs: Record<string, Job> };

    it("synths both stacks on the base commit and compares the pull request against them", () => {
        const cost = workflow.jobs.cost;
        assert.ok(cost, "pr.yml has a cost job");
        assert.ok(cost.steps.some((s) => s.uses?.startsWith("actions/checkout@") && s.with?.ref === "${{ github.event.pull_request.base.sha }}"), "checks out the base commit");
        const script = cost.steps.map((s) => s.run ?? "").join("\n");
        assert.match(script, /for stack in staging production/);
        assert.match(script, /--out "\$RUNNER_TEMP\/base-\$stack"/);
        assert.match(script, /--json --compare-to "\$RUNNER_TEMP\/base-\$stack\/report\.json"/);
        assert.match(script, /jq -r \.costComparison\.markdown/);
        assert.match(script, />> "\$GITHUB_STEP_SUMMARY"/);
    });

    it("posts it on the pull request with the preview (the comment job; tests/workflows.test.ts runs it)", () => {
        const comment = workflow.jobs.comment;
        assert.ok([comment.needs].flat().includes("cost"), "the comment waits for the cost job");
        assert.ok(comment.steps.some((s) => s.uses?.startsWith("actions/download-artifact@") && s.with?.name === "cost-change" && s.with?.path === "${{ runner.temp }}/pr-artifacts/cost"));
        assert.match(String(comment.steps.find((s) => s.uses?.startsWith("actions/github-script@"))?.with?.script), /read\('cost\/cost\.md'/);
        assert.ok(workflow.jobs.cost.steps.some((s) => s.uses?.startsWith("actions/upload-artifact@") && s.with?.name === "cost-change" && s.with?.path === "${{ runner.temp }}/cost.md"));
    });

    it("reads the costComparison.markdown that synth --json --compare-to really prints, with the delta of a known change", async () => {
        const dir = mkdtempSync(path.join(tmpdir(), "pr-cost-"));
        try {
            // The base: staging with one web pod more at peak than the stack file says.
            const base = path.join(dir, "report.json");
            const cfg = stackConfig("staging", { "django-platform:workload": { maxReplicas: 2 } });
            const stackFile = path.join(dir, "Pulumi.staging.yaml");
            writeFileSync(stackFile, stringify({ config: Object.fromEntries(Object.entries(cfg.config).map(([k, v]) => [k, /^[{[]/.test(v) ? JSON.parse(v) : v])) }));
            const quiet = { stdout: () => {}, stderr: () => {} } as never;
            assert.equal(await synthMain(["node", "synth", "--config-file", stackFile, "--out", path.join(dir, "out")], quiet), 0);
            writeFileSync(base, readFileSync(path.join(dir, "out", "report.json")));
            const out: string[] = [];
            assert.equal(await synthMain(["node", "synth", "--stack", "staging", "--json", "--compare-to", base], { stdout: (s: string) => out.push(s), stderr: () => {} } as never), 0);
            const markdown = (JSON.parse(out.join("")) as { costComparison?: { markdown?: string } }).costComparison?.markdown ?? "";
            // maxReplicas 2 → 3: idle unchanged, peak one more (Spot) web pod.
            assert.match(markdown, /\| workload \| \$0\.00 \| \+\$\d+\.\d\d \|/);
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });
});
