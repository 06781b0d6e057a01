/**
 * Kubernetes RBAC: Roles and ClusterRoles must not hand out the permissions that turn one
 * compromised pod or account into a cluster takeover (wildcards, reading Secrets, exec into pods,
 * creating pods, granting or impersonating other identities, admission webhooks, certificate
 * approval), and RoleBindings/ClusterRoleBindings must not grant cluster-admin (or an equally
 * powerful role) nor bind anything to `default` service accounts or the `system:` catch-all groups.
 *
 * The platform itself creates no RBAC objects (its pods run without API tokens and reach Google
 * APIs through Workload Identity), so every rule here is mandatory: anything that matches lets
 * someone in. A role or binding that really needs a permission is allow-listed by its Pulumi
 * resource name in the policy config.
 */
import type { PolicyResource, ReportViolation } from "@pulumi/policy";
import { configOf, matchesAny, PolicyMeta, PackPolicy, stackPolicy, stringList, tokenPolicy } from "./lib/define";
import { namespaceKey, sameNamespace } from "./lib/k8s";
import { isUnknown, knownItems, knownString, read, show, Unknown, UNKNOWN } from "./lib/values";

export const ROLE = "kubernetes:rbac.authorization.k8s.io/v1:Role";
export const CLUSTER_ROLE = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole";
export const ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding";
export const CLUSTER_ROLE_BINDING = "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding";

const ROLE_TYPES = [ROLE, CLUSTER_ROLE];
const BINDING_TYPES = [ROLE_BINDING, CLUSTER_ROLE_BINDING];
const RBAC_GROUP = "rbac.authorization.k8s.io";

/** One PolicyRule of a Role or ClusterRole, with its known list entries. */
export interface RbacRule {
    readonly index: number;
    readonly apiGroups: string[];
    readonly resources: string[];
    readonly verbs: string[];
    readonly resourceNames: string[];
}

/** The known rules of a Role/ClusterRole's properties. */
export function rulesOf(props: Record<string, any>): RbacRule[] {
    const strings = (value: unknown): string[] => knownItems(value as unknown[]).filter((v): v is string => typeof v === "string");
    return knownItems(read(() => props.rules as Record<string, unknown>[] | undefined)).map((rule, index) => ({
        index,
        apiGroups: strings(read(() => rule.apiGroups)),
        resources: strings(read(() => rule.resources)),
        verbs: strings(read(() => rule.verbs)),
        resourceNames: strings(read(() => rule.resourceNames)),
    }));
}

/** A set of permissions: any of `verbs` on any of `resources` in any of `apiGroups`. */
interface Permission {
    readonly apiGroups: readonly string[];
    readonly resources: readonly string[];
    readonly verbs: readonly string[];
}

/** Whether a rule's resource entry matches `resource` (`pods/exec`), with RBAC's `*` and `*\/<subresource>` forms. */
function resourceMatches(ruleResource: string, resource: string): boolean {
    if (ruleResource === "*" || ruleResource === resource) {
        return true;
    }
    const slash = resource.indexOf("/");
    return slash >= 0 && ruleResource === `*/${resource.slice(slash + 1)}`;
}

/**
 * What part of `permission` the rule grants: the matching `verbs on resources`, or `undefined`.
 * `exemptNamed` leaves out rules limited by resourceNames for the listed verbs.
 */
function grants(rule: RbacRule, permission: Permission, exemptNamed: readonly string[] = []): string | undefined {
    if (!rule.apiGroups.some((g) => g === "*" || permission.apiGroups.includes(g))) {
        return undefined;
    }
    const resources = permission.resources.filter((r) => rule.resources.some((rr) => resourceMatches(rr, r)));
    let verbs = rule.verbs.includes("*") ? [...permission.verbs] : permission.verbs.filter((v) => rule.verbs.includes(v));
    if (rule.resourceNames.length > 0) {
        verbs = verbs.filter((v) => !exemptNamed.includes(v));
    }
    if (resources.length === 0 || verbs.length === 0) {
        return undefined;
    }
    return `${verbs.join("/")} on ${resources.join(", ")}`;
}

