/**
 * Media uploads (`media.*`): a private, versioned bucket with a lifecycle for noncurrent versions,
 * read/write for the web and worker identities only, each signing URLs as itself only (IAM
 * signBlob: https://cloud.google.com/storage/docs/authentication/creating-signatures), through the
 * bootstrap's URL signer role, which holds `iam.serviceAccounts.signBlob` and nothing else, bound by
 * the IAM step on each signing account to itself; and the bucket in the env contract. With
 * `media.enabled: false` none of it exists.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import { MEDIA_BUCKET_VARIABLE, MEDIA_SIGNER_VARIABLE, RESERVED_NAMES, extrasCollisions } from "../components/appEnv";
import { ROLE_IDS, customRoleName } from "../bootstrap/ciNames";
import { URL_SIGNER_PERMISSIONS } from "../bootstrap/deployerRoles";
import { MEDIA_OBJECT_ROLE } from "../components/media";
import { djangoContainers, objectsOf } from "../cli/lib/renderedWorkloads";
import { Rendered, T, renderIamFor, renderStack } from "./helpers/platform";

/* eslint-disable @typescript-eslint/no-explicit-any */

const stacks: Record<string, Rendered> = {};
/** The IAM step of each render: it binds the URL signer role. */
const iamSteps = new Map<Rendered, Rendered>();
before(async () => {
    stacks.on = await renderStack("production");
    stacks.staging = await renderStack("staging");
    stacks.off = await renderStack("staging", { "django-platform:media": { enabled: false } });
    iamSteps.set(stacks.on, await renderIamFor("production"));
    iamSteps.set(stacks.staging, await renderIamFor("staging"));
    iamSteps.set(stacks.off, await renderIamFor("staging", { "django-platform:media": { enabled: false } }));
});

/** The URL signer role of a render's project (created by the bootstrap, bound by the IAM step). */
const signerRole = (r: Rendered) => customRoleName(String(r.inputs(T.sqlInstance).project), ROLE_IDS.urlSigner);
/** Bindings of the URL signer role, in the IAM step of a render. */
const signerBindings = (r: Rendered) => (iamSteps.get(r) as Rendered).all(T.saIam).filter((m) => m.inputs.role === signerRole(r));

const bucketName = (r: Rendered) => (r.one(T.bucket, "django-media-bucket").outputs as any).name;
/** The account ids of the identities (components/identities.ts) in production's and staging's renders. */
const ACCOUNT: Record<string, (r: Rendered) => string> = {
    "django-workload-web-gsa": (r) => `dj-${stackOf(r)}-web`,
    "django-worker-tasks-gsa": (r) => `dj-${stackOf(r)}-w-tasks`,
    "django-workload-collectstatic-gsa": (r) => `dj-${stackOf(r)}-static`,
};
const stackOf = (r: Rendered) => (r === stacks.on ? "production" : "staging");
const emailOf = (r: Rendered, gsa: string) => r.account(ACCOUNT[gsa](r)).email;

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
        // Signing: the IAM step binds the URL signer role (signBlob only) on each account, to itself.
        const signers = signerBindings(r);
        assert.deepEqual([...URL_SIGNER_PERMISSIONS], ["iam.serviceAccounts.signBlob"]);
        assert.equal(signers.length, 2);
        for (const [gsa, email] of [["django-workload-web-gsa", web], ["django-worker-tasks-gsa", worker]]) {
            const own = signers.find((s) => s.inputs.member === `serviceAccount:${email}`);
            assert.ok(own, `${gsa} may sign`);
            assert.equal(own.inputs.serviceAccountId, (iamSteps.get(r) as Rendered).all("gcp:serviceaccount/account:Account").find((a) => a.inputs.accountId === ACCOUNT[gsa](r))?.outputs.name, `${gsa} signs only as itself`);
        }
        // Never Token Creator (it mints tokens), never project-wide, never in the program CI runs.
        for (const render of [r, iamSteps.get(r) as Rendered]) {
            assert.ok(!render.resources.some((m) => m.inputs.role === "roles/iam.serviceAccountTokenCreator"), "no Token Creator anywhere");
            assert.ok(!render.all(T.projectIam).some((m) => m.inputs.role === signerRole(r) || String(m.inputs.role).startsWith("roles/storage.")));
        }
        assert.deepEqual(r.all(T.saIam).filter((m) => m.inputs.role !== "roles/iam.workloadIdentityUser"), [], "the program CI runs binds nothing but Workload Identity on accounts");
        // The web pods wait for the bucket grant (IAM is eventually consistent); the IAM step ran before.
        const deployment = r.one(T.deployment, "django-workload-web");
        for (const g of users.filter((g) => g.inputs.member === `serviceAccount:${web}`)) {
            assert.ok(deployment.dependencies.includes(g.urn), `web waits for ${g.name}`);
        }
    });

    it("collectstatic gets no media access", () => {
        const r = stacks.on;
        const collect = emailOf(r, "django-workload-collectstatic-gsa");
        assert.ok(!r.all(T.bucketIam).some((m) => m.inputs.bucket === bucketName(r) && m.inputs.member === `serviceAccount:${collect}`));
    });
});

