/**
 * What a Kubernetes pod asks Autopilot for (requests summed over containers, sidecars included) and
 * how often a CronJob runs in a month: the pod side of the cost estimate.
 */
import { CronExpressionParser } from "cron-parser";
import { AUTOPILOT_MEMORY_GIB_PER_CPU } from "../../../components/gcpLimits";
import { HOURS_PER_MONTH } from "./prices";

/**
 * A Kubernetes resource quantity as a number of base units (cores, bytes). Suffixes as the
 * Kubernetes API defines them: decimal `m k M G T P E` and binary `Ki Mi Gi Ti Pi Ei`
 * (https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/quantity/).
 */
export function parseQuantity(value: unknown): number {
    if (typeof value === "number") {
        return value;
    }
    const match = /^([0-9.]+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/.exec(String(value ?? "0").trim());
    if (!match) {
        throw new Error(`not a Kubernetes quantity: ${String(value)}`);
    }
    const factor: Record<string, number> = {
        "": 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
        Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
    };
    return Number(match[1]) * factor[match[2] ?? ""];
}

/** Bytes in a GiB. */
export const GIB = 2 ** 30;

/** What Autopilot bills for one Pod: vCPU, memory GiB, ephemeral storage GiB. */
export interface PodRequests {
    readonly cpu: number;
    readonly memoryGib: number;
    readonly ephemeralGib: number;
}

/** A Kubernetes object as the mocks captured it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

function containerRequests(c: Json): PodRequests {
    const r = c?.resources?.requests ?? {};
    return { cpu: parseQuantity(r.cpu ?? 0), memoryGib: parseQuantity(r.memory ?? 0) / GIB, ephemeralGib: parseQuantity(r["ephemeral-storage"] ?? 0) / GIB };
}

const add = (a: PodRequests, b: PodRequests): PodRequests => ({ cpu: a.cpu + b.cpu, memoryGib: a.memoryGib + b.memoryGib, ephemeralGib: a.ephemeralGib + b.ephemeralGib });
const max = (a: PodRequests, b: PodRequests): PodRequests => ({ cpu: Math.max(a.cpu, b.cpu), memoryGib: Math.max(a.memoryGib, b.memoryGib), ephemeralGib: Math.max(a.ephemeralGib, b.ephemeralGib) });
const ZERO: PodRequests = { cpu: 0, memoryGib: 0, ephemeralGib: 0 };

/**
 * The requests Autopilot bills for a Pod spec: the Pod's effective requests, i.e. the sum of its
 * containers plus its sidecars (init containers with `restartPolicy: Always`, such as the Cloud SQL
 * Auth Proxy), or an ordinary init container plus the sidecars started before it when that is
 * larger (Kubernetes, "Sidecar containers" → resource sharing within containers,
 * https://kubernetes.io/docs/concepts/workloads/pods/sidecar-containers/#resource-sharing-within-containers).
 * Autopilot bills "the resource requests of the Kubernetes PodSpec"
 * (https://cloud.google.com/kubernetes-engine/pricing). The memory:CPU ratio is then brought into
 * Autopilot's accepted range by raising the smaller request, as Autopilot does
 * (components/gcpLimits.ts {@link AUTOPILOT_MEMORY_GIB_PER_CPU}).
 */
export function podRequests(spec: Json): PodRequests {
    let sidecars = ZERO;
    let initPeak = ZERO;
    for (const c of spec?.initContainers ?? []) {
        const r = containerRequests(c);
        if (c.restartPolicy === "Always") {
            sidecars = add(sidecars, r);
        } else {
            initPeak = max(initPeak, add(sidecars, r));
        }
    }
    const running = (spec?.containers ?? []).map(containerRequests).reduce(add, sidecars);
    const pod = max(running, initPeak);
    if (pod.cpu === 0) {
        return pod;
    }
    const perCpu = pod.memoryGib / pod.cpu;
    if (perCpu < AUTOPILOT_MEMORY_GIB_PER_CPU.min) {
        return { ...pod, memoryGib: pod.cpu * AUTOPILOT_MEMORY_GIB_PER_CPU.min };
    }
    if (perCpu > AUTOPILOT_MEMORY_GIB_PER_CPU.max) {
        return { ...pod, cpu: pod.memoryGib / AUTOPILOT_MEMORY_GIB_PER_CPU.max };
    }
    return pod;
}

/**
 * Runs of a cron schedule in one billing month: {@link HOURS_PER_MONTH} hours from 2026-01-05
 * (a Monday) 00:00. cron-parser expands the fields; the runs are counted per day, not iterated
 * (iterating cost about a millisecond a run). Day of month and day of week combine as in cron:
 * when both are restricted, a day matching either runs. The schedule's time zone is ignored (a
 * daylight-saving shift moves runs, it hardly changes their number); expressions with `L` or `#`
 * are iterated instead.
 */
export function runsPerMonth(schedule: string): number {
    const start = Date.UTC(2026, 0, 5);
    const end = start + HOURS_PER_MONTH * 3600 * 1000;
    const expression = CronExpressionParser.parse(schedule, { currentDate: new Date(start), endDate: new Date(end), tz: "UTC" });
    const f = expression.fields;
    const numbers = (values: readonly (number | string)[]): number[] | undefined => (values.every((v) => typeof v === "number") ? (values as number[]) : undefined);
    const [seconds, minutes, hours, days, months, weekdays] = [f.second.values, f.minute.values, f.hour.values, f.dayOfMonth.values, f.month.values, f.dayOfWeek.values].map(numbers);
    if (!seconds || !minutes || !hours || !days || !months || !weekdays) {
        let runs = 0;
        while (expression.hasNext() && runs < 50_000) {
            expression.next();
            runs++;
        }
        return runs;
    }
    const dayOfWeek = new Set(weekdays.map((d) => d % 7));
    const dayOfMonth = new Set(days);
    const month = new Set(months);
    const domAny = f.dayOfMonth.isWildcard;
    const dowAny = f.dayOfWeek.isWildcard;
    let runs = 0;
    for (let day = start; day < end; day += 86_400_000) {
        const d = new Date(day);
        const domHit = dayOfMonth.has(d.getUTCDate());
        const dowHit = dayOfWeek.has(d.getUTCDay());
        const dayRuns = month.has(d.getUTCMonth() + 1) && (domAny && dowAny ? true : domAny ? dowHit : dowAny ? domHit : domHit || dowHit);
        if (!dayRuns) {
            continue;
        }
        const secondsLeft = (end - day) / 1000;
        for (const h of hours) {
            for (const m of minutes) {
                runs += seconds.filter((s) => h * 3600 + m * 60 + s < secondsLeft).length;
            }
        }
    }
    return runs;
}
