/**
 * The Django settings helper (python/django-platform-settings), installed with pip — not by path —
 * into venvs of its own (maint/install-deps.sh: `.tools/settings-django5`, Django 5.2 LTS from the
 * hash-locked app/requirements.lock; `.tools/settings-django6`, Django 6 on Python 3.12+, when the
 * machine has such an interpreter), applied by three projects:
 *
 * - the reference app (`app/`: `BASE_DIR` a Path, `MIDDLEWARE` a list),
 * - the second sample project (`tests/fixtures/otherapp`: settings in shop.deploy),
 * - a project shaped like Google's GKE Django sample (`tests/fixtures/gke-django-tutorial`:
 *   `BASE_DIR` an os.path `str`, `MIDDLEWARE` and `INSTALLED_APPS` tuples, `DEBUG = True`,
 *   `ALLOWED_HOSTS = ["*"]` — the settings the old copy-paste block crashed on).
 *
 * Each runs with the web container's environment as the platform renders it for staging and for
 * production (cli/lib/renderedWorkloads.ts, resolved as the kubelet would; the database and cache
 * addresses replaced by a real local PostgreSQL and Redis), in a copy of the project with the
 * guide's copied files (docs/your-app.md, step 2): Django starts, the deployment checks
 * (`check --deploy`) find nothing the helper is responsible for, `migrate` runs against PostgreSQL,
 * and the project's WSGI application (what gunicorn serves) answers a request as the load balancer
 * sends it (https in X-Forwarded-Proto: 200) and redirects a plain-http one to https. With no
 * environment at all (`manage.py runserver` on a laptop) each migrates sqlite3 and the WSGI
 * application runserver serves answers plain http on localhost.
 */
