/**
 * Bootstrap: what the main django-platform stacks need before they can exist, in a CI home project
 * that no stack deploys into — the state bucket, the image repository, Workload Identity Federation
 * for one GitHub repository and one service account per CI trust level — and, in each stack's own
 * project, its secrets key and the custom roles its identities get:
 * - `gh-image`: the image job (push to main, deploy.yml): pushes to the one image repository, nothing else;
 * - `gh-deploy-<stack>`: the job in the stack's GitHub environment (deploy.yml on main): deploys that
 *   stack only — its project, its key, its state — without IAM administration;
 * - `gh-preview-<stack>`: a pull request's preview of the stack (pr.yml), only once a reviewer
 *   approved it in the environment `preview-<stack>`: reads, never writes or decrypts another stack.
 * Service accounts of the stacks and project grants are the IAM step's (iam/), run by the people in
 * `iamAdmins`.
 *
 * Run by a human who owns the home project and the stacks' projects; see docs/bootstrap.md.
 */
import * as pulumi from "@pulumi/pulumi";
import { CiAccount } from "./ciAccount";
import { ciAccountId, deployEnvironment, previewEnvironment } from "./ciNames";
import * as commands from "./commands";
import { loadBootstrapConfig } from "./config";
import { GithubFederation, ciContexts } from "./githubFederation";
import { ImageRegistry } from "./imageRegistry";
import { RequiredApis, bootstrapApis } from "./requiredApis";
import { SecretsKeys } from "./secretsKeys";
import { StackProject } from "./stackProject";
import { StateBackend, projectStatePrefixes, stackStatePrefixes } from "./stateBackend";

/** The main program's Pulumi project name: its stacks' state lives under it. */
const MAIN_PROJECT = "django-platform";
/** The IAM step's Pulumi project name. */
const IAM_PROJECT = "django-platform-iam";

const cfg = loadBootstrapConfig();
const stackProjects = [...new Set(Object.values(cfg.stackProjects))];
// What every mode of both programs needs in the stacks' projects, computed from their resource
// types and run-time features (bootstrap/apiTable.ts), and the home project's own APIs.
const apis = new RequiredApis("apis", { apisByProject: bootstrapApis(cfg.project, stackProjects) });
const afterApis = { dependsOn: apis.services };

const state = new StateBackend("state", { project: cfg.project, location: cfg.location, bucketName: cfg.stateBucketName, accessLogs: cfg.stateAccessLogs }, afterApis);
const keys = new SecretsKeys("secrets", { stackProjects: cfg.stackProjects, location: cfg.location, keyRingName: cfg.keyRingName, adoptExisting: cfg.adoptSecretsKeys }, afterApis);
const registry = new ImageRegistry("images", { project: cfg.project, location: cfg.location, repositoryId: cfg.artifactRepositoryId }, afterApis);
const github = new GithubFederation("github", { project: cfg.project, repository: cfg.githubRepository, repositoryId: cfg.githubRepositoryId, ownerId: cfg.githubOwnerId, poolId: cfg.workloadIdentityPoolId }, afterApis);
const contexts = ciContexts(cfg.stacks, cfg.previewStacks);
const ciAccount = (name: string, accountId: string, displayName: string, context: string) =>
    new CiAccount(name, { project: cfg.project, accountId, displayName, impersonator: { key: context, principal: github.principal(contexts[context]) } }, afterApis);

// The image job: push to the one repository. No project role anywhere, no state, no key.
const image = ciAccount("image", ciAccountId({ kind: "image" }), "django-platform CI image push", "push-main");
registry.grantPush("image", image.member);

const deployers: Record<string, CiAccount> = {};
const previewers: Record<string, CiAccount> = {};
for (const stack of cfg.stacks) {
    const project = cfg.stackProjects[stack];
    const deployer = ciAccount(`deploy-${stack}`, ciAccountId({ kind: "deploy", stack }), `django-platform CI deploy (${stack})`, `environment-${deployEnvironment(stack)}`);
    deployers[stack] = deployer;
    const previewed = cfg.previewStacks.includes(stack);
    const previewer = previewed
        ? ciAccount(`preview-${stack}`, ciAccountId({ kind: "preview", stack }), `django-platform CI preview (${stack}, read-only)`, `preview-${stack}`)
        : undefined;
    if (previewer) {
        previewers[stack] = previewer;
    }
    new StackProject(`project-${stack}`, { project, stack, deployer: deployer.member, previewer: previewer?.member, iamAdmins: cfg.iamAdmins }, afterApis);

    // Its own key and its own state, nothing else of the bucket or the other stacks.
    keys.grantStack(stack, "deployer", deployer.member, "roles/cloudkms.cryptoKeyEncrypterDecrypter");
    state.grantState({ grantee: `deploy-${stack}`, member: deployer.member, prefixes: stackStatePrefixes(MAIN_PROJECT, stack), access: "readWrite" });
    // Listing (the DIY backend lists the stack's own prefixes) and the preflight's versioning check.
    state.grantBucketRead(`deploy-${stack}-bucket-read`, deployer.member);
    // The preflight's image check reads the image about to be deployed.
    registry.grantPull(`deploy-${stack}`, deployer.member);
    if (previewer) {
        // A plain preview decrypts the stack's data key and reads its checkpoint; it takes no lock
        // and writes nothing (pkg/backend/diy/backend.go), so: decrypt only, its stack file only.
        keys.grantStack(stack, "previewer", previewer.member, "roles/cloudkms.cryptoKeyDecrypter");
        state.grantState({ grantee: `preview-${stack}`, member: previewer.member, prefixes: [`.pulumi/stacks/${MAIN_PROJECT}/${stack}.json`], access: "read" });
        state.grantBucketRead(`preview-${stack}-bucket-read`, previewer.member);
    }
}

