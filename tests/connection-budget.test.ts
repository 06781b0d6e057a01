/**
 * The PostgreSQL connection budget under rollouts (components/connectionBudget.ts and its rule in
 * config.ts): surge and draining pods are counted, the suggested maxReplicas is the largest that
 * fits (itself accepted, one more refused), and configurations the old formula
 * (`maxReplicas × workers × threads + 2`) accepted but a rollout cannot serve are refused.
 * tests/connection-rollout.test.ts checks the count against an emulated rollout.
 */
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
    JOB_CONNECTIONS,
    RESERVED_CONNECTIONS,
    ROLLOUT_MAX_SURGE,
    ROLLOUT_MAX_SURGE_PERCENT,
    SUGGESTED_TIERS,
    maxConnectionsForTier,
    podsHoldingConnections,
    requiredConnections,
    scaleDownPolicy,
    surgePods,
    webPacing,
    workerPacing,
} from "../components/connectionBudget";
import { KUBELET_START_MARGIN_SECONDS, webMinReadySeconds, webTermination } from "../components/termination";
import { ConfigError, connectionSizing, validateConfig } from "../config";
import { VENV_DIR } from "../cli/lib/appPython";
import { ROOT, T, renderStack, stackConfig } from "./helpers/platform";

const BASE: Record<string, string> = {
    "gcp:project": "acme-staging",
    "gcp:region": "europe-west1",
    "django-platform:domain": "app.example.com",
    "django-platform:image": "repo/app:1.0",
};

interface Sizing {
    readonly tier?: string;
    readonly maxConnections?: number;
    readonly minReplicas?: number;
    readonly maxReplicas: number;
    readonly gunicornWorkers?: number;
    readonly gunicornThreads?: number;
    readonly spot?: boolean;
}

/** Every problem validateConfig reports for a config with this database and workload. */
function problemsFor(s: Sizing): string[] {
    const database = { ...(s.tier ? { tier: s.tier } : {}), ...(s.maxConnections ? { maxConnections: s.maxConnections } : {}) };
    const workload = {
        maxReplicas: s.maxReplicas,
        minReplicas: s.minReplicas ?? 1,
        ...(s.gunicornWorkers ? { gunicornWorkers: s.gunicornWorkers } : {}),
        ...(s.gunicornThreads ? { gunicornThreads: s.gunicornThreads } : {}),
        ...(s.spot ? { spot: true } : {}),
    };
    try {
        validateConfig({ ...BASE, "django-platform:database": JSON.stringify(database), "django-platform:workload": JSON.stringify(workload) }, "staging");
    } catch (err) {
        assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
        return err.problems;
    }
    return [];
}

const budgetProblems = (s: Sizing) => problemsFor(s).filter((p) => p.startsWith("connection budget exceeded"));

/** The formula before rollouts were counted. */
const oldFormula = (maxReplicas: number, workers: number, threads: number) => maxReplicas * workers * threads + JOB_CONNECTIONS;

/** The `workload.maxReplicas` (and `workload.minReplicas`) a budget message suggests. */
function suggested(message: string): { maxReplicas?: number; minReplicas?: number } {
    const max = /--path workload\.maxReplicas (\d+)`/.exec(message)?.[1];
    const min = /--path workload\.minReplicas (\d+)`/.exec(message)?.[1];
    return { maxReplicas: max === undefined ? undefined : Number(max), minReplicas: min === undefined ? undefined : Number(min) };
}

