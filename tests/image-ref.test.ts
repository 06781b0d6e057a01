/**
 * Image references (components/imageRef.ts) and the node service account's pull grants
 * (iam/stackIam.ts, the IAM step): an Artifact Registry image gets `roles/artifactregistry.reader` on its
 * own repository — in the image's project, which may not be the stack's — and nothing on the
 * project; images elsewhere get no grant.
 *
 * Sources:
 * - image names: https://cloud.google.com/artifact-registry/docs/docker/names
 *   (`LOCATION-docker.pkg.dev/PROJECT-ID/REPOSITORY/IMAGE[:TAG|@DIGEST]`, domain-scoped projects as
 *   `example.com/my-project`)
 * - least privilege for node service accounts, CIS GKE 5.2.1 and
 *   https://cloud.google.com/kubernetes-engine/docs/how-to/hardening-your-cluster#use_least_privilege_sa
 * - the grant's API calls (`:getIamPolicy` / `:setIamPolicy` on the repository):
 *   hashicorp/terraform-provider-google, google/services/artifactregistry/iam_artifact_registry_repository.go
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ImageRegistry, REPOSITORY_IAM_PERMISSIONS } from "../bootstrap/imageRegistry";
import { stackIdentities } from "../components/identities";
import { ImageRefError, artifactRegistryRepositories, parseImageRef } from "../components/imageRef";
import { StackIam } from "../iam/stackIam";
import { renderIamProgram } from "../maint/gen-deployer-types";
import { findAll, findOne, runProgram, type CaptureResult } from "../cli/lib/mockRuntime";
import { renderStack, stackConfig, T } from "./helpers/platform";

const REPO_IAM = "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember";
const DIGEST = `sha256:${"ab".repeat(32)}`;
/** The bootstrap's repository in the CI home project (docs/bootstrap.md: acme-django-ci). */
const HOME_IMAGE = "europe-west1-docker.pkg.dev/acme-django-ci/django/app:0.1.0";

describe("parseImageRef", () => {
    it("reads location, project, repository, image, tag and digest of an Artifact Registry image", () => {
        assert.deepEqual(parseImageRef(HOME_IMAGE), {
            kind: "artifact-registry", host: "europe-west1-docker.pkg.dev", location: "europe-west1",
            project: "acme-django-ci", repository: "django", image: "app", tag: "0.1.0",
        });
        assert.deepEqual(parseImageRef(`us-docker.pkg.dev/acme-prod/images/team/web@${DIGEST}`), {
            kind: "artifact-registry", host: "us-docker.pkg.dev", location: "us",
            project: "acme-prod", repository: "images", image: "team/web", digest: DIGEST,
        });
        const both = parseImageRef(`europe-docker.pkg.dev/acme-prod/django/app:1.4.2@${DIGEST}`);
        assert.equal(both.kind === "artifact-registry" && `${both.location} ${both.tag} ${both.digest}`, `europe 1.4.2 ${DIGEST}`);
    });

    it("reads a domain-scoped project written as example.com/my-project", () => {
        const ref = parseImageRef("us-west1-docker.pkg.dev/example.com/my-project/my-repo/test-image:staging");
        assert.equal(ref.kind, "artifact-registry");
        assert.equal(ref.kind === "artifact-registry" && `${ref.project} ${ref.repository} ${ref.image}`, "example.com:my-project my-repo test-image");
    });

    it("calls Docker Hub, gcr.io and other registries `other`", () => {
        assert.deepEqual(parseImageRef("redis:7.4.2-alpine"), { kind: "other", host: "docker.io" });
        assert.deepEqual(parseImageRef("docker.io/library/redis:7.4.2"), { kind: "other", host: "docker.io" });
        assert.deepEqual(parseImageRef("gcr.io/acme/app:1"), { kind: "other", host: "gcr.io" });
        assert.deepEqual(parseImageRef("ghcr.io/acme/app@" + DIGEST), { kind: "other", host: "ghcr.io" });
        assert.deepEqual(parseImageRef("localhost:5000/app:1"), { kind: "other", host: "localhost:5000" });
    });

    it("refuses a *-docker.pkg.dev reference without project, repository or image", () => {
        assert.throws(() => parseImageRef("europe-west1-docker.pkg.dev/acme-prod/app:1"), (e: Error) =>
            e instanceof ImageRefError && /names no image inside the repository/.test(e.message) && /artifact-registry\/docs\/docker\/names/.test(e.message));
        assert.throws(() => parseImageRef("europe-west1-docker.pkg.dev/acme-prod:1"), /names no repository/);
        assert.throws(() => parseImageRef("europe-west1-docker.pkg.dev/Acme/django/app:1"), /"Acme" is not a project id/);
        assert.throws(() => parseImageRef("europe-west1-docker.pkg.dev/acme-prod/Django/app:1"), /"Django" is not a repository id/);
    });

    it("lists each repository once, Artifact Registry images only", () => {
        assert.deepEqual(artifactRegistryRepositories([HOME_IMAGE, `europe-west1-docker.pkg.dev/acme-django-ci/django/worker@${DIGEST}`, "redis:7.4.2-alpine"]), [
            { project: "acme-django-ci", location: "europe-west1", repository: "django" },
        ]);
    });
});