import assert from "node:assert/strict";
import { cpSync, existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { APP_DIR } from "../cli/lib/appPython";
import { djangoContainers, renderObjects, resolveEnv, type DjangoContainer } from "../cli/lib/renderedWorkloads";
import { ROOT, stackConfig } from "./helpers/platform";
import { copyProject } from "./lib/djangoApp";
import { LocalPostgres, LocalRedis, freePort, randomPassword, run, tempDir, type RunResult } from "./lib/localServers";

const PACKAGE_DIR = join(ROOT, "python", "django-platform-settings");
/** What docs/your-app.md step 2 has a project copy next to its manage.py. */
const GUIDE_COPIES = ["gunicorn.conf.py", "cloud_logging.py", "web_worker.py", "resilience"];

interface Venv {
    readonly title: string;
    readonly dir: string;
    /** What `django.get_version()` must start with. */
    readonly version: string;
    /** Why the venv may be missing (then its runs are skipped), or undefined when it must be there. */
    readonly optional?: string;
}

const VENVS: readonly Venv[] = [
    { title: "Django 5.2 LTS", dir: join(ROOT, ".tools", "settings-django5"), version: "5.2." },
    {
        title: "Django 6",
        dir: join(ROOT, ".tools", "settings-django6"),
        version: "6.",
        optional: "no Python 3.12 or later on this machine, so maint/install-deps.sh made no Django 6 venv (PYTHON_DJANGO6=... names one)",
    },
];

interface Project {
    readonly title: string;
    readonly dir: string;
    readonly settings: string;
    readonly wsgi: string;
    /** The guide's copies it needs (the reference app has them itself). */
    readonly copies: readonly string[];
    /** Its own DEBUG, which local development keeps. */
    readonly localDebug: boolean;
    readonly baseDirType: "PosixPath" | "str";
    readonly middlewareType: "list" | "tuple";
    /** Text its page shows. */
    readonly page: RegExp;
    /**
     * What the https request asks for with the platform's env, and what the answer shows; `/` when
     * unset. The reference app's page links its CSS through the GCS manifest storage, whose
     * manifest the collectstatic Job uploads first (tests/local.test.ts runs that whole sequence),
     * so here it is asked for its readiness page, which queries PostgreSQL and reads Redis's breaker.
     */
    readonly platformPage?: { readonly path: string; readonly shows: RegExp };
}

const PROJECTS: readonly Project[] = [
    { title: "the reference app", dir: APP_DIR, settings: "config.settings", wsgi: "config.wsgi", copies: [], localDebug: false, baseDirType: "PosixPath", middlewareType: "list", page: /data-visit-id="\d+"/, platformPage: { path: "/readyz/", shows: /^\{"database": "ok", "cache": "ok"\}$/ } },
    { title: "tests/fixtures/otherapp", dir: join(ROOT, "tests", "fixtures", "otherapp"), settings: "shop.deploy.settings", wsgi: "shop.deploy.wsgi", copies: GUIDE_COPIES, localDebug: false, baseDirType: "PosixPath", middlewareType: "list", page: /<p id='products'>teapot<\/p>/ },
    { title: "tests/fixtures/gke-django-tutorial (Google's sample's shape)", dir: join(ROOT, "tests", "fixtures", "gke-django-tutorial"), settings: "mysite.settings", wsgi: "mysite.wsgi", copies: GUIDE_COPIES, localDebug: true, baseDirType: "str", middlewareType: "tuple", page: /polls index\. 0 questions/ },
];

/**
 * Deployment checks the helper's settings answer (Django's security checks,
 * https://docs.djangoproject.com/en/5.2/ref/checks/#security): HSTS, HTTPS redirect, secret key,
 * secure cookies, DEBUG, ALLOWED_HOSTS. Others (a project without XFrameOptionsMiddleware, HSTS
 * preload, which the domain's owner opts into) are the project's own.
 */
const HELPER_CHECKS = ["security.W004", "security.W005", "security.W008", "security.W009", "security.W012", "security.W016", "security.W018", "security.W020"];

/** Runs in the project's directory: Django's start-up, the checks, migrate, then one request per case. */
const PROBE = String.raw`
import json, os, sys
from wsgiref.util import setup_testing_defaults
import django
django.setup()
from django.conf import settings
from django.core import checks
from django.core.management import call_command
from django.db import connection
import django_platform_settings

out = {"django": django.get_version(), "package": django_platform_settings.__file__}
out["checks"] = sorted({m.id for m in checks.run_checks(include_deployment_checks=True) if m.level >= checks.WARNING})
out["errors"] = sorted({m.id for m in checks.run_checks(include_deployment_checks=True) if m.level >= checks.ERROR})
call_command("migrate", interactive=False, verbosity=0)
if os.environ.get("PROBE_WSGI"):
    from importlib import import_module
    application = import_module(os.environ["PROBE_WSGI"]).application
else:  # what manage.py runserver serves
    from django.core.servers.basehttp import get_internal_wsgi_application
    application = get_internal_wsgi_application()

def request(host, https, path="/"):
    environ = {"PATH_INFO": path, "REQUEST_METHOD": "GET", "HTTP_HOST": host, "wsgi.url_scheme": "http"}
    if https:
        environ["HTTP_X_FORWARDED_PROTO"] = "https"
    setup_testing_defaults(environ)
    answer = {}
    def start_response(status, headers, exc_info=None):
        answer["status"] = int(status.split()[0])
        answer["location"] = dict(headers).get("Location")
    body = b"".join(application(environ, start_response))
    answer["body"] = body.decode("utf-8", "replace")[:2000]
    return answer

host = os.environ["PROBE_HOST"]
out["https"] = request(host, True, os.environ.get("PROBE_PATH", "/"))
out["http"] = request(host, False)
out["settings"] = {
    "DEBUG": settings.DEBUG,
    "vendor": connection.vendor,
    "engine": settings.DATABASES["default"]["ENGINE"],
    "cache": settings.CACHES["default"]["BACKEND"],
    "middleware": [type(settings.MIDDLEWARE).__name__, list(settings.MIDDLEWARE)[0]],
    "installed_apps": type(settings.INSTALLED_APPS).__name__,
    "base_dir": type(settings.BASE_DIR).__name__,
    "allowed_hosts": list(settings.ALLOWED_HOSTS),
}
print(json.dumps(out))
`;

interface ProbeResult {
    readonly django: string;
    readonly package: string;
    readonly checks: string[];
    readonly errors: string[];
    readonly https: { status: number; location?: string; body: string };
    readonly http: { status: number; location?: string; body: string };
    readonly settings: {
        DEBUG: boolean;
        vendor: string;
        engine: string;
        cache: string;
        middleware: [string, string];
        installed_apps: string;
        base_dir: string;
        allowed_hosts: string[];
    };
}

/** Stand-ins for the downward-API fields only a running pod has. */
const FIELDS: Readonly<Record<string, string>> = { "status.podIP": "10.8.0.16", "status.hostIP": "10.128.0.2", "metadata.name": "pod-local-0", "spec.nodeName": "local-node" };
/** The platform's secret key is 64 characters (components/workload.ts); so is this one. */
const localSecret = () => randomPassword(48);

const available = (venv: Venv) => existsSync(join(venv.dir, "bin", "python"));
const pythonOf = (venv: Venv) => join(venv.dir, "bin", "python");
/** The image's process environment with this venv first on PATH (as cli/lib/appPython.ts imageBaseEnv). */
const baseEnvOf = (venv: Venv): Record<string, string> => ({ PATH: `${join(venv.dir, "bin")}:/usr/bin:/bin`, LANG: "C.UTF-8", PYTHONDONTWRITEBYTECODE: "1", PYTHONUNBUFFERED: "1" });

let pg: LocalPostgres | undefined;
let redis: LocalRedis | undefined;
const redisPassword = randomPassword();
const webEnv = new Map<string, Record<string, string>>();
const workdirs: string[] = [];
const installs = new Map<Venv, RunResult>();
let databases = 0;

before(async () => {
    for (const venv of VENVS) {
        if (!available(venv)) {
            if (!venv.optional) throw new Error(`${venv.dir} does not exist: run \`bash maint/install-deps.sh\` (it creates the settings helper's test venvs under .tools/)`);
            continue;
        }
        // pip builds in the source tree (build/, *.egg-info): install from a copy of the working tree.
        const source = tempDir("settings-package-src-");
        workdirs.push(source);
        cpSync(PACKAGE_DIR, source, { recursive: true, filter: (path) => !/(^|\/)(__pycache__|build|[^/]*\.egg-info)$/.test(path) });
        installs.set(
            venv,
            await run(pythonOf(venv), ["-m", "pip", "install", "--quiet", "--no-deps", "--no-index", "--no-build-isolation", "--force-reinstall", source], {
                env: { ...baseEnvOf(venv), PIP_DISABLE_PIP_VERSION_CHECK: "1" },
                check: false,
                timeoutMs: 120_000,
            }),
        );
    }
    for (const stack of ["staging", "production"] as const) {
        const { config, secretKeys } = stackConfig(stack);
        const docs = await renderObjects({ project: "django-platform", stack, config, secretKeys });
        const web = djangoContainers(docs).find((c: DjangoContainer) => c.workload.component === "web" && !c.init);
        assert.ok(web, `${stack}: the web container`);
        webEnv.set(stack, resolveEnv(web, { secret: localSecret, field: (path, name) => {
            const value = FIELDS[path];
            if (value === undefined) throw new Error(`${name}: no local stand-in for ${path}`);
            return value;
        } }));
    }
    pg = await LocalPostgres.create();
    const redisPort = await freePort();
    redis = new LocalRedis("redis", ["--port", String(redisPort), "--bind", "127.0.0.1", "--requirepass", redisPassword, "--save", "", "--appendonly", "no"], redisPort, redisPassword);
    await redis.start();
});

after(async () => {
    await redis?.stop();
    await pg?.destroy();
    for (const dir of workdirs) rmSync(dir, { recursive: true, force: true });
});

/** A fresh copy of the project with the guide's copies, as the image's /app would hold it. */
function projectCopy(project: Project): string {
    const dir = copyProject(project.dir, "settings-package-project-");
    workdirs.push(dir);
    for (const file of project.copies) cpSync(join(APP_DIR, file), join(dir, file), { recursive: true, filter: (path) => !path.includes("__pycache__") });
    return dir;
}

async function probe(venv: Venv, project: Project, env: Record<string, string>, host: string, wsgi?: string, path = "/"): Promise<ProbeResult> {
    const cwd = projectCopy(project);
    const result = await run(pythonOf(venv), ["-c", PROBE], {
        cwd,
        env: { ...baseEnvOf(venv), ...env, DJANGO_SETTINGS_MODULE: project.settings, PROBE_HOST: host, PROBE_PATH: path, ...(wsgi ? { PROBE_WSGI: wsgi } : {}) },
        check: false,
        timeoutMs: 120_000,
    });
    assert.equal(result.code, 0, `${project.title} on ${venv.title}: exit ${result.code}\n${result.stderr.trim().split("\n").slice(-15).join("\n")}`);
    return JSON.parse(result.stdout.trim().split("\n").at(-1) ?? "") as ProbeResult;
}

/** The rendered web env with its database and cache on this machine's PostgreSQL and Redis. */
async function platformEnv(stack: "staging" | "production"): Promise<Record<string, string>> {
    const rendered = webEnv.get(stack);
    assert.ok(rendered && pg && redis);
    databases += 1;
    const name = `settings_package_${databases}`;
    const password = randomPassword();
    await pg.createDatabase(name, name, password);
    assert.equal(rendered.DJANGO_APP_CACHE_CA_CERT, undefined, `${stack} renders an in-cluster cache (no TLS): a plain local Redis stands in`);
    return {
        ...rendered,
        DJANGO_APP_DB_HOST: pg.host,
        DJANGO_APP_DB_PORT: String(pg.port),
        DJANGO_APP_DB_NAME: name,
        DJANGO_APP_DB_USER: name,
        DJANGO_APP_DB_PASSWORD: password,
        // The local cluster serves no TLS; the Auth Proxy's connection is plain on loopback too.
        DJANGO_APP_DB_SSLMODE: "disable",
        DJANGO_APP_CACHE_LOCATION: `redis://127.0.0.1:${redis.port}/0`,
        DJANGO_APP_CACHE_PASSWORD: redisPassword,
    };
}

describe("the test venvs' pins", () => {
    /** `name==version` → [normalised name (PEP 503, extras dropped), version]. */
    const pin = (line: string): [string, string] => {
        const [name = "", version = ""] = line.split("==");
        return [name.replace(/\[.*\]$/, "").toLowerCase().replace(/[-_.]+/g, "-"), version];
    };
    for (const [requirements, lock] of [["requirements-django6.txt", "requirements-django6.lock"], ["requirements-build.txt", "requirements-build.lock"]] as const) {
        it(`${lock} pins, with hashes, every requirement of ${requirements} at its version`, () => {
            const entries = readFileSync(join(PACKAGE_DIR, "tests", lock), "utf8").replace(/\\\n/g, " ").split("\n").filter((line) => /^[A-Za-z0-9]/.test(line));
            for (const entry of entries) assert.match(entry, /^[A-Za-z0-9_.-]+==\S+ +(--hash=sha256:[0-9a-f]{64} *)+$/, `not pinned with hashes: ${entry.slice(0, 80)}`);
            const locked = new Map(entries.map((entry) => pin(entry.split(/\s/)[0] ?? "")));
            const wanted = readFileSync(join(PACKAGE_DIR, "tests", requirements), "utf8").split("\n").map((line) => line.trim()).filter((line) => line && !line.startsWith("#"));
            assert.ok(wanted.length > 0);
            for (const line of wanted) {
                const [name, version] = pin(line);
                assert.equal(locked.get(name), version, `${line}: ${lock} has ${name}==${locked.get(name)}; regenerate it (the command is in its header)`);
            }
        });
    }
    it("Django 6's venv is on Django 6, Django 5.2's on the app's own lock (Django 5.2 LTS)", () => {
        const django6 = readFileSync(join(PACKAGE_DIR, "tests", "requirements-django6.txt"), "utf8");
        assert.match(django6, /^Django==6\.\d+\.\d+$/m);
        assert.match(readFileSync(join(APP_DIR, "requirements.txt"), "utf8"), /^Django==5\.2\.\d+$/m);
        assert.match(readFileSync(join(ROOT, "maint", "install-deps.sh"), "utf8"), /settings_venv "\$venv\/bin\/python" "\$tools\/settings-django5" "\$lock" /);
    });
});

describe("the package installs with pip", () => {
    for (const venv of VENVS) {
        it(`into the ${venv.title} venv, and its unit tests pass there`, async (t) => {
            if (!available(venv)) return t.skip(venv.optional);
            const install = installs.get(venv);
            assert.equal(install?.code, 0, install?.stderr);
            const unit = await run(pythonOf(venv), ["-m", "unittest", "discover", "-s", join(PACKAGE_DIR, "tests")], { cwd: ROOT, env: baseEnvOf(venv), check: false, timeoutMs: 120_000 });
            assert.equal(unit.code, 0, unit.stderr);
            const ran = /^Ran (\d+) tests?/m.exec(unit.stderr);
            assert.ok(ran && Number(ran[1]) >= 15, unit.stderr);
            const version = await run(pythonOf(venv), ["-c", "import sys, django; print(django.get_version(), '%d.%d' % sys.version_info[:2])"], { env: baseEnvOf(venv) });
            assert.ok(version.stdout.startsWith(venv.version), version.stdout);
            t.diagnostic(`Django ${version.stdout.trim().replace(" ", " on Python ")}`);
        });
    }
});

for (const venv of VENVS) {
    for (const project of PROJECTS) {
        describe(`${project.title} on ${venv.title}`, () => {
            for (const stack of ["staging", "production"] as const) {
                it(`with ${stack}'s rendered web env: check --deploy, migrate on PostgreSQL, one request as the load balancer sends it`, async (t) => {
                    if (!available(venv)) return t.skip(venv.optional);
                    const env = await platformEnv(stack);
                    const domain = env.DJANGO_APP_ALLOWED_HOSTS?.split(" ")[0] ?? "";
                    const page = project.platformPage ?? { path: "/", shows: project.page };
                    const r = await probe(venv, project, env, domain, project.wsgi, page.path);
                    assert.ok(r.django.startsWith(venv.version), r.django);
                    assert.ok(r.package.startsWith(venv.dir), `the pip-installed package, not the working tree: ${r.package}`);
                    // The project's own types survive; the platform's values replace a sample's.
                    assert.deepEqual(r.settings.middleware, [project.middlewareType, "cloud_logging.TraceMiddleware"]);
                    assert.equal(r.settings.installed_apps, project.middlewareType);
                    assert.equal(r.settings.base_dir, project.baseDirType);
                    assert.equal(r.settings.DEBUG, false);
                    assert.deepEqual(r.settings.allowed_hosts, [...(env.DJANGO_APP_ALLOWED_HOSTS ?? "").split(" "), FIELDS["status.podIP"]]);
                    assert.deepEqual([r.settings.vendor, r.settings.engine, r.settings.cache], ["postgresql", "resilience", "django_redis.cache.RedisCache"]);
                    assert.deepEqual(r.errors, [], "no check errors");
                    assert.deepEqual(r.checks.filter((id) => HELPER_CHECKS.includes(id)), [], `deployment checks the helper answers: ${r.checks.join(", ")}`);
                    assert.equal(r.https.status, 200, r.https.body);
                    assert.match(r.https.body, page.shows);
                    assert.equal(r.http.status, 301, "plain http is redirected");
                    assert.equal(r.http.location, `https://${domain}/`);
                    t.diagnostic(`Django ${r.django}; other deployment checks (the project's own): ${r.checks.join(", ") || "none"}`);
                });
            }
            it("with no DJANGO_APP_* variable (manage.py runserver): sqlite3, plain http on localhost, the project's own DEBUG", async (t) => {
                if (!available(venv)) return t.skip(venv.optional);
                const r = await probe(venv, project, {}, "localhost");
                assert.deepEqual([r.settings.vendor, r.settings.cache], ["sqlite", "django.core.cache.backends.locmem.LocMemCache"]);
                assert.equal(r.settings.DEBUG, project.localDebug);
                assert.equal(r.settings.base_dir, project.baseDirType);
                assert.deepEqual(r.settings.middleware, [project.middlewareType, "cloud_logging.TraceMiddleware"]);
                assert.deepEqual(r.errors, []);
                assert.equal(r.http.status, 200, r.http.body);
                assert.match(r.http.body, project.page);
            });
        });
    }
}
