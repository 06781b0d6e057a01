/**
 * IAM and KMS: no basic roles, no impersonation roles on the project, no grants to the default
 * service accounts, least privilege for service accounts, Workload Identity bound to one Kubernetes
 * service account, no service account keys; key rotation, protected keys and no public KMS access.
 * IAM members, bindings and authoritative `*IAMPolicy` resources are all read.
 */
import * as gcp from "@pulumi/gcp";
import { configOf, DEFAULT_PRODUCTION_STACKS, isProductionUrn, productionStacksSchema, stringList, tokenPolicy, typedPolicy, typeTokenOf } from "./lib/define";
import { membersOf, PUBLIC_MEMBERS, roleOf } from "./lib/iam";
import { isUnknown, isUnset, knownString, read, show } from "./lib/values";

const PROJECT_IAM_TYPES = [typeTokenOf(gcp.projects.IAMMember), typeTokenOf(gcp.projects.IAMBinding), typeTokenOf(gcp.projects.IAMPolicy)];
const SERVICE_ACCOUNT_IAM_TYPES = [typeTokenOf(gcp.serviceaccount.IAMMember), typeTokenOf(gcp.serviceaccount.IAMBinding)];
const KMS_IAM_TYPES = [
    typeTokenOf(gcp.kms.CryptoKeyIAMMember), typeTokenOf(gcp.kms.CryptoKeyIAMBinding), typeTokenOf(gcp.kms.CryptoKeyIAMPolicy),
    typeTokenOf(gcp.kms.KeyRingIAMMember), typeTokenOf(gcp.kms.KeyRingIAMBinding), typeTokenOf(gcp.kms.KeyRingIAMPolicy),
];
/** Every IAM resource type of the services this platform uses: the project and each resource. */
const ALL_IAM_TYPES = [
    ...PROJECT_IAM_TYPES,
    ...SERVICE_ACCOUNT_IAM_TYPES, typeTokenOf(gcp.serviceaccount.IAMPolicy),
    ...KMS_IAM_TYPES,
    typeTokenOf(gcp.storage.BucketIAMMember), typeTokenOf(gcp.storage.BucketIAMBinding), typeTokenOf(gcp.storage.BucketIAMPolicy),
    typeTokenOf(gcp.artifactregistry.RepositoryIamMember), typeTokenOf(gcp.artifactregistry.RepositoryIamBinding),
    typeTokenOf(gcp.artifactregistry.RepositoryIamPolicy),
];

/** One role and its members, from an IAM member, binding or (authoritative) policy resource. */
interface Grant {
    readonly role: string | undefined;
    readonly members: string[];
    readonly complete: boolean;
}

/**
 * The grants of an IAM resource: one for a member or binding; one per binding of an `*IAMPolicy`,
 * whose `policyData` is the JSON of `gcp.organizations.getIAMPolicy` (`{"bindings": [{"role",
 * "members"}]}`). A policy not known yet (preview) or not parseable gives none.
 */
function grantsOf(props: Record<string, any>): Grant[] {
    const policyData = read(() => props.policyData);
    if (policyData === undefined) {
        return [{ role: roleOf(props), ...membersOf(props) }];
    }
    if (typeof policyData !== "string" || isUnknown(policyData)) {
        return [];
    }
    let parsed: { bindings?: { role?: unknown; members?: unknown }[] };
    try {
        parsed = JSON.parse(policyData) as typeof parsed;
    } catch {
        return [];
    }
    return (Array.isArray(parsed.bindings) ? parsed.bindings : []).map((b) => ({
        role: typeof b.role === "string" ? b.role : undefined,
        members: Array.isArray(b.members) ? b.members.filter((m): m is string => typeof m === "string") : [],
        complete: true,
    }));
}

