import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";

/** Arguments of {@link ImageRegistry}. */
export interface ImageRegistryArgs {
    /** GCP project id. */
    readonly project: string;
    /** Region of the repository (the same as the cluster's keeps pulls in-region). */
    readonly location: string;
    /** Artifact Registry repository id. */
    readonly repositoryId: string;
    /** Image name inside the repository. @default "app" */
    readonly imageName?: string;
    /** Days before untagged images (superseded build layers) are deleted. @default 14 */
    readonly untaggedMaxAgeDays?: number;
}

/**
 * The Artifact Registry Docker repository of the app image. Tags are immutable: an image is pushed
 * once per commit (tag = commit SHA) and deployed by digest, so a tag can never be re-pointed at
 * different code. Only untagged images are cleaned up: a tagged image may still be running in
 * production, and deleting it would break the next pod that pulls it.
 */
export class ImageRegistry extends pulumi.ComponentResource {
    /** The repository. */
    public readonly repository: gcp.artifactregistry.Repository;
    /** Registry host for `docker login` / `gcloud auth configure-docker`, e.g. `europe-west1-docker.pkg.dev`. */
    public readonly host: string;
    /** Full image name without tag, e.g. `europe-west1-docker.pkg.dev/acme/django-platform/app`. */
    public readonly imageRepository: pulumi.Output<string>;
    private readonly baseName: string;

    constructor(name: string, args: ImageRegistryArgs, opts?: pulumi.ComponentResourceOptions) {
        super("django-platform-bootstrap:registry:ImageRegistry", name, {}, opts);
        this.baseName = name;
        const untaggedDays = args.untaggedMaxAgeDays ?? 14;

        this.repository = new gcp.artifactregistry.Repository(`${name}-repository`, {
            project: args.project,
            location: args.location,
            repositoryId: args.repositoryId,
            format: "DOCKER",
            description: "Django app images, tagged by commit SHA, deployed by digest",
            dockerConfig: { immutableTags: true },
            cleanupPolicyDryRun: false,
            cleanupPolicies: [{
                id: "delete-untagged",
                action: "DELETE",
                condition: { tagState: "UNTAGGED", olderThan: `${untaggedDays * 86400}s` },
            }],
        }, { parent: this, dependsOn: opts?.dependsOn });

        this.host = `${args.location}-docker.pkg.dev`;
        this.imageRepository = pulumi.interpolate`${this.host}/${args.project}/${this.repository.repositoryId}/${args.imageName ?? "app"}`;
        this.registerOutputs({ imageRepository: this.imageRepository });
    }

    /** Lets `member` pull images from this repository only (e.g. GKE nodes of a stack in another project). */
    public grantPull(grantee: string, member: pulumi.Input<string>): gcp.artifactregistry.RepositoryIamMember {
        return this.grant(grantee, "roles/artifactregistry.reader", member);
    }

    /** Lets `member` push (and pull) images in this repository only. */
    public grantPush(grantee: string, member: pulumi.Input<string>): gcp.artifactregistry.RepositoryIamMember {
        return this.grant(grantee, "roles/artifactregistry.writer", member);
    }

    private grant(grantee: string, role: string, member: pulumi.Input<string>): gcp.artifactregistry.RepositoryIamMember {
        return new gcp.artifactregistry.RepositoryIamMember(`${this.baseName}-${grantee}`, {
            project: this.repository.project,
            location: this.repository.location,
            repository: this.repository.name,
            role,
            member,
        }, { parent: this });
    }
}
