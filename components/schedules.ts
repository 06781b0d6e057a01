import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { CronExpressionParser } from "cron-parser";
import { labelsFor } from "./kube";
import { djangoPodSpec, jobContainer } from "./podTemplates";
import { scheduleGraceSeconds } from "./termination";
import { DjangoPodContext } from "./workload";

/** Label naming the schedule a CronJob's pods belong to (the component label is `schedule`). */
export const SCHEDULE_LABEL = "django-platform/schedule";

/** Time zone of a schedule without `timeZone`: explicit, not the controller manager's local zone. */
export const DEFAULT_TIME_ZONE = "Etc/UTC";

/**
 * The macros Kubernetes accepts in `.spec.schedule`, with their 5-field meaning
 * (https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/#schedule-syntax).
 */
export const CRON_MACROS: Readonly<Record<string, string>> = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
};

const MONTH_NAMES = "jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec";
const DAY_NAMES = "sun|mon|tue|wed|thu|fri|sat";
/** Characters each field may hold in the standard syntax: numbers, `*`, `?`, ranges, lists, steps; names in month and day of week. */
const FIELD_SYNTAX: readonly RegExp[] = [
    /^[\d*,/-]+$/,
    /^[\d*,/-]+$/,
    /^[\d*?,/-]+$/,
    new RegExp(`^([\\d*,/-]|${MONTH_NAMES})+$`, "i"),
    new RegExp(`^([\\d*?,/-]|${DAY_NAMES})+$`, "i"),
];
const FIELD_NAMES = ["minute", "hour", "day of month", "month", "day of week"];

/**
 * Why Kubernetes would refuse `expression` as a CronJob schedule, or undefined. The standard
 * 5-field syntax (minute hour day-of-month month day-of-week, with ranges, lists, steps, `?` and
 * month/day names) or one of {@link CRON_MACROS}; no seconds field, no `TZ=`/`CRON_TZ=` prefix
 * (rejected since Kubernetes 1.29: use `timeZone`), no Quartz/Jenkins extensions (`L`, `W`, `#`,
 * `H`). Value ranges (minute 0-59, February 30th, …) are checked by cron-parser.
 */
export function cronScheduleProblem(expression: string): string | undefined {
    const text = expression.trim();
    if (/^(CRON_)?TZ=/.test(text)) {
        return "must not carry a TZ= or CRON_TZ= prefix (Kubernetes rejects it since 1.29); set timeZone instead";
    }
    if (text.startsWith("@")) {
        return text in CRON_MACROS ? undefined : `is not a schedule macro Kubernetes knows (${Object.keys(CRON_MACROS).join(", ")})`;
    }
    const fields = text.split(/\s+/);
    if (fields.length !== 5) {
        return `must have 5 fields (minute hour day-of-month month day-of-week), got ${fields.length}`;
    }
    const bad = fields.findIndex((f, i) => !FIELD_SYNTAX[i].test(f));
    if (bad >= 0) {
        return `has an unsupported ${FIELD_NAMES[bad]} field ${JSON.stringify(fields[bad])}`;
    }
    try {
        CronExpressionParser.parse(text);
    } catch (err) {
        return `is not a valid cron expression (${(err as Error).message})`;
    }
    return undefined;
}

/**
 * Time zones a CronJob's `timeZone` takes: IANA names. Node's list (`Intl.supportedValuesOf`)
 * holds the canonical ones; `Etc/UTC` and `UTC`, which Go's time zone database (used by the
 * controller) also knows, are added.
 */
export const TIME_ZONES: ReadonlySet<string> = new Set([...Intl.supportedValuesOf("timeZone"), "Etc/UTC", "UTC"]);

/**
 * The CronJobs' Job pod failure policy: a pod failed by a disruption is replaced without counting
 * against `backoffLimit` ("Ignore: indicates that the counter towards the .backoffLimit is not
 * incremented and a replacement pod is created", batch/v1 PodFailurePolicyRule in the Kubernetes
 * API reference, https://kubernetes.io/docs/concepts/workloads/controllers/job/#pod-failure-policy).
 * On graceful node shutdown, which a Spot preemption triggers, the kubelet fails the pod with the
 * condition `DisruptionTarget` (reason `TerminationByKubelet`: kubernetes
 * pkg/kubelet/nodeshutdown/nodeshutdown_manager.go, `podHandler.killPods`). With a pod failure
 * policy the replacement starts only once the stopped pod has terminated ("When using
 * podFailurePolicy, Failed is the the only allowed value" of `podReplacementPolicy`, which "means to
 * wait until a previously created Pod is fully terminated": batch/v1 JobSpec),
 * so the two never hold connections together. Other failures still count: `backoffLimit` 1 retries
 * a failing command once.
 */
