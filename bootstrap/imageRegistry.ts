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
    /** Prefix of the custom role id of {@link ImageRegistry.grantIamManagement}. @default "djangoPlatform" */
    readonly roleIdPrefix?: string;
}

/**
 * What `gcp.artifactregistry.RepositoryIamMember` calls on the repository to create, read and
 * delete a grant: `:getIamPolicy` and `:setIamPolicy` on
 * `projects/<p>/locations/<l>/repositories/<r>` (hashicorp/terraform-provider-google,
 * google/services/artifactregistry/iam_artifact_registry_repository.go, `GetResourceIamPolicy` /
 * `SetResourceIamPolicy`), i.e. these two permissions.
 */
export const REPOSITORY_IAM_PERMISSIONS: readonly string[] = [
    "artifactregistry.repositories.getIamPolicy",
    "artifactregistry.repositories.setIamPolicy",
];

/**
 * The Artifact Registry Docker repository of the app image. Tags are immutable: an image is pushed
 * once per commit (tag = commit SHA) and deployed by digest, so a tag can never be re-pointed at
 * different code. A re-run of the deploy workflow therefore must not push the commit's tag again
 * (a rebuild has another digest and would be refused): its image job reuses the digest of the tag
 * an earlier attempt pushed (.github/workflows/deploy.yml, step `existing`; tests/workflows.test.ts).
 * Only untagged images are cleaned up: a tagged image may still be running in
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
    private readonly args: ImageRegistryArgs;
    private iamGranterRole?: gcp.projects.IAMCustomRole;

    constructor(name: string, args: ImageRegistryArgs, opts?: pulumi.ComponentResourceOptions) {
        super("django-platform-bootstrap:registry:ImageRegistry", name, {}, opts);
        this.baseName = name;
        this.args = args;
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

    /**
     * Lets `member` read and change the IAM policy of this repository only: what the IAM step's
     * runners (`iamAdmins`) need to grant a stack's GKE node service account
     * `roles/artifactregistry.reader` here (iam/stackIam.ts). No CI identity gets it.
     *
     * No predefined role is that narrow: `roles/artifactregistry.repoAdmin` has no `setIamPolicy`,
     * and `roles/artifactregistry.admin` could also delete or reconfigure repositories. So: one
     * custom role in the repository's project with exactly {@link REPOSITORY_IAM_PERMISSIONS},
     * granted on this repository (never the project).
     */
    public grantIamManagement(grantee: string, member: pulumi.Input<string>): gcp.artifactregistry.RepositoryIamMember {
        this.iamGranterRole ??= new gcp.projects.IAMCustomRole(`${this.baseName}-iam-granter-role`, {
            project: this.args.project,
            roleId: `${this.args.roleIdPrefix ?? "djangoPlatform"}RegistryIamGranter`,
            title: "django-platform image repository IAM granter",
            description: "Read and change the IAM policy of the app image repository (granted on that repository only) to let GKE nodes pull.",
            permissions: [...REPOSITORY_IAM_PERMISSIONS],
            stage: "GA",
        }, { parent: this });
        return this.grant(grantee, this.iamGranterRole.name, member);
    }

    private grant(grantee: string, role: pulumi.Input<string>, member: pulumi.Input<string>): gcp.artifactregistry.RepositoryIamMember {
        return new gcp.artifactregistry.RepositoryIamMember(`${this.baseName}-${grantee}`, {
            project: this.repository.project,
            location: this.repository.location,
            repository: this.repository.name,
            role,
            member,
        }, { parent: this });
    }
}
