/**
 * Media uploads (`media.*`): a private, versioned bucket with a lifecycle for noncurrent versions,
 * read/write for the web and worker identities only, each signing URLs as itself only (IAM
 * signBlob: https://cloud.google.com/storage/docs/authentication/creating-signatures — "The
 * iam.serviceAccounts.signBlob permission is included in the roles/iam.serviceAccountTokenCreator
 * role"), and the bucket in the env contract. With `media.enabled: false` none of it exists.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import { MEDIA_SIGNER_VARIABLE, OPTIONAL_PLAIN_VARIABLES, RESERVED_NAMES, extrasCollisions } from "../components/appEnv";
import { MEDIA_OBJECT_ROLE, SIGNER_ROLE } from "../components/media";
import { Rendered, T, renderStack } from "./helpers/platform";

/* eslint-disable @typescript-eslint/no-explicit-any */

const stacks: Record<string, Rendered> = {};
before(async () => {
    stacks.on = await renderStack("production");
    stacks.off = await renderStack("staging", { "django-platform:media": { enabled: false } });
});

const bucketName = (r: Rendered) => (r.one(T.bucket, "django-media-bucket").outputs as any).name;
const emailOf = (r: Rendered, gsa: string) => (r.one("gcp:serviceaccount/account:Account", gsa).outputs as any).email;

describe("the media bucket", () => {
    it("is private: public access prevention enforced, uniform access, no public member", () => {
        const b = stacks.on.inputs(T.bucket, "django-media-bucket");
        assert.equal(b.publicAccessPrevention, "enforced");
        assert.equal(b.uniformBucketLevelAccess, true);
        const name = bucketName(stacks.on);
        const members = stacks.on.all(T.bucketIam).filter((m) => m.inputs.bucket === name).map((m) => String(m.inputs.member));
        assert.ok(!members.some((m) => /^all(Authenticated)?Users$/.test(m)), `public member on the media bucket: ${members}`);
        assert.equal(b.forceDestroy, false, "production keeps uploads on destroy");
    });

    it("keeps object versions and deletes noncurrent ones after media.noncurrentVersionDays; logs access elsewhere", () => {
        const b = stacks.on.inputs(T.bucket, "django-media-bucket");
        assert.equal(b.versioning.enabled, true);
        assert.deepEqual(b.lifecycleRules, [{ action: { type: "Delete" }, condition: { daysSinceNoncurrentTime: 30, withState: "ARCHIVED" } }]);
        assert.equal(b.logging.logBucket, (stacks.on.one(T.bucket, "django-media-logs").outputs as any).name);
    });

    it("is read/write for the web and worker identities only, each may sign only as itself", () => {
        const r = stacks.on;
        const name = bucketName(r);
        const users = r.all(T.bucketIam).filter((m) => m.inputs.bucket === name);
        const web = emailOf(r, "django-workload-web-gsa");
        const worker = emailOf(r, "django-worker-tasks-gsa");
        assert.deepEqual(users.map((m) => [m.inputs.role, m.inputs.member]).sort(), [
            [MEDIA_OBJECT_ROLE, `serviceAccount:${web}`],
            [MEDIA_OBJECT_ROLE, `serviceAccount:${worker}`],
        ].sort());
        assert.equal(MEDIA_OBJECT_ROLE, "roles/storage.objectUser");
        const signers = r.all(T.saIam).filter((m) => m.inputs.role === SIGNER_ROLE);
        assert.equal(SIGNER_ROLE, "roles/iam.serviceAccountTokenCreator");
        assert.equal(signers.length, 2);
        for (const [gsa, email] of [["django-workload-web-gsa", web], ["django-worker-tasks-gsa", worker]]) {
            const own = signers.find((s) => s.inputs.member === `serviceAccount:${email}`);
            assert.ok(own, `${gsa} may sign`);
            assert.equal(own.inputs.serviceAccountId, (r.one("gcp:serviceaccount/account:Account", gsa).outputs as any).name, `${gsa} signs only as itself`);
        }
        // Never project-wide: no project-level token creator or storage role.
        assert.ok(!r.all(T.projectIam).some((m) => m.inputs.role === SIGNER_ROLE || String(m.inputs.role).startsWith("roles/storage.")));
        // The web pods wait for both grants (IAM is eventually consistent).
        const deployment = r.one(T.deployment, "django-workload-web");
        for (const g of [...users, ...signers].filter((g) => g.inputs.member === `serviceAccount:${web}`)) {
            assert.ok(deployment.dependencies.includes(g.urn), `web waits for ${g.name}`);
        }
    });

    it("collectstatic gets no media access", () => {
        const r = stacks.on;
        const collect = emailOf(r, "django-workload-collectstatic-gsa");
        assert.ok(!r.all(T.bucketIam).some((m) => m.inputs.bucket === bucketName(r) && m.inputs.member === `serviceAccount:${collect}`));
        const pod = r.inputs(T.job, "django-workload-collectstatic").spec.template.spec;
        assert.equal(pod.containers[0].env.some((e: any) => e.name === MEDIA_SIGNER_VARIABLE), false);
    });
});

