/**
 * Config validation: exact messages for representative mistakes, and a sweep proving that a bad
 * value for EVERY key of the schema fails with a message naming that key.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { z } from "zod";
import { ConfigError, PRODUCTION_STACK_PATTERNS, configSchema, crossFieldProblems, formatPath, validateConfig } from "../config";
import { maxConnectionsForTier } from "../components/connectionBudget";
import { SECRET_NAME_PATTERN, secretLookingExtra } from "../components/appEnv";
import { DEFAULT_SECRET_NAME_PATTERN, isSecretName, looksLikeSecretValue } from "../policy/lib/secrets";
import { DEFAULT_PRODUCTION_STACKS } from "../policy/lib/define";
import { REDIS_IMAGE } from "../components/cache";
import { stackConfig } from "./helpers/platform";

const BASE: Record<string, string> = {
    "gcp:project": "acme-staging",
    "gcp:region": "europe-west1",
    "django-platform:domain": "app.example.com",
    "django-platform:image": "repo/app:1.0",
};

function problemsFor(patch: Record<string, string | undefined>): string[] {
    const raw: Record<string, string | undefined> = { ...BASE, ...patch };
    for (const k of Object.keys(raw)) {
        if (raw[k] === undefined) {
            delete raw[k];
        }
    }
    try {
        validateConfig(raw, "staging");
    } catch (err) {
        assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
        return err.problems;
    }
    return [];
}

const json = (v: unknown) => JSON.stringify(v);

describe("config: exact messages", () => {
    const table: Array<[string, Record<string, string | undefined>, string]> = [
        ["image :latest", { "django-platform:image": "repo/app:latest" }, "django-platform:image: must be pinned by a tag other than latest or by digest (repo/app:1.4.2 or repo/app@sha256:…) (got \"repo/app:latest\"). Fix: `pulumi config set image europe-docker.pkg.dev/acme/django/app:1.4.2`."],
        ["image without tag", { "django-platform:image": "repo/app" }, "django-platform:image: must be pinned by a tag other than latest or by digest (repo/app:1.4.2 or repo/app@sha256:…) (got \"repo/app\"). Fix: `pulumi config set image europe-docker.pkg.dev/acme/django/app:1.4.2`."],
        ["the admin on without its path", { "django-platform:app": json({ admin: { enabled: true } }) }, "django-platform:app.admin.path is required when app.admin.enabled is true (got nothing): the admin needs a URL prefix, best one nobody can guess. Fix: `pulumi config set --path app.admin.path \"admin-$(openssl rand -hex 8)/\"`, or `pulumi config set --path app.admin.enabled false`."],
        ["an admin path with a leading slash", { "django-platform:app": json({ admin: { enabled: true, path: "/admin/" } }) }, "django-platform:app.admin.path: must be a relative URL prefix ending in a slash, such as staff-7f3a9c/ (got \"/admin/\"). Fix: `pulumi config set --path app.admin.path staff-7f3a9c21/`."],
        ["missing domain", { "django-platform:domain": undefined }, "django-platform:domain: is required (got nothing). Fix: `pulumi config set domain app.example.com`."],
        ["missing gcp:project", { "gcp:project": undefined }, "gcp:project: is required (got nothing). Fix: `pulumi config set gcp:project acme-staging`."],
        ["min > max replicas", { "django-platform:workload": json({ minReplicas: 5, maxReplicas: 2 }) }, "django-platform:workload.minReplicas (5) must be less than or equal to django-platform:workload.maxReplicas (2). Fix: `pulumi config set --path workload.maxReplicas 5`."],
        // "Spot Pods … can be evicted by GKE whenever compute resources are required to run standard
        // Pods" (https://cloud.google.com/kubernetes-engine/docs/how-to/autopilot-spot-pods): one
        // Spot web pod means the site is down until a new one is scheduled.
        ["a single Spot web pod", { "django-platform:workload": json({ spot: true, minReplicas: 1 }) }, "django-platform:workload.minReplicas is 1 with django-platform:workload.spot true: GKE may evict a Spot Pod whenever it needs the capacity, and with one web pod the site is down until another is scheduled. Fix: `pulumi config set --path workload.minReplicas 2` (two Spot pods, spread over zones and nodes), or `pulumi config set --path workload.spot false`."],
        ["unknown connector", { "django-platform:database": json({ connector: "public" }) }, "django-platform:database.connector: Invalid option: expected one of \"auth-proxy\"|\"private-ip\" (got \"public\"). Fix: `pulumi config set --path database.connector private-ip`."],
        ["typo in nested key", { "django-platform:database": json({ tierr: "db-f1-micro" }) }, "django-platform:database.tierr: unknown key; did you mean database.tier? (got \"db-f1-micro\"). Fix: `pulumi config rm --path database.tierr`, then `pulumi config set --path database.tier db-f1-micro`."],
        ["typo one level down, the value moved as the CLI would store it", { "django-platform:workload": json({ maxReplica: 5 }) }, "django-platform:workload.maxReplica: unknown key; did you mean workload.maxReplicas? (got 5). Fix: `pulumi config rm --path workload.maxReplica`, then `pulumi config set --path workload.maxReplicas 5`."],
        ["typo two levels down", { "django-platform:edge": json({ armor: { rateLimitPerMinut: 300 } }) }, "django-platform:edge.armor.rateLimitPerMinut: unknown key; did you mean edge.armor.rateLimitPerMinute? (got 300). Fix: `pulumi config rm --path edge.armor.rateLimitPerMinut`, then `pulumi config set --path edge.armor.rateLimitPerMinute 300`."],
        ["typo inside a record entry", { "django-platform:workers": json({ tasks: { command: ["python", "manage.py", "demo_worker"], maxReplica: 3 } }) }, "django-platform:workers.tasks.maxReplica: unknown key; did you mean workers.tasks.maxReplicas? (got 3). Fix: `pulumi config rm --path workers.tasks.maxReplica`, then `pulumi config set --path workers.tasks.maxReplicas 3`."],
        ["a misspelt key beside the one it meant", { "django-platform:database": json({ tier: "db-f1-micro", tierr: "db-g1-small" }) }, "django-platform:database.tierr: unknown key; did you mean database.tier, which is set too? (got \"db-g1-small\"). Fix: keep one: `pulumi config rm --path database.tierr`, after moving what you meant into database.tier."],
        ["unknown key with nothing near: the keys that exist", { "django-platform:media": json({ signedUrlExpiry: "7d" }) }, "django-platform:media.signedUrlExpiry: unknown key; media has enabled, location, noncurrentVersionDays, forceDestroy (got \"7d\"). Fix: `pulumi config rm --path media.signedUrlExpiry`."],
        ["typo in top-level key", { "django-platform:databse": "{}" }, "django-platform:databse: unknown key; did you mean database? (got \"{}\"). Fix: `pulumi config rm databse`, then `pulumi config set database '{}'`."],
        // The policy pack refuses the env ConfigMap then (config-map-forbids-secret-values); say so
        // at the key, and never echo the value.
        ["a password in appEnv", { "django-platform:appEnv": json({ DATABASE_PASSWORD: "hunter2" }) }, "django-platform:appEnv.DATABASE_PASSWORD: looks like a secret (its name matches the policy pack's secret-name pattern), but appEnv goes into the env ConfigMap in plain text, which the policy config-map-forbids-secret-values refuses (got a value that is not shown). Fix: `pulumi config rm --path appEnv.DATABASE_PASSWORD`, then `pulumi config set --secret --path appSecrets.DATABASE_PASSWORD <value>`."],
        ["a private key in appEnv", { "django-platform:appEnv": json({ SIGNING: "-----BEGIN PRIVATE KEY-----\nMIIE" }) }, "django-platform:appEnv.SIGNING: looks like a secret (its value is a private key), but appEnv goes into the env ConfigMap in plain text, which the policy config-map-forbids-secret-values refuses (got a value that is not shown). Fix: `pulumi config rm --path appEnv.SIGNING`, then `pulumi config set --secret --path appSecrets.SIGNING <value>`."],
        ["CORS wildcard", { "django-platform:statics": json({ corsOrigins: ["*"] }) }, "django-platform:statics.corsOrigins[0]: must be an https origin without path, such as https://app.example.com (got \"*\"). Fix: `pulumi config set --path 'statics.corsOrigins[0]' https://app.example.com`."],
        ["CDN without domain", { "django-platform:statics": json({ cdn: { enabled: true } }) }, "django-platform:statics.cdn.domain is required when statics.cdn.enabled is true (got nothing). Fix: `pulumi config set --path statics.cdn.domain static.app.example.com`."],
        ["a private range on the egress allow list", { "django-platform:network": json({ egressAllowList: ["203.0.113.0/24", "10.1.0.0/16"] }) }, "django-platform:network.egressAllowList: 10.1.0.0/16 lies inside the non-public range 10.0.0.0/8, which the allow list never opens (it is for internet hosts; the database and the cache have their own rules). Fix: `pulumi config rm --path 'network.egressAllowList[1]'`, or give the host's public range."],
        ["Binary Authorization with a Docker Hub short name", { "django-platform:image": "europe-docker.pkg.dev/acme/django/app:1.0", "django-platform:security": json({ binaryAuthorization: "enforce" }), "django-platform:cache": json({ image: "redis:7.4.2-alpine" }) }, "django-platform:cache.image is redis:7.4.2-alpine, without its registry: Binary Authorization's allowlist names images as registry/path/to/image, so this one would be refused. Fix: `pulumi config set --path cache.image docker.io/library/redis:7.4.2-alpine` (the same image, named in full)."],
        ["Binary Authorization on a cluster the program did not create", { "django-platform:image": "europe-docker.pkg.dev/acme/django/app:1.0", "django-platform:security": json({ binaryAuthorization: "dry-run" }), "django-platform:cache": json({ image: "docker.io/library/redis:7.4.2-alpine" }), "django-platform:cluster": json({ mode: "existing", name: "shared-gke" }), "django-platform:network": json({ mode: "existing", name: "shared", subnetName: "gke", privateServicesRangeName: "psa" }) }, "django-platform:security.binaryAuthorization is \"dry-run\" with cluster.mode existing: the program does not change a cluster it did not create, and the project's policy would be written for a cluster that may not evaluate it. Fix: `pulumi config set --path security.binaryAuthorization off`, and set Binary Authorization on the cluster and its project yourself."],
        ["control plane open to the internet", { "django-platform:cluster": json({ masterAuthorizedNetworks: [{ cidr: "0.0.0.0/0", name: "all" }] }) }, "django-platform:cluster.masterAuthorizedNetworks: all (0.0.0.0/0) opens the control plane to the internet. Fix: your office's range (`pulumi config set --path 'cluster.masterAuthorizedNetworks[0].cidr' <office CIDR>`), or remove the entry (`pulumi config rm --path 'cluster.masterAuthorizedNetworks[0]'`): without authorized networks the IP endpoint is off and the DNS-based endpoint, checked by IAM, is the way in."],
        ["extra shadows the contract", { "django-platform:appSecrets": json({ DJANGO_APP_SECRET_KEY: "x" }) }, "django-platform:appSecrets.DJANGO_APP_SECRET_KEY: DJANGO_APP_SECRET_KEY is set by the platform and cannot be overridden. Fix: `pulumi config rm --path appSecrets.DJANGO_APP_SECRET_KEY`."],
        ["bad extra name; the secret value is never echoed", { "django-platform:appSecrets": json({ "sentry-dsn": "hunter2" }) }, "django-platform:appSecrets.sentry-dsn: must be an upper-case environment variable name (got \"sentry-dsn\"). Fix: `pulumi config rm --path appSecrets.sentry-dsn`, then set it as appSecrets.SENTRY_DSN with --secret."],
        ["image that is not a reference", { "django-platform:image": "not an image:1" }, "django-platform:image: is not a container image reference (registry/repository:tag or @sha256:digest) (got \"not an image:1\"). Fix: `pulumi config set image europe-docker.pkg.dev/acme/django/app:1.4.2`."],
        ["memorystore replicas", { "django-platform:cache": json({ mode: "memorystore", replicas: 0, memorySizeGb: 5 }) }, "django-platform:cache.replicas must be between 1 and 5 with cache.mode memorystore (got 0). Fix: `pulumi config set --path cache.replicas 1`."],
        ["existing cluster without name", { "django-platform:cluster": json({ mode: "existing" }), "django-platform:network": json({ mode: "existing", name: "shared", subnetName: "gke", privateServicesRangeName: "psa" }) }, "django-platform:cluster.name is required when cluster.mode is existing (got nothing). Fix: `pulumi config set --path cluster.name <cluster-name>`."],
        ["not structured", { "django-platform:database": "not json" }, "django-platform:database: is not valid structured config (got \"not json\"). Fix: `pulumi config rm database` (its defaults apply), then set its fields one by one with pulumi config set --path database.<field> <value>."],
    ];
    for (const [title, patch, expected] of table) {
        it(title, () => assert.deepEqual(problemsFor(patch), [expected]));
    }

    it("collects every problem at once", () => {
        const problems = problemsFor({ "django-platform:image": "repo/app:latest", "django-platform:domain": undefined });
        assert.equal(problems.length, 2);
        assert.match(problems[0], /^django-platform:domain: is required/);
        assert.match(problems[1], /^django-platform:image: must be pinned/);
    });

    it("the ConfigError message lists the problems and carries no stack trace noise", () => {
        assert.throws(() => validateConfig({ ...BASE, "django-platform:image": "r/a:latest" }, "s"), (err: Error) => {
            assert.equal(err.name, "ConfigError");
            assert.match(err.message, /^Invalid stack configuration \(1 problem\):\n {2}- django-platform:image: /);
            return true;
        });
    });
});

describe("config: appSecrets must be encrypted in the stack file", () => {
    const secrets = json({ SENTRY_DSN: "https://key@sentry.example.com/1", API_TOKEN: "t0ken" });
    const problems = (encrypted: (path: string) => boolean) => {
        try {
            validateConfig({ ...BASE, "django-platform:appSecrets": secrets }, "staging", { encrypted });
            return [];
        } catch (err) {
            assert.ok(err instanceof ConfigError);
            return err.problems;
        }
    };

    it("names every plain-text entry with the --secret command, and never echoes the value", () => {
        assert.deepEqual(problems(() => false), [
            "django-platform:appSecrets.API_TOKEN: is stored in plain text, so the stack file you commit holds the secret (got a value that is not shown). Fix: `pulumi config set --secret --path appSecrets.API_TOKEN <value>` (the encrypted value replaces the plain one).",
            "django-platform:appSecrets.SENTRY_DSN: is stored in plain text, so the stack file you commit holds the secret (got a value that is not shown). Fix: `pulumi config set --secret --path appSecrets.SENTRY_DSN <value>` (the encrypted value replaces the plain one).",
        ]);
    });

    it("accepts encrypted entries, and refuses only the plain one of a mixed map", () => {
        assert.deepEqual(problems(() => true), []);
        const mixed = problems((p) => p === "appSecrets.SENTRY_DSN");
        assert.equal(mixed.length, 1);
        assert.match(mixed[0], /^django-platform:appSecrets\.API_TOKEN: is stored in plain text/);
    });

    it("is not asked without knowledge of the storage (pure validation of values)", () => {
        assert.deepEqual(problemsFor({ "django-platform:appSecrets": secrets }), []);
    });
});

describe("config: appEnv refuses what the policy pack refuses in the env ConfigMap", () => {
    it("uses the policy's own secret-name pattern and private-key markers (the two packages agree)", () => {
        assert.equal(SECRET_NAME_PATTERN, DEFAULT_SECRET_NAME_PATTERN);
        const names = ["DATABASE_PASSWORD", "db_passwd", "SENTRY_SECRET", "GITHUB_TOKEN", "AWS_ACCESS_KEY_ID", "STRIPE_API_KEY", "SIGNING_KEY", "SSH_PUBLIC_KEY", "FEATURE_FLAGS", "KEYCLOAK_URL", "CREDENTIALS", "BEARER"];
        const values = ["-----BEGIN RSA PRIVATE KEY-----\nMII", "---BEGIN OPENSSH PRIVATE KEY---", "PuTTY-User-Key-File-3: ssh-ed25519", "-----BEGIN CERTIFICATE-----", "-----BEGIN PUBLIC KEY-----", "beta"];
        for (const name of names) {
            assert.equal(secretLookingExtra(name, "x") === "name", isSecretName(name, DEFAULT_SECRET_NAME_PATTERN), name);
        }
        for (const value of values) {
            assert.equal(secretLookingExtra("FEATURE", value) === "value", looksLikeSecretValue(value), value);
        }
    });
});

describe("config: connection budget", () => {
    it("knows Cloud SQL's defaults per tier", () => {
        assert.equal(maxConnectionsForTier("db-f1-micro"), 25);
        assert.equal(maxConnectionsForTier("db-g1-small"), 50);
        assert.equal(maxConnectionsForTier("db-custom-1-3840"), 100);
        assert.equal(maxConnectionsForTier("db-custom-2-7680"), 400);
        assert.equal(maxConnectionsForTier("db-perf-optimized-N-2"), undefined);
    });

    it("fails with the exact arithmetic when the web tier cannot fit", () => {
        assert.deepEqual(problemsFor({ "django-platform:workload": json({ maxReplicas: 50 }) }), [
            "connection budget exceeded: a rollout at django-platform:workload.maxReplicas (50) runs 89 pods that hold connections (50 + 13 surge at maxSurge 25% + 13 still draining + 13 stopped by one more disruption: an autoscaler step, a second rollout or a lost node) × gunicornWorkers (2) × gunicornThreads (4) + 2 Job connections = 714, but db-custom-1-3840 allows 100 max_connections (97 after 3 reserved for superusers). Fix: `pulumi config set --path workload.maxReplicas 5` (5 + 2 surge + 2 + 2 draining = 11 pods × 8 + 2 = 90), or fewer gunicornWorkers/gunicornThreads, or a bigger tier (`pulumi config set --path database.tier db-custom-16-61440`).",
        ]);
    });

    it("accepts exactly the limit and refuses one more", () => {
        // 97 usable: 53 pods + 14 surge + 14 + 14 draining = 95 connections + 2 jobs fits; 54 + 14 × 3 + 2 = 98 does not.
        const fits = { "django-platform:workload": json({ maxReplicas: 53, gunicornWorkers: 1, gunicornThreads: 1 }) };
        const over = { "django-platform:workload": json({ maxReplicas: 54, gunicornWorkers: 1, gunicornThreads: 1 }) };
        assert.deepEqual(problemsFor(fits), []);
        assert.equal(problemsFor(over).length, 1);
    });

    it("an explicit database.maxConnections is used instead of the tier's default", () => {
        // 497 usable: 34 + 9 + 9 + 9 = 61 pods × 8 + 2 = 490 fits (the tier's 100 would not).
        assert.deepEqual(problemsFor({ "django-platform:database": json({ maxConnections: 500 }), "django-platform:workload": json({ maxReplicas: 34 }) }), []);
        assert.equal(problemsFor({ "django-platform:workload": json({ maxReplicas: 34 }) }).length, 1);
    });

    it("a tier with unknown defaults needs database.maxConnections", () => {
        assert.deepEqual(problemsFor({ "django-platform:database": json({ tier: "db-perf-optimized-N-2", edition: "ENTERPRISE_PLUS" }) }), [
            "django-platform:database.maxConnections is required for tier db-perf-optimized-N-2, whose default max_connections is not known here. Fix: `pulumi config set --path database.maxConnections 200`.",
        ]);
    });
});

/** Every leaf key path of the schema, with the zod schema at that leaf. */
function leaves(schema: z.ZodType, prefix: string[] = []): Array<[string[], z.ZodType]> {
    let s: unknown = schema;
    for (let i = 0; i < 6; i++) {
        const def = (s as { def?: { innerType?: unknown; in?: unknown } }).def;
        if (s instanceof z.ZodObject || !def || !(def.innerType ?? def.in)) {
            break;
        }
        s = def.innerType ?? def.in;
    }
    if (s instanceof z.ZodObject) {
        return Object.entries(s.shape).flatMap(([k, v]) => leaves(v as z.ZodType, [...prefix, k]));
    }
    return [[prefix, schema]];
}