/** `rule #0 (verbs [...] on resources [...])` for messages. */
function describe(rule: RbacRule): string {
    return `rules[${rule.index}] (verbs ${show(rule.verbs)} on ${show(rule.resources)} in apiGroups ${show(rule.apiGroups)})`;
}

const READ_SECRETS: Permission = { apiGroups: [""], resources: ["secrets"], verbs: ["get", "list", "watch"] };
const EXEC: Permission = {
    apiGroups: [""],
    resources: ["pods/exec", "pods/attach", "pods/ephemeralcontainers", "nodes/proxy"],
    verbs: ["get", "create", "update", "patch"],
};
const CREATE_PODS: Permission = {
    apiGroups: ["", "apps", "batch"],
    resources: ["pods", "deployments", "replicasets", "statefulsets", "daemonsets", "jobs", "cronjobs", "replicationcontrollers"],
    verbs: ["create"],
};
const ESCALATION: readonly Permission[] = [
    { apiGroups: [RBAC_GROUP], resources: ["roles", "clusterroles"], verbs: ["bind", "escalate"] },
    { apiGroups: [RBAC_GROUP], resources: ["rolebindings", "clusterrolebindings"], verbs: ["create", "update", "patch", "bind"] },
    { apiGroups: ["", "authentication.k8s.io"], resources: ["users", "groups", "serviceaccounts", "uids"], verbs: ["impersonate"] },
];
const CONTROL_PLANE: readonly Permission[] = [
    {
        apiGroups: ["admissionregistration.k8s.io"],
        resources: ["mutatingwebhookconfigurations", "validatingwebhookconfigurations", "validatingadmissionpolicies", "validatingadmissionpolicybindings"],
        verbs: ["create", "update", "patch", "delete"],
    },
    { apiGroups: ["certificates.k8s.io"], resources: ["certificatesigningrequests/approval"], verbs: ["update", "patch"] },
    { apiGroups: ["certificates.k8s.io"], resources: ["signers"], verbs: ["approve", "sign"] },
    { apiGroups: [""], resources: ["services/status"], verbs: ["update", "patch"] },
];

/** The verbs that together amount to full control (Polaris counts all seven as "cluster-admin-like"). */
const ALL_VERBS = ["get", "list", "watch", "create", "update", "patch", "delete"];

/** True when a rule grants every verb on every resource of every API group. */
function isClusterAdminRule(rule: RbacRule): boolean {
    return rule.apiGroups.includes("*") && rule.resources.includes("*")
        && (rule.verbs.includes("*") || ALL_VERBS.every((v) => rule.verbs.includes(v)));
}

const allowedRolesSchema = {
    properties: {
        allowedRoles: stringList([], "Pulumi resource-name globs of Roles/ClusterRoles that may hold these permissions."),
    },
};

/**
 * A resource policy over Roles and ClusterRoles; `check` reports per rule. Allow-listed roles and
 * aggregated ClusterRoles (their rules are filled in by the controller) are skipped.
 */
function rolePolicy(meta: PolicyMeta, check: (rule: RbacRule, report: (message: string) => void) => void): PackPolicy {
    return tokenPolicy({ ...meta, configSchema: allowedRolesSchema }, ROLE_TYPES, (props, args, report) => {
        const { allowedRoles } = configOf(args, { allowedRoles: [] as string[] });
        if (matchesAny(args.name, allowedRoles)) {
            return;
        }
        for (const rule of rulesOf(props)) {
            check(rule, (message) => report(`${describe(rule)} ${message}`));
        }
    });
}

const ALLOW_LIST_HINT = "or allow-list the role's Pulumi name in allowedRoles when it really needs this";

