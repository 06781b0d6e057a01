/**
 * Reading `pulumi stack export` files (version 3) for the policy runner: our offline synth writes
 * the same shape.
 */
import { readFileSync } from "node:fs";
import { z } from "zod";
import { REDACTED, SECRET_SIG, SPECIAL_SIG } from "./redact";

/** Input the policy runner cannot use: unreadable file, not JSON, not a stack export, bad config. */
export class PolicyInputError extends Error {
    override readonly name = "PolicyInputError";
}

/** One resource of a stack export. Unknown fields are kept. */
const resourceSchema = z.looseObject({
    urn: z.string().startsWith("urn:pulumi:", { message: "must be a Pulumi URN (urn:pulumi:<stack>::<project>::<type>::<name>)" }),
    type: z.string().min(1),
    custom: z.boolean().optional(),
    id: z.string().optional(),
    parent: z.string().optional(),
    provider: z.string().optional(),
    dependencies: z.array(z.string()).optional(),
    propertyDependencies: z.record(z.string(), z.array(z.string())).optional(),
    inputs: z.record(z.string(), z.unknown()).optional(),
    outputs: z.record(z.string(), z.unknown()).optional(),
    protect: z.boolean().optional(),
    delete: z.boolean().optional(),
    aliases: z.array(z.string()).optional(),
    additionalSecretOutputs: z.array(z.string()).optional(),
});

/** A resource of a stack export. */
export type ExportedResource = z.infer<typeof resourceSchema>;

const stackExportSchema = z.looseObject({
    version: z.literal(3, { message: "must be 3 (the format `pulumi stack export` writes today)" }),
    deployment: z.looseObject({
        manifest: z.record(z.string(), z.unknown()).optional(),
        resources: z.array(resourceSchema).optional(),
    }),
});

/** A parsed stack export. */
export type StackExport = z.infer<typeof stackExportSchema>;

const HOW_TO_GET_ONE = "Pass the file written by `pulumi stack export --file <f>` or `npm run synth -- --out out/` (out/stack-export.json).";

/** Validates an already-parsed document as a stack export; throws {@link PolicyInputError}. */
export function toStackExport(document: unknown, source = "the stack export"): StackExport {
    const result = stackExportSchema.safeParse(document);
    if (!result.success) {
        const problems = result.error.issues.slice(0, 5).map((issue) => {
            const path = issue.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("").replace(/^\./, "");
            return `  ${path || "(top level)"}: ${issue.message}`;
        });
        const more = result.error.issues.length > 5 ? `\n  … and ${result.error.issues.length - 5} more` : "";
        throw new PolicyInputError(`${source} is not a Pulumi stack export:\n${problems.join("\n")}${more}\n${HOW_TO_GET_ONE}`);
    }
    return result.data;
}

/** Parses stack export text; throws {@link PolicyInputError} for non-JSON or a wrong shape. */
export function parseStackExport(text: string, source = "the stack export"): StackExport {
    let document: unknown;
    try {
        document = JSON.parse(text);
    } catch (err) {
        throw new PolicyInputError(`${source} is not valid JSON (${(err as Error).message.replace(/\s+/g, " ")}). ${HOW_TO_GET_ONE}`);
    }
    return toStackExport(document, source);
}

/** Reads and parses a stack export file; throws {@link PolicyInputError} when it cannot. */
export function readStackExport(file: string): StackExport {
    return parseStackExport(readJsonText(file, "stack export"), file);
}

/** Reads a file as text, turning file-system errors into {@link PolicyInputError}. */
export function readJsonText(file: string, what: string): string {
    try {
        return readFileSync(file, "utf8");
    } catch (err) {
        throw new PolicyInputError(`cannot read the ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
}

/** What a secret whose plaintext is not in the export reads as (the same text synth redacts to). */
export const OPAQUE_SECRET = REDACTED;

/**
 * Replaces secret envelopes with their value, as CrossGuard does before policies see properties:
 * `plaintext` (JSON-encoded in `pulumi stack export --show-secrets`; taken as is when it is not
 * JSON), else `value`, else {@link OPAQUE_SECRET} (an encrypted `ciphertext`).
 */
export function unwrapSecrets(value: unknown): unknown {
    if (Array.isArray(value)) {
        return value.map(unwrapSecrets);
    }
    if (value === null || typeof value !== "object") {
        return value;
    }
    const record = value as Record<string, unknown>;
    if (record[SPECIAL_SIG] === SECRET_SIG) {
        if (typeof record.plaintext === "string") {
            try {
                return unwrapSecrets(JSON.parse(record.plaintext));
            } catch {
                return record.plaintext;
            }
        }
        return "value" in record ? unwrapSecrets(record.value) : OPAQUE_SECRET;
    }
    return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, unwrapSecrets(v)]));
}