/** The IAM step of the production stack alone (iam/stackIam.ts) under mocks, with `images` and, for an existing cluster, its node account. */
async function iamOnly(images: readonly string[], cluster: { mode: "autopilot" | "existing"; nodeServiceAccount?: string } = { mode: "autopilot" }): Promise<CaptureResult> {
    return runProgram({
        project: "django-platform-iam",
        stack: "production",
        config: {},
        program: () => {
            new StackIam("iam", {
                identities: stackIdentities({ project: "acme-django-prod", stack: "production", database: { connector: "auth-proxy" }, media: { enabled: true }, cluster: { mode: cluster.mode }, workers: {} }),
                deployer: "serviceAccount:gh-deploy-production@acme-django-ci.iam.gserviceaccount.com",
                podBinderRole: "projects/acme-django-prod/roles/djangoPlatformPodIdentityBinder",
                urlSignerRole: "projects/acme-django-prod/roles/djangoPlatformUrlSigner",
                imageRepositories: artifactRegistryRepositories(images),
                existingNodeServiceAccount: cluster.nodeServiceAccount,
            });
        },
    });
}

describe("the node service account's pull grants (the IAM step)", () => {
    it("cross-project image: reader on the repository in the image's project, nothing on the project", async () => {
        const r = await iamOnly([HOME_IMAGE, "redis:7.4.2-alpine"]);
        const grants = findAll(r.resources, REPO_IAM);
        assert.equal(grants.length, 1, "one grant: the Docker Hub image needs none");
        assert.deepEqual(
            { project: grants[0].inputs.project, location: grants[0].inputs.location, repository: grants[0].inputs.repository, role: grants[0].inputs.role },
            { project: "acme-django-ci", location: "europe-west1", repository: "django", role: "roles/artifactregistry.reader" },
        );
        assert.equal(grants[0].inputs.member, "serviceAccount:gke-nodes-production@acme-django-prod.iam.gserviceaccount.com");
        assert.deepEqual(
            findAll(r.resources, T.projectIam).filter((m) => String(m.inputs.role).startsWith("roles/artifactregistry.")),
            [],
            "no project-wide Artifact Registry role (CIS GKE 5.2.1)",
        );
    });

    it("same-project image: the grant is on that repository too", async () => {
        const r = await iamOnly(["europe-west1-docker.pkg.dev/acme-django-prod/django/app:0.1.0"]);
        assert.deepEqual(findAll(r.resources, REPO_IAM).map((g) => `${g.inputs.project}/${g.inputs.repository}`), ["acme-django-prod/django"]);
    });

    it("Docker Hub image: no grant", async () => {
        const r = await iamOnly(["redis:7.4.2-alpine"]);
        assert.deepEqual(findAll(r.resources, REPO_IAM), []);
    });

    it("existing cluster: the configured node service account gets the grant; without it, none", async () => {
        const withSa = await iamOnly([HOME_IMAGE], { mode: "existing", nodeServiceAccount: "gke-nodes@acme-shared.iam.gserviceaccount.com" });
        assert.equal(findOne(withSa.resources, REPO_IAM).inputs.member, "serviceAccount:gke-nodes@acme-shared.iam.gserviceaccount.com");
        assert.deepEqual(findAll(withSa.resources, "gcp:serviceaccount/account:Account").map((a) => a.inputs.accountId).filter((id) => String(id).startsWith("gke-nodes")), [], "no node account of its own");
        const withoutSa = await iamOnly([HOME_IMAGE], { mode: "existing" });
        assert.deepEqual(findAll(withoutSa.resources, REPO_IAM), []);
    });

    it("the IAM step's runners may make the grant: a custom role of exactly what RepositoryIamMember calls, on the one repository", async () => {
        assert.deepEqual([...REPOSITORY_IAM_PERMISSIONS].sort(), ["artifactregistry.repositories.getIamPolicy", "artifactregistry.repositories.setIamPolicy"]);
        const r = await runProgram({
            project: "django-platform-bootstrap",
            stack: "bootstrap",
            config: {},
            program: () => {
                const registry = new ImageRegistry("images", { project: "acme-django-ci", location: "europe-west1", repositoryId: "django" });
                registry.grantIamManagement("iam-admin-0", "group:platform-admins@example.com");
                registry.grantIamManagement("iam-admin-1", "user:alice@example.com");
            },
        });
        const role = findOne(r.resources, "gcp:projects/iAMCustomRole:IAMCustomRole");
        assert.deepEqual([role.inputs.project, role.inputs.roleId, role.inputs.permissions], ["acme-django-ci", "djangoPlatformRegistryIamGranter", [...REPOSITORY_IAM_PERMISSIONS]]);
        const bindings = findAll(r.resources, REPO_IAM);
        assert.equal(bindings.length, 2, "one role, one binding per member");
        const repository = findOne(r.resources, "gcp:artifactregistry/repository:Repository");
        for (const b of bindings) {
            assert.deepEqual([b.inputs.project, b.inputs.location, b.inputs.repository, b.inputs.role], ["acme-django-ci", "europe-west1", repository.outputs.name, role.outputs.name]);
        }
        assert.deepEqual(findAll(r.resources, T.projectIam), [], "nothing on the project");
    });
});