export const roleForbidsWildcardRules = rolePolicy({
    name: "role-forbids-wildcard-rules",
    description: "Roles and ClusterRoles must list their API groups, resources and verbs: a `*` also grants whatever is added to the API later.",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps: `Replace each "*" in apiGroups, resources and verbs with the exact values the subject needs, ${ALLOW_LIST_HINT}.`,
    covers: ["CKV_K8S_49"],
}, (rule, report) => {
    const wild = (["apiGroups", "resources", "verbs"] as const).filter((field) => rule[field].includes("*"));
    if (wild.length > 0) {
        report(`uses "*" in ${wild.join(", ")}; list the exact values.`);
    }
});

export const roleForbidsSecretAccess = rolePolicy({
    name: "role-forbids-secret-access",
    description: "Roles and ClusterRoles must not read Secrets (get, list, watch): whoever holds the role reads every password and token in their scope.",
    severity: "critical",
    enforcementLevel: "mandatory",
    remediationSteps: `Remove get/list/watch on secrets; mount the one Secret a pod needs instead, or limit get to named Secrets with resourceNames, ${ALLOW_LIST_HINT}.`,
    covers: ["CKV2_K8S_5"],
}, (rule, report) => {
    const granted = grants(rule, READ_SECRETS, ["get"]);
    if (granted !== undefined) {
        report(`grants ${granted}: it reads Secrets.`);
    }
});

export const roleForbidsPodExec = rolePolicy({
    name: "role-forbids-pod-exec",
    description: "Roles and ClusterRoles must not allow exec or attach into pods, adding ephemeral containers, or the kubelet API (nodes/proxy): each runs commands inside pods with their identity.",
    severity: "critical",
    enforcementLevel: "mandatory",
    remediationSteps: `Remove pods/exec, pods/attach, pods/ephemeralcontainers and nodes/proxy from the rule; debug through logs and the Cloud Console's break-glass access, ${ALLOW_LIST_HINT}.`,
    covers: ["polaris:clusterrolePodExecAttach", "polaris:rolePodExecAttach", "CKV2_K8S_2"],
}, (rule, report) => {
    const granted = grants(rule, EXEC);
    if (granted !== undefined) {
        report(`grants ${granted}: it runs commands in pods.`);
    }
});

export const roleForbidsPodCreation = rolePolicy({
    name: "role-forbids-pod-creation",
    description: "Roles and ClusterRoles must not create pods or pod controllers (CIS 5.1.4): a new pod can mount any Secret and run as any service account of its namespace.",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps: `Remove create on pods, deployments, replicasets, statefulsets, daemonsets, jobs, cronjobs and replicationcontrollers; deployments go through Pulumi, ${ALLOW_LIST_HINT}.`,
    covers: ["kube-linter:access-to-create-pods"],
}, (rule, report) => {
    const granted = grants(rule, CREATE_PODS);
    if (granted !== undefined) {
        report(`grants ${granted}: it can start pods with any service account and Secret of the namespace.`);
    }
});

export const roleForbidsPrivilegeEscalation = rolePolicy({
    name: "role-forbids-privilege-escalation",
    description: "Roles and ClusterRoles must not grant bind or escalate on roles, write RoleBindings/ClusterRoleBindings, or impersonate users, groups or service accounts: each lets the holder give itself any permission.",
    severity: "critical",
    enforcementLevel: "mandatory",
    remediationSteps: `Remove the bind/escalate verbs, write access to (cluster)rolebindings and impersonate; grant roles through Pulumi instead, ${ALLOW_LIST_HINT}.`,
    covers: ["CKV_K8S_157", "CKV_K8S_158", "CKV2_K8S_1", "CKV2_K8S_3"],
}, (rule, report) => {
    const found = ESCALATION.map((permission) => grants(rule, permission)).filter((g): g is string => g !== undefined);
    for (const granted of found) {
        report(`grants ${granted}: the holder can grant itself more.`);
    }
    if (found.length === 0 && rule.verbs.includes("impersonate")) {
        report(`grants impersonate on ${rule.resources.join(", ")}: the holder can act as another identity.`);
    }
});

