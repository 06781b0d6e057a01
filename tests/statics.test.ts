/**
 * The statics bucket's access model.
 *
 * - The public reads objects by name only: `allUsers` gets `roles/storage.legacyObjectReader`
 *   (`storage.objects.get`), not `roles/storage.objectViewer`, which also holds
 *   `storage.objects.list` and would let anyone list the bucket, noncurrent versions included
 *   (https://cloud.google.com/storage/docs/access-control/iam-roles;
 *   https://cloud.google.com/java/docs/reference/google-cloud-storage/latest/com.google.cloud.storage.StorageRoles).
 * - Named identities read through `grantObjectViewer` (the web pods read `staticfiles.json` at run time).
 * - `statics.forceDestroy` is its own flag, not derived from `database.deletionProtection`.
 * - `statics.access: private` is for organisations enforcing `constraints/storage.publicAccessPrevention`
 *   (https://cloud.google.com/storage/docs/org-policy-constraints) or domain-restricted sharing
 *   (https://cloud.google.com/organization-policy/restrict-domains; enforced by default in
 *   organisations created on or after May 3, 2024:
 *   https://cloud.google.com/resource-manager/docs/secure-by-default-organizations), which reject an
 *   `allUsers` binding. The component builds a private bucket (public access prevention enforced, no
 *   `allUsers`), but stack config refuses it before any resource is registered: a Cloud CDN backend
 *   bucket reads a private bucket only with signed requests (https://cloud.google.com/cdn/docs/using-signed-urls)
 *   or "private bucket access" (https://cloud.google.com/cdn/docs/configure-private-bucket-access),
 *   neither of which the platform sets up, so browsers could not fetch the files.
 */
import assert from "node:assert/strict";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import { ConfigError, validateConfig } from "../config";
import { OBJECT_VIEWER_ROLE, PUBLIC_READ_ROLE, Statics, StaticsArgs } from "../components/statics";
import { runProgram } from "../cli/lib/mockRuntime";
import { ROOT, Rendered, renderStack, stackConfig, T } from "./helpers/platform";

const STATICS = "django-platform:statics";
const DATABASE = "django-platform:database";
const COMPONENT = "django-platform:statics:Statics";
const WEB_MEMBER = "serviceAccount:web@acme-django-prod.iam.gserviceaccount.com";

const BASE_ARGS: StaticsArgs = { project: "acme-django-prod", location: "EU", corsOrigins: ["https://www.example.com"] };

/** Renders one Statics component (and optional grants on it) under the same mocks as the stacks. */
async function renderStatics(args: Partial<StaticsArgs>, grant?: (s: Statics) => void): Promise<Rendered> {
    const result = await runProgram({
        project: "django-platform",
        stack: "test",
        config: {},
        program: () => {
            const statics = new Statics("django-statics", { ...BASE_ARGS, ...args });
            grant?.(statics);
            return { url: statics.url };
        },
    });
    return new Rendered(result);
}

/** The bucket IAM members granted to allUsers or allAuthenticatedUsers, as [name, role]. */
function publicGrants(r: Rendered): string[][] {
    return r.all(T.bucketIam).filter((m) => String(m.inputs.member).startsWith("all")).map((m) => [m.name, String(m.inputs.role)]);
}

/** The exact problem `statics.access: private` produces, with and without the CDN. */
function privateAccessProblem(cdn: boolean): string {
    return `django-platform:statics.access is "private", which is not supported yet: browsers fetch static files from the bucket${cdn ? " through the Cloud CDN backend bucket" : " at storage.googleapis.com"}, which serves a private bucket only with signed URLs or Cloud CDN private bucket access, neither of which this program sets up. Fix: exempt this project from constraints/storage.publicAccessPrevention and constraints/iam.allowedPolicyMemberDomains (an organisation policy override on the project), then \`pulumi config set --path statics.access public\`.`;
}

describe("statics: public read without listing", () => {
    const stacks: Record<string, Rendered> = {};
    before(async () => {
        stacks.staging = await renderStack("staging");
        stacks.production = await renderStack("production");
    });

    for (const stack of ["staging", "production"]) {
        it(`${stack}: allUsers gets roles/storage.legacyObjectReader (objects.get only) and nothing else`, () => {
            assert.equal(PUBLIC_READ_ROLE, "roles/storage.legacyObjectReader");
            assert.deepEqual(publicGrants(stacks[stack]), [["django-statics-public-read", "roles/storage.legacyObjectReader"]]);
            assert.equal(stacks[stack].all(T.bucketIam).filter((m) => m.inputs.role === "roles/storage.objectViewer" && String(m.inputs.member).startsWith("all")).length, 0);
        });
    }

    it("the public bucket leaves public access prevention to the organisation (inherited); its log bucket enforces it", () => {
        const r = stacks.production;
        assert.equal(r.inputs(T.bucket, "django-statics-bucket").publicAccessPrevention, "inherited");
        assert.equal(r.inputs(T.bucket, "django-statics-logs").publicAccessPrevention, "enforced");
    });
});