const BASIC_ROLES = ["roles/owner", "roles/editor", "roles/viewer"];
/**
 * Roles that let a principal act as, or take over, service accounts: Checkov's CKV_GCP_49 list
 * (bridgecrewio/checkov, checkov/terraform/checks/resource/gcp/AbsGoogleImpersonationRoles.py, commit
 * 03d5fdad8d61) less the basic roles, which project-iam-forbids-basic-roles refuses already.
 * Service accounts (serviceAccountUser, TokenCreator, KeyAdmin, Admin, workloadIdentityUser),
 * IAM policies (securityAdmin), and every role that runs code as a service account
 * (cloudbuild.builds.editor, dataflow.developer, the *.serviceAgent roles…).
 * @see https://cloud.google.com/iam/docs/best-practices-service-accounts
 */
const IMPERSONATION_ROLES: readonly string[] = [
    "roles/iam.securityAdmin", "roles/iam.serviceAccountAdmin", "roles/iam.serviceAccountKeyAdmin",
    "roles/iam.serviceAccountUser", "roles/iam.serviceAccountTokenCreator", "roles/iam.workloadIdentityUser",
    "roles/dataflow.developer", "roles/serverless.serviceAgent", "roles/dataproc.serviceAgent", "roles/deploymentmanager.editor",
    "roles/cloudbuild.builds.editor", "roles/aiplatform.customCodeServiceAgent", "roles/aiplatform.extensionServiceAgent",
    "roles/aiplatform.serviceAgent", "roles/apigateway.serviceAgent", "roles/apigee.serviceAgent", "roles/appengine.serviceAgent",
    "roles/appengineflex.serviceAgent", "roles/bigquerycontinuousquery.serviceAgent", "roles/bigquerydatatransfer.serviceAgent",
    "roles/bigqueryspark.serviceAgent", "roles/cloudbuild.serviceAgent", "roles/cloudconfig.serviceAgent",
    "roles/clouddeploy.serviceAgent", "roles/cloudfunctions.serviceAgent", "roles/cloudscheduler.serviceAgent",
    "roles/cloudtasks.serviceAgent", "roles/composer.serviceAgent", "roles/compute.serviceAgent", "roles/connectors.serviceAgent",
    "roles/dataflow.serviceAgent", "roles/eventarc.serviceAgent", "roles/integrations.serviceAgent", "roles/ml.serviceAgent",
    "roles/notebooks.serviceAgent", "roles/pubsub.serviceAgent", "roles/run.serviceAgent", "roles/sourcerepo.serviceAgent",
    "roles/workflows.serviceAgent", "roles/iam.serviceAccountOpenIdTokenCreator", "roles/aiplatform.colabServiceAgent",
    "roles/backupdr.computeEngineOperator", "roles/backupdr.serviceAgent", "roles/batch.serviceAgent",
    "roles/clouddeploymentmanager.serviceAgent", "roles/cloudtpu.serviceAgent", "roles/compute.instanceGroupManagerServiceAgent",
    "roles/configdelivery.serviceAgent", "roles/container.serviceAgent", "roles/datapipelines.serviceAgent",
    "roles/dataplex.serviceAgent", "roles/dataprep.serviceAgent", "roles/dataproc.hubAgent",
    "roles/firebaseapphosting.serviceAgent", "roles/firebasemods.serviceAgent", "roles/gameservices.serviceAgent",
    "roles/genomics.serviceAgent", "roles/krmapihosting.anthosApiEndpointServiceAgent", "roles/krmapihosting.serviceAgent",
    "roles/lifesciences.serviceAgent", "roles/osconfig.serviceAgent", "roles/runapps.serviceAgent",
    "roles/securitycenter.securityResponseServiceAgent", "roles/workstations.serviceAgent",
    "roles/securesourcemanager.serviceAgent", "roles/assuredoss.admin", "roles/securitycenter.admin",
    "roles/vpcaccess.serviceAgent", "roles/cloudbuild.builds.builder", "roles/composer.worker", "roles/dataflow.admin",
    "roles/run.sourceDeveloper",
];
const WORKLOAD_IDENTITY_USER = "roles/iam.workloadIdentityUser";