export const roleForbidsControlPlaneWrites = rolePolicy({
    name: "role-forbids-control-plane-writes",
    description: "Roles and ClusterRoles must not change admission webhooks or policies, approve or sign CertificateSigningRequests, or write services/status (CVE-2020-8554): each subverts the cluster's own controls.",
    severity: "critical",
    enforcementLevel: "mandatory",
    remediationSteps: `Remove write access to admission webhook configurations and policies, certificatesigningrequests/approval, signers and services/status, ${ALLOW_LIST_HINT}.`,
    covers: ["CKV_K8S_155", "CKV_K8S_156", "CKV2_K8S_4"],
}, (rule, report) => {
    for (const permission of CONTROL_PLANE) {
        const granted = grants(rule, permission);
        if (granted !== undefined) {
            report(`grants ${granted}.`);
        }
    }
});

/**
 * The user-facing built-in ClusterRoles and what they grant. The API server creates them and, at
 * every start, puts back any rule they miss (https://kubernetes.io/docs/reference/access-authn-authz/rbac/#default-roles-and-role-bindings,
 * "Auto-reconciliation"): a binding to one of these names grants the cluster's role, never a
 * same-named ClusterRole a stack declares.
 */
const BUILT_IN_CLUSTER_ROLES: Record<string, { clusterAdmin: boolean; exec: boolean }> = {
    "cluster-admin": { clusterAdmin: true, exec: true },
    admin: { clusterAdmin: false, exec: true },
    edit: { clusterAdmin: false, exec: true },
    view: { clusterAdmin: false, exec: false },
};

/** The prefix Kubernetes reserves for the roles and bindings its control plane manages. */
const SYSTEM_PREFIX = "system:";

/** What a binding's roleRef points to. */
type RoleTarget =
    | { readonly kind: "stack"; readonly role: PolicyResource; readonly name: string }
    | { readonly kind: "built-in"; readonly name: string }
    | { readonly kind: "missing"; readonly roleKind: string; readonly name: string };

/**
 * The role a binding refers to: a built-in ClusterRole by name (cluster-admin, admin, edit, view;
 * the API server binds its own, whatever the stack declares); else a Role (same namespace) or
 * ClusterRole of the stack by name; else, when the role's name is computed, the only role of that
 * kind without a declared name that the binding depends on; else "missing" (defined outside the
 * stack, the control plane's `system:` roles included).
 */
export function roleOf(binding: PolicyResource, resources: readonly PolicyResource[]): RoleTarget | Unknown {
    const kind = read(() => binding.props.roleRef?.kind);
    const name = read(() => binding.props.roleRef?.name);
    if (isUnknown(kind) || isUnknown(name)) {
        return UNKNOWN;
    }
    const type = kind === "ClusterRole" ? CLUSTER_ROLE : kind === "Role" ? ROLE : undefined;
    if (type === undefined || typeof name !== "string") {
        return { kind: "missing", roleKind: String(kind), name: String(name) };
    }
    if (type === CLUSTER_ROLE && Object.hasOwn(BUILT_IN_CLUSTER_ROLES, name)) {
        return { kind: "built-in", name };
    }
    const ns = namespaceKey(binding);
    const byName = resources.filter((r) => r.type === type && read(() => r.props.metadata?.name) === name
        && (type === CLUSTER_ROLE || sameNamespace(namespaceKey(r), ns) !== false));
    if (byName.length > 0) {
        return { kind: "stack", role: byName[0], name };
    }
    const computed = binding.dependencies.filter((d) => d.type === type && typeof read(() => d.props.metadata?.name) !== "string");
    if (computed.length === 1) {
        return { kind: "stack", role: computed[0], name };
    }
    return { kind: "missing", roleKind: kind, name };
}

/** `ClusterRoleBinding x` / `RoleBinding x` for messages. */
function bindingLabel(binding: PolicyResource): string {
    return `${binding.type === CLUSTER_ROLE_BINDING ? "ClusterRoleBinding" : "RoleBinding"} ${binding.name}`;
}