describe("statics: grantObjectViewer", () => {
    it("grants roles/storage.objectViewer on the statics bucket to one member, named <statics>-<grantee>-object-viewer", async () => {
        let returned: unknown;
        const r = await renderStatics({}, (s) => { returned = s.grantObjectViewer("web", WEB_MEMBER); });
        const grant = r.one(T.bucketIam, "django-statics-web-object-viewer");
        assert.equal(OBJECT_VIEWER_ROLE, "roles/storage.objectViewer");
        assert.deepEqual([grant.inputs.role, grant.inputs.member], ["roles/storage.objectViewer", WEB_MEMBER]);
        assert.equal(grant.inputs.bucket, r.one(T.bucket, "django-statics-bucket").outputs.name);
        assert.equal(grant.parent, r.one(COMPONENT, "django-statics").urn);
        assert.ok(returned !== undefined && (returned as { constructor: { name: string } }).constructor.name === "BucketIAMMember");
    });

    it("works on a private bucket too, beside the collectstatic writer", async () => {
        const r = await renderStatics({ access: "private" }, (s) => {
            s.grantObjectAdmin("collectstatic", "serviceAccount:collect@acme-django-prod.iam.gserviceaccount.com");
            s.grantObjectViewer("web", WEB_MEMBER);
        });
        assert.deepEqual(r.all(T.bucketIam).map((m) => [m.name, m.inputs.role]).sort(), [
            ["django-statics-collectstatic-object-admin", "roles/storage.objectAdmin"],
            ["django-statics-logs-writer", "roles/storage.objectCreator"],
            ["django-statics-web-object-viewer", "roles/storage.objectViewer"],
        ]);
    });
});

describe("statics: forceDestroy is its own flag", () => {
    const forceDestroyOf = (r: Rendered): unknown[] =>
        ["django-statics-bucket", "django-statics-logs"].map((name) => r.inputs(T.bucket, name).forceDestroy);

    it("defaults to false, whatever database.deletionProtection says", () => {
        for (const deletionProtection of [true, false]) {
            // Drops any statics.forceDestroy the stack file sets, to see the default.
            const { config } = stackConfig("staging", { [DATABASE]: { deletionProtection }, [STATICS]: { forceDestroy: undefined } });
            assert.equal(JSON.parse(config[STATICS] ?? "{}").forceDestroy, undefined);
            assert.equal(validateConfig(config, "staging").statics.forceDestroy, false);
        }
    });

    it("an unprotected database no longer makes the buckets force-destroyable", async () => {
        const r = await renderStack("staging", { [DATABASE]: { deletionProtection: false }, [STATICS]: { forceDestroy: false } });
        assert.deepEqual(forceDestroyOf(r), [false, false]);
    });

    it("statics.forceDestroy: true applies to both buckets even when the database is protected", async () => {
        const r = await renderStack("production", { [DATABASE]: { deletionProtection: true }, [STATICS]: { forceDestroy: true } });
        assert.equal(r.inputs(T.sqlInstance).deletionProtection, true);
        assert.deepEqual(forceDestroyOf(r), [true, true]);
    });
});

describe("statics: access private", () => {
    it("the component enforces public access prevention and grants allUsers nothing", async () => {
        const r = await renderStatics({ access: "private" });
        assert.equal(r.inputs(T.bucket, "django-statics-bucket").publicAccessPrevention, "enforced");
        assert.equal(r.inputs(T.bucket, "django-statics-logs").publicAccessPrevention, "enforced");
        assert.deepEqual(publicGrants(r), []);
        assert.equal(r.all(T.bucketIam, "django-statics-public-read").length, 0);
    });

    it("the component's default stays public", async () => {
        const r = await renderStatics({});
        assert.equal(r.inputs(T.bucket, "django-statics-bucket").publicAccessPrevention, "inherited");
        assert.deepEqual(publicGrants(r), [["django-statics-public-read", "roles/storage.legacyObjectReader"]]);
    });

    for (const [stack, cdn] of [["staging", false], ["production", true]] as const) {
        it(`config refuses it with the key, the value and the fix (${stack}, CDN ${cdn ? "on" : "off"})`, () => {
            const { config } = stackConfig(stack, { [STATICS]: { access: "private" } });
            assert.throws(() => validateConfig(config, stack), (err: unknown) => {
                assert.ok(err instanceof ConfigError);
                assert.deepEqual(err.problems, [privateAccessProblem(cdn)]);
                return true;
            });
        });
    }

    it("the stack fails with that error before any resource is registered", async () => {
        const index = path.join(ROOT, "index.ts");
        let error: unknown;
        const result = await runProgram({
            project: "django-platform",
            stack: "production",
            config: stackConfig("production", { [STATICS]: { access: "private" } }).config,
            program: () => {
                delete require.cache[require.resolve(index)];
                try {
                    return require(index);
                } catch (err) {
                    error = err;
                    return {};
                }
            },
        });
        assert.ok(error instanceof ConfigError, String(error));
        assert.deepEqual(error.problems, [privateAccessProblem(true)]);
        assert.deepEqual(result.resources.map((x) => x.name), []);
    });

    it("public is the default and an unknown value is rejected by the schema", () => {
        assert.equal(validateConfig(stackConfig("staging").config, "staging").statics.access, "public");
        const { config } = stackConfig("staging", { [STATICS]: { access: "internal" } });
        assert.throws(() => validateConfig(config, "staging"), (err: unknown) => err instanceof ConfigError && /statics\.access/.test(err.message));
    });
});