describe("the env contract", () => {
    it("holds the media bucket (ConfigMap) and each pod's own signer (per container)", () => {
        const r = stacks.on;
        assert.equal(r.inputs(T.configMap).data.DJANGO_APP_MEDIA_BUCKET, bucketName(r));
        assert.ok((OPTIONAL_PLAIN_VARIABLES as readonly string[]).includes("DJANGO_APP_MEDIA_BUCKET"));
        const signer = (type: string, name: string, template: (i: any) => any) => template(r.inputs(type, name)).spec.containers[0].env.find((e: any) => e.name === MEDIA_SIGNER_VARIABLE)?.value;
        const web = emailOf(r, "django-workload-web-gsa");
        assert.equal(signer(T.deployment, "django-workload-web", (i) => i.spec.template), web);
        assert.equal(signer(T.job, "django-workload-migrate", (i) => i.spec.template), web);
        assert.equal(signer("kubernetes:batch/v1:CronJob", "django-schedule-clearsessions-cron", (i) => i.spec.jobTemplate.spec.template), web, "CronJobs run as the web identity");
        assert.equal(signer(T.deployment, "django-worker-tasks-pods", (i) => i.spec.template), emailOf(r, "django-worker-tasks-gsa"));
        assert.equal(r.inputs(T.configMap).data[MEDIA_SIGNER_VARIABLE], undefined, "not in the shared ConfigMap");
    });

    it("reserves the signer's name for extras", () => {
        assert.ok(RESERVED_NAMES.has(MEDIA_SIGNER_VARIABLE));
        assert.deepEqual(extrasCollisions({ DJANGO_APP_MEDIA_SIGNER: "x" }, {}), [
            "django-platform:appEnv.DJANGO_APP_MEDIA_SIGNER: DJANGO_APP_MEDIA_SIGNER is set by the platform and cannot be overridden. Fix: `pulumi config rm --path appEnv.DJANGO_APP_MEDIA_SIGNER`.",
        ]);
    });
});

describe("media.enabled false", () => {
    it("no bucket, no grants, no variables", () => {
        const r = stacks.off;
        assert.equal(r.all(T.bucket).filter((b) => b.name.startsWith("django-media")).length, 0);
        assert.equal(r.all(T.saIam).filter((m) => m.inputs.role === SIGNER_ROLE).length, 0);
        assert.equal(r.inputs(T.configMap).data.DJANGO_APP_MEDIA_BUCKET, undefined);
        const env = r.inputs(T.deployment, "django-workload-web").spec.template.spec.containers[0].env;
        assert.equal(env.some((e: any) => e.name === MEDIA_SIGNER_VARIABLE), false);
    });
});

describe("the role on the media bucket, as Google defines it", () => {
    // Google's predefined role, as snapshotted by iam-dataset (the fixture names its source).
    const role = JSON.parse(readFileSync(path.join(__dirname, "fixtures", "iam-roles", "storage.objectUser.json"), "utf8")) as { name: string; includedPermissions: string[] };

    it("reads, writes and deletes objects, and cannot change who may access them", () => {
        assert.equal(role.name, MEDIA_OBJECT_ROLE);
        for (const permission of ["storage.objects.create", "storage.objects.get", "storage.objects.list", "storage.objects.update", "storage.objects.delete"]) {
            assert.ok(role.includedPermissions.includes(permission), `${MEDIA_OBJECT_ROLE} lacks ${permission}`);
        }
        assert.deepEqual(role.includedPermissions.filter((p) => /IamPolicy$|\.setAcl|buckets\.(update|delete)/.test(p)), []);
    });
});