const allowedBindingsSchema = {
    properties: {
        allowedBindings: stringList([], "Pulumi resource-name globs of RoleBindings/ClusterRoleBindings that may grant such a role."),
    },
};

/** A stack policy over the bindings (and the roles they refer to), skipping allow-listed bindings. */
function bindingPolicy(
    meta: PolicyMeta,
    check: (binding: PolicyResource, target: RoleTarget, report: (message: string) => void) => void,
): PackPolicy {
    return stackPolicy({ ...meta, configSchema: allowedBindingsSchema }, [...BINDING_TYPES, ...ROLE_TYPES], (args, report: ReportViolation) => {
        const { allowedBindings } = configOf(args, { allowedBindings: [] as string[] });
        for (const binding of args.resources.filter((r) => BINDING_TYPES.includes(r.type))) {
            if (matchesAny(binding.name, allowedBindings)) {
                continue;
            }
            const target = roleOf(binding, args.resources);
            if (target !== UNKNOWN) {
                check(binding, target, (message) => report(message, binding.urn));
            }
        }
    });
}

export const roleBindingForbidsClusterAdmin = bindingPolicy({
    name: "role-binding-forbids-cluster-admin",
    description: "RoleBindings and ClusterRoleBindings must not grant cluster-admin, or a role of the stack with every verb on every resource.",
    severity: "critical",
    enforcementLevel: "mandatory",
    remediationSteps: "Bind a role with only the permissions the subject needs, or allow-list the binding's Pulumi name in allowedBindings (break-glass only).",
    covers: ["polaris:clusterrolebindingClusterAdmin", "polaris:rolebindingClusterAdminClusterRole", "polaris:rolebindingClusterAdminRole"],
}, (binding, target, report) => {
    if (target.kind === "built-in" && BUILT_IN_CLUSTER_ROLES[target.name].clusterAdmin) {
        report(`${bindingLabel(binding)} grants the built-in ClusterRole cluster-admin: full control of the cluster.`);
    }
    if (target.kind === "stack") {
        const rule = rulesOf(target.role.props).find(isClusterAdminRule);
        if (rule !== undefined) {
            report(`${bindingLabel(binding)} grants ${target.role.name}, whose ${describe(rule)} is cluster-admin in all but name.`);
        }
    }
});

export const roleBindingForbidsPodExecRoles = bindingPolicy({
    name: "role-binding-forbids-pod-exec-roles",
    description: "RoleBindings and ClusterRoleBindings must not grant a role that allows exec or attach into pods: the stack's own roles, or the built-in admin and edit ClusterRoles.",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps: "Bind the built-in view ClusterRole or a role without pods/exec and pods/attach, or allow-list the binding's Pulumi name in allowedBindings.",
    covers: ["polaris:clusterrolebindingPodExecAttach", "polaris:rolebindingClusterRolePodExecAttach", "polaris:rolebindingRolePodExecAttach"],
}, (binding, target, report) => {
    if (target.kind === "built-in" && BUILT_IN_CLUSTER_ROLES[target.name].exec && !BUILT_IN_CLUSTER_ROLES[target.name].clusterAdmin) {
        report(`${bindingLabel(binding)} grants the built-in ClusterRole ${target.name}, which allows pods/exec and pods/attach.`);
    }
    if (target.kind === "stack") {
        for (const rule of rulesOf(target.role.props)) {
            const granted = grants(rule, { ...EXEC, resources: ["pods/exec", "pods/attach"] });
            if (granted !== undefined) {
                report(`${bindingLabel(binding)} grants ${target.role.name}, whose ${describe(rule)} allows ${granted}.`);
            }
        }
    }
});

