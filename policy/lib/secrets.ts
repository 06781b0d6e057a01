/**
 * Recognising secret material that was written as a literal instead of a Secret reference.
 */

/**
 * Default pattern for names of variables/keys that hold secrets (case-insensitive): passwords,
 * secrets, tokens (bearer ones too), private/API/access keys, credentials, and any name ending in
 * `_KEY` or `_KEY_CONTENT` (`AZURE_BATCH_KEY`, `OCI_CLI_KEY_CONTENT`: the names Polaris'
 * sensitiveContainerEnvVar fixtures use) except `…PUBLIC_KEY`.
 */
export const DEFAULT_SECRET_NAME_PATTERN =
    "(PASSWORD|PASSWD|SECRET|TOKEN|BEARER|PRIVATE_?KEY|API_?KEY|ACCESS_?KEY|CREDENTIALS?|(?<!PUBLIC)_KEY(_CONTENT)?$)";

/** True when the name looks like it holds a secret. */
export function isSecretName(name: string, pattern: string): boolean {
    return new RegExp(pattern, "i").test(name);
}

/**
 * Private keys as they appear in values, in any case and with the newlines folded or not:
 * - PEM-style armour `BEGIN … PRIVATE KEY` between runs of dashes, however many (five in RFC 7468
 *   PEM, `-----BEGIN RSA PRIVATE KEY-----`, `…OPENSSH…`, `…EC…`, `…ENCRYPTED…`; three in Polaris'
 *   test/checks/sensitiveContainerEnvVar/failure.value_private_key.yaml, `---BEGIN OPENSSH
 *   PRIVATE KEY---`), PGP's `BEGIN PGP PRIVATE KEY BLOCK` included; certificates and public keys
 *   are not matched;
 * - a PuTTY private key file (`PuTTY-User-Key-File-2:` / `-3:` header).
 */
const PRIVATE_KEY_MARKERS: readonly RegExp[] = [
    /-+\s*BEGIN\s+(?:[A-Z0-9]+\s+)*PRIVATE\s+KEY(?:\s+BLOCK)?\s*-+/i,
    /(?:^|\n)\s*PuTTY-User-Key-File-\d+:/,
];

/** True when the value itself is secret material, whatever its name (private keys). */
export function looksLikeSecretValue(value: string): boolean {
    return PRIVATE_KEY_MARKERS.some((marker) => marker.test(value));
}
