/**
 * `image`: does the app image the stack pins (`django-platform:image`) exist?
 *
 * The reference is parsed by components/imageRef.ts (`LOCATION-docker.pkg.dev/PROJECT/REPOSITORY/IMAGE[:TAG|@sha256:…]`).
 * Artifact Registry REST v1:
 * - by tag: `projects.locations.repositories.packages.tags.get`
 *   (https://cloud.google.com/artifact-registry/docs/reference/rest/v1/projects.locations.repositories.packages.tags/get):
 *   GET https://artifactregistry.googleapis.com/v1/projects/<p>/locations/<l>/repositories/<r>/packages/<image>/tags/<tag>
 *   → `{"name", "version": "…/versions/sha256:…"}`;
 * - by digest: `packages.versions.get`
 *   (https://cloud.google.com/artifact-registry/docs/reference/rest/v1/projects.locations.repositories.packages.versions/get):
 *   GET …/packages/<image>/versions/sha256:<digest> → `{"name", "createTime", …}`;
 * - on a 404, `repositories.get`
 *   (https://cloud.google.com/artifact-registry/docs/reference/rest/v1/projects.locations.repositories/get)
 *   tells a missing repository from a missing image.
 * An image name with `/` is one package id, URL-encoded (`a%2Fb`). Needs artifactregistry.tags.get /
 * versions.get (roles/artifactregistry.reader). Images outside Artifact Registry cannot be checked.
 */
import { ImageRefError, parseImageRef } from "../../../components/imageRef";
import { BUILD_PLATFORM, DEFAULT_CONTEXT } from "../../release";
import { permissionOf } from "../../../bootstrap/preflightReads";
import { deniedPermission, describeError, disabledService } from "./google";
import type { CheckContext, CheckResult } from "./types";
import { memberOf, unchecked } from "./types";

export async function checkImage(ctx: CheckContext): Promise<CheckResult> {
    const image = ctx.config.image;
    let ref;
    try {
        ref = parseImageRef(image);
    } catch (err) {
        if (err instanceof ImageRefError) {
            return { id: "image", status: "fail", message: err.message, fix: "pulumi config set image <location>-docker.pkg.dev/<project>/<repository>/<image>:<tag>" };
        }
        throw err;
    }
    if (ref.kind !== "artifact-registry") {
        return { id: "image", status: "warn", message: `${image} is on ${ref.host}, not in Artifact Registry: whether it exists (and GKE may pull it) cannot be checked here`, fix: null };
    }
    const repoName = `projects/${ref.project}/locations/${ref.location}/repositories/${ref.repository}`;
    const pkg = `${repoName}/packages/${encodeURIComponent(ref.image)}`;
    const repository = `${ref.host}/${ref.project.replace(":", "/")}/${ref.repository}/${ref.image}`;
    const url = ref.digest ? `https://artifactregistry.googleapis.com/v1/${pkg}/versions/${ref.digest}` : `https://artifactregistry.googleapis.com/v1/${pkg}/tags/${encodeURIComponent(ref.tag ?? "")}`;
    const res = await ctx.client.get<{ name?: string; version?: string }>(url);
    if (res.ok) {
        const digest = ref.digest ?? res.body?.version?.split("/").pop();
        return { id: "image", status: "pass", message: `${image} exists in Artifact Registry${digest && !ref.digest ? ` (${digest})` : ""}`, fix: null };
    }
    const disabled = disabledService(res);
    if (disabled) {
        return unchecked("image", `cannot look ${image} up: ${disabled} is disabled in ${ref.project} (${describeError(res)})`, [`api:${disabled}`], `gcloud services enable artifactregistry.googleapis.com --project ${ref.project}`);
    }
    if (res.status === 403) {
        const permission = permissionOf(ref.digest ? "artifactregistry.projects.locations.repositories.packages.versions.get" : "artifactregistry.projects.locations.repositories.packages.tags.get");
        return unchecked(
            "image",
            `cannot look ${image} up (${describeError(res)}); roles/artifactregistry.reader on ${repoName} has it`,
            [deniedPermission(res) ?? permission],
            `gcloud artifacts repositories add-iam-policy-binding ${ref.repository} --location=${ref.location} --project=${ref.project} --member=${memberOf(ctx.identity)} --role=roles/artifactregistry.reader`,
        );
    }
    if (res.status === 404) {
        const repo = await ctx.client.get(`https://artifactregistry.googleapis.com/v1/${repoName}`);
        if (repo.status === 404) {
            return {
                id: "image",
                status: "fail",
                message: `the Artifact Registry repository ${repoName} of ${image} does not exist; the bootstrap creates it (cd bootstrap && pulumi up)`,
                fix: `gcloud artifacts repositories create ${ref.repository} --repository-format=docker --location=${ref.location} --project=${ref.project}`,
            };
        }
        if (ref.digest) {
            return {
                id: "image",
                status: "fail",
                message: `${image} is not in ${repoName}: no image with digest ${ref.digest}. Build, push and pin a new digest`,
                fix: `npm run release -- --stack ${ctx.stack.stack} --repository ${repository}`,
            };
        }
        return {
            id: "image",
            status: "fail",
            message: `${image} is not in ${repoName}: no tag ${ref.tag}. Build and push it (or \`npm run release -- --stack ${ctx.stack.stack} --repository ${repository} --tag ${ref.tag}\`, which also pins the digest and deploys)`,
            fix: `docker buildx build --platform ${BUILD_PLATFORM} --tag ${image} --push ${DEFAULT_CONTEXT}`,
        };
    }
    return { id: "image", status: "unchecked", message: `looking ${image} up failed (${describeError(res)})`, fix: null };
}
