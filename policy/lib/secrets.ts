/**
 * Recognising secret material that was written as a literal instead of a Secret reference.
 */

/** Default pattern for names of variables/keys that hold secrets (case-insensitive). */
export const DEFAULT_SECRET_NAME_PATTERN =
    "(PASSWORD|PASSWD|SECRET|TOKEN|PRIVATE_?KEY|API_?KEY|ACCESS_?KEY|CREDENTIALS?)";

/** True when the name looks like it holds a secret. */
export function isSecretName(name: string, pattern: string): boolean {
    return new RegExp(pattern, "i").test(name);
}

/** True when the value itself is secret material, whatever its name (PEM private keys). */
export function looksLikeSecretValue(value: string): boolean {
    return /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(value);
}
