/**
 * Binary Authorization (`security.binaryAuthorization`, components/binaryAuthorization.ts): the
 * policy the program renders, evaluated by a model of Binary Authorization's matching
 * (tests/lib/binaryAuthorizationModel.ts) against every image the rendered pods run (read from the
 * rendered workloads, cli/lib/renderedWorkloads.ts, and the `npm run manage` Job) and against
 * images an attacker would run; and the cluster's side, on and off again.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { REDIS_IMAGE } from "../components/cache";
import { manageJobDoc, objectsOf, podTemplateOf, type K8sDoc } from "../cli/lib/renderedWorkloads";
import { Overrides, Rendered, renderStack } from "./helpers/platform";
import { admission, patternMatches, type PolicyModelInput } from "./lib/binaryAuthorizationModel";

const POLICY = "gcp:binaryauthorization/policy:Policy";
const CLUSTER = "gcp:container/cluster:Cluster";
const APP = "europe-west1-docker.pkg.dev/acme-django-ci/django/app";
const DIGEST = `sha256:${"a1".repeat(32)}`;
const OTHER_DIGEST = `sha256:${"b2".repeat(32)}`;
/** The default cache image: named with its registry and pinned by digest, as production requires. */
const REDIS = REDIS_IMAGE;
const ON: Overrides = { "django-platform:security": { binaryAuthorization: "enforce" } };

/** Every image any container (init containers included) of any pod the stack can create runs, with where. */
function podImages(r: Rendered): Map<string, string[]> {
    const docs = objectsOf(r.resources);
    const images = new Map<string, string[]>();
    for (const doc of [...docs, manageJobDoc(docs, ["check"]) as K8sDoc]) {
        const spec = podTemplateOf(doc)?.spec;
        for (const c of [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])]) {
            if (!c.image) throw new Error(`${doc.kind}/${doc.metadata.name} ${c.name} names no image`);
            images.set(c.image, [...(images.get(c.image) ?? []), `${doc.kind}/${doc.metadata.name} ${c.name}`]);
        }
    }
    return images;
}

function policyOf(r: Rendered): PolicyModelInput {
    return r.inputs(POLICY) as PolicyModelInput;
}

describe("the Binary Authorization model follows the documented matching", () => {
    // Rows of grafeas/kritis@0101e5d2 pkg/kritis/util/allowlist_test.go and of the API reference's
    // examples (tests/lib/binaryAuthorizationModel.ts).
    const rows: [string, string, boolean][] = [
        ["gcr.io/3-my-untagged-image", "gcr.io/3-my-untagged-image", true],
        ["gcr.io/3-my-untagged-image", "gcr.io/3-my-untagged-image:tag", false],
        ["gcr.io/2-my-image-any-tag:*", "gcr.io/2-my-image-any-tag:any", true],
        ["gcr.io/8-my-image@sha256:*", `gcr.io/8-my-image@${OTHER_DIGEST}`, true],
        ["gcr.io/5/long/path/my-image*", "gcr.io/5/long/path/my-image-1:tag", true],
        ["gcr.io/5/long/path/my-image*", "gcr.io/5/long/path/my-image/image", false],
        ["gcr.io/nginx*", "gcr.io/nginx@latest", true],
        ["gcr.io/nginx**", "gcr.io/nginx/image", true],
    ];
    for (const [pattern, image, expected] of rows) {
        it(`${pattern} ${expected ? "matches" : "does not match"} ${image}`, () => assert.equal(patternMatches(pattern, image), expected));
    }
});

