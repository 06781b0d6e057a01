/**
 * Contract between what the platform renders and what the reference app reads (static checks:
 * each test imports the settings at most once). Running every rendered workload against real
 * services — pages, probes, uploads, the worker, the schedules, outages — is tests/local.test.ts
 * and tests/local-modes.test.ts (`npm run local`), which replaced the running half of this file.
 *
 * 1. Synth the staging stack offline — with one Redis replica (`cache.replicas: 1`) — and read
 *    manifests.yaml: the web Deployment → its envFrom ConfigMap and Secret, POD_IP from the
 *    downward API, the rendered gunicorn command and probes, the migrate and collectstatic Jobs.
 * 2. Contract symmetry: the DJANGO_APP_* names the app reads (settings.ENV_CONTRACT) equal those
 *    the ConfigMap and Secret provide, minus the extras the stack file declares; the per-container
 *    variables (the media bucket and its signer) are never in the ConfigMap.
 * 3. The image as built (Dockerfile USER, EXPOSE) matches the pod's securityContext, the bind
 *    address and the probes' port; the GCS settings built from the rendered values name the
 *    rendered buckets and signer.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { OPTIONAL_CONTAINER_VARIABLES, OPTIONAL_PLAIN_VARIABLES, OPTIONAL_SECRET_VARIABLES } from "../components/appEnv";
import { APP_DIR, PYTHON, appContract, baseEnv, dockerfileFinalStage, synthStagingWith } from "./lib/djangoApp";
import { randomPassword, run } from "./lib/localServers";
import {
  REPO,
  argv,
  byComponent,
  container,
  containerEnv,
  declaredExtras,
  expandKubernetesVars,
  podSpec,
  type Container,
  type EnvSource,
  type K8sDoc,
} from "./lib/rendered";

const STACK_FILE = join(REPO, "Pulumi.staging.yaml");
/** Stands in for status.podIP: the probes' Host header is the pod IP. */
const POD_IP = "10.8.0.15";

const sorted = (names: Iterable<string>) => [...names].sort();
const isSecretPlaceholder = (value: string) => value.startsWith("[secret");

let docs: K8sDoc[] = [];
let web: K8sDoc;
let webContainer: Container;
let webEnv: Map<string, EnvSource>;

before(async () => {
  docs = await synthStagingWith({ "django-platform:cache": { replicas: 1 } });
  web = byComponent(docs, "Deployment", "web");
  webContainer = container(web, "web");
  webEnv = containerEnv(docs, webContainer);
});

/** The value following `flag` in an argument vector. */
function flagValue(args: readonly string[], flag: string): string {
  const index = args.indexOf(flag);
  const value = index === -1 ? undefined : args[index + 1];
  if (value === undefined) throw new Error(`${flag} not found in ${JSON.stringify(args)}`);
  return value;
}

function rendered(name: string): string {
  const value = webEnv.get(name)?.value;
  if (value === undefined) throw new Error(`${name} is not in the web container's environment`);
  return value;
}