export const projectIamForbidsBasicRoles = tokenPolicy({
    name: "project-iam-forbids-basic-roles",
    description: "Nobody gets the basic roles owner, editor or viewer: not on the project, nor on a service account, bucket, KMS key or repository; grant predefined roles instead.",
    severity: "high",
    enforcementLevel: "mandatory",
    // Checkov CKV_GCP_42 counts owner and editor among a service account's admin roles; this policy refuses them for everyone.
    covers: ["CKV_GCP_117", "CKV_GCP_42"],
    remediationSteps: "Replace the basic role with the narrow predefined role the principal needs (e.g. roles/cloudsql.client).",
}, ALL_IAM_TYPES, (props, _args, report) => {
    for (const { role, members } of grantsOf(props)) {
        if (role !== undefined && BASIC_ROLES.includes(role)) {
            report(`grants the basic role ${role} to ${members.join(", ") || "a principal"}; use a predefined role.`);
        }
    }
});

/**
 * The default service accounts Google creates: Compute Engine's `<project number>-compute@developer`
 * (editor on the project unless an org policy stops it; every VM and GKE node without its own
 * account runs as it) and App Engine's `<project id>@appspot` (Checkov CKV_GCP_46 matches both).
 * Only Google creates accounts in developer.gserviceaccount.com, so any of them counts.
 */
const DEFAULT_SERVICE_ACCOUNT = /^serviceAccount:(?:[^@]+@developer|[a-z0-9.:-]+@appspot)\.gserviceaccount\.com$/;

export const serviceAccountForbidsDefaultAccountGrants = tokenPolicy({
    name: "service-account-forbids-default-account-grants",
    description: "No IAM grant may go to the Compute Engine or App Engine default service account (<number>-compute@developer, <project>@appspot): every VM or node without its own account runs as it, so the grant reaches all of them.",
    severity: "high",
    enforcementLevel: "mandatory",
    covers: ["CKV_GCP_46"],
    remediationSteps: "Create a dedicated service account for the workload, grant the role to it, and run the workload as it (GKE nodes: see gke-nodes-use-dedicated-service-account).",
}, ALL_IAM_TYPES, (props, _args, report) => {
    for (const { role, members } of grantsOf(props)) {
        for (const member of members.filter((m) => DEFAULT_SERVICE_ACCOUNT.test(m))) {
            report(`grants ${role ?? "a role"} to the default service account ${member}; grant it to a dedicated service account instead.`);
        }
    }
});

export const projectIamForbidsAdminRolesForServiceAccounts = tokenPolicy({
    name: "project-iam-forbids-admin-roles-for-service-accounts",
    description: "Service accounts get no admin roles on the project (CKV_GCP_42); grant resource-level roles instead.",
    severity: "high",
    enforcementLevel: "mandatory",
    covers: ["CKV_GCP_42"],
    remediationSteps: "Grant the role on the one resource that needs it (e.g. objectAdmin on the statics bucket), or allow-list it in allowedRoles.",
    configSchema: {
        properties: { allowedRoles: stringList([], "Admin roles a service account may hold on the project.") },
    },
}, PROJECT_IAM_TYPES, (props, args, report) => {
    const { allowedRoles } = configOf(args, { allowedRoles: [] as string[] });
    for (const { role, members } of grantsOf(props)) {
        if (role === undefined || !/admin/i.test(role) || allowedRoles.includes(role)) {
            continue;
        }
        // A service account's address written behind another prefix (user:sa@….iam.gserviceaccount.com) is still one.
        for (const member of members.filter((m) => m.startsWith("serviceAccount:") || /@[a-z0-9.-]+\.gserviceaccount\.com$/.test(m))) {
            report(`grants ${role} to ${member} on the whole project; grant a narrower role on the resource instead.`);
        }
    }
});

