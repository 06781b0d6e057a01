/**
 * Bootstrap: what the main django-platform stacks need before they can exist — the state bucket,
 * one KMS key per stack for the `gcpkms://` secrets provider, the image repository, and keyless CI
 * access (Workload Identity Federation for one GitHub repository, a least-privilege deployer for
 * main and the stacks' environments, a read-only previewer for pull requests).
 *
 * Run once, by a human who owns the home project and the stacks' projects; see docs/bootstrap.md.
 */
import * as pulumi from "@pulumi/pulumi";
import * as commands from "./commands";
import { loadBootstrapConfig } from "./config";
import { Deployer } from "./deployer";
import { CiContext, GithubFederation, deployerContexts, previewerContexts } from "./githubFederation";
import { ImageRegistry } from "./imageRegistry";
import { Previewer } from "./previewer";
import { RequiredApis, bootstrapApis } from "./requiredApis";
import { SecretsKeys } from "./secretsKeys";
import { StateBackend } from "./stateBackend";

const cfg = loadBootstrapConfig();
const stackProjects = [...new Set(Object.values(cfg.stackProjects))];
// What every mode of the main program needs in the stacks' projects, computed from its resource
// types and run-time features (bootstrap/apiTable.ts), and the home project's own APIs.
const apis = new RequiredApis("apis", { apisByProject: bootstrapApis(cfg.project, stackProjects) });
const afterApis = { dependsOn: apis.services };

const state = new StateBackend("state", { project: cfg.project, location: cfg.location, bucketName: cfg.stateBucketName, accessLogs: cfg.stateAccessLogs }, afterApis);
const keys = new SecretsKeys("secrets", { stackProjects: cfg.stackProjects, location: cfg.location, keyRingName: cfg.keyRingName }, afterApis);
const registry = new ImageRegistry("images", { project: cfg.project, location: cfg.location, repositoryId: cfg.artifactRepositoryId }, afterApis);
const github = new GithubFederation("github", { project: cfg.project, repository: cfg.githubRepository, poolId: cfg.workloadIdentityPoolId }, afterApis);
const principals = (contexts: Record<string, CiContext>) =>
    Object.fromEntries(Object.entries(contexts).map(([key, context]) => [key, github.principal(context)]));
// deploy.yml: the image job (push to main) and one job per stack in the GitHub environment named
// after it. Pull request runs never match these subjects (bootstrap/githubFederation.ts).
const deployer = new Deployer("deployer", {
    project: cfg.project,
    targetProjects: stackProjects,
    accountId: cfg.deployerAccountId,
    impersonators: principals(deployerContexts(cfg.stacks)),
}, afterApis);
// pr.yml: read-only, limited to the previewed stacks' projects and keys.
const previewer = new Previewer("previewer", {
    project: cfg.project,
    accountId: cfg.previewerAccountId,
    targetProjects: [...new Set(cfg.previewStacks.map((stack) => cfg.stackProjects[stack]))],
    stateBucket: state.bucket.name,
    secretsKeys: Object.fromEntries(cfg.previewStacks.map((stack) => [stack, keys.keys[stack].id])),
    impersonators: principals(previewerContexts()),
}, afterApis);

state.grantStateAccess("deployer", deployer.member);
// The CI preflight's `state` check reads the bucket's versioning setting (bootstrap/preflightReads.ts).
state.grantBucketRead("deployer-bucket-read", deployer.member);
keys.grantEncryptDecrypt("deployer", deployer.member);
registry.grantPush("deployer", deployer.member);
// A stack's first `pulumi up` grants its GKE node service account pull on this repository.
registry.grantIamManagement("deployer-iam", deployer.member);
for (const reader of cfg.registryReaders) {
    registry.grantPull(`reader-${reader.replace(/[^a-zA-Z0-9]+/g, "-").toLowerCase()}`, reader);
}

/** `gs://<bucket>`: the backend of every main stack. */
export const backendUrl = state.url;
/** Log in to the state bucket (every machine and workflow that runs `pulumi`). */
export const loginCommand = state.url.apply(commands.loginCommand);
/** The `gcpkms://` secrets provider of each stack. */
export const secretsProviders = keys.secretsProviders;
/** Create each main stack with its own key (run in the repository root). */
export const stackInitCommands = pulumi.all(keys.secretsProviders).apply((providers) =>
    Object.fromEntries(Object.entries(providers).map(([stack, url]) => [stack, commands.stackInitCommand(stack, url)])),
);
/** Full image name without tag; push `:<commit-sha>` and deploy `@sha256:<digest>`. */
export const imageRepository = registry.imageRepository;
/** `workload_identity_provider` of google-github-actions/auth. */
export const workloadIdentityProvider = github.providerName;
/** `service_account` of google-github-actions/auth in deploy.yml. */
export const deployerServiceAccount = deployer.email;
/** `service_account` of google-github-actions/auth in pr.yml (read-only). */
export const previewerServiceAccount = previewer.email;
/** Fill the repository variables the workflows read. */
export const githubVariableCommands = pulumi
    .all([github.providerName, deployer.email, previewer.email, state.url, registry.imageRepository])
    .apply(([workloadIdentityProvider, serviceAccount, previewServiceAccount, backendUrl, imageRepository]) =>
        commands.githubVariableCommands(cfg.githubRepository, {
            workloadIdentityProvider,
            serviceAccount,
            previewServiceAccount,
            backendUrl,
            imageRepository,
            appContext: cfg.appContext,
        }),
    );