describe("config: a bad value for any key names that key", () => {
    for (const [path] of leaves(configSchema)) {
        const key = formatPath(path);
        it(key, () => {
            // A value of the wrong type for every leaf: objects where scalars belong, and vice versa.
            const bad = { "not-a": "valid value" };
            let value: unknown = bad;
            for (const part of [...path.slice(1)].reverse()) {
                value = { [part]: value };
            }
            const raw = path.length === 1 && ["domain", "image"].includes(path[0]) ? json(bad) : json(value);
            const problems = problemsFor({ [`django-platform:${path[0]}`]: raw });
            assert.ok(problems.some((p) => p.startsWith(`django-platform:${key}`)), `no problem names ${key}: ${problems.join(" | ")}`);
        });
    }
});

describe("config: the stack files", () => {
    for (const stack of ["staging", "production"]) {
        it(`${stack} validates`, () => {
            const { config } = stackConfig(stack);
            const cfg = validateConfig(config, stack);
            assert.equal(cfg.stack, stack);
            assert.deepEqual(crossFieldProblems(cfg), []);
        });
    }

    const differences: Array<[string, (c: ReturnType<typeof validateConfig>) => unknown, unknown, unknown]> = [
        ["database.highAvailability", (c) => c.database.highAvailability, false, true],
        ["database.deletionProtection", (c) => c.database.deletionProtection, false, true],
        ["database.backups.pointInTimeRecovery", (c) => c.database.backups.pointInTimeRecovery, true, true],
        ["database.tier", (c) => c.database.tier, "db-f1-micro", "db-custom-2-7680"],
        ["workload.spot", (c) => c.workload.spot, true, false],
        ["edge.armor.enabled", (c) => c.edge.armor.enabled, false, true],
        ["cluster.deletionProtection", (c) => c.cluster.deletionProtection, false, true],
        ["statics.cdn.enabled", (c) => c.statics.cdn.enabled, false, true],
        ["cache.replicas", (c) => c.cache.replicas, 1, 2],
        ["workload.minReplicas", (c) => c.workload.minReplicas, 2, 3],
        ["workload.maxReplicas", (c) => c.workload.maxReplicas, 3, 20],
    ];
    for (const [key, read, staging, production] of differences) {
        it(`${key}: staging ${String(staging)}, production ${String(production)}`, () => {
            assert.equal(read(validateConfig(stackConfig("staging").config, "staging")), staging);
            assert.equal(read(validateConfig(stackConfig("production").config, "production")), production);
        });
    }
});