describe("connection budget: pods of a rollout", () => {
    it("surge rounds 25% of maxReplicas up, as Kubernetes does", () => {
        assert.equal(ROLLOUT_MAX_SURGE, `${ROLLOUT_MAX_SURGE_PERCENT}%`);
        const table: Array<[number, number]> = [[1, 1], [3, 1], [4, 1], [5, 2], [8, 2], [9, 3], [11, 3], [20, 5], [21, 6], [100, 25]];
        for (const [replicas, surge] of table) {
            assert.equal(surgePods(replicas), surge, `surge of ${replicas} replicas`);
        }
    });

    it("counts maxReplicas, the surge, one step of draining pods (paced by minReadySeconds) and one more disruption", () => {
        for (const spot of [false, true]) {
            assert.deepEqual(podsHoldingConnections(3, webPacing(spot)), { replicas: 3, surge: 1, rolloutDraining: 1, disruptionDraining: 1, draining: 2, total: 6 });
            assert.deepEqual(podsHoldingConnections(11, webPacing(spot)), { replicas: 11, surge: 3, rolloutDraining: 3, disruptionDraining: 3, draining: 6, total: 20 });
            assert.deepEqual(podsHoldingConnections(20, webPacing(spot)), { replicas: 20, surge: 5, rolloutDraining: 5, disruptionDraining: 5, draining: 10, total: 35 });
        }
    });

    it("without minReadySeconds (the workers) every old pod may drain at once; a short one counts the steps that overlap", () => {
        assert.deepEqual(podsHoldingConnections(3, workerPacing(60)), { replicas: 3, surge: 1, rolloutDraining: 3, disruptionDraining: 1, draining: 4, total: 8 });
        // A grace period longer than the HPA's longest policy period: two or three autoscaler steps fit in one drain.
        assert.equal(podsHoldingConnections(3, workerPacing(3600)).disruptionDraining, 3);
        // The pacing the web pods had before (minReadySeconds 5 against a 48 s drain) lets ten steps overlap: every old pod.
        assert.equal(podsHoldingConnections(20, { drainSeconds: 48, minReadySeconds: 5 }).rolloutDraining, 20);
    });

    it("the shipped stacks fit with surge, draining pods, workers and CronJobs: staging 21 of 22, production 315 of 397", () => {
        // staging (db-f1-micro): web (3 + 1 surge + 1 + 1 draining) × 1 × 3 + 2 Jobs + clearsessions 1; production: web 35 × 8 + tasks worker (3 + 1 surge + 3 + 1 draining) × 4 (REFERENCE_WORKER_DB_CONNECTIONS) + 2 Jobs + clearsessions 1.
        const expected: Record<string, { total: number; usable: number; workers: number; schedules: number }> = {
            staging: { total: 21, usable: 22, workers: 0, schedules: 1 },
            production: { total: 315, usable: 397, workers: 32, schedules: 1 },
        };
        for (const [stack, want] of Object.entries(expected)) {
            const { config } = stackConfig(stack);
            let problems: string[] = [];
            try {
                const cfg = validateConfig(config, stack);
                const budget = requiredConnections(connectionSizing(cfg));
                const available = cfg.database.maxConnections ?? maxConnectionsForTier(cfg.database.tier);
                assert.ok(available !== undefined);
                assert.deepEqual({ total: budget.total, usable: budget.usable(available), workers: budget.workers, schedules: budget.schedules }, want, stack);
            } catch (err) {
                if (!(err instanceof ConfigError)) throw err;
                problems = err.problems;
            }
            assert.deepEqual(problems.filter((p) => p.includes("connection budget")), [], `${stack}: no budget problem`);
        }
    });

    it("the rendered Deployments and HPAs pace as the budget counts: maxSurge, minReadySeconds at least the drain, the HPA's scale-down step", async () => {
        for (const stack of ["staging", "production"]) {
            const rendered = await renderStack(stack);
            const spot = stack === "staging";
            const spec = rendered.inputs(T.deployment, "django-workload-web").spec;
            assert.equal(spec.strategy.rollingUpdate.maxSurge, ROLLOUT_MAX_SURGE, "components/workload.ts should use ROLLOUT_MAX_SURGE");
            assert.equal(spec.strategy.rollingUpdate.maxUnavailable, 0);
            const grace = spec.template.spec.terminationGracePeriodSeconds;
            const web = spec.template.spec.containers[0];
            const graceful = Number(web.command[web.command.indexOf("--graceful-timeout") + 1]);
            assert.ok(grace >= web.lifecycle.preStop.sleep.seconds + graceful, `${stack}: the grace period covers preStop and gunicorn's graceful timeout`);
            assert.ok(spec.minReadySeconds >= grace + KUBELET_START_MARGIN_SECONDS, `${stack}: minReadySeconds ${spec.minReadySeconds} covers a deleted pod's whole termination (${grace} s)`);
            assert.equal(spec.minReadySeconds, webMinReadySeconds(spot));
            assert.deepEqual(webTermination(spot).terminationGracePeriodSeconds, grace);
            // eslint-disable-next-line @typescript-eslint/no-explicit-any
            const hpa = rendered.all(T.hpa).map((h) => h.inputs as any).find((h) => h.metadata.labels["app.kubernetes.io/component"] === "web");
            assert.ok(hpa);
            assert.deepEqual(hpa.spec.behavior.scaleDown.policies, [scaleDownPolicy(hpa.spec.maxReplicas, webPacing(spot))]);
            assert.deepEqual(hpa.spec.behavior.scaleDown.policies[0], { type: "Pods", value: surgePods(hpa.spec.maxReplicas), periodSeconds: spec.minReadySeconds });
        }
    });
});

