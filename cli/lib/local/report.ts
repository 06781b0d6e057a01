/**
 * What `npm run local` prints: the services and what each stands for, one row per workload with its
 * state and probes, what differs from the rendered containers, and the failures of --check (the
 * workload, its command, the reason and the last lines of its output).
 */
import type { LocalPod } from "./pod";
import type { LocalRun } from "./run";
import type { LocalServices } from "./services";

function table(rows: ReadonlyArray<readonly string[]>): string[] {
    const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
    return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join("  ").trimEnd());
}

const seconds = (ms: number | undefined) => (ms === undefined ? "?" : `${(ms / 1000).toFixed(1)} s`);

function probes(pod: LocalPod): string {
    return pod.probeRecords.map((r) => `${r.kind} ${r.path} ${r.ok}/${r.ok + r.failed} ok`).join(", ");
}

function podState(pod: LocalPod, kind: "job" | "deployment"): [string, string] {
    if (kind === "job") {
        if (pod.failure !== undefined) return ["Failed", pod.failure];
        if (pod.exitCode === 0) return ["Complete", `exit 0 after ${seconds(pod.finishedAfterMs)}`];
        return ["Running", ""];
    }
    const port = pod.plan.port ? `127.0.0.1:${pod.plan.port.local}; ` : "";
    const restarts = pod.restarts ? `; ${pod.restarts} restarts` : "";
    if (pod.failure !== undefined) return ["Failed", `${pod.failure}${restarts}`];
    if (pod.ready) return ["Ready", `${port}ready after ${seconds(pod.readyAfterMs)}${pod.probeRecords.length ? `; ${probes(pod)}` : " (no probes: ready once running)"}${restarts}`];
    return ["NotReady", `${port}${probes(pod)}${restarts}`];
}

/** The status table. */
export function statusLines(services: LocalServices, run: LocalRun): string[] {
    const lines: string[] = ["", "services (on loopback, for this run only)"];
    const svc: string[][] = [];
    if (run.database) {
        const db = run.database;
        const users = db.authentication === "iam"
            ? `owned by ${db.owner} (no login); IAM database users stood in for by local roles with passwords in PGPASSWORD (the Auth Proxy logs in with the pod's token): ${[...db.logins.keys()].join(", ")}`
            : `user ${db.owner} with a local password`;
        svc.push([`PostgreSQL`, `127.0.0.1:${services.postgres.port}`, `database ${db.name}, ${users}; TLS offered; stands in for Cloud SQL (the Auth Proxy sidecar's place is a direct local connection)`]);
    }
    for (const s of run.cache?.servers ?? []) svc.push([s.redis.label, `127.0.0.1:${s.redis.port}`, `${s.tls ? "TLS only, local CA as DJANGO_APP_CACHE_CA_CERT; " : ""}stands in for ${s.standsFor}`]);
    svc.push(["GCS (fake-gcs-server)", services.gcs.url, `STORAGE_EMULATOR_HOST; buckets ${[...run.buckets].map(([b, pub]) => `${b} (${pub ? "public read" : "private: signed URLs verified"})`).join(", ") || "none"}`]);
    for (const m of run.metadata) svc.push([`metadata server`, m.host, `KSA ${m.ksa.namespace}/${m.ksa.name} → ${m.email}${m.refused ? ` (${m.refused})` : ""}`]);
    svc.push(["IAM Credentials", services.egress.url, "HTTPS_PROXY tunnel to iamcredentials.googleapis.com (signBlob), local CA in REQUESTS_CA_BUNDLE; every other host refused"]);
    lines.push(...table(svc).map((l) => `  ${l}`));

    lines.push("", "workloads");
    const rows: string[][] = [["WORKLOAD", "CONTAINER", "STATE", "DETAIL"]];
    for (const j of run.jobs) rows.push([j.plan.workloadLabel, j.plan.containerName, ...podState(j, "job")]);
    for (const d of run.deployments) {
        const started = d.startedAt > 0;
        rows.push([d.plan.workloadLabel, d.plan.containerName, ...(started ? podState(d, "deployment") : (["NotStarted", "a Job failed first"] as [string, string]))]);
    }
    for (const c of run.plan.cronJobs) {
        const pod = run.cronRun.find((p) => p.plan === c);
        rows.push([c.workloadLabel, c.containerName, ...(pod ? podState(pod, "job") : (["NotRun", "its job template runs once after the Deployments are ready"] as [string, string]))]);
    }
    for (const s of run.plan.skipped) rows.push([s.workload, s.container, "Skipped", s.why]);
    lines.push(...table(rows).map((l) => `  ${l}`));

    lines.push("", "what differs from the rendered containers");
    const all = [...run.plan.jobs, ...run.plan.deployments, ...run.plan.cronJobs];
    for (const p of all) for (const r of p.rewrites) lines.push(`  ${p.workloadLabel}: argument ${r}`);
    const replaced = [...run.plan.replaced.keys()].sort();
    lines.push(`  variables with local values: ${replaced.join(", ")}`);
    lines.push(`  added to every app container (the pod's environment here): ${Object.keys(run.plan.added).sort().join(", ")}`);
    const iso = services.isolation;
    lines.push(
        iso.kind === "mount-namespace"
            ? `  filesystem: read-only except the emptyDir mounts (private mount namespace${iso.setpriv ? ", no capabilities, no-new-privs" : ""}); not enforced: runAsUser, network, memory and CPU limits`
            : `  filesystem: NOT isolated (${iso.reason}); the app copy is read-only by its permissions only, TMPDIR is the /tmp emptyDir stand-in`,
    );
    lines.push("  one pod per Deployment; CronJobs run once, not on their schedule; Jobs run once (no backoffLimit retries)");
    const refused = services.egress.refused;
    if (refused.length > 0) lines.push(`  egress refused: ${[...new Set(refused)].join(", ")}`);
    return lines;
}

/** The failure report of --check. */
export function failureLines(run: LocalRun): string[] {
    return run.failures.flatMap((f) => [
        "",
        `FAILED ${f.workload} (container ${f.container})`,
        `  command: ${f.command}`,
        `  reason:  ${f.reason}`,
        "  last lines of its output:",
        ...(f.lastLines.length ? f.lastLines.map((l) => `    ${l}`) : ["    (none)"]),
    ]);
}

/** How each pod ended when stopped. */
export function terminationLines(run: LocalRun): string[] {
    return run.terminations().map(({ workload, record }) =>
        `  ${workload}: preStop ${record.preStop}, then SIGTERM; ${record.killed ? "killed (SIGKILL) at the end of the grace period" : `exited${record.exitCode !== null ? ` with ${record.exitCode}` : record.signal ? ` on ${record.signal}` : ""}`} ${record.seconds.toFixed(1)} s after the start of termination`,
    );
}