describe("config: the in-cluster Redis image is pinned by digest in production stacks", () => {
    const problemsIn = (stack: string, cache: Record<string, unknown>) => {
        try {
            validateConfig({ ...BASE, "django-platform:cache": json(cache) }, stack);
            return [];
        } catch (err) {
            assert.ok(err instanceof ConfigError, String(err));
            return err.problems;
        }
    };

    it("the default is the official image by digest, named with its registry (docker-library/repo-info's redis:7.4.11-alpine index; Binary Authorization's allowlist needs the registry)", () => {
        assert.equal(REDIS_IMAGE, "docker.io/library/redis:7.4.11-alpine@sha256:ff02b58f971e7d7d156a1267e283fcbbeee91773b6aa36c49dac28ecfe28eadf");
        assert.equal(validateConfig(BASE, "production").cache.image, REDIS_IMAGE);
    });

    it("a tag-only image is refused in a production stack, with the commands that fix it", () => {
        assert.deepEqual(problemsIn("production", { image: "redis:7.4.2-alpine" }), [
            "django-platform:cache.image is pinned by tag only (got \"redis:7.4.2-alpine\") in the production stack \"production\": whoever controls that tag on its registry decides what runs next to your data at the next Redis restart. " +
                `Fix: \`pulumi config rm --path cache.image\` (the default: ${REDIS_IMAGE}), or pin your tag by its digest (\`docker buildx imagetools inspect redis:7.4.2-alpine\` prints it): \`pulumi config set --path cache.image redis:7.4.2-alpine@sha256:<digest>\`.`,
        ]);
        assert.equal(problemsIn("acme-prod", { image: "redis:8.0.2" }).length, 1, "*-prod is production too");
    });

    it("accepted: a digest in production; a tag in staging; any image with Memorystore, which runs none", () => {
        assert.deepEqual(problemsIn("production", { image: "redis:7.4.10-alpine@sha256:e7723ff73d963f5cc6d9c4643ea3d989527a402a319239054e9472a7fb9219a2" }), []);
        assert.deepEqual(problemsIn("staging", { image: "redis:7.4.2-alpine" }), []);
        assert.deepEqual(problemsIn("production", { mode: "memorystore", memorySizeGb: 5, image: "redis:7.4.2-alpine" }), []);
    });

    it("production stacks are the policy pack's default productionStacks", () => {
        assert.deepEqual(PRODUCTION_STACK_PATTERNS, DEFAULT_PRODUCTION_STACKS);
    });
});