describe("Binary Authorization (security.binaryAuthorization)", () => {
    it("off by default, said explicitly (DISABLED) so that turning it off again really turns the cluster's evaluation off; no policy is written", async () => {
        for (const stack of ["staging", "production"]) {
            const r = await renderStack(stack);
            assert.deepEqual(r.inputs(CLUSTER).binaryAuthorization, { evaluationMode: "DISABLED" }, stack);
            assert.equal(r.all(POLICY).length, 0, stack);
        }
    });

    it("enforce: the project's policy, Google's system images exempt, the rest denied and blocked; the cluster evaluates it and waits for it", async () => {
        const r = await renderStack("production", ON);
        const policy = r.one(POLICY);
        assert.equal(policy.inputs.project, "acme-django-prod");
        assert.equal(policy.inputs.globalPolicyEvaluationMode, "ENABLE");
        assert.deepEqual(policy.inputs.defaultAdmissionRule, { evaluationMode: "ALWAYS_DENY", enforcementMode: "ENFORCED_BLOCK_AND_AUDIT_LOG" });
        const cluster = r.one(CLUSTER);
        assert.deepEqual(cluster.inputs.binaryAuthorization, { evaluationMode: "PROJECT_SINGLETON_POLICY_ENFORCE" });
        assert.ok(cluster.dependencies.includes(policy.urn), "the cluster (and so the Kubernetes provider and every pod) waits for the policy");
    });

    for (const [label, image] of [["by tag", `${APP}:0.1.0`], ["by digest", `${APP}@${DIGEST}`], ["by tag and digest", `${APP}:0.1.0@${DIGEST}`]] as const) {
        it(`enforce, image ${label}: every image a pod of the stack runs is admitted by an allowlist pattern, not by luck`, async () => {
            const r = await renderStack("production", { ...ON, "django-platform:image": image });
            const policy = policyOf(r);
            const images = podImages(r);
            assert.ok(images.has(image), "the app image is among the pods' images");
            assert.ok([...images.keys()].some((i) => i.startsWith("gcr.io/cloud-sql-connectors/cloud-sql-proxy:")), "the Auth Proxy sidecar is rendered");
            assert.ok(images.has(REDIS), "in-cluster Redis is rendered");
            for (const [img, where] of images) {
                const decision = admission(policy, img);
                assert.ok(decision.admitted && !decision.violation && decision.pattern, `${img} (${where.join(", ")}) would be refused`);
            }
        });
    }

    it("enforce: the next release's image (another digest, another tag) is admitted without another policy; an attacker's image is refused", async () => {
        const r = await renderStack("production", { ...ON, "django-platform:image": `${APP}@${DIGEST}` });
        const policy = policyOf(r);
        for (const image of [`${APP}@${OTHER_DIGEST}`, `${APP}:0.2.0`, "docker.io/library/redis:7.4.3-alpine", `docker.io/library/redis@${OTHER_DIGEST}`]) {
            assert.ok(admission(policy, image).admitted, `${image} (the stack's own image paths) is refused`);
        }
        const attacker = [
            // The same names in another project, registry or Docker Hub namespace.
            `europe-west1-docker.pkg.dev/attacker-project/django/app@${DIGEST}`,
            `europe-docker.pkg.dev/acme-django-ci/django/app:0.1.0`,
            "docker.io/attacker/redis:7.4.2-alpine",
            "ghcr.io/attacker/cloud-sql-proxy:2.14.1",
            // Another image next to ours, or below our path.
            `${APP}-debug:1`,
            `${APP}/shell:1`,
            "europe-west1-docker.pkg.dev/acme-django-ci/django/busybox:1",
            "docker.io/library/redis-evil:1",
            "gcr.io/cloud-sql-connectors/cloud-sql-proxy/evil:1",
            // A short name is Docker Hub's, but not the name the allowlist holds.
            "redis:7.4.2-alpine",
            "busybox",
        ];
        for (const image of attacker) {
            const decision = admission(policy, image);
            assert.deepEqual([decision.admitted, decision.violation], [false, true], `${image} is admitted`);
        }
    });

    it("dry-run: the same allowlist, an attacker's image is admitted but logged as a violation", async () => {
        const r = await renderStack("staging", { ...ON, "django-platform:security": { binaryAuthorization: "dry-run" } });
        const policy = policyOf(r);
        assert.equal(policy.defaultAdmissionRule.enforcementMode, "DRYRUN_AUDIT_LOG_ONLY");
        assert.deepEqual(admission(policy, "docker.io/attacker/app:1"), { admitted: true, violation: true });
        for (const image of podImages(r).keys()) {
            assert.equal(admission(policy, image).violation, false, `${image} would be logged as a violation`);
        }
        assert.deepEqual(r.inputs(CLUSTER).binaryAuthorization, { evaluationMode: "PROJECT_SINGLETON_POLICY_ENFORCE" });
    });

    it("memorystore and private-ip: Redis and the Auth Proxy are not rendered, and not allowed either", async () => {
        const r = await renderStack("staging", {
            "django-platform:security": { binaryAuthorization: "enforce" },
            "django-platform:cache": { mode: "memorystore", memorySizeGb: 5 },
            "django-platform:database": { connector: "private-ip" },
        });
        const policy = policyOf(r);
        assert.deepEqual([...podImages(r).keys()], [`${APP}:0.1.0`]);
        assert.ok(admission(policy, `${APP}:0.1.0`).admitted);
        assert.equal(admission(policy, "gcr.io/cloud-sql-connectors/cloud-sql-proxy:2.14.1").admitted, false);
        assert.equal(admission(policy, REDIS).admitted, false);
    });
});
