/**
 * Every Django container the platform renders starts: for both shipped stacks and every mode (cache
 * in-cluster, Memorystore with and without TLS; database through the Auth Proxy or its private IP;
 * media on and off; workers; schedules; Spot on and off; a project's own settings and WSGI modules),
 * each container that runs the app image — web, every worker Deployment, every CronJob's job
 * template, the migrate and collectstatic Jobs, and the Job `npm run manage` prints — has its
 * environment resolved as the kubelet resolves it (cli/lib/renderedWorkloads.ts: envFrom in
 * order, then env; downward API; Secret values replaced by local ones) and runs `django.setup()`
 * with ONLY that environment plus the image's own ENV (the venv first on PATH), in the image's
 * working directory: the settings module imports, INSTALLED_APPS load, and every STORAGES and
 * CACHES backend class imports (google-cloud-storage, django-redis: the image's locked packages).
 * Nothing is removed from the environment, buckets included. Containers whose resolved environment
 * and working directory are identical (the migrate Job, the CronJobs and the manage Job run as the
 * same identity with the same env) share one Python process: its outcome depends on nothing else.
 *
 * A container whose env does not hold together (the collectstatic Job got the media bucket from the
 * shared ConfigMap but no signer, and its settings import raised ImproperlyConfigured) fails here,
 * naming the workload, the container and the exception.
 */
