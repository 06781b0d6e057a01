/**
 * Whether a rendered pod logs in to Cloud SQL with automatic IAM database authentication: it runs
 * the Cloud SQL Auth Proxy with `--auto-iam-authn`, which sends the pod's OAuth token as the
 * password of the user the app names (https://cloud.google.com/sql/docs/postgres/iam-authentication).
 * The local runner stands in for that login with a role of the same name and a local password.
 */
import type { DjangoContainer } from "../renderedWorkloads";

/** Whether a container's pod runs the Cloud SQL Auth Proxy with automatic IAM database authentication. */
export function proxiesIamLogin(c: Pick<DjangoContainer, "pod">): boolean {
    return (c.pod.initContainers ?? []).some((s) => /cloud-sql-proxy/.test(s.image ?? "") && (s.args ?? []).includes("--auto-iam-authn"));
}