describe("the stack files", () => {
    it("pull the app image from the bootstrap's repository in the CI home project", () => {
        for (const stack of ["staging", "production"]) {
            const image = stackConfig(stack).config["django-platform:image"];
            const ref = parseImageRef(image);
            assert.equal(ref.kind === "artifact-registry" && `${ref.location}-docker.pkg.dev/${ref.project}/${ref.repository}/${ref.image}`,
                "europe-west1-docker.pkg.dev/acme-django-ci/django/app", `${stack}: ${image}`);
        }
    });

    it("production's IAM step grants its nodes a pull on the home project's repository; the cluster runs as that account, looked up", async () => {
        const iam = await renderIamProgram({ name: "production", stack: "production", overrides: {} });
        const grant = findOne(iam.resources, REPO_IAM);
        assert.deepEqual([grant.inputs.project, grant.inputs.repository, grant.inputs.role, grant.inputs.member], ["acme-django-ci", "django", "roles/artifactregistry.reader", "serviceAccount:gke-nodes-production@acme-django-prod.iam.gserviceaccount.com"]);
        const r = await renderStack("production");
        assert.deepEqual(r.all(REPO_IAM), [], "the main program grants nothing on the registry");
        const cluster = r.inputs(T.cluster);
        assert.equal(cluster.clusterAutoscaling.autoProvisioningDefaults.serviceAccount, "gke-nodes-production@acme-django-prod.iam.gserviceaccount.com");
    });
});