export const SCHEDULE_POD_FAILURE_POLICY = { rules: [{ action: "Ignore", onPodConditions: [{ type: "DisruptionTarget", status: "True" }] }] };

/** Arguments of {@link Schedule}. */
export interface ScheduleArgs {
    /** The schedule's name (`schedules.<name>`), a DNS label of at most 20 characters. */
    readonly scheduleName: string;
    /** Cron expression (see {@link cronScheduleProblem}). */
    readonly schedule: string;
    /** The command, e.g. `["python", "manage.py", "clearsessions"]`. */
    readonly command: readonly string[];
    /** IANA time zone. @default "Etc/UTC" */
    readonly timeZone?: string;
    /** What happens when a run is due while the previous one still runs. @default "Forbid" */
    readonly concurrencyPolicy?: "Forbid" | "Replace";
    /** Longest a run may take, from its start. @default 3600 */
    readonly activeDeadlineSeconds?: number;
    /** The Workload's pod context: image, env, sidecar, web identity, migrate Job. */
    readonly pods: DjangoPodContext;
}

/**
 * A management command on a schedule: a CronJob whose pods are built like the migrate Job's
 * (same image, env contract, web identity, Auth Proxy sidecar, restricted security context,
 * read-only root filesystem), with an explicit time zone and no overlapping runs by default.
 */
export class Schedule extends pulumi.ComponentResource {
    /** The CronJob. */
    public readonly cronJob: k8s.batch.v1.CronJob;

    constructor(name: string, args: ScheduleArgs, opts?: pulumi.ComponentResourceOptions) {
        super("django-platform:schedules:Schedule", name, {}, opts);
        const problem = cronScheduleProblem(args.schedule);
        if (problem) {
            throw new Error(`Schedule ${args.scheduleName}: schedule ${JSON.stringify(args.schedule)} ${problem} (schedules.${args.scheduleName}.schedule).`);
        }
        const timeZone = args.timeZone ?? DEFAULT_TIME_ZONE;
        if (!TIME_ZONES.has(timeZone)) {
            throw new Error(`Schedule ${args.scheduleName}: timeZone ${JSON.stringify(timeZone)} is not an IANA time zone (schedules.${args.scheduleName}.timeZone).`);
        }
        const p = args.pods;
        const labels = { ...labelsFor("schedule", p.stack), [SCHEDULE_LABEL]: args.scheduleName };
        // Pulumi appends 8 characters to the name; a CronJob's name may be 52 characters at most, since
        // its Jobs append 11 (https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/#writing-a-cronjob-spec):
        // "django-schedule-" + 20 + "-cron" + 8 = 49.
        this.cronJob = new k8s.batch.v1.CronJob(`${name}-cron`, {
            metadata: { namespace: p.namespace, labels },
            spec: {
                schedule: args.schedule,
                // GA since Kubernetes 1.27 (cron-jobs/#time-zones); explicit so runs do not depend
                // on the controller manager's local zone.
                timeZone,
                concurrencyPolicy: args.concurrencyPolicy ?? "Forbid",
                // A run that could not start within 10 minutes (controller down, no capacity) is
                // skipped rather than started late; also bounds the missed-run count the
                // controller looks back over.
                startingDeadlineSeconds: 600,
                successfulJobsHistoryLimit: 3,
                failedJobsHistoryLimit: 3,
                jobTemplate: {
                    metadata: { labels },
                    spec: {
                        backoffLimit: 1,
                        // A run whose pod was stopped by a disruption (a Spot preemption, a node
                        // drain or shutdown: the kubelet and the eviction API mark the pod with the
                        // DisruptionTarget condition) is started again without using up backoffLimit.
                        podFailurePolicy: SCHEDULE_POD_FAILURE_POLICY,
                        activeDeadlineSeconds: args.activeDeadlineSeconds ?? 3600,
                        template: {
                            metadata: { labels },
                            spec: djangoPodSpec({
                                restartPolicy: "Never",
                                serviceAccountName: p.web.ksaName,
                                terminationGracePeriodSeconds: scheduleGraceSeconds(p.spot),
                                initContainers: p.sidecars,
                                spot: p.spot,
                                containers: [jobContainer(args.scheduleName, p.container.image, [...args.command], p.container.sources,
                                    { settingsModule: p.container.settingsModule, database: p.databaseLogin(p.web.identity), media: p.media ? { bucket: p.media.bucketName, signer: p.web.email } : undefined })],
                            }),
                        },
                    },
                },
            },
        }, { parent: this, provider: p.provider, dependsOn: [p.migrate, ...p.web.grants] });
        this.registerOutputs({});
    }
}
