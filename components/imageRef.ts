/**
 * Container image references: which Artifact Registry repository an image lives in, so the GKE
 * node service account can be granted `roles/artifactregistry.reader` on exactly that repository.
 *
 * Artifact Registry Docker images are named
 * `LOCATION-docker.pkg.dev/PROJECT-ID/REPOSITORY/IMAGE[:TAG|@DIGEST]`; a domain-scoped project
 * `example.com:my-project` appears as `example.com/my-project`
 * (https://cloud.google.com/artifact-registry/docs/docker/names).
 *
 * Pure functions: no Pulumi, no I/O.
 */

/** An image in an Artifact Registry Docker repository. */
export interface ArtifactRegistryImage {
    readonly kind: "artifact-registry";
    /** Registry host, e.g. `europe-west1-docker.pkg.dev`. */
    readonly host: string;
    /** Repository location: a region (`europe-west1`) or a multi-region (`europe`, `us`, `asia`). */
    readonly location: string;
    /** Project id of the repository (`example.com:my-project` for a domain-scoped project). */
    readonly project: string;
    /** Repository id. */
    readonly repository: string;
    /** Image (package) name inside the repository; may contain `/`. */
    readonly image: string;
    readonly tag?: string;
    /** `sha256:<64 hex>`. */
    readonly digest?: string;
}

/** An image somewhere else (Docker Hub, gcr.io, another registry): nothing to grant in Artifact Registry. */
export interface OtherImage {
    readonly kind: "other";
    /** Registry host; `docker.io` when the reference names none. */
    readonly host: string;
}

export type ImageRef = ArtifactRegistryImage | OtherImage;

/** Raised for a `*-docker.pkg.dev` reference that is not `LOCATION-docker.pkg.dev/PROJECT/REPOSITORY/IMAGE`. */
export class ImageRefError extends Error {
    constructor(readonly ref: string, reason: string) {
        super(
            `${JSON.stringify(ref)} is not an Artifact Registry image: ${reason}. ` +
                "Expected LOCATION-docker.pkg.dev/PROJECT-ID/REPOSITORY/IMAGE[:TAG|@sha256:DIGEST] " +
                "(https://cloud.google.com/artifact-registry/docs/docker/names).",
        );
        this.name = "ImageRefError";
    }
}

const AR_HOST = /^([a-z]+(?:-[a-z]+\d+)?)-docker\.pkg\.dev$/;
/** Project ids: 6-30 lower case letters, digits, hyphens, starting with a letter. */
const PROJECT_ID = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/;
/** Repository ids: lower case letters, digits, hyphens; start with a letter; at most 63. */
const REPOSITORY_ID = /^[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const DIGEST = /@(sha256:[a-f0-9]{64})$/;

/** The registry host of a reference, as Docker resolves it (a first segment with `.` or `:`, or `localhost`). */
function hostOf(segments: readonly string[]): string | undefined {
    const first = segments[0];
    return segments.length > 1 && (first.includes(".") || first.includes(":") || first === "localhost") ? first : undefined;
}

/**
 * Parses an image reference. Artifact Registry Docker images (`*-docker.pkg.dev`) give their
 * location, project and repository; anything else gives `kind: "other"`.
 *
 * @throws {ImageRefError} for a `*-docker.pkg.dev` reference without project, repository and image.
 * @example parseImageRef("europe-west1-docker.pkg.dev/acme/django/app:1.0")
 *   // { kind: "artifact-registry", location: "europe-west1", project: "acme", repository: "django", image: "app", tag: "1.0", … }
 */
export function parseImageRef(ref: string): ImageRef {
    let rest = ref.trim();
    const digest = DIGEST.exec(rest)?.[1];
    if (digest) {
        rest = rest.slice(0, -digest.length - 1);
    }
    const segments = rest.split("/");
    const last = segments[segments.length - 1];
    const colon = last.lastIndexOf(":");
    const tag = colon >= 0 ? last.slice(colon + 1) : undefined;
    if (colon >= 0) {
        segments[segments.length - 1] = last.slice(0, colon);
    }
    const host = hostOf(segments);
    const location = host ? AR_HOST.exec(host)?.[1] : undefined;
    if (!host || !location) {
        return { kind: "other", host: host ?? "docker.io" };
    }
    let path = segments.slice(1);
    let project = path[0] ?? "";
    if (project.includes(".")) {
        // Domain-scoped project: `example.com:my-project` is written `example.com/my-project`.
        project = `${project}:${path[1] ?? ""}`;
        path = path.slice(1);
    }
    const projectId = project.split(":").pop() ?? "";
    if (!PROJECT_ID.test(projectId)) {
        throw new ImageRefError(ref, `${JSON.stringify(project)} is not a project id`);
    }
    const repository = path[1] ?? "";
    if (!REPOSITORY_ID.test(repository)) {
        throw new ImageRefError(ref, repository ? `${JSON.stringify(repository)} is not a repository id` : "it names no repository");
    }
    const image = path.slice(2).join("/");
    if (!image) {
        throw new ImageRefError(ref, "it names no image inside the repository");
    }
    return {
        kind: "artifact-registry",
        host,
        location,
        project,
        repository,
        image,
        ...(tag !== undefined ? { tag } : {}),
        ...(digest ? { digest } : {}),
    };
}

/** An Artifact Registry repository, `projects/<project>/locations/<location>/repositories/<repository>`. */
export interface RepositoryRef {
    readonly project: string;
    readonly location: string;
    readonly repository: string;
}

/**
 * The distinct Artifact Registry repositories the given images come from, in first-seen order;
 * images elsewhere (Docker Hub, gcr.io…) contribute none.
 */
export function artifactRegistryRepositories(images: readonly string[]): RepositoryRef[] {
    const seen = new Map<string, RepositoryRef>();
    for (const ref of images) {
        const parsed = parseImageRef(ref);
        if (parsed.kind !== "artifact-registry") {
            continue;
        }
        const key = `projects/${parsed.project}/locations/${parsed.location}/repositories/${parsed.repository}`;
        if (!seen.has(key)) {
            seen.set(key, { project: parsed.project, location: parsed.location, repository: parsed.repository });
        }
    }
    return [...seen.values()];
}
