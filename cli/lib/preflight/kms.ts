/**
 * `kms`: can the identity use the stack's secrets key (`secretsprovider: gcpkms://…`)? Pulumi
 * encrypts the stack's data key with it on `pulumi stack init` and decrypts it on every
 * `pulumi up`, so both are needed.
 *
 * - Cloud KMS `cryptoKeys.encrypt`
 *   (https://cloud.google.com/kms/docs/reference/rest/v1/projects.locations.keyRings.cryptoKeys/encrypt):
 *   POST https://cloudkms.googleapis.com/v1/<key>:encrypt `{"plaintext": base64("django-platform preflight")}`
 *   answers `{"name": "<key>/cryptoKeyVersions/<n>", "ciphertext", "ciphertextCrc32c", …}`. A
 *   computation: it stores nothing. Needs cloudkms.cryptoKeyVersions.useToEncrypt.
 * - `cryptoKeys.testIamPermissions`
 *   (https://cloud.google.com/kms/docs/reference/rest/v1/projects.locations.keyRings.cryptoKeys/testIamPermissions):
 *   POST https://cloudkms.googleapis.com/v1/<key>:testIamPermissions `{"permissions":
 *   ["cloudkms.cryptoKeyVersions.useToDecrypt"]}`, so decrypting needs no real ciphertext.
 * Both come with roles/cloudkms.cryptoKeyEncrypterDecrypter on the key (the bootstrap grants it).
 */
import { describeError, disabledService } from "./google";
import type { CheckContext, CheckResult } from "./types";
import { memberOf } from "./types";

/** What preflight encrypts (and throws away). */
export const PROBE_PLAINTEXT = "django-platform preflight";

/** The parts of a `gcpkms://projects/<p>/locations/<l>/keyRings/<r>/cryptoKeys/<k>` URL. */
export function parseGcpKmsUrl(url: string): { name: string; project: string; location: string; keyRing: string; key: string } | undefined {
    const m = /^gcpkms:\/\/(projects\/([^/]+)\/locations\/([^/]+)\/keyRings\/([^/]+)\/cryptoKeys\/([^/?#]+))/.exec(url.trim());
    return m ? { name: m[1], project: m[2], location: m[3], keyRing: m[4], key: m[5] } : undefined;
}

export async function checkKms(ctx: CheckContext): Promise<CheckResult> {
    const provider = ctx.stack.secretsProvider;
    if (!provider) {
        return { id: "kms", status: "warn", message: `${ctx.stack.stackFile} has no secretsprovider: the stack would use the default provider, nothing to check`, fix: null };
    }
    const key = parseGcpKmsUrl(provider);
    if (!key) {
        return { id: "kms", status: "warn", message: `secretsprovider ${provider.replace(/\?.*$/, "")} is not gcpkms://projects/…/cryptoKeys/…: not checked`, fix: null };
    }
    const member = memberOf(ctx.identity);
    const who = ctx.identity.member ?? "the caller";
    const grant = `gcloud kms keys add-iam-policy-binding ${key.key} --keyring=${key.keyRing} --location=${key.location} --project=${key.project} --member=${member} --role=roles/cloudkms.cryptoKeyEncrypterDecrypter`;
    const res = await ctx.client.post<{ name?: string; ciphertext?: string }>(`https://cloudkms.googleapis.com/v1/${key.name}:encrypt`, {
        plaintext: Buffer.from(PROBE_PLAINTEXT).toString("base64"),
    });
    if (!res.ok) {
        const disabled = disabledService(res);
        if (disabled) {
            return { id: "kms", status: "fail", message: `cannot use ${key.name}: ${disabled} is disabled (${describeError(res)})`, fix: `gcloud services enable cloudkms.googleapis.com --project ${key.project}` };
        }
        if (res.status === 403) {
            return {
                id: "kms",
                status: "fail",
                message: `${who} may not encrypt with ${key.name} (${describeError(res)}); it needs roles/cloudkms.cryptoKeyEncrypterDecrypter on the key`,
                fix: grant,
            };
        }
        if (res.status === 404) {
            return {
                id: "kms",
                status: "fail",
                message: `the secrets key ${key.name} does not exist (${describeError(res)}); the bootstrap creates one per stack`,
                fix: `gcloud kms keys create ${key.key} --keyring=${key.keyRing} --location=${key.location} --project=${key.project} --purpose=encryption`,
            };
        }
        return { id: "kms", status: "fail", message: `encrypt with ${key.name} failed (${describeError(res)}): the key or its primary version is not usable`, fix: null };
    }
    const test = await ctx.client.post<{ permissions?: string[] }>(`https://cloudkms.googleapis.com/v1/${key.name}:testIamPermissions`, { permissions: ["cloudkms.cryptoKeyVersions.useToDecrypt"] });
    if (!test.ok) {
        return { id: "kms", status: "unchecked", message: `encrypt with ${key.name} works; could not test decrypt (${describeError(test)})`, fix: null };
    }
    if (!(test.body?.permissions ?? []).includes("cloudkms.cryptoKeyVersions.useToDecrypt")) {
        return {
            id: "kms",
            status: "fail",
            message: `${who} may encrypt with ${key.name} but not decrypt (cloudkms.cryptoKeyVersions.useToDecrypt), which every pulumi up of the stack does`,
            fix: grant,
        };
    }
    return { id: "kms", status: "pass", message: `${who} can encrypt with ${res.body?.name ?? key.name} and decrypt with ${key.name}`, fix: null };
}
