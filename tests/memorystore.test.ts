/**
 * Memorystore mode really works (issue "first real deploy", item 7).
 *
 * 1. Config: the component always enables read replicas, which "are only supported for instance
 *    sizes with nodes >= 5 GB" (https://cloud.google.com/memorystore/docs/redis/about-read-replicas),
 *    so memorystore with cache.memorySizeGb < 5 is a config error, not a failed deploy.
 * 2. Mocks: with in-transit encryption (transitEncryptionMode SERVER_AUTHENTICATION,
 *    https://cloud.google.com/memorystore/docs/redis/manage-in-transit-encryption) the instance
 *    serves TLS only, on 6378, with a server certificate signed by its own CA(s), `serverCaCerts[].cert`
 *    (https://cloud.google.com/memorystore/docs/redis/about-in-transit-encryption). The platform
 *    renders rediss:// URLs, the CA in the ConfigMap and an egress rule to 6378.
 * 3. A real TLS Redis: a throw-away CA and server certificate (CN = the IP, no subjectAltName, like
 *    Memorystore's), redis-server serving TLS only, and the reference app configured by the rendered
 *    ConfigMap and Secret (only host, port, CA and secrets replaced): a cache round trip works; a wrong
 *    CA fails, even when the right CA is among the system's trusted CAs.
 */
import assert from "node:assert/strict";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { OPTIONAL_PLAIN_VARIABLES } from "../components/appEnv";
import { ConfigError, validateConfig } from "../config";
import { FAKE_REDIS_SERVER_CA } from "../cli/lib/mockValues";
import { djangoContainers, objectsOf } from "../cli/lib/renderedWorkloads";
import { renderStack, stackConfig, T, type Rendered } from "./helpers/platform";
import { APP_DIR, PYTHON, baseEnv } from "./lib/djangoApp";
import { GroupProcess, REDIS_CLI, REDIS_SERVER, freePort, randomPassword, run, tempDir, waitFor } from "./lib/localServers";

const MEMORYSTORE = { "django-platform:cache": { mode: "memorystore", memorySizeGb: 5 } };

function configProblems(stack: string, overrides: Record<string, unknown>): string[] {
    try {
        validateConfig(stackConfig(stack, overrides).config, stack);
        return [];
    } catch (error) {
        assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
        return error.problems;
    }
}

describe("config: memorystore needs nodes of at least 5 GB (read replicas)", () => {
    test("memorySizeGb 1 is an error naming the key, the value and the fix", () => {
        assert.deepEqual(configProblems("production", { "django-platform:cache": { mode: "memorystore", memorySizeGb: 1 } }), [
            "django-platform:cache.memorySizeGb must be at least 5 with cache.mode memorystore, whose read replicas need nodes of 5 GB or more (got 1). Fix: `pulumi config set --path cache.memorySizeGb 5`.",
        ]);
    });

    test("the default size (1) with memorystore is the same error", () => {
        assert.deepEqual(configProblems("staging", { "django-platform:cache": { mode: "memorystore" } }), [
            "django-platform:cache.memorySizeGb must be at least 5 with cache.mode memorystore, whose read replicas need nodes of 5 GB or more (got 1). Fix: `pulumi config set --path cache.memorySizeGb 5`.",
        ]);
    });

    test("memorySizeGb 5 is accepted; TLS is on by default and cache.replicas keeps its default 1 (1-5 allowed)", () => {
        const cfg = validateConfig(stackConfig("staging", MEMORYSTORE).config, "staging");
        assert.deepEqual([cfg.cache.memorySizeGb, cfg.cache.transitEncryption, cfg.cache.replicas], [5, true, 1]);
    });

    test("in-cluster ignores memorySizeGb", () => {
        assert.deepEqual(configProblems("staging", { "django-platform:cache": { mode: "in-cluster", memorySizeGb: 1 } }), []);
    });

    test("transitEncryption must be a boolean", () => {
        const problems = configProblems("staging", { "django-platform:cache": { ...MEMORYSTORE["django-platform:cache"], transitEncryption: "yes" } });
        assert.equal(problems.length, 1);
        assert.match(problems[0] ?? "", /^django-platform:cache\.transitEncryption: .*\(got "yes"\)\. Fix: `pulumi config set --path cache\.transitEncryption true`\.$/);
    });
});

let memorystoreRender: Promise<Rendered> | undefined;
/** The production stack with Memorystore (TLS by default), rendered once for this file. */
function renderMemorystore(): Promise<Rendered> {
    memorystoreRender ??= renderStack("production", MEMORYSTORE);
    return memorystoreRender;
}

