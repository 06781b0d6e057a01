/**
 * The project's own files: Pulumi.yaml declarations, stack files' secrets providers, and the
 * generated configuration reference being current.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { configSchema, providerSchema } from "../config";
import { CONFIG_DOC, renderConfigDoc } from "../maint/gen-config-docs";
import { ROOT } from "./helpers/platform";

const read = (file: string) => readFileSync(path.join(ROOT, file), "utf8");

describe("Pulumi.yaml", () => {
    const text = read("Pulumi.yaml");
    const project = parse(text);

    it("is a TypeScript nodejs project named django-platform", () => {
        assert.equal(project.name, "django-platform");
        assert.deepEqual(project.runtime, { name: "nodejs", options: { typescript: true, packagemanager: "npm" } });
        assert.equal(project.main, "index.ts");
    });

    it("declares every scalar key with a type Pulumi accepts and a description", () => {
        for (const [key, decl] of Object.entries(project.config as Record<string, { type: string; description: string }>)) {
            assert.ok(["string", "integer", "boolean", "array"].includes(decl.type), `${key}: type ${decl.type} is not a Pulumi project-config type`);
            assert.ok(decl.description.length > 10, `${key}: description`);
        }
        for (const key of ["domain", "image"]) {
            assert.ok(key in project.config, `${key} is not declared`);
        }
        // Pulumi rejects type declarations for keys outside the project's namespace.
        for (const key of Object.keys(project.config)) {
            assert.ok(!key.includes(":"), `${key} is not namespaced by the project and must not be declared`);
        }
        for (const key of Object.keys(providerSchema.shape)) {
            assert.match(text, new RegExp(`^#\\s+${key}\\s+string\\s+\\S`, "m"), `${key} is missing from the Pulumi.yaml comment block`);
        }
    });

    it("documents every structured key (Pulumi has no object type to declare them with)", () => {
        for (const key of Object.keys(configSchema.shape).filter((k) => !["domain", "image"].includes(k))) {
            assert.match(text, new RegExp(`^#\\s+${key}\\s+object\\s+\\S`, "m"), `${key} is missing from the Pulumi.yaml comment block`);
        }
    });
});

describe("stack files", () => {
    for (const stack of ["staging", "production"]) {
        it(`${stack} uses a GCP KMS secrets provider and says how to init the stack`, () => {
            const text = read(`Pulumi.${stack}.yaml`);
            const doc = parse(text);
            assert.match(doc.secretsprovider, /^gcpkms:\/\/projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+\/cryptoKeys\/[^/]+$/);
            assert.ok(text.includes(`pulumi stack init ${stack}`));
            assert.ok(text.includes(`--secrets-provider "${doc.secretsprovider}"`));
        });
    }
});

describe("docs/configuration.md", () => {
    it("is generated from the schema and current (run `npm run docs:config` if this fails)", () => {
        assert.equal(readFileSync(CONFIG_DOC, "utf8"), renderConfigDoc());
    });
});

describe("README and CI", () => {
    it(".ci/run runs exactly the README's set-up and test commands", () => {
        const readme = read("README.md");
        const test = /## Test\n\n```sh\n(.+)\n```/.exec(readme)?.[1];
        assert.equal(test, "bash maint/install-deps.sh && npm test && npm run reliability");
        const ci = read(".ci/run").split("\n").filter((l) => l && !l.startsWith("#") && !l.startsWith("set ") && !l.startsWith("cd "));
        assert.deepEqual(ci, test!.split(" && "));
        const synth = /## Try it[^`]*```sh\n(.+)\n```/.exec(readme)?.[1];
        assert.equal(synth, "npm ci && npm run synth -- --stack staging --out out/");
    });
});