export const roleBindingGrantsRoleInStack = bindingPolicy({
    name: "role-binding-grants-role-in-stack",
    description: "RoleBindings and ClusterRoleBindings should grant a role the pack can judge: a Role or ClusterRole of the stack, or the built-in cluster-admin, admin, edit or view. A role defined elsewhere (or not at all yet) may allow anything, and the other binding policies cannot see it.",
    severity: "medium",
    enforcementLevel: "advisory",
    remediationSteps: "Declare the role in the stack (so the role policies judge its rules), bind a built-in ClusterRole, or allow-list the binding's Pulumi name in allowedBindings when the role is managed elsewhere on purpose.",
    covers: ["polaris:clusterrolebindingPodExecAttach", "polaris:rolebindingClusterRolePodExecAttach", "polaris:rolebindingRolePodExecAttach"],
}, (binding, target, report) => {
    if (target.kind === "missing") {
        report(`${bindingLabel(binding)} grants ${target.roleKind} ${target.name}, which is neither in this stack nor a built-in the pack knows (cluster-admin, admin, edit, view): its rules cannot be checked.`);
    }
});

export const clusterRoleAvoidsBuiltInNames = tokenPolicy({
    name: "cluster-role-avoids-built-in-names",
    description: "A stack's ClusterRole must not take the name of a built-in one (cluster-admin, admin, edit, view) or the control plane's `system:` prefix: bindings to a built-in name grant the cluster's own role, which the API server restores at every start, so the stack's rules would only mislead a reviewer (and a `system:` role is the control plane's to change).",
    severity: "high",
    enforcementLevel: "mandatory",
    remediationSteps: "Rename the ClusterRole (e.g. <app>-<purpose>) and bind that name; to grant a built-in role, bind it without declaring it.",
}, [CLUSTER_ROLE], (props, _args, report) => {
    const name = knownString(read(() => props.metadata?.name));
    if (name === undefined) {
        return;
    }
    if (Object.hasOwn(BUILT_IN_CLUSTER_ROLES, name)) {
        report(`ClusterRole ${name} has the name of a built-in ClusterRole: bindings to ${name} grant the cluster's own role, which the API server restores at every start, not these rules; rename it.`);
    } else if (name.startsWith(SYSTEM_PREFIX)) {
        report(`ClusterRole ${name} uses the system: prefix, which Kubernetes reserves for the roles its control plane manages; rename it.`);
    }
});

/** Groups that mean "everyone" (or every service account) and the anonymous user. */
const CATCH_ALL_GROUPS = ["system:authenticated", "system:unauthenticated", "system:serviceaccounts"];

export const roleBindingForbidsDefaultAndSystemSubjects = tokenPolicy({
    name: "role-binding-forbids-default-and-system-subjects",
    description: "RoleBindings and ClusterRoleBindings must not bind a `default` service account, the anonymous user, or a `system:` group that stands for everyone (system:authenticated, system:unauthenticated, system:serviceaccounts[:<namespace>]).",
    severity: "critical",
    enforcementLevel: "mandatory",
    remediationSteps: "Create a dedicated ServiceAccount (or name the users/groups) and bind that; every pod without serviceAccountName runs as `default`, and the system: groups include every caller.",
    covers: ["CKV_K8S_42"],
}, BINDING_TYPES, (props, _args, report) => {
    knownItems(read(() => props.subjects as Record<string, unknown>[] | undefined)).forEach((subject, index) => {
        const kind = knownString(read(() => subject.kind));
        const name = knownString(read(() => subject.name));
        if (name === undefined) {
            return;
        }
        if (kind === "ServiceAccount" && name === "default") {
            const ns = knownString(read(() => subject.namespace));
            report(`subjects[${index}] is the default service account${ns !== undefined ? ` of namespace "${ns}"` : ""}: every pod without its own service account gets these permissions.`);
        } else if (kind === "User" && name === "system:anonymous") {
            report(`subjects[${index}] is the user system:anonymous: unauthenticated callers get these permissions.`);
        } else if (kind === "Group" && (CATCH_ALL_GROUPS.includes(name) || name.startsWith("system:serviceaccounts:"))) {
            report(`subjects[${index}] is the group ${name}: every caller in it gets these permissions.`);
        }
    });
});