export const projectIamForbidsServiceAccountImpersonation = tokenPolicy({
    name: "project-iam-forbids-service-account-impersonation",
    description: "Nobody (user, group or service account) gets a role on the project that impersonates or manages service accounts: serviceAccountUser, TokenCreator, KeyAdmin, Admin, workloadIdentityUser, securityAdmin, the *.serviceAgent roles… (Checkov's CKV_GCP_41/49 list).",
    severity: "high",
    enforcementLevel: "mandatory",
    covers: ["CKV_GCP_41", "CKV_GCP_49"],
    remediationSteps: "Grant the role on the one service account (gcp.serviceaccount.IAMMember), not on the project; service agent roles are Google's to grant.",
}, PROJECT_IAM_TYPES, (props, _args, report) => {
    for (const { role, members } of grantsOf(props)) {
        if (role !== undefined && IMPERSONATION_ROLES.includes(role)) {
            report(`grants ${role} to ${members.join(", ") || "a principal"} on the whole project, which lets the principal act as (or take over) every service account; grant it on one service account.`);
        }
    }
});

/** `serviceAccount:<project>.svc.id.goog[<namespace>/<ksa>]` with no wildcard: one GKE workload. */
const ONE_KSA = /^serviceAccount:[a-z0-9.:-]+\.svc\.id\.goog\[[a-z0-9-]+\/[a-z0-9.-]+\]$/;
/** One federated identity: `principal://iam.googleapis.com/…/subject/<subject>`. */
const ONE_SUBJECT = /^principal:\/\/iam\.googleapis\.com\/.+\/subject\/[^*]+$/;

/** True when a federated principal set is narrowed to one value of an allow-listed attribute. */
function isOneFederatedSet(member: string, attributes: readonly string[]): boolean {
    const match = /^principalSet:\/\/iam\.googleapis\.com\/.+\/attribute\.([A-Za-z0-9_]+)\/([^*]+)$/.exec(member);
    return match !== null && attributes.includes(match[1]);
}

const DEFAULT_FEDERATED_ATTRIBUTES = ["repository"];

export const serviceAccountIamScopesWorkloadIdentity = tokenPolicy({
    name: "service-account-iam-scopes-workload-identity",
    description: "roles/iam.workloadIdentityUser on a Google service account must go to one identity: one Kubernetes service account ([namespace/ksa]) or one federated subject or repository, never a whole pool.",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps: "Grant it to serviceAccount:<project>.svc.id.goog[<namespace>/<ksa>] for the one KSA, or to principalSet://…/attribute.repository/<owner>/<repo> for one CI repository.",
    configSchema: {
        properties: {
            federatedAttributes: stringList(DEFAULT_FEDERATED_ATTRIBUTES, "Attributes of a federated principalSet that name one identity (e.g. GitHub's repository)."),
        },
    },
}, SERVICE_ACCOUNT_IAM_TYPES, (props, args, report) => {
    const { federatedAttributes } = configOf(args, { federatedAttributes: DEFAULT_FEDERATED_ATTRIBUTES });
    if (roleOf(props) !== WORKLOAD_IDENTITY_USER) {
        return;
    }
    const { members, complete } = membersOf(props);
    const isOne = (m: string): boolean => ONE_KSA.test(m) || ONE_SUBJECT.test(m) || isOneFederatedSet(m, federatedAttributes);
    for (const member of members.filter((m) => !isOne(m))) {
        report(`grants ${WORKLOAD_IDENTITY_USER} to ${member}; grant it to one Kubernetes service account (serviceAccount:<project>.svc.id.goog[<namespace>/<ksa>]) or one federated repository.`);
    }
    if (complete && members.length > 1) {
        report(`grants ${WORKLOAD_IDENTITY_USER} to ${members.length} members; bind one identity per Google service account.`);
    }
});

export const serviceAccountForbidsKeys = typedPolicy({
    name: "service-account-forbids-keys",
    description: "No service account keys: workloads authenticate with Workload Identity, CI with workload identity federation (CKV2_GCP_3).",
    severity: "high",
    enforcementLevel: "mandatory",
    covers: ["CKV2_GCP_3"],
    remediationSteps: "Delete the gcp.serviceaccount.Key and use Workload Identity (pods) or workload identity federation (CI).",
}, gcp.serviceaccount.Key, (_key, args, report) => {
    report(`${args.name} creates a long-lived service account key; use Workload Identity instead.`);
});