/** The one egress rule, in whichever NetworkPolicy of the namespace, towards a cache peer. */
function cacheEgress(r: Rendered, peer: unknown): { ports: unknown } {
    type Rule = { to?: unknown[]; ports: unknown };
    const rules = r.all(T.networkPolicy)
        .flatMap((p) => ((p.inputs as { spec: { egress?: Rule[] } }).spec.egress ?? []))
        .filter((e) => (e.to ?? []).some((t) => JSON.stringify(t) === JSON.stringify(peer)));
    assert.equal(rules.length, 1, `egress rules to ${JSON.stringify(peer)}: ${JSON.stringify(rules)}`);
    return rules[0] as Rule;
}

describe("memorystore rendered under mocks", () => {
    let tls: Rendered;
    before(async () => {
        tls = await renderMemorystore();
    });

    test("the instance: Standard tier with read replicas, AUTH, in-transit encryption", () => {
        const redis = tls.inputs(T.redis);
        assert.deepEqual(
            [redis.tier, redis.memorySizeGb, redis.readReplicasMode, redis.replicaCount, redis.authEnabled, redis.transitEncryptionMode],
            ["STANDARD_HA", 5, "READ_REPLICAS_ENABLED", 2, true, "SERVER_AUTHENTICATION"],
        );
        assert.equal(tls.all(T.statefulSet).length, 0);
    });

    test("the ConfigMap carries rediss:// URLs on 6378 (primary, read endpoint) and the server CA", () => {
        const data = tls.inputs(T.configMap).data;
        assert.equal(data.DJANGO_APP_CACHE_LOCATION, "rediss://10.99.1.3:6378/0 rediss://10.99.1.4:6378/0");
        assert.equal(data.DJANGO_APP_CACHE_CA_CERT, FAKE_REDIS_SERVER_CA);
        const secret = tls.one(T.secret, "django-workload-env");
        assert.ok(!("DJANGO_APP_CACHE_CA_CERT" in (secret.inputs as { stringData: object }).stringData), "a CA certificate is public: ConfigMap, not Secret");
    });

    test("the Django pods may reach both endpoints on 6378 only", () => {
        for (const ip of ["10.99.1.3", "10.99.1.4"]) {
            assert.deepEqual(cacheEgress(tls, { ipBlock: { cidr: `${ip}/32` } }).ports, [{ protocol: "TCP", port: 6378 }]);
        }
    });

    test("the app accepts the rendered environment and pins the rendered CA", async () => {
        const data = tls.inputs(T.configMap).data as Record<string, string>;
        // Variables set per container (the media signer, the settings module) come with the web container.
        const deployment = tls.one(T.deployment, "django-workload-web").inputs as { spec: { template: { spec: { containers: { name: string; env: { name: string; value?: string }[] }[] } } } };
        const web = deployment.spec.template.spec.containers.find((c) => c.name === "web");
        assert.ok(web, "the web container");
        const perContainer = Object.fromEntries(web.env.filter((e) => typeof e.value === "string").map((e) => [e.name, e.value as string]));
        const env = { ...baseEnv(), ...data, ...perContainer, DJANGO_APP_SECRET_KEY: randomPassword(32), DJANGO_APP_CACHE_PASSWORD: randomPassword() };
        const script = "import json, config.settings as s; o = s.CACHES['default']['OPTIONS']['CONNECTION_POOL_KWARGS']; " +
            "print(json.dumps({**o, 'connection_class': o['connection_class'].__name__}))";
        const result = await run(PYTHON, ["-c", script], { cwd: APP_DIR, env });
        assert.deepEqual(JSON.parse(result.stdout), {
            connection_class: "InstanceCASSLConnection",
            ssl_ca_data: FAKE_REDIS_SERVER_CA.trim(),
            ssl_cert_reqs: "required",
            ssl_check_hostname: false,
        });
    });

    // Google's page on in-transit encryption gives no port number; field reports give 6378 for the
    // primary endpoint, none for the read endpoint. The egress rules take each endpoint's port from
    // the instance (`port`, `readEndpointPort`), as the URLs do, never a constant: here the mocked
    // instance reports a different read endpoint port.
    test("each endpoint is allowed on the port the instance reports for it (read endpoint port differing)", async () => {
        const r = await renderStack("production", MEMORYSTORE, (type, _name, outputs) =>
            type === "gcp:redis/instance:Instance" ? { ...outputs, readEndpointPort: 6380 } : outputs);
        assert.equal(r.inputs(T.configMap).data.DJANGO_APP_CACHE_LOCATION, "rediss://10.99.1.3:6378/0 rediss://10.99.1.4:6380/0");
        assert.deepEqual(cacheEgress(r, { ipBlock: { cidr: "10.99.1.3/32" } }).ports, [{ protocol: "TCP", port: 6378 }]);
        assert.deepEqual(cacheEgress(r, { ipBlock: { cidr: "10.99.1.4/32" } }).ports, [{ protocol: "TCP", port: 6380 }]);
    });

    test("transitEncryption false: plain redis:// on 6379, no CA", async () => {
        const plain = await renderStack("production", { "django-platform:cache": { ...MEMORYSTORE["django-platform:cache"], transitEncryption: false } });
        assert.equal(plain.inputs(T.redis).transitEncryptionMode, "DISABLED");
        const data = plain.inputs(T.configMap).data;
        assert.equal(data.DJANGO_APP_CACHE_LOCATION, "redis://10.99.1.3:6379/0 redis://10.99.1.4:6379/0");
        assert.ok(!("DJANGO_APP_CACHE_CA_CERT" in data));
        assert.deepEqual(cacheEgress(plain, { ipBlock: { cidr: "10.99.1.3/32" } }).ports, [{ protocol: "TCP", port: 6379 }]);
    });

    test("in-cluster stacks render no CA variable (optional variables appear only with a value)", async () => {
        assert.ok(OPTIONAL_PLAIN_VARIABLES.includes("DJANGO_APP_CACHE_CA_CERT"));
        const staging = await renderStack("staging");
        assert.ok(!("DJANGO_APP_CACHE_CA_CERT" in staging.inputs(T.configMap).data));
    });
});

