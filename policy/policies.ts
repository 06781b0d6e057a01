/**
 * Every policy of the pack, importable without starting the CrossGuard server (only `index.ts`
 * does that). The runner, the docs generator and the tests use this list.
 */
import * as cloudSql from "./cloudSql";
import * as compute from "./compute";
import * as edge from "./edge";
import * as gke from "./gke";
import * as iamKms from "./iamKms";
import type { PackPolicy } from "./lib/define";
import * as monitoring from "./monitoring";
import * as networking from "./networking";
import * as podSecurity from "./podSecurity";
import * as rbac from "./rbac";
import * as storage from "./storage";
import * as workloads from "./workloads";

export type { PackPolicy } from "./lib/define";

/** The domain modules, in the order the docs list them. */
export const policyDomains: ReadonlyArray<{ readonly title: string; readonly module: Record<string, unknown> }> = [
    { title: "Pod security", module: podSecurity },
    { title: "Workloads", module: workloads },
    { title: "Networking", module: networking },
    { title: "Kubernetes RBAC", module: rbac },
    { title: "VPC and load balancers", module: compute },
    { title: "Cloud Armor", module: edge },
    { title: "Cloud SQL", module: cloudSql },
    { title: "GKE", module: gke },
    { title: "Storage", module: storage },
    { title: "IAM and KMS", module: iamKms },
    { title: "Monitoring", module: monitoring },
];

/** True for a policy object (as opposed to a helper a domain module exports). */
function isPackPolicy(value: unknown): value is PackPolicy {
    const candidate = value as Partial<PackPolicy> | null;
    return typeof candidate === "object" && candidate !== null && typeof candidate.name === "string"
        && Array.isArray(candidate.resourceTypes)
        && ("validateResource" in candidate || "validateStack" in candidate);
}

/** The policies of one domain module, by name. */
export function policiesOf(module: Record<string, unknown>): PackPolicy[] {
    return Object.values(module).filter(isPackPolicy).sort((a, b) => a.name.localeCompare(b.name));
}

/** Every policy of the pack. */
export const allPolicies: PackPolicy[] = policyDomains.flatMap(({ module }) => policiesOf(module));
