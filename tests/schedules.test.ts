/**
 * Schedules (`schedules.<name>`): the cron syntax Kubernetes accepts (5 fields or a macro, no
 * seconds, no TZ= prefix), IANA time zones, config messages, the connection budget, and the
 * CronJob the production stack renders (built like the migrate Job).
 *
 * Sources: https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ — "Schedule
 * syntax" (5 fields; @yearly/@annually, @monthly, @weekly, @daily/@midnight, @hourly), "Time zones"
 * (`.spec.timeZone`, stable since v1.27), "Unsupported TimeZone specification" (TZ/CRON_TZ in the
 * schedule rejected since 1.29), the 52-character name limit, and "Concurrency policy".
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { SCHEDULE_CONNECTIONS_PER_POD, requiredConnections, schedulePods } from "../components/connectionBudget";
import { CRON_MACROS, DEFAULT_TIME_ZONE, TIME_ZONES, cronScheduleProblem } from "../components/schedules";
import { ConfigError, validateConfig } from "../config";
import { Rendered, T, renderStack } from "./helpers/platform";

/* eslint-disable @typescript-eslint/no-explicit-any */

const BASE: Record<string, string> = {
    "gcp:project": "acme-staging",
    "gcp:region": "europe-west1",
    "django-platform:domain": "app.example.com",
    "django-platform:image": "repo/app:1.0",
};

function problems(schedules: unknown): string[] {
    try {
        validateConfig({ ...BASE, "django-platform:schedules": JSON.stringify(schedules) }, "staging");
    } catch (err) {
        assert.ok(err instanceof ConfigError);
        return err.problems;
    }
    return [];
}

describe("cron syntax (what a CronJob's .spec.schedule accepts)", () => {
    it("accepts the standard 5 fields with ranges, lists, steps, ? and names, and every documented macro", () => {
        for (const ok of ["17 3 * * *", "*/5 * * * *", "0 0-23/2 * * *", "0 9 * * 1-5", "0 0 1,15 * *", "0 12 * JAN,JUL MON", "0 0 ? * *", "0 0 * * 7"]) {
            assert.equal(cronScheduleProblem(ok), undefined, ok);
        }
        assert.deepEqual(Object.keys(CRON_MACROS).sort(), ["@annually", "@daily", "@hourly", "@midnight", "@monthly", "@weekly", "@yearly"]);
        for (const macro of Object.keys(CRON_MACROS)) {
            assert.equal(cronScheduleProblem(macro), undefined, macro);
        }
    });

    it("refuses what Kubernetes refuses: seconds, TZ= prefixes, unknown macros, out-of-range values, Quartz/Jenkins extensions", () => {
        const table: Array<[string, RegExp]> = [
            ["0 0 * * * *", /must have 5 fields .*got 6/],
            ["0 0 *", /got 3/],
            ["TZ=Europe/Berlin 0 3 * * *", /TZ= or CRON_TZ= prefix .* set timeZone instead/],
            ["CRON_TZ=UTC 0 3 * * *", /TZ= or CRON_TZ=/],
            ["@every 5m", /not a schedule macro/],
            ["@reboot", /not a schedule macro/],
            ["61 * * * *", /not a valid cron expression/],
            ["0 24 * * *", /not a valid cron expression/],
            ["0 0 31 2 *", /not a valid cron expression/],
            ["0 0 L * *", /unsupported day of month field "L"/],
            ["H 0 * * *", /unsupported minute field "H"/],
            ["0 0 * * 5#3", /unsupported day of week field/],
        ];
        for (const [expression, message] of table) {
            assert.match(cronScheduleProblem(expression) ?? "accepted", message, expression);
        }
    });

    it("time zones are IANA names, Etc/UTC included", () => {
        for (const tz of ["Etc/UTC", "UTC", "Europe/Berlin", "America/New_York"]) assert.ok(TIME_ZONES.has(tz), tz);
        for (const tz of ["CET+1", "Europe/Atlantis", "utc"]) assert.ok(!TIME_ZONES.has(tz), tz);
        assert.equal(DEFAULT_TIME_ZONE, "Etc/UTC");
    });
});