import assert from "node:assert/strict";
import { cpSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { MEDIA_SIGNER_VARIABLE, SETTINGS_MODULE_VARIABLE } from "../components/appEnv";
import { APP_DIR, imageBaseEnv, venvPython } from "../cli/lib/appPython";
import { djangoContainers, renderObjects, resolveEnv, type DjangoContainer, type EnvSource } from "../cli/lib/renderedWorkloads";
import { ROOT, stackConfig, type Overrides } from "./helpers/platform";
import { copyProject } from "./lib/djangoApp";
import { randomPassword, run, type RunResult } from "./lib/localServers";

/** The second sample project (tests/local-modes.test.ts runs it) and the files docs/your-app.md has it copy from app/. */
const OTHER_PROJECT = join(ROOT, "tests", "fixtures", "otherapp");
const OTHER_SETTINGS = "shop.deploy.settings";
const OTHER_COPIES = ["gunicorn.conf.py", "cloud_logging.py", "web_worker.py", "resilience"];

const WORKER = { command: ["python", "manage.py", "demo_worker"] };

interface Variant {
    readonly title: string;
    readonly stack: "staging" | "production";
    readonly overrides: Overrides;
    /** The project the image holds. @default the reference app */
    readonly project?: string;
    /** `app.kubernetes.io/component` of every Django container expected, sorted. */
    readonly components: readonly string[];
}

const VARIANTS: readonly Variant[] = [
    { title: "staging", stack: "staging", overrides: {}, components: ["collectstatic", "manage", "migrate", "schedule", "web"] },
    { title: "production", stack: "production", overrides: {}, components: ["collectstatic", "manage", "migrate", "schedule", "web", "worker"] },
    {
        title: "staging, cache.mode memorystore with TLS (rediss:// and the instance CA)",
        stack: "staging",
        overrides: { "django-platform:cache": { mode: "memorystore", replicas: 1, memorySizeGb: 5 } },
        components: ["collectstatic", "manage", "migrate", "schedule", "web"],
    },
    {
        title: "production, memorystore without TLS, database.connector private-ip",
        stack: "production",
        overrides: { "django-platform:cache": { mode: "memorystore", replicas: 1, memorySizeGb: 5, transitEncryption: false }, "django-platform:database": { connector: "private-ip" } },
        components: ["collectstatic", "manage", "migrate", "schedule", "web", "worker"],
    },
    {
        title: "staging, media off, Spot off, two workers and two schedules",
        stack: "staging",
        overrides: {
            // A tier whose connection budget holds the extra workers.
            "django-platform:database": { tier: "db-custom-1-3840" },
            "django-platform:media": { enabled: false },
            "django-platform:workload": { spot: false },
            "django-platform:workers": { tasks: WORKER, mail: WORKER },
            "django-platform:schedules": { sweep: { schedule: "*/30 * * * *", command: ["python", "manage.py", "clearsessions"] } },
        },
        components: ["collectstatic", "manage", "migrate", "schedule", "schedule", "web", "worker", "worker"],
    },
    {
        title: "production, a project's own settings and WSGI modules (tests/fixtures/otherapp)",
        stack: "production",
        overrides: { "django-platform:workload": { settingsModule: OTHER_SETTINGS, wsgiModule: "shop.deploy.wsgi" } },
        project: OTHER_PROJECT,
        components: ["collectstatic", "manage", "migrate", "schedule", "web", "worker"],
    },
];

/**
 * What runs in each container: Django's own start-up (settings module, logging, INSTALLED_APPS),
 * then the backend classes the settings name. Any exception ends it with exit 1 and the traceback
 * on stderr.
 */
const STARTUP = `
import django
django.setup()
from django.conf import settings
from django.utils.module_loading import import_string
for alias, storage in settings.STORAGES.items():
    import_string(storage["BACKEND"])
for alias, cache in settings.CACHES.items():
    import_string(cache["BACKEND"])
`;

/** Stand-ins for the downward-API fields only a running pod has. */
const FIELDS: Readonly<Record<string, string>> = { "status.podIP": "10.8.0.16", "status.hostIP": "10.128.0.2", "metadata.name": "pod-local-0", "spec.nodeName": "local-node" };

/** One local value per Secret key, like the cluster has one (the manifests show `[secret]`). */
const secrets = new Map<string, string>();
const localSecret = (_name: string, source: EnvSource) => {
    const key = `${source.from}/${source.key}`;
    if (!secrets.has(key)) secrets.set(key, randomPassword(40));
    return secrets.get(key) as string;
};
const localField = (fieldPath: string, name: string) => {
    const value = FIELDS[fieldPath];
    if (value === undefined) throw new Error(`${name}: no local stand-in for the downward-API field ${fieldPath}`);
    return value;
};

interface Checked {
    readonly variant: Variant;
    readonly container: DjangoContainer;
    readonly env: Record<string, string>;
    readonly result: Promise<RunResult>;
}

/** A gate that lets at most `limit` pieces of work run at a time. */
function limited<T>(limit: number): (work: () => Promise<T>) => Promise<T> {
    let active = 0;
    const waiting: Array<() => void> = [];
    return async (work) => {
        if (active >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
        active += 1;
        try {
            return await work();
        } finally {
            active -= 1;
            waiting.shift()?.();
        }
    };
}

const checked: Checked[] = [];
const workdirs: string[] = [];
const timing = { renderMs: 0, processes: 0 };

before(async () => {
    const python = venvPython();
    // Two at a time: one per core; each process is ~0.5 s of CPU.
    const slot = limited<RunResult>(2);
    const runs = new Map<string, Promise<RunResult>>();
    for (const variant of VARIANTS) {
        // Rendering uses Pulumi's process-wide mock runtime: one variant at a time.
        const { config, secretKeys } = stackConfig(variant.stack, variant.overrides);
        const began = performance.now();
        const docs = await renderObjects({ project: "django-platform", stack: variant.stack, config, secretKeys });
        timing.renderMs += performance.now() - began;
        let cwd = APP_DIR;
        if (variant.project) {
            cwd = copyProject(variant.project, "containers-project-");
            workdirs.push(cwd);
            for (const file of OTHER_COPIES) cpSync(join(APP_DIR, file), join(cwd, file), { recursive: true, filter: (path) => !path.includes("__pycache__") });
        }
        for (const c of djangoContainers(docs)) {
            const env = resolveEnv(c, { secret: localSecret, field: localField });
            const dir = c.container.workingDir === undefined || c.container.workingDir === "/app" ? cwd : c.container.workingDir;
            const key = JSON.stringify([dir, Object.entries(env).sort(([a], [b]) => a.localeCompare(b))]);
            let result = runs.get(key);
            if (!result) {
                result = slot(() => run(python, ["-c", STARTUP], { cwd: dir, env: { ...imageBaseEnv(), ...env }, check: false, timeoutMs: 60_000 }));
                result.catch(() => undefined); // awaited by the tests
                runs.set(key, result);
            }
            checked.push({ variant, container: c, env, result });
        }
    }
    timing.processes = runs.size;
});

after(() => {
    for (const dir of workdirs) rmSync(dir, { recursive: true, force: true });
});

/** The exception line of a Python traceback (its last non-empty line). */
function exceptionOf(stderr: string): string {
    return stderr.trim().split("\n").filter((line) => line.trim()).at(-1) ?? "(no output)";
}

for (const variant of VARIANTS) {
    describe(variant.title, () => {
        it("finds every Django container: web, workers, CronJobs, migrate, collectstatic, npm run manage", () => {
            const mine = checked.filter((c) => c.variant === variant);
            assert.deepEqual(mine.map((c) => c.container.workload.component).sort(), variant.components, mine.map((c) => c.container.label).join("\n"));
            // Each names its settings module; the signer, where media is on, is that of the pod's own identity.
            const settingsModule = variant.project ? OTHER_SETTINGS : "config.settings";
            for (const { container, env } of mine) {
                assert.equal(env[SETTINGS_MODULE_VARIABLE], settingsModule, container.label);
                if (env[MEDIA_SIGNER_VARIABLE] !== undefined) assert.match(env[MEDIA_SIGNER_VARIABLE], /@/, container.label);
            }
        });

        it("each imports its settings and starts Django with exactly its rendered env", async () => {
            const failures: string[] = [];
            for (const { container, result } of checked.filter((c) => c.variant === variant)) {
                const r = await result;
                if (r.code !== 0) {
                    failures.push(`${container.label} (${variant.stack}): exit ${r.code}: ${exceptionOf(r.stderr)}\n${r.stderr.trim().split("\n").slice(-12).join("\n")}`);
                }
            }
            assert.deepEqual(failures, [], `Django containers that do not start:\n\n${failures.join("\n\n")}`);
        });
    });
}

describe("the check itself", () => {
    it("fails, naming the exception, when a container's env does not hold together", async (t) => {
        await Promise.allSettled(checked.map((c) => c.result));
        t.diagnostic(`${checked.length} Django containers in ${VARIANTS.length} variants (rendered in ${(timing.renderMs / 1000).toFixed(1)} s), ${timing.processes} distinct environments started`);
        const web = checked.find((c) => c.variant === VARIANTS[0] && c.container.workload.component === "web");
        assert.ok(web, "staging's web container");
        // The web container with the media bucket but without its signer: the app refuses to start.
        assert.ok(web.env.DJANGO_APP_MEDIA_BUCKET, "staging has media on");
        const { [MEDIA_SIGNER_VARIABLE]: _dropped, ...env } = web.env;
        const r = await run(venvPython(), ["-c", STARTUP], { cwd: APP_DIR, env: { ...imageBaseEnv(), ...env }, check: false, timeoutMs: 60_000 });
        assert.equal(r.code, 1);
        assert.match(exceptionOf(r.stderr), /^django\.core\.exceptions\.ImproperlyConfigured: DJANGO_APP_MEDIA_BUCKET is set .* but DJANGO_APP_MEDIA_SIGNER is 'empty'/);
    });
});