describe("connection budget: one persistent connection per thread, no pool", () => {
    it("the app keeps persistent connections (CONN_MAX_AGE), and Django's psycopg pool, which would replace them, is not configured", () => {
        // Django 5.2 (the image's pin, installed in .venv by maint/install-deps.sh): the pool is a
        // class attribute (one per process, shared by its threads) and refuses persistent connections.
        const lib = join(VENV_DIR, "lib");
        const python = readdirSync(lib).find((d) => d.startsWith("python3"));
        assert.ok(python, `a python3.x in ${lib}`);
        const base = readFileSync(join(lib, python, "site-packages/django/db/backends/postgresql/base.py"), "utf8");
        assert.match(base, /_connection_pools = \{\}/);
        assert.match(base, /Pooling doesn't support persistent connections\./);
        // The settings helper writes DATABASES for every project (app/config/settings.py calls it).
        const settings = readFileSync(join(ROOT, "python/django-platform-settings/django_platform_settings/__init__.py"), "utf8");
        assert.match(settings, /"CONN_MAX_AGE": db_conn_max_age/);
        assert.doesNotMatch(settings, /["']pool["']\s*:/, "a pool changes what a pod holds: revisit components/connectionBudget.ts");
    });
});

describe("connection budget: config.ts", () => {
    it("exact message: the default tier with maxReplicas 11 (accepted before) is refused and 5 suggested", () => {
        assert.ok(oldFormula(11, 2, 4) <= 100 - RESERVED_CONNECTIONS, "the old formula accepted it");
        assert.deepEqual(budgetProblems({ maxReplicas: 11 }), [
            "connection budget exceeded: a rollout at django-platform:workload.maxReplicas (11) runs 20 pods that hold connections (11 + 3 surge at maxSurge 25% + 3 still draining + 3 stopped by one more disruption: an autoscaler step, a second rollout or a lost node) × gunicornWorkers (2) × gunicornThreads (4) + 2 Job connections = 162, but db-custom-1-3840 allows 100 max_connections (97 after 3 reserved for superusers). " +
                "Fix: `pulumi config set --path workload.maxReplicas 5` (5 + 2 surge + 2 + 2 draining = 11 pods × 8 + 2 = 90), or fewer gunicornWorkers/gunicornThreads, or a bigger tier (`pulumi config set --path database.tier db-custom-2-7680`).",
        ]);
    });

    it("exact message: the suggestion lowers minReplicas too when it has to", () => {
        assert.deepEqual(budgetProblems({ minReplicas: 10, maxReplicas: 10 }), [
            "connection budget exceeded: a rollout at django-platform:workload.maxReplicas (10) runs 19 pods that hold connections (10 + 3 surge at maxSurge 25% + 3 still draining + 3 stopped by one more disruption: an autoscaler step, a second rollout or a lost node) × gunicornWorkers (2) × gunicornThreads (4) + 2 Job connections = 154, but db-custom-1-3840 allows 100 max_connections (97 after 3 reserved for superusers). " +
                "Fix: `pulumi config set --path workload.maxReplicas 5` with `pulumi config set --path workload.minReplicas 5` (5 + 2 surge + 2 + 2 draining = 11 pods × 8 + 2 = 90), or fewer gunicornWorkers/gunicornThreads, or a bigger tier (`pulumi config set --path database.tier db-custom-2-7680`).",
        ]);
    });

    it("exact message: no maxReplicas is suggested when not even one replica fits", () => {
        assert.deepEqual(budgetProblems({ tier: "db-f1-micro", maxReplicas: 1 }), [
            "connection budget exceeded: a rollout at django-platform:workload.maxReplicas (1) runs 4 pods that hold connections (1 + 1 surge at maxSurge 25% + 1 still draining + 1 stopped by one more disruption: an autoscaler step, a second rollout or a lost node) × gunicornWorkers (2) × gunicornThreads (4) + 2 Job connections = 34, but db-f1-micro allows 25 max_connections (22 after 3 reserved for superusers). " +
                "Fix: fewer gunicornWorkers/gunicornThreads, or a bigger tier (`pulumi config set --path database.tier db-custom-1-3840`).",
        ]);
    });

    it("exact message: with database.maxConnections set, it is named and raising it is suggested", () => {
        assert.deepEqual(budgetProblems({ maxConnections: 300, maxReplicas: 50 }), [
            "connection budget exceeded: a rollout at django-platform:workload.maxReplicas (50) runs 89 pods that hold connections (50 + 13 surge at maxSurge 25% + 13 still draining + 13 stopped by one more disruption: an autoscaler step, a second rollout or a lost node) × gunicornWorkers (2) × gunicornThreads (4) + 2 Job connections = 714, but django-platform:database.maxConnections allows 300 max_connections (297 after 3 reserved for superusers). " +
                "Fix: `pulumi config set --path workload.maxReplicas 20` (20 + 5 surge + 5 + 5 draining = 35 pods × 8 + 2 = 282), or fewer gunicornWorkers/gunicornThreads, or more connections (`pulumi config set --path database.maxConnections 717`).",
        ]);
    });

    // [tier, workers, threads, largest accepted maxReplicas]
    const largest: Array<[string, number, number, number]> = [
        ["db-custom-1-3840", 2, 4, 5],
        ["db-custom-1-3840", 1, 1, 53],
        ["db-custom-2-7680", 2, 4, 28],
        ["db-custom-2-7680", 4, 8, 6],
        ["db-f1-micro", 1, 2, 4],
        ["db-g1-small", 2, 2, 5],
    ];
    for (const [tier, workers, threads, max] of largest) {
        it(`${tier}, ${workers} × ${threads}: maxReplicas ${max} is accepted, ${max + 1} refused (suggesting ${max}); the old formula accepted more`, () => {
            const sizing = { tier, gunicornWorkers: workers, gunicornThreads: threads };
            assert.deepEqual(budgetProblems({ ...sizing, maxReplicas: max }), []);
            const [problem, ...rest] = budgetProblems({ ...sizing, maxReplicas: max + 1 });
            assert.ok(problem && rest.length === 0, `maxReplicas ${max + 1} must be refused`);
            assert.equal(suggested(problem).maxReplicas, max);
            const usable = (maxConnectionsForTier(tier) as number) - RESERVED_CONNECTIONS;
            assert.ok(oldFormula(max + 1, workers, threads) <= usable, `the old formula accepted maxReplicas ${max + 1}`);
        });
    }

    it("every suggested fix is accepted, and one replica more is refused (table over tiers, workers, threads, maxReplicas)", () => {
        const tiers = ["db-f1-micro", "db-g1-small", ...SUGGESTED_TIERS.slice(0, 3)];
        let checked = 0;
        for (const tier of tiers) {
            for (const [workers, threads] of [[1, 1], [1, 4], [2, 4], [3, 8], [4, 16]] as const) {
                for (const maxReplicas of [1, 2, 5, 13, 40, 100]) {
                    for (const minReplicas of [1, Math.min(maxReplicas, 8)]) {
                        const sizing = { tier, gunicornWorkers: workers, gunicornThreads: threads, minReplicas, maxReplicas };
                        const problems = budgetProblems(sizing);
                        if (problems.length === 0) continue;
                        const fix = suggested(problems[0] as string);
                        const tierFix = /--path database\.tier (\S+)`/.exec(problems[0] as string)?.[1];
                        if (tierFix) {
                            assert.deepEqual(budgetProblems({ ...sizing, tier: tierFix }), [], `${JSON.stringify(sizing)}: the suggested tier ${tierFix} must fit`);
                        }
                        if (fix.maxReplicas === undefined) {
                            assert.deepEqual(budgetProblems({ ...sizing, minReplicas: 1, maxReplicas: 1 }).length, 1, `${JSON.stringify(sizing)}: no suggestion only when 1 replica does not fit`);
                            continue;
                        }
                        const fixed = { ...sizing, maxReplicas: fix.maxReplicas, minReplicas: fix.minReplicas ?? minReplicas };
                        assert.ok(fixed.minReplicas <= fixed.maxReplicas, `${JSON.stringify(sizing)}: the fix keeps minReplicas ≤ maxReplicas`);
                        assert.deepEqual(problemsFor(fixed), [], `${JSON.stringify(sizing)}: the suggested ${JSON.stringify(fix)} must be accepted`);
                        assert.equal(budgetProblems({ ...fixed, minReplicas: 1, maxReplicas: fix.maxReplicas + 1 }).length, 1, `${JSON.stringify(sizing)}: ${fix.maxReplicas + 1} must be refused`);
                        checked += 1;
                    }
                }
            }
        }
        assert.ok(checked > 50, `only ${checked} suggestions checked`);
    });

    it("with Spot Pods the suggestion never goes below two replicas (a Spot web tier keeps two), and what it suggests is accepted", () => {
        let checked = 0;
        for (const tier of ["db-f1-micro", "db-g1-small", "db-custom-1-3840"]) {
            // db-f1-micro with 1 × 5 fits one replica and not two.
            for (const [workers, threads] of [[1, 1], [1, 3], [1, 5], [2, 4], [4, 8]] as const) {
                const sizing = { tier, gunicornWorkers: workers, gunicornThreads: threads, spot: true, minReplicas: 2, maxReplicas: 100 };
                const [problem] = budgetProblems(sizing);
                assert.ok(problem, `${JSON.stringify(sizing)} is refused`);
                const fix = suggested(problem);
                if (fix.maxReplicas === undefined) {
                    assert.equal(budgetProblems({ ...sizing, maxReplicas: 2 }).length, 1, `${JSON.stringify(sizing)}: no suggestion only when two replicas do not fit`);
                    continue;
                }
                assert.ok(fix.maxReplicas >= 2 && fix.minReplicas === undefined, `${JSON.stringify(sizing)}: ${problem}`);
                assert.deepEqual(problemsFor({ ...sizing, maxReplicas: fix.maxReplicas }), []);
                checked += 1;
            }
        }
        assert.ok(checked >= 6, `${checked} suggestions checked`);
    });

    it("an explicit database.maxConnections replaces the tier's default", () => {
        assert.equal(budgetProblems({ maxConnections: 500, maxReplicas: 34 }).length, 0);
        assert.equal(budgetProblems({ maxConnections: 500, maxReplicas: 35 }).length, 1);
    });
});