describe("schedules config", () => {
    it("defaults: Etc/UTC, Forbid, one hour", () => {
        const cfg = validateConfig({ ...BASE, "django-platform:schedules": JSON.stringify({ clearsessions: { schedule: "@daily", command: ["python", "manage.py", "clearsessions"] } }) }, "staging");
        assert.deepEqual(cfg.schedules.clearsessions, { schedule: "@daily", command: ["python", "manage.py", "clearsessions"], timeZone: "Etc/UTC", concurrencyPolicy: "Forbid", activeDeadlineSeconds: 3600 });
    });

    it("messages name the key, the value and the fix", () => {
        assert.deepEqual(problems({ nightly: { schedule: "0 3 * * * *", command: ["x"] } }), [
            "django-platform:schedules.nightly.schedule: must have 5 fields (minute hour day-of-month month day-of-week), got 6; use 5-field cron syntax or @hourly/@daily/@weekly/@monthly/@yearly (https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/#schedule-syntax) (got \"0 3 * * * *\"). Fix: `pulumi config set --path schedules.nightly.schedule '17 3 * * *'`.",
        ]);
        assert.deepEqual(problems({ nightly: { schedule: "@daily", command: ["x"], timeZone: "Mars/Olympus" } }), [
            "django-platform:schedules.nightly.timeZone: must be an IANA time zone such as Etc/UTC or Europe/Berlin (got \"Mars/Olympus\"). Fix: `pulumi config set --path schedules.nightly.timeZone Europe/Berlin`.",
        ]);
        const [allow] = problems({ nightly: { schedule: "@daily", command: ["x"], concurrencyPolicy: "Allow" } });
        assert.match(allow, /^django-platform:schedules\.nightly\.concurrencyPolicy: .*"Forbid".*"Replace".* \(got "Allow"\)/);
        assert.equal(problems({ Nightly: { schedule: "@daily", command: ["x"] } }).length, 1);
    });

    it("the connection budget counts one pod per Forbid CronJob and two per Replace", () => {
        assert.equal(SCHEDULE_CONNECTIONS_PER_POD, 1);
        assert.deepEqual([schedulePods("Forbid"), schedulePods("Replace")], [1, 2]);
        const base = { maxReplicas: 1, gunicornWorkers: 1, gunicornThreads: 1 };
        const without = requiredConnections(base);
        const withSchedules = requiredConnections({ ...base, schedules: [{ concurrencyPolicy: "Forbid" }, { concurrencyPolicy: "Replace" }] });
        assert.equal(withSchedules.schedules, 3);
        assert.equal(withSchedules.total, without.total + 3);
    });
});

let production: Rendered;
before(async () => {
    production = await renderStack("production");
});

describe("the clearsessions CronJob (production stack)", () => {
    it("runs clearsessions daily in Etc/UTC, Forbid, with the migrate Job's pod template as the web identity", () => {
        const cron = production.one("kubernetes:batch/v1:CronJob", "django-schedule-clearsessions-cron");
        const spec = (cron.inputs as any).spec;
        assert.deepEqual([spec.schedule, spec.timeZone, spec.concurrencyPolicy], ["17 3 * * *", "Etc/UTC", "Forbid"]);
        assert.ok(spec.startingDeadlineSeconds >= 10, "the controller checks every 10 s: a smaller deadline may skip runs");
        const pod = spec.jobTemplate.spec.template.spec;
        const migrate = production.inputs(T.job, "django-workload-migrate").spec.template.spec;
        assert.equal(pod.restartPolicy, "Never");
        assert.deepEqual(pod.containers[0].command, ["python", "manage.py", "clearsessions"]);
        // Same image, env sources, sidecar and security as migrate; the web identity's own env
        // (its database login: rows, not the schema; the media bucket), not the migrate one's.
        const strip = (c: any) => ({ ...c, name: undefined, command: undefined, env: undefined });
        assert.deepEqual(strip(pod.containers[0]), strip(migrate.containers[0]));
        const web = production.inputs(T.deployment, "django-workload-web").spec.template.spec;
        const perContainer = (c: any) => (c.env as any[]).filter((e) => !e.valueFrom);
        assert.deepEqual(perContainer(pod.containers[0]), perContainer(web.containers[0]));
        assert.deepEqual(pod.initContainers, migrate.initContainers);
        assert.equal(pod.serviceAccountName, web.serviceAccountName);
        for (const field of ["securityContext", "volumes", "automountServiceAccountToken", "enableServiceLinks"]) {
            assert.deepEqual(pod[field], migrate[field], field);
        }
        assert.equal(pod.nodeSelector, undefined, "production runs no Spot Pods");
        assert.ok(cron.dependencies.includes(production.one(T.job, "django-workload-migrate").urn), "created after migrate");
        // Pulumi's 8-character suffix keeps the name within the 52 characters a CronJob may have.
        assert.ok((cron.outputs as any).metadata.name.length <= 52);
    });
});