describe("the env contract", () => {
    /**
     * The bucket and its signer in every Django container (web, workers, CronJobs, Jobs, the
     * `npm run manage` Job), each checked against the IAM grants of the container's own identity
     * (its Kubernetes service account → the Google service account Workload Identity binds).
     */
    const mediaEnv = (r: Rendered) => {
        const docs = objectsOf(r.resources);
        return djangoContainers(docs).map((c) => {
            const ksa = docs.find((d) => d.kind === "ServiceAccount" && d.metadata.name === c.pod.serviceAccountName);
            const gsa = (ksa?.metadata as { annotations?: Record<string, string> } | undefined)?.annotations?.["iam.gke.io/gcp-service-account"];
            assert.ok(gsa, `${c.label}: service account ${c.pod.serviceAccountName} is bound to no Google service account`);
            return { label: c.label, component: c.workload.component, gsa, bucket: c.env.get(MEDIA_BUCKET_VARIABLE), signer: c.env.get(MEDIA_SIGNER_VARIABLE) };
        });
    };

    for (const stack of ["on", "staging"] as const) {
        it(`${stack === "on" ? "production" : "staging"}: every container whose identity may use the bucket has it and signs as itself; the others have neither`, () => {
            const r = stacks[stack];
            const bucket = bucketName(r);
            const users = new Set(r.all(T.bucketIam).filter((m) => m.inputs.bucket === bucket && m.inputs.role === MEDIA_OBJECT_ROLE).map((m) => String(m.inputs.member)));
            const selfSigners = new Set(signerBindings(r).map((m) => String(m.inputs.member)));
            const containers = mediaEnv(r);
            assert.ok(containers.length >= 5, containers.map((c) => c.label).join("\n"));
            for (const c of containers) {
                const member = `serviceAccount:${c.gsa}`;
                assert.equal(c.bucket !== undefined, users.has(member), `${c.label}: ${MEDIA_BUCKET_VARIABLE} is ${c.bucket ? "" : "not "}set, but ${c.gsa} ${users.has(member) ? "may" : "may not"} use the bucket`);
                assert.equal(c.signer !== undefined, c.bucket !== undefined, `${c.label}: ${MEDIA_SIGNER_VARIABLE} and ${MEDIA_BUCKET_VARIABLE} come together`);
                if (c.bucket && c.signer) {
                    assert.deepEqual([c.bucket.kind, c.bucket.value], ["value", bucket], `${c.label}: the bucket, in the container's own env`);
                    assert.deepEqual([c.signer.kind, c.signer.value], ["value", c.gsa], `${c.label}: signs as its own account`);
                    assert.ok(selfSigners.has(member), `${c.label}: ${c.gsa} may sign as itself`);
                }
            }
            const byComponent = (component: string) => containers.filter((c) => c.component === component);
            for (const component of ["web", "schedule", "manage"]) {
                assert.ok(byComponent(component).every((c) => c.bucket !== undefined), `${component} uses media`);
            }
            for (const component of ["collectstatic", "migrate"]) {
                assert.ok(byComponent(component).every((c) => c.bucket === undefined && c.signer === undefined), `${component} gets neither variable`);
            }
            for (const name of [MEDIA_BUCKET_VARIABLE, MEDIA_SIGNER_VARIABLE]) {
                assert.equal(r.inputs(T.configMap).data[name], undefined, `${name} is not in the shared ConfigMap`);
            }
        });
    }

    it("production's worker runs as its own identity and signs as it", () => {
        const worker = mediaEnv(stacks.on).filter((c) => c.component === "worker");
        assert.equal(worker.length, 1);
        assert.equal(worker[0]?.signer?.value, emailOf(stacks.on, "django-worker-tasks-gsa"));
        assert.equal(mediaEnv(stacks.on).find((c) => c.component === "web")?.signer?.value, emailOf(stacks.on, "django-workload-web-gsa"));
    });

    it("reserves both names for extras", () => {
        assert.ok(RESERVED_NAMES.has(MEDIA_SIGNER_VARIABLE));
        assert.ok(RESERVED_NAMES.has(MEDIA_BUCKET_VARIABLE));
        assert.deepEqual(extrasCollisions({ DJANGO_APP_MEDIA_SIGNER: "x" }, {}), [
            "django-platform:appEnv.DJANGO_APP_MEDIA_SIGNER: DJANGO_APP_MEDIA_SIGNER is set by the platform and cannot be overridden. Fix: `pulumi config rm --path appEnv.DJANGO_APP_MEDIA_SIGNER`.",
        ]);
    });
});

describe("media.enabled false", () => {
    it("no bucket, no grants, no variables", () => {
        const r = stacks.off;
        assert.equal(r.all(T.bucket).filter((b) => b.name.startsWith("django-media")).length, 0);
        assert.equal(signerBindings(r).length, 0);
        assert.equal(r.inputs(T.configMap).data.DJANGO_APP_MEDIA_BUCKET, undefined);
        for (const c of djangoContainers(objectsOf(r.resources))) {
            assert.ok(!c.env.has(MEDIA_BUCKET_VARIABLE) && !c.env.has(MEDIA_SIGNER_VARIABLE), c.label);
        }
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