// The people who run the IAM step: its stacks' state, and the nodes' pulls on the image repository
// (their role in each stack project is StackProject's).
cfg.iamAdmins.forEach((admin, i) => {
    state.grantState({ grantee: `iam-admin-${i}`, member: admin, prefixes: projectStatePrefixes(IAM_PROJECT), access: "readWrite" });
    state.grantBucketRead(`iam-admin-${i}-bucket-read`, admin);
    registry.grantIamManagement(`iam-admin-${i}`, admin);
});
for (const reader of cfg.registryReaders) {
    registry.grantPull(`reader-${reader.replace(/[^a-zA-Z0-9]+/g, "-").toLowerCase()}`, reader);
}

const emails = (accounts: Record<string, CiAccount>) => pulumi.all(Object.fromEntries(Object.entries(accounts).map(([stack, a]) => [stack, a.email])));

/** `gs://<bucket>`: the backend of every main stack and IAM step stack. */
export const backendUrl = state.url;
/** Log in to the state bucket (every machine and workflow that runs `pulumi`). */
export const loginCommand = state.url.apply(commands.loginCommand);
/** The `gcpkms://` secrets provider of each stack. */
export const secretsProviders = keys.secretsProviders;
/** Create each main stack with its own key (run in the repository root). */
export const stackInitCommands = pulumi.all(keys.secretsProviders).apply((providers) =>
    Object.fromEntries(Object.entries(providers).map(([stack, url]) => [stack, commands.stackInitCommand(stack, url)])),
);
/** Create each stack's IAM step stack (run in the repository root, by someone in `iamAdmins`). */
export const iamStackInitCommands = Object.fromEntries(cfg.stacks.map((stack) => [stack, commands.iamStackInitCommand(stack)]));
/** Full image name without tag; push `:<commit-sha>` and deploy `@sha256:<digest>`. */
export const imageRepository = registry.imageRepository;
/** `workload_identity_provider` of google-github-actions/auth. */
export const workloadIdentityProvider = github.providerName;
/** The CI service accounts: `service_account` of google-github-actions/auth in each job. */
export const serviceAccounts = pulumi.all([image.email, emails(deployers), emails(previewers)]).apply(([imageEmail, deploy, preview]) => ({ image: imageEmail, deploy, preview }));
/** Fill the repository variables the workflows read. */
export const githubVariableCommands = pulumi
    .all([github.providerName, image.email, emails(deployers), emails(previewers), state.url, registry.imageRepository])
    .apply(([workloadIdentityProvider, imageServiceAccount, deployServiceAccounts, previewServiceAccounts, backendUrl, imageRepository]) =>
        commands.githubVariableCommands(cfg.githubRepository, {
            workloadIdentityProvider,
            imageServiceAccount,
            deployServiceAccounts,
            previewServiceAccounts,
            backendUrl,
            imageRepository,
            appContext: cfg.appContext,
        }),
    );
/**
 * Create the GitHub environments and their protection (a GitHub token with administration rights on
 * the repository runs them): deploy environments on `main` only, reviewed ones with `reviewers` and
 * no self-review; preview environments reviewed, for any branch.
 */
export const githubEnvironmentCommands = [
    ...cfg.stacks.flatMap((stack) =>
        commands.githubEnvironmentCommands(cfg.githubRepository, { name: deployEnvironment(stack), reviewers: cfg.reviewedStacks.includes(stack) ? cfg.reviewers : [], mainOnly: true }),
    ),
    ...cfg.previewStacks.flatMap((stack) => commands.githubEnvironmentCommands(cfg.githubRepository, { name: previewEnvironment(stack), reviewers: cfg.reviewers, mainOnly: false })),
];
