/**
 * Builds the two npm packages of this repository into `build/` (or `--out <dir>`), each a
 * directory that `npm publish` or `npm pack` takes as it is, in the way Pulumi's own component
 * packages are published (pulumi-eks builds to `bin/` and publishes that directory with a copy of
 * its package.json):
 *
 *   build/django-platform/          the component (api.js: DjangoPlatform, its children, the config
 *                                   schema, with .d.ts) and the `django-platform` bin (cli/bin.js)
 *   build/django-platform-policy/   the CrossGuard policy pack (index.js, PulumiPolicy.yaml)
 *
 *   npm run build:packages                      # build/
 *   npm run build:packages -- --pack <dir>      # and `npm pack` both into <dir>
 *
 * Compiled JavaScript only: the packages run with their `dependencies` and the consumer's Pulumi
 * SDKs (`peerDependencies`: one @pulumi/pulumi instance for the program and the components, which
 * Pulumi's resource registration needs), without tsx or any devDependency.
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";

/** The repository root. */
export const REPO = path.resolve(__dirname, "..");

/** Provider and engine SDKs the consumer's program shares with the component: peers, never copies. */
export const PEERS = ["@pulumi/pulumi", "@pulumi/gcp", "@pulumi/kubernetes", "@pulumi/random"] as const;

/** The policy pack's package name (policy/package.json). */
export const POLICY_PACKAGE = "django-platform-policy";

interface Manifest {
    name: string;
    version: string;
    description?: string;
    license?: string;
    engines?: Record<string, string>;
    dependencies?: Record<string, string>;
    devDependencies?: Record<string, string>;
}

function readManifest(file: string): Manifest {
    return JSON.parse(readFileSync(file, "utf8")) as Manifest;
}

function pick(from: Record<string, string>, names: readonly string[]): Record<string, string> {
    return Object.fromEntries(names.map((n) => {
        if (from[n] === undefined) {
            throw new Error(`package.json has no version range for ${n}`);
        }
        return [n, from[n]];
    }));
}

/** The published manifest of the component package, from the repository's package.json. */
export function componentManifest(root: Manifest, policyVersion: string): Record<string, unknown> {
    const deps = { ...(root.dependencies ?? {}) };
    const all = { ...deps, ...(root.devDependencies ?? {}) };
    for (const peer of PEERS) {
        delete deps[peer];
    }
    return {
        name: root.name,
        version: root.version,
        description: root.description,
        license: root.license,
        keywords: ["pulumi", "django", "gke", "gcp", "kubernetes", "component"],
        engines: root.engines,
        main: "api.js",
        types: "api.d.ts",
        exports: {
            ".": { types: "./api.d.ts", default: "./api.js" },
            "./package.json": "./package.json",
        },
        bin: { "django-platform": "cli/bin.js" },
        files: ["api.js", "api.d.ts", "config.js", "config.d.ts", "components/", "cli/", "bootstrap/", "iam/", "CHANGELOG.md"],
        dependencies: { ...deps, [POLICY_PACKAGE]: policyVersion },
        peerDependencies: { ...pick(all, PEERS), typescript: ">=4.7" },
        // A TypeScript program (index.ts) needs it, as Pulumi's own runner does; a JavaScript one does not.
        peerDependenciesMeta: { typescript: { optional: true } },
    };
}

/** The published manifest of the policy pack package, from policy/package.json. */
export function policyManifest(policy: Manifest): Record<string, unknown> {
    const deps = { ...(policy.dependencies ?? {}) };
    const peers = pick(deps, PEERS.filter((p) => p in deps));
    for (const peer of Object.keys(peers)) {
        delete deps[peer];
    }
    return {
        name: policy.name,
        version: policy.version,
        description: "CrossGuard policy pack of django-platform: pulumi preview --policy-pack node_modules/django-platform-policy",
        license: policy.license,
        main: "index.js",
        types: "index.d.ts",
        exports: {
            ".": { types: "./index.d.ts", default: "./index.js" },
            "./policies": { types: "./policies.d.ts", default: "./policies.js" },
            "./lib/*": { types: "./lib/*.d.ts", default: "./lib/*.js" },
            "./package.json": "./package.json",
        },
        files: ["*.js", "*.d.ts", "lib/", "PulumiPolicy.yaml"],
        dependencies: deps,
        peerDependencies: peers,
    };
}

/** Builds both packages into `out`; returns their directories. */
export function buildPackages(out: string): { component: string; policy: string } {
    const root = readManifest(path.join(REPO, "package.json"));
    const policy = readManifest(path.join(REPO, "policy", "package.json"));
    if (policy.version !== root.version) {
        throw new Error(`policy/package.json is ${policy.version} and package.json ${root.version}: the two packages are released together, with one version`);
    }
    const component = path.join(out, "django-platform");
    const pack = path.join(out, POLICY_PACKAGE);
    rmSync(component, { recursive: true, force: true });
    rmSync(pack, { recursive: true, force: true });
    const tsc = path.join(REPO, "node_modules", "typescript", "bin", "tsc");
    execFileSync(process.execPath, [tsc, "-p", path.join(REPO, "tsconfig.package.json"), "--outDir", component], { cwd: REPO, stdio: "inherit" });
    execFileSync(process.execPath, [tsc, "-p", path.join(REPO, "policy", "tsconfig.package.json"), "--outDir", pack], { cwd: REPO, stdio: "inherit" });
    writeFileSync(path.join(component, "package.json"), `${JSON.stringify(componentManifest(root, policy.version), null, 2)}\n`);
    copyFileSync(path.join(REPO, "CHANGELOG.md"), path.join(component, "CHANGELOG.md"));
    copyFileSync(path.join(REPO, "docs", "package-readme.md"), path.join(component, "README.md"));
    writeFileSync(path.join(pack, "package.json"), `${JSON.stringify(policyManifest(policy), null, 2)}\n`);
    copyFileSync(path.join(REPO, "policy", "PulumiPolicy.yaml"), path.join(pack, "PulumiPolicy.yaml"));
    return { component, policy: pack };
}

/** `npm pack`s a built package into `destination`; returns the tarball's path. */
export function packDirectory(dir: string, destination: string): string {
    mkdirSync(destination, { recursive: true });
    const out = execFileSync("npm", ["pack", "--json", "--pack-destination", destination], { cwd: dir, encoding: "utf8" });
    const [info] = JSON.parse(out) as { filename: string }[];
    return path.join(destination, info.filename);
}

if (require.main === module) {
    const args = process.argv.slice(2);
    const outAt = args.indexOf("--out");
    const packAt = args.indexOf("--pack");
    const out = path.resolve(outAt >= 0 ? args[outAt + 1] : path.join(REPO, "build"));
    const built = buildPackages(out);
    console.log(`built ${built.component} and ${built.policy}`);
    if (packAt >= 0) {
        const destination = path.resolve(args[packAt + 1]);
        console.log(packDirectory(built.component, destination));
        console.log(packDirectory(built.policy, destination));
    }
}
