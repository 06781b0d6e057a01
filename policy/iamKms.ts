/**
 * IAM and KMS: least privilege for service accounts, Workload Identity bound to one Kubernetes
 * service account, no service account keys, key rotation and no public KMS access.
 */
import * as gcp from "@pulumi/gcp";
import { configOf, stringList, tokenPolicy, typedPolicy, typeTokenOf } from "./lib/define";
import { membersOf, PUBLIC_MEMBERS, roleOf } from "./lib/iam";
import { isUnknown, isUnset, knownString, read, show } from "./lib/values";

const PROJECT_IAM_TYPES = [typeTokenOf(gcp.projects.IAMMember), typeTokenOf(gcp.projects.IAMBinding)];
const SERVICE_ACCOUNT_IAM_TYPES = [typeTokenOf(gcp.serviceaccount.IAMMember), typeTokenOf(gcp.serviceaccount.IAMBinding)];
const KMS_IAM_TYPES = [
    typeTokenOf(gcp.kms.CryptoKeyIAMMember), typeTokenOf(gcp.kms.CryptoKeyIAMBinding),
    typeTokenOf(gcp.kms.KeyRingIAMMember), typeTokenOf(gcp.kms.KeyRingIAMBinding),
];

const BASIC_ROLES = ["roles/owner", "roles/editor", "roles/viewer"];
const IMPERSONATION_ROLES = [
    "roles/iam.workloadIdentityUser", "roles/iam.serviceAccountUser", "roles/iam.serviceAccountTokenCreator",
];
const WORKLOAD_IDENTITY_USER = "roles/iam.workloadIdentityUser";

export const projectIamForbidsBasicRoles = tokenPolicy({
    name: "project-iam-forbids-basic-roles",
    description: "Nobody gets the basic roles owner, editor or viewer on the project; grant predefined roles instead.",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps: "Replace the basic role with the narrow predefined role the principal needs (e.g. roles/cloudsql.client).",
}, PROJECT_IAM_TYPES, (props, _args, report) => {
    const role = roleOf(props);
    if (role !== undefined && BASIC_ROLES.includes(role)) {
        report(`grants the basic role ${role} to ${membersOf(props).members.join(", ") || "a principal"}; use a predefined role.`);
    }
});

export const projectIamForbidsAdminRolesForServiceAccounts = tokenPolicy({
    name: "project-iam-forbids-admin-roles-for-service-accounts",
    description: "Service accounts get no admin roles on the project (CKV_GCP_42); grant resource-level roles instead.",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps: "Grant the role on the one resource that needs it (e.g. objectAdmin on the statics bucket), or allow-list it in allowedRoles.",
    configSchema: {
        properties: { allowedRoles: stringList([], "Admin roles a service account may hold on the project.") },
    },
}, PROJECT_IAM_TYPES, (props, args, report) => {
    const { allowedRoles } = configOf(args, { allowedRoles: [] as string[] });
    const role = roleOf(props);
    if (role === undefined || !/admin/i.test(role) || allowedRoles.includes(role)) {
        return;
    }
    for (const member of membersOf(props).members.filter((m) => m.startsWith("serviceAccount:"))) {
        report(`grants ${role} to ${member} on the whole project; grant a narrower role on the resource instead.`);
    }
});

export const projectIamForbidsServiceAccountImpersonation = tokenPolicy({
    name: "project-iam-forbids-service-account-impersonation",
    description: "Impersonation roles (workloadIdentityUser, serviceAccountUser, serviceAccountTokenCreator) must not be granted project-wide (CKV_GCP_41/49).",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps: "Grant the role on the one service account (gcp.serviceaccount.IAMMember), not on the project.",
}, PROJECT_IAM_TYPES, (props, _args, report) => {
    const role = roleOf(props);
    if (role !== undefined && IMPERSONATION_ROLES.includes(role)) {
        report(`grants ${role} on the whole project, which lets the principal act as every service account; grant it on one service account.`);
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
    remediationSteps: "Delete the gcp.serviceaccount.Key and use Workload Identity (pods) or workload identity federation (CI).",
}, gcp.serviceaccount.Key, (_key, args, report) => {
    report(`${args.name} creates a long-lived service account key; use Workload Identity instead.`);
});

/** Seconds in a day, for rotation periods given as `"<seconds>s"`. */
const DAY = 86_400;

export const kmsCryptoKeyRotatesRegularly = typedPolicy({
    name: "kms-crypto-key-rotates-regularly",
    description: "KMS keys must rotate at least every 90 days (CIS GCP 1.10).",
    severity: "medium",
    enforcementLevel: "advisory",
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
    remediationSteps: "Remove the public member; grant the role to the one service account that needs the key.",
}, KMS_IAM_TYPES, (props, _args, report) => {
    for (const member of membersOf(props).members.filter((m) => PUBLIC_MEMBERS.includes(m))) {
        report(`grants ${roleOf(props) ?? "a role"} to ${member}; KMS access must never be public.`);
    }
});