describe("contract between the rendered manifests and the app", () => {
  test("the app reads exactly the DJANGO_APP_* variables the web ConfigMap and Secret provide (minus declared extras)", async () => {
    const app = await appContract();
    const refs = webContainer.envFrom ?? [];
    assert.equal(refs.filter((r) => r.configMapRef).length, 1, "web container: expected one envFrom configMapRef");
    assert.equal(refs.filter((r) => r.secretRef).length, 1, "web container: expected one envFrom secretRef");
    const extras = declaredExtras(STACK_FILE);
    const ofKind = (kind: EnvSource["kind"]) => [...webEnv].filter(([, source]) => source.kind === kind).map(([name]) => name);
    for (const [kind, names] of [["configMap", extras.plain], ["secret", extras.secret]] as const) {
      for (const name of names) assert.ok(ofKind(kind).includes(name), `extra ${name} is declared in Pulumi.staging.yaml but not rendered in the ${kind}`);
    }
    const plain = ofKind("configMap").filter((name) => !extras.plain.includes(name));
    const secret = ofKind("secret").filter((name) => !extras.secret.includes(name));
    // Optional variables (components/appEnv.ts) are rendered only when the stack has a value (the cache
    // CA only with Memorystore TLS, see memorystore.test.ts); the app must read them all the same.
    const optional: readonly string[] = OPTIONAL_PLAIN_VARIABLES;
    for (const name of optional) assert.ok(app.plain.includes(name), `${name} is an optional contract variable app/config/settings.py does not read`);
    const expectedPlain = app.plain.filter((name) => !optional.includes(name) || plain.includes(name));
    assert.deepEqual(sorted(plain), expectedPlain, "ConfigMap keys (left) vs. plain variables app/config/settings.py reads, minus optional ones not rendered (right)");
    // The database password is rendered only with password authentication: staging logs in with IAM.
    const optionalSecret: readonly string[] = OPTIONAL_SECRET_VARIABLES;
    for (const name of optionalSecret) assert.ok(app.secret.includes(name), `${name} is an optional secret variable app/config/settings.py does not read`);
    assert.deepEqual(sorted(secret), app.secret.filter((name) => !optionalSecret.includes(name) || secret.includes(name)), "Secret keys (left) vs. secret variables app/config/settings.py reads, minus optional ones not rendered (right)");
    assert.ok(!secret.includes("DJANGO_APP_DB_PASSWORD"), "staging's pods log in with IAM: no database password");
    assert.deepEqual(sorted(ofKind("fieldRef")), app.downward, "downward-API variables vs. the app's");
    // Per-container values (the media bucket and its signer): rendered in the container's own env,
    // never in the ConfigMap; the two together (staging has media on, so the web container has both).
    const perContainer = ofKind("value").filter((name) => name.startsWith("DJANGO_APP_"));
    for (const name of perContainer) assert.ok(app.container.includes(name), `${name} is set in the web container's env but app/config/settings.py does not read it as a per-container value`);
    const optionalContainer: readonly string[] = OPTIONAL_CONTAINER_VARIABLES;
    for (const name of optionalContainer) assert.ok(app.container.includes(name), `${name} is an optional per-container variable app/config/settings.py does not read`);
    assert.deepEqual(sorted(perContainer), app.container.filter((name) => !optionalContainer.includes(name)), "the web container's own DJANGO_APP_* variables vs. the per-container variables the app reads (the migrate Job's role aside)");
    const migrateEnv = containerEnv(docs, podSpec(byComponent(docs, "Job", "migrate")).containers[0] as Container);
    assert.deepEqual(sorted([...migrateEnv.keys()].filter((n) => optionalContainer.includes(n))), [...optionalContainer], "the migrate Job sets the role it acts as");
    for (const name of app.container) assert.ok(!ofKind("configMap").includes(name), `${name} must be set per container, not in the shared ConfigMap`);
    assert.equal(webEnv.has("DJANGO_APP_MEDIA_SIGNER"), webEnv.has("DJANGO_APP_MEDIA_BUCKET"), "DJANGO_APP_MEDIA_SIGNER must be rendered exactly when DJANGO_APP_MEDIA_BUCKET is");
    for (const name of app.downward) assert.equal(webEnv.get(name)?.from, "status.podIP", `${name} must come from status.podIP`);
    for (const name of secret) assert.ok(isSecretPlaceholder(rendered(name)), `${name} must be a placeholder in manifests.yaml`);
  });

  test("the migrate and collectstatic Jobs get the same ConfigMap and Secret as the web pods (their logins are their own)", () => {
    for (const component of ["migrate", "collectstatic"]) {
      const job = byComponent(docs, "Job", component);
      const [jobContainer] = podSpec(job).containers;
      assert.deepEqual(jobContainer?.envFrom, webContainer.envFrom, `${component} Job envFrom`);
    }
  });

  test("the Deployment runs the image as built: uid/gid 10001, ports 8000 and 8081, a writable --worker-tmp-dir", () => {
    const image = dockerfileFinalStage(readFileSync(join(APP_DIR, "Dockerfile"), "utf8"));
    const user = image.filter(([k]) => k === "USER").at(-1)?.[1] ?? "";
    const [uid, gid] = user.split(":").map(Number);
    const pod = podSpec(web).securityContext;
    assert.deepEqual([pod?.runAsUser, pod?.runAsGroup, pod?.fsGroup], [uid, gid, gid], `pod securityContext vs. Dockerfile USER ${user}`);
    const command = argv(webContainer);
    // Every --bind (pages first, then the probes: app/web_worker.py) is a declared and exposed port.
    const bindPorts = command.flatMap((arg, i) => (command[i - 1] === "--bind" ? [Number(arg.split(":").at(-1))] : []));
    const exposed = (image.find(([k]) => k === "EXPOSE")?.[1] ?? "").split(/\s+/).map(Number);
    assert.deepEqual(bindPorts, exposed, "gunicorn --bind ports vs. Dockerfile EXPOSE");
    assert.deepEqual(bindPorts, webContainer.ports?.map((p) => p.containerPort), "gunicorn --bind ports vs. the container's ports");
    for (const [which, probe] of [["startup", webContainer.startupProbe], ["liveness", webContainer.livenessProbe], ["readiness", webContainer.readinessProbe]] as const) {
      const port = probe?.httpGet?.port;
      const resolved = typeof port === "number" ? port : webContainer.ports?.find((p) => p.name === port)?.containerPort;
      assert.ok(resolved !== undefined && bindPorts.includes(resolved), `${which} probe port ${String(port)} must reach gunicorn on one of ${bindPorts.join(", ")}`);
    }
    if (webContainer.securityContext?.readOnlyRootFilesystem) {
      const tmp = flagValue(command, "--worker-tmp-dir");
      const mount = webContainer.volumeMounts?.find((m) => m.mountPath === tmp);
      const volume = podSpec(web).volumes?.find((v) => v.name === mount?.name);
      assert.ok(volume?.emptyDir, `read-only root filesystem: ${tmp} (gunicorn --worker-tmp-dir) must be an emptyDir mount`);
    }
  });

  test("rendered static settings select GCS with hashed names, linking under DJANGO_APP_STATIC_URL", async () => {
    const env = Object.fromEntries([...webEnv].map(([name, source]) => [name, isSecretPlaceholder(source.value) ? randomPassword() : source.value]));
    const result = await run(PYTHON, ["-c", "import json, config.settings as s; print(json.dumps(s.STORAGES['staticfiles']))"], {
      cwd: APP_DIR,
      env: { ...baseEnv(), ...env, POD_IP },
    });
    const staticfiles = JSON.parse(result.stdout) as { BACKEND: string; OPTIONS: { bucket_name: string; custom_endpoint: string; location: string } };
    assert.equal(staticfiles.BACKEND, "django_platform_settings.gcs.GoogleCloudManifestStaticStorage");
    assert.equal(staticfiles.OPTIONS.bucket_name, rendered("DJANGO_APP_STATIC_BUCKET"));
    const { custom_endpoint: endpoint, location } = staticfiles.OPTIONS;
    assert.equal(`${endpoint}/${location ? `${location}/` : ""}`, rendered("DJANGO_APP_STATIC_URL"));
  });

  test("rendered media settings: the private bucket, links signed through IAM as the pod's own account", async () => {
    // The staging stack keeps media.enabled at its default (true): the bucket must be rendered.
    // Signing without a key file: django-storages >= 1.14.6 `iam_sign_blob` + `sa_email` sign V4 URLs
    // through IAM Credentials signBlob with the pod's access token (storages/backends/gcloud.py,
    // https://github.com/jschneier/django-storages/pull/1427; google/cloud/storage/_signing.py;
    // https://cloud.google.com/storage/docs/authentication/creating-signatures).
    const bucket = rendered("DJANGO_APP_MEDIA_BUCKET");
    const signer = rendered("DJANGO_APP_MEDIA_SIGNER");
    assert.match(signer, /^[^@\s]+@[a-z0-9-]+\.iam\.gserviceaccount\.com$/, "the signer is a Google service account email");
    const env = Object.fromEntries([...webEnv].map(([name, source]) => [name, isSecretPlaceholder(source.value) ? randomPassword() : source.value]));
    const result = await run(PYTHON, ["-c", "import json, config.settings as s; print(json.dumps(s.STORAGES['default'], default=str))"], {
      cwd: APP_DIR,
      env: { ...baseEnv(), ...env, POD_IP },
    });
    const media = JSON.parse(result.stdout) as { BACKEND: string; OPTIONS: Record<string, unknown> };
    assert.equal(media.BACKEND, "storages.backends.gcloud.GoogleCloudStorage");
    assert.deepEqual(
      [media.OPTIONS.bucket_name, media.OPTIONS.sa_email, media.OPTIONS.iam_sign_blob, media.OPTIONS.querystring_auth, media.OPTIONS.default_acl],
      [bucket, signer, true, true, null],
    );
  });

  test("Kubernetes $(VAR) expansion as the kubelet does it", () => {
    const vars = new Map([["REDIS_PASSWORD", "pw"]]);
    assert.equal(expandKubernetesVars("$(REDIS_PASSWORD)", vars), "pw");
    assert.equal(expandKubernetesVars("a$(UNKNOWN)b$$(REDIS_PASSWORD)$", vars), "a$(UNKNOWN)b$(REDIS_PASSWORD)$");
  });
});
