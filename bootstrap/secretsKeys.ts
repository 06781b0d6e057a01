import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";

/** CIS GCP 1.10 / CKV_GCP_43: KMS keys rotate at least every 90 days. */
export const MAX_ROTATION_SECONDS = 90 * 24 * 60 * 60;

/** Arguments of {@link SecretsKeys}. */
export interface SecretsKeysArgs {
    /** Project of each stack, by stack name. Each stack gets a key named after it, in its project. */
    readonly stackProjects: Readonly<Record<string, string>>;
    /** Location of the key rings (a region, or `global`). */
    readonly location: string;
    /** Key ring name, the same in every project. Key rings can never be deleted: the name is taken for good. */
    readonly keyRingName: string;
    /** Automatic rotation period in seconds, at most {@link MAX_ROTATION_SECONDS}. @default 7776000 (90 days) */
    readonly rotationPeriodSeconds?: number;
    /**
     * The rings and keys exist already (made by another bootstrap stack, the single-deployer
     * layout's): import them instead of creating them. Set for one `pulumi up`. @default false
     */
    readonly adoptExisting?: boolean;
}

/**
 * The keys of the main stacks' `gcpkms://` secrets providers: a key ring in each stack's project,
 * one symmetric key per stack, so each stack's deployer and previewer decrypt that stack's secrets
 * and no other ({@link SecretsKeys.grantStack}). Rings and keys are `protect`ed: Pulumi refuses to delete them, and a destroyed key would
 * make every secret in that stack's config and state unreadable.
 */
export class SecretsKeys extends pulumi.ComponentResource {
    /** The key ring of each project, by project id. */
    public readonly keyRings: Readonly<Record<string, gcp.kms.KeyRing>>;
    /** The key of each stack, by stack name. */
    public readonly keys: Readonly<Record<string, gcp.kms.CryptoKey>>;
    /** The `gcpkms://…` secrets provider URL of each stack, by stack name. */
    public readonly secretsProviders: Readonly<Record<string, pulumi.Output<string>>>;
    private readonly baseName: string;

    constructor(name: string, args: SecretsKeysArgs, opts?: pulumi.ComponentResourceOptions) {
        super("django-platform-bootstrap:kms:SecretsKeys", name, {}, opts);
        this.baseName = name;
        const rotation = args.rotationPeriodSeconds ?? MAX_ROTATION_SECONDS;
        if (!Number.isInteger(rotation) || rotation < 86400 || rotation > MAX_ROTATION_SECONDS) {
            throw new Error(`SecretsKeys ${name}: rotationPeriodSeconds (${rotation}) must be a whole number of seconds between 86400 (1 day) and ${MAX_ROTATION_SECONDS} (90 days).`);
        }

        const rings: Record<string, gcp.kms.KeyRing> = {};
        for (const project of new Set(Object.values(args.stackProjects))) {
            const ringId = `projects/${project}/locations/${args.location}/keyRings/${args.keyRingName}`;
            rings[project] = new gcp.kms.KeyRing(`${name}-${project}-ring`, {
                project,
                location: args.location,
                name: args.keyRingName,
            }, { parent: this, protect: true, dependsOn: opts?.dependsOn, ...(args.adoptExisting ? { import: ringId } : {}) });
        }
        this.keyRings = rings;

        const keys: Record<string, gcp.kms.CryptoKey> = {};
        const providers: Record<string, pulumi.Output<string>> = {};
        for (const [stack, project] of Object.entries(args.stackProjects)) {
            const ring = rings[project];
            const key = new gcp.kms.CryptoKey(`${name}-${stack}`, {
                keyRing: ring.id,
                name: stack,
                purpose: "ENCRYPT_DECRYPT",
                rotationPeriod: `${rotation}s`,
                versionTemplate: { algorithm: "GOOGLE_SYMMETRIC_ENCRYPTION", protectionLevel: "SOFTWARE" },
                labels: { "pulumi-stack": stack },
            }, { parent: this, protect: true, ...(args.adoptExisting ? { import: `projects/${project}/locations/${args.location}/keyRings/${args.keyRingName}/cryptoKeys/${stack}` } : {}) });
            keys[stack] = key;
            providers[stack] = pulumi.interpolate`gcpkms://projects/${project}/locations/${ring.location}/keyRings/${ring.name}/cryptoKeys/${key.name}`;
        }
        this.keys = keys;
        this.secretsProviders = providers;

        this.registerOutputs({ secretsProviders: this.secretsProviders });
    }

    /**
     * Lets `member` use one stack's key with `role` (encrypt/decrypt for its deployer, decrypt for
     * its previewer) — on that key only, never on the ring or the project. `grantee` names the
     * grant (`<name>-<stack>-<grantee>`).
     */
    public grantStack(stack: string, grantee: string, member: pulumi.Input<string>, role: "roles/cloudkms.cryptoKeyEncrypterDecrypter" | "roles/cloudkms.cryptoKeyDecrypter"): gcp.kms.CryptoKeyIAMMember {
        const key = this.keys[stack];
        if (!key) {
            throw new Error(`SecretsKeys ${this.baseName}: no key for stack ${stack}`);
        }
        return new gcp.kms.CryptoKeyIAMMember(`${this.baseName}-${stack}-${grantee}`, { cryptoKeyId: key.id, role, member }, { parent: this });
    }
}