/** Seconds in a day, for rotation periods given as `"<seconds>s"`. */
const DAY = 86_400;

export const kmsCryptoKeyRotatesRegularly = typedPolicy({
    name: "kms-crypto-key-rotates-regularly",
    description: "KMS keys must rotate at least every 90 days (CIS GCP 1.10). Mandatory: a key that never rotates leaves every secret it ever encrypted readable with one leaked key version.",
    severity: "high",
    enforcementLevel: "mandatory",
    covers: ["CKV_GCP_43"],
    remediationSteps: "Set rotationPeriod, e.g. \"7776000s\" (90 days).",
    configSchema: {
        properties: {
            maxRotationDays: { type: "integer", minimum: 1, default: 90, description: "Longest allowed rotation period in days." },
        },
    },
}, gcp.kms.CryptoKey, (key, args, report) => {
    const { maxRotationDays } = configOf(args, { maxRotationDays: 90 });
    const period = read(() => key.rotationPeriod);
    if (isUnknown(period)) {
        return;
    }
    const match = /^(\d+(?:\.\d+)?)s$/.exec(knownString(period) ?? "");
    if (isUnset(period) || match === null) {
        report(`rotationPeriod is ${show(period)}; set it to at most ${maxRotationDays * DAY}s (${maxRotationDays} days).`);
    } else if (Number(match[1]) > maxRotationDays * DAY) {
        report(`rotationPeriod ${period} is ${(Number(match[1]) / DAY).toFixed(0)} days; rotate at least every ${maxRotationDays} days.`);
    }
});

export const kmsIamForbidsPublicAccess = tokenPolicy({
    name: "kms-iam-forbids-public-access",
    description: "KMS keys and key rings must not be accessible to allUsers or allAuthenticatedUsers.",
    severity: "critical",
    enforcementLevel: "mandatory",
    covers: ["CKV_GCP_112", "CKV2_GCP_6", "CKV2_GCP_8"],
    remediationSteps: "Remove the public member; grant the role to the one service account that needs the key.",
}, KMS_IAM_TYPES, (props, _args, report) => {
    for (const { role, members } of grantsOf(props)) {
        for (const member of members.filter((m) => PUBLIC_MEMBERS.includes(m))) {
            report(`grants ${role ?? "a role"} to ${member}; KMS access must never be public.`);
        }
    }
});

/**
 * Destroying a `gcp.kms.CryptoKey` schedules the destruction of every key version (the key itself
 * cannot be deleted from Google Cloud), and whatever it encrypted — here the cluster's Secrets in
 * etcd — can no longer be decrypted. Pulumi's `protect` is what stops that in a `pulumi destroy`
 * or a replacement (Terraform's `lifecycle.prevent_destroy`, which Checkov CKV_GCP_82 checks).
 * Production only: a disposable stack must be destroyable.
 */
export const kmsCryptoKeyEnablesDeletionProtectionInProduction = typedPolicy({
    name: "kms-crypto-key-enables-deletion-protection-in-production",
    description: "In production stacks KMS keys must carry the Pulumi `protect` option: destroying a key destroys its versions, and the data they encrypted can never be decrypted again.",
    severity: "high",
    enforcementLevel: "mandatory",
    covers: ["CKV_GCP_82"],
    remediationSteps: "Add the `protect: true` resource option to the gcp.kms.CryptoKey in production (components/cluster.ts protects the Secrets key when cluster.deletionProtection is true).",
    configSchema: { properties: { productionStacks: productionStacksSchema } },
}, gcp.kms.CryptoKey, (_key, args, report) => {
    const { productionStacks } = configOf(args, { productionStacks: DEFAULT_PRODUCTION_STACKS });
    if (isProductionUrn(args.urn, productionStacks) && args.opts.protect !== true) {
        report(`${args.name} has no protect resource option: a destroy or replacement would destroy every key version and make the data it encrypted unreadable; add \`protect: true\`.`);
    }
});
