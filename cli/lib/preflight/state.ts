/**
 * `state`: the Pulumi state bucket (`--backend gs://…` or `PULUMI_BACKEND_URL`): does it exist, and
 * may the identity read and write checkpoints in it?
 *
 * - Cloud Storage JSON API `buckets.get` (https://cloud.google.com/storage/docs/json_api/v1/buckets/get):
 *   GET https://storage.googleapis.com/storage/v1/b/<bucket> → the bucket (`versioning.enabled`, …);
 *   needs storage.buckets.get (the bootstrap grants the deployer roles/storage.legacyBucketReader
 *   on the bucket for it); without it versioning cannot be seen and the check is `unchecked`.
 * - `buckets.testIamPermissions` (https://cloud.google.com/storage/docs/json_api/v1/buckets/testIamPermissions):
 *   GET https://storage.googleapis.com/storage/v1/b/<bucket>/iam/testPermissions?permissions=… →
 *   `{"kind": "storage#testIamPermissionsResponse", "permissions": [the subset the caller has]}`.
 *   It answers for the bucket: a grant conditioned on object names (what the bootstrap gives a
 *   stack's deployer: roles/storage.objectUser on its own stack's objects only,
 *   bootstrap/stateBackend.ts `grantState`) is not in it.
 * - `objects.get` (https://cloud.google.com/storage/docs/json_api/v1/objects/get): GET
 *   https://storage.googleapis.com/storage/v1/b/<bucket>/o/<object>, the metadata of the stack's own
 *   checkpoint (`.pulumi/stacks/<project>/<stack>.json`), under that condition: 200, or 404 before
 *   the stack's first `up`, means the identity may read it (with storage.objects.get; the same
 *   binding holds create and delete); 403 that it may not.
 */
import { permissionOf } from "../../../bootstrap/preflightReads";
import { deniedPermission, describeError } from "./google";
import type { CheckContext, CheckResult } from "./types";
import { memberOf, unchecked } from "./types";

/** What `pulumi up` does with the state bucket: read, list, write and delete checkpoints and locks. */
export const STATE_PERMISSIONS = ["storage.objects.create", "storage.objects.delete", "storage.objects.get", "storage.objects.list"] as const;

/** The bucket of a `gs://bucket[/prefix]` URL. */
export function stateBucket(url: string): string | undefined {
    return /^gs:\/\/([a-z0-9][a-z0-9._-]{1,220}[a-z0-9])(\/.*)?$/.exec(url.trim())?.[1];
}

export async function checkState(ctx: CheckContext): Promise<CheckResult> {
    if (!ctx.backendUrl) {
        return {
            id: "state",
            status: "warn",
            message: "no Pulumi backend known (neither --backend gs://… nor PULUMI_BACKEND_URL): the state bucket was not checked; pass the bootstrap's backendUrl output",
            fix: `npm run preflight -- --stack ${ctx.stack.stack} --backend gs://<state-bucket>`,
        };
    }
    const bucket = stateBucket(ctx.backendUrl);
    if (!bucket) {
        return { id: "state", status: "warn", message: `backend ${ctx.backendUrl.replace(/\?.*$/, "")} is not a gs:// bucket: not checked`, fix: null };
    }
    const member = memberOf(ctx.identity);
    const who = ctx.identity.member ?? "the caller";
    const [meta, test] = await Promise.all([
        ctx.client.get<{ name?: string; versioning?: { enabled?: boolean } }>(`https://storage.googleapis.com/storage/v1/b/${bucket}`),
        ctx.client.get<{ permissions?: string[] }>(`https://storage.googleapis.com/storage/v1/b/${bucket}/iam/testPermissions`, { permissions: [...STATE_PERMISSIONS] }),
    ]);
    if (meta.status === 404 || test.status === 404) {
        return {
            id: "state",
            status: "fail",
            message: `the state bucket gs://${bucket} does not exist; the bootstrap creates it (cd bootstrap && pulumi up)`,
            fix: `gcloud storage buckets create gs://${bucket} --uniform-bucket-level-access --public-access-prevention`,
        };
    }
    if (!test.ok) {
        return { id: "state", status: "unchecked", message: `could not test permissions on gs://${bucket} (${describeError(test)})`, fix: null };
    }
    const granted = new Set(test.body?.permissions ?? []);
    let missing: string[] = STATE_PERMISSIONS.filter((p) => !granted.has(p));
    let through = "";
    if (missing.length > 0 && granted.has("storage.objects.list")) {
        // Object rights granted under a condition on the stack's own objects: ask one of them.
        const checkpoint = `.pulumi/stacks/${ctx.stack.project}/${ctx.stack.stack}.json`;
        const object = await ctx.client.get(`https://storage.googleapis.com/storage/v1/b/${bucket}/o/${encodeURIComponent(checkpoint)}`);
        if (object.ok || object.status === 404) {
            missing = [];
            through = ` (its objects by a grant on the stack's own ones: ${object.ok ? "read" : "no checkpoint yet at"} ${checkpoint})`;
        } else if (object.status !== 403) {
            return { id: "state", status: "unchecked", message: `could not read ${checkpoint} in gs://${bucket} (${describeError(object)})`, fix: null };
        }
    }
    if (missing.length > 0) {
        return {
            id: "state",
            status: "fail",
            message: `${who} lacks ${missing.join(", ")} on the state bucket gs://${bucket}, so pulumi up cannot read or write the stack's checkpoints`,
            fix: `gcloud storage buckets add-iam-policy-binding gs://${bucket} --member=${member} --role=roles/storage.objectUser (or re-run the bootstrap, whose grant to a stack's deployer covers its own stack's objects only)`,
        };
    }
    if (!meta.ok) {
        const permission = permissionOf("storage.buckets.get");
        return unchecked(
            "state",
            `${who} can read and write checkpoints in gs://${bucket}, but could not read the bucket's settings (${describeError(meta)}), so whether old checkpoints are kept (versioning) is not known`,
            [meta.status === 403 ? (deniedPermission(meta) ?? permission) : permission],
            `gcloud storage buckets add-iam-policy-binding gs://${bucket} --member=${member} --role=roles/storage.legacyBucketReader (what the bootstrap grants the deployer)`,
        );
    }
    const versioning = meta.body?.versioning?.enabled ? ", versioned" : ", NOT versioned (old checkpoints cannot be restored)";
    if (!meta.body?.versioning?.enabled) {
        return { id: "state", status: "warn", message: `${who} can read and write gs://${bucket}${versioning}`, fix: `gcloud storage buckets update gs://${bucket} --versioning` };
    }
    return { id: "state", status: "pass", message: `${who} can read and write checkpoints in gs://${bucket}${versioning}${through}`, fix: null };
}
