/**
 * Turns a mocked program run into the document `pulumi stack export` prints (version 3), so the
 * policy runner and other tools read one well-known format whether the state is real or offline.
 *
 * Like a real export it has the `pulumi:pulumi:Stack` root (parent of top-level resources, with
 * the stack outputs) and a default provider per package for resources that name no provider.
 * Secrets are written as Pulumi secret envelopes whose plaintext is `"[secret]"`: never a value.
 */
import { createHash } from "node:crypto";
import type { CaptureResult, CapturedResource } from "./mockRuntime";
import { collectSecretValues, redact, secretEnvelope, secretInputPaths, secretOutputPaths } from "./redact";

/** One resource of a stack export. */
export interface ExportedResource {
    readonly urn: string;
    readonly custom: boolean;
    readonly id?: string;
    readonly type: string;
    readonly inputs: Record<string, unknown>;
    readonly outputs: Record<string, unknown>;
    readonly parent?: string;
    /** Provider reference `urn::id`. */
    readonly provider?: string;
    readonly dependencies: string[];
    readonly protect?: boolean;
    /** Output names the resource declares secret, as the engine records them. */
    readonly additionalSecretOutputs?: string[];
}

/** The `pulumi stack export` document (version 3). */
export interface StackExport {
    readonly version: 3;
    readonly deployment: {
        readonly manifest: { readonly time: string; readonly magic: string; readonly version: string };
        readonly secrets_providers?: { readonly type: string; readonly state: Record<string, unknown> };
        readonly resources: ExportedResource[];
    };
}

/** What the export needs beyond the captured resources. */
export interface ExportMeta {
    readonly project: string;
    readonly stack: string;
    /** The stack's config (fully-qualified keys); `<pkg>:*` keys become default provider inputs. */
    readonly config: Record<string, string>;
    /** Fully-qualified config keys that are secret. */
    readonly secretKeys: readonly string[];
    /** The stack's `secretsprovider` URL. */
    readonly secretsProvider?: string;
    /** Manifest time. @default now */
    readonly time?: Date;
}

/** The type of a stack's root resource. */
export const STACK_TYPE = "pulumi:pulumi:Stack";

/** The URN of the stack's root resource. */
export function stackUrn(project: string, stack: string): string {
    return `urn:pulumi:${stack}::${project}::${STACK_TYPE}::${project}-${stack}`;
}

function packageVersion(pkg: string): string | undefined {
    try {
        return (require(`@pulumi/${pkg}/package.json`) as { version?: string }).version;
    } catch {
        return undefined;
    }
}

/** A stable UUID-shaped id, like the ids the engine gives default providers. */
function stableUuid(seed: string): string {
    const h = createHash("sha256").update(seed).digest("hex");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** The package of a type token (`gcp:sql/…` → `gcp`); providers and the stack have none. */
function packageOf(type: string): string | undefined {
    return type.startsWith("pulumi:") ? undefined : type.split(":")[0];
}

/**
 * Default provider resources for every package used without an explicit provider, and the
 * provider reference (`urn::id`) each such resource gets.
 */
function defaultProviders(resources: readonly CapturedResource[], meta: ExportMeta): { providers: ExportedResource[]; refs: Map<string, string> } {
    const providers: ExportedResource[] = [];
    const refs = new Map<string, string>();
    for (const r of resources) {
        const pkg = packageOf(r.type);
        if (!r.custom || r.provider || !pkg || refs.has(pkg)) {
            continue;
        }
        const version = packageVersion(pkg);
        const name = version ? `default_${version.replace(/[.-]/g, "_")}` : "default";
        const urn = `urn:pulumi:${meta.stack}::${meta.project}::pulumi:providers:${pkg}::${name}`;
        const id = stableUuid(urn);
        const inputs: Record<string, unknown> = {};
        for (const [key, value] of Object.entries(meta.config)) {
            if (key.startsWith(`${pkg}:`)) {
                inputs[key.slice(pkg.length + 1)] = meta.secretKeys.includes(key) ? secretEnvelope() : value;
            }
        }
        if (version) {
            inputs.version = version;
        }
        providers.push({ urn, custom: true, id, type: `pulumi:providers:${pkg}`, inputs, outputs: { ...inputs }, dependencies: [] });
        refs.set(pkg, `${urn}::${id}`);
    }
    return { providers, refs };
}

/**
 * Builds the stack export of a mocked run. Secret inputs and outputs (by path, and any string that
 * contains a secret value) become secret envelopes.
 */
export function buildStackExport(capture: CaptureResult, meta: ExportMeta): StackExport {
    const secrets = collectSecretValues(capture.resources);
    const root = stackUrn(meta.project, meta.stack);
    const { providers, refs } = defaultProviders(capture.resources, meta);
    const stackResource: ExportedResource = {
        urn: root,
        custom: false,
        type: STACK_TYPE,
        inputs: {},
        outputs: redact(capture.stackOutputs, [], secrets, secretEnvelope) as Record<string, unknown>,
        dependencies: [],
    };
    const resources = capture.resources.map((r): ExportedResource => {
        const pkg = packageOf(r.type);
        const provider = r.provider ?? (r.custom && pkg ? refs.get(pkg) : undefined);
        return {
            urn: r.urn,
            custom: r.custom,
            ...(r.custom && r.id ? { id: r.id } : {}),
            type: r.type,
            inputs: redact(r.inputs, secretInputPaths(r), secrets, secretEnvelope) as Record<string, unknown>,
            outputs: redact(r.outputs, secretOutputPaths(r), secrets, secretEnvelope) as Record<string, unknown>,
            parent: r.parent ?? root,
            ...(provider ? { provider } : {}),
            dependencies: r.dependencies,
            ...(r.protect ? { protect: true } : {}),
            ...(r.secretOutputs && r.secretOutputs.length > 0 ? { additionalSecretOutputs: [...r.secretOutputs] } : {}),
        };
    });
    const sdkVersion = packageVersion("pulumi") ?? "3.0.0";
    return {
        version: 3,
        deployment: {
            manifest: {
                time: (meta.time ?? new Date()).toISOString(),
                // The engine's check value: sha256 of the version string.
                magic: createHash("sha256").update(sdkVersion).digest("hex"),
                version: sdkVersion,
            },
            ...(meta.secretsProvider ? { secrets_providers: { type: "cloud", state: { url: meta.secretsProvider } } } : {}),
            resources: [stackResource, ...providers, ...resources],
        },
    };
}
