/**
 * Usage and storage logs of the statics and media buckets (components/accessLogs.ts, config
 * `accessLogs.enabled`). Cloud Storage writes them as Google's group
 * `group:cloud-storage-analytics@google.com`, which needs `roles/storage.objectCreator` on the log
 * bucket (https://cloud.google.com/storage/docs/access-logs). That group is in Google's own
 * customer, so domain-restricted sharing (`constraints/iam.allowedPolicyMemberDomains`) rejects
 * the grant ("One or more users named in the policy do not belong to a permitted customer") and the
 * `pulumi up` fails: the logs can be turned off.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { STORAGE_LOG_WRITER } from "../components/accessLogs";
import { renderStack, T, type Rendered } from "./helpers/platform";

const ACCESS_LOGS = "django-platform:accessLogs";

describe("access logs on (the default) and off", () => {
    let on: Rendered;
    let off: Rendered;
    before(async () => {
        on = await renderStack("staging");
        off = await renderStack("staging", { [ACCESS_LOGS]: { enabled: false } });
    });

    it("on: the statics and media buckets log into their own -logs bucket, which Google's log writer may write", () => {
        for (const data of ["django-statics-bucket", "django-media-bucket"]) {
            const logs = data.replace(/-bucket$/, "-logs");
            assert.equal(on.inputs(T.bucket, data).logging.logBucket, on.one(T.bucket, logs).outputs.name, data);
            const writer = on.one(T.bucketIam, `${logs}-writer`);
            assert.deepEqual([writer.inputs.member, writer.inputs.role, writer.inputs.bucket], [STORAGE_LOG_WRITER, "roles/storage.objectCreator", on.one(T.bucket, logs).outputs.name]);
        }
        assert.equal(STORAGE_LOG_WRITER, "group:cloud-storage-analytics@google.com");
    });

    it("off: no log bucket, no grant to a member outside the organisation, no logging block", () => {
        assert.deepEqual(off.all(T.bucket).map((b) => b.name).sort(), ["django-media-bucket", "django-statics-bucket"]);
        assert.deepEqual(off.all(T.bucketIam).filter((m) => m.inputs.member === STORAGE_LOG_WRITER), []);
        for (const data of ["django-statics-bucket", "django-media-bucket"]) {
            assert.equal(off.inputs(T.bucket, data).logging, undefined, data);
        }
    });
});