/** Probe run by the app's interpreter: primary and read connections, a cache round trip. */
const CACHE_PROBE = `
import json
from django.core.cache import cache
from django_redis import get_redis_connection
out = {}
try:
    primary = get_redis_connection("default", write=True)
    out["connection_class"] = primary.connection_pool.connection_class.__name__
    out["ping_primary"] = primary.ping()
    out["ping_read"] = cache.client.get_client(write=False).ping()
except Exception as error:
    out["error"] = f"{type(error).__name__}: {error}"
cache.set("tls-probe", "round trip", 30)
out["get"] = cache.get("tls-probe")
print(json.dumps(out))
`;

/** The same connection with redis-py's own SSLConnection and ssl_ca_data (host names unchecked, as the app does): trusts the system CAs too. */
const STOCK_SSL_PROBE = `
import os, redis
url = os.environ["DJANGO_APP_CACHE_LOCATION"].split()[0]
client = redis.Redis.from_url(url, password=os.environ["DJANGO_APP_CACHE_PASSWORD"], ssl_ca_data=os.environ["DJANGO_APP_CACHE_CA_CERT"], ssl_cert_reqs="required", ssl_check_hostname=False, socket_timeout=2)
print(client.ping())
`;

describe("the reference app against a real TLS Redis", () => {
    const dir = tempDir("memorystore-tls-");
    const password = randomPassword();
    let server: GroupProcess | undefined;
    let port = 0;
    let env: Record<string, string> = {};
    const pem = (name: string) => readFileSync(join(dir, name), "utf8");

    before(async () => {
        const openssl = (args: string[]) => run("openssl", args, { cwd: dir });
        const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
        await openssl(["req", "-x509", ...ec, "-days", "1", "-subj", "/CN=Test Memorystore Server CA", "-keyout", "ca.key", "-out", "ca.pem"]);
        await openssl(["req", "-x509", ...ec, "-days", "1", "-subj", "/CN=Some Other CA", "-keyout", "other-ca.key", "-out", "other-ca.pem"]);
        // Like Memorystore's: the IP in the CN, no subjectAltName — so hostname checks cannot pass.
        await openssl(["req", ...ec, "-subj", "/CN=127.0.0.1", "-keyout", "server.key", "-out", "server.csr"]);
        await openssl(["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "1", "-out", "server.pem"]);

        port = await freePort();
        server = new GroupProcess("redis (TLS only)", REDIS_SERVER, [
            "--port", "0", "--tls-port", String(port), "--bind", "127.0.0.1",
            "--tls-cert-file", join(dir, "server.pem"), "--tls-key-file", join(dir, "server.key"), "--tls-ca-cert-file", join(dir, "ca.pem"),
            "--tls-auth-clients", "no", "--requirepass", password, "--dir", dir, "--save", "", "--appendonly", "no",
        ], { env: { PATH: "/usr/bin:/bin" } });
        await waitFor(`redis TLS on 127.0.0.1:${port}`, async () => {
            const ping = await run(REDIS_CLI, ["--tls", "--cacert", join(dir, "ca.pem"), "-h", "127.0.0.1", "-p", String(port), "--no-auth-warning", "PING"], {
                env: { PATH: "/usr/bin:/bin", REDISCLI_AUTH: password }, check: false, timeoutMs: 2_000,
            });
            return ping.stdout.trim() === "PONG";
        }, { process: server, timeoutMs: 10_000 });

        // What the platform renders for Memorystore, only the endpoints, the CA and the secrets replaced.
        const rendered = await renderMemorystore();
        const data = rendered.inputs(T.configMap).data as Record<string, string>;
        // The web container's own literals too (its database login, DJANGO_APP_DB_USER, is set per container).
        const web = djangoContainers(objectsOf(rendered.resources), { manageJob: false }).find((c) => c.workload.component === "web" && !c.init);
        assert.ok(web, "the web container is rendered");
        const literals = Object.fromEntries([...web.env].flatMap(([name, source]) => (source.kind === "value" ? [[name, source.value]] : [])));
        env = {
            ...baseEnv(),
            DJANGO_SETTINGS_MODULE: "config.settings",
            ...data,
            ...literals,
            DJANGO_APP_CACHE_LOCATION: data.DJANGO_APP_CACHE_LOCATION.replace(/10\.99\.1\.[34]:6378/g, `127.0.0.1:${port}`),
            DJANGO_APP_CACHE_CA_CERT: pem("ca.pem"),
            DJANGO_APP_SECRET_KEY: randomPassword(32),
            DJANGO_APP_DB_PASSWORD: randomPassword(),
            DJANGO_APP_CACHE_PASSWORD: password,
        };
        assert.match(env.DJANGO_APP_CACHE_LOCATION ?? "", new RegExp(`^rediss://127\\.0\\.0\\.1:${port}/0 rediss://127\\.0\\.0\\.1:${port}/0$`));
    });

    after(async () => {
        await server?.stop();
        rmSync(dir, { recursive: true, force: true });
    });

    async function probe(script: string, overrides: Record<string, string> = {}): Promise<string> {
        const result = await run(PYTHON, ["-c", script], { cwd: APP_DIR, env: { ...env, ...overrides }, check: false, timeoutMs: 20_000 });
        assert.equal(result.code, 0, result.stderr);
        return result.stdout.trim();
    }

    test("with the instance CA: TLS connections to both locations and a cache round trip", async () => {
        assert.deepEqual(JSON.parse(await probe(CACHE_PROBE)), { connection_class: "InstanceCASSLConnection", ping_primary: true, ping_read: true, get: "round trip" });
    });

    test("with a wrong CA the connection fails verification (and the cache silently misses)", async () => {
        const out = JSON.parse(await probe(CACHE_PROBE, { DJANGO_APP_CACHE_CA_CERT: pem("other-ca.pem") })) as { error?: string; get?: unknown };
        assert.match(out.error ?? "", /ConnectionError: .*certificate verify failed/);
        assert.equal(out.get, null, "IGNORE_EXCEPTIONS turns the failure into a miss: the connection check above is what shows it");
    });

    test("system CAs are not trusted: a wrong CA fails even when the server's CA is a system CA (redis-py's own SSLConnection would connect)", async () => {
        const systemTrustsServer = { SSL_CERT_FILE: join(dir, "ca.pem"), DJANGO_APP_CACHE_CA_CERT: pem("other-ca.pem") };
        assert.equal(await probe(STOCK_SSL_PROBE, systemTrustsServer), "True", "control: the stock SSLConnection falls back to the system CAs");
        const out = JSON.parse(await probe(CACHE_PROBE, systemTrustsServer)) as { error?: string };
        assert.match(out.error ?? "", /ConnectionError: .*certificate verify failed/);
    });

    test("a rediss:// location without the CA stops the app at startup", async () => {
        const result = await run(PYTHON, ["-c", "import config.settings"], { cwd: APP_DIR, env: { ...env, DJANGO_APP_CACHE_CA_CERT: "" }, check: false });
        assert.notEqual(result.code, 0);
        assert.match(result.stderr, /ImproperlyConfigured: DJANGO_APP_CACHE_LOCATION uses rediss:\/\/ but DJANGO_APP_CACHE_CA_CERT is empty/);
    });
});
