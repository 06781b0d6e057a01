/**
 * Who is granted what in a render: every IAM grant (project, bucket, key, repository, service
 * account) as member → role → resource, with its condition. synth writes it to report.json
 * (`grants`) for every project and prints it for the bootstrap and the IAM step, so the trust
 * layout can be read before it is applied. What those grants let each GitHub context reach, with
 * escalation, is computed by tests/trust-reachability.test.ts.
 */
import type { CapturedResource } from "./mockRuntime";

/** One rendered grant. */
export interface GrantLine {
    readonly member: string;
    readonly role: string;
    /** What it is granted on: `project <id>`, `bucket <name>`, `key <id>`, `repository <p>/<l>/<r>`, `service account <name>`. */
    readonly on: string;
    /** The condition's expression, when the grant has one. */
    readonly condition?: string;
    /** The rendered resource (`<name>`). */
    readonly resource: string;
}

const str = (v: unknown): string => (typeof v === "string" ? v : JSON.stringify(v));

/** The grants of a render, sorted by member, then resource. */
export function grantsOf(resources: readonly CapturedResource[]): GrantLine[] {
    const out: GrantLine[] = [];
    for (const r of resources) {
        const i = r.inputs;
        let on: string | undefined;
        switch (r.type) {
            case "gcp:projects/iAMMember:IAMMember":
                on = `project ${str(i.project)}`;
                break;
            case "gcp:storage/bucketIAMMember:BucketIAMMember":
                on = `bucket ${str(i.bucket)}`;
                break;
            case "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember":
                on = `key ${str(i.cryptoKeyId)}`;
                break;
            case "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember":
                on = `repository ${str(i.project)}/${str(i.location)}/${str(i.repository)}`;
                break;
            case "gcp:serviceaccount/iAMMember:IAMMember":
                on = `service account ${str(i.serviceAccountId)}`;
                break;
        }
        if (on) {
            const condition = (i.condition as { expression?: string } | undefined)?.expression;
            out.push({ member: str(i.member), role: str(i.role), on, ...(condition ? { condition } : {}), resource: r.name });
        }
    }
    return out.sort((a, b) => a.member.localeCompare(b.member) || a.on.localeCompare(b.on) || a.role.localeCompare(b.role));
}

/** The readable form: one block per member. */
export function formatGrants(grants: readonly GrantLine[]): string[] {
    const out = [`Grants (${grants.length}), by member:`];
    let member: string | undefined;
    for (const g of grants) {
        if (g.member !== member) {
            member = g.member;
            out.push(`  ${member}`);
        }
        out.push(`    ${g.role} on ${g.on}${g.condition ? ` if ${g.condition}` : ""}`);
    }
    return out;
}
