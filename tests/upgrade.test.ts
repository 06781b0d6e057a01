/**
 * Upgrades (issue 23 item 5): the previous release's staging and production stacks
 * (tests/fixtures/upgrade/<version>.json, rendered from the commit maint/releases.json records by
 * `npm run gen:upgrade-fixture`) against this tree's program run with the same stack files plus
 * the config changes docs/upgrading.md tells users to make. Every URN change is listed (test
 * diagnostics); the transition is planned with the provider's replacement rules
 * (maint/lib/transitions/plan.ts). It fails when a data-bearing resource would be replaced or
 * deleted, when a removed or replaced resource is not on docs/upgrading.md, or when a resource
 * that looks renamed (same type and cloud name under another URN) has no alias.
 */
import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { runProgram, withoutStackTraces, type CapturedResource } from "../cli/lib/mockRuntime";
import { loadStackConfig } from "../cli/lib/stackConfig";
import { fixtureFile, releases, UPGRADE_STACKS, type UpgradeFixture } from "../maint/gen-upgrade-fixture";
import { applyOverrides, type Overrides } from "../maint/lib/configOverrides";
import { dataBearing } from "../maint/lib/transitions/check";
import { planTransition, type Step } from "../maint/lib/transitions/plan";

const REPO = join(__dirname, "..");
const GUIDE = readFileSync(join(REPO, "docs", "upgrading.md"), "utf8");
const work = mkdtempSync(join(tmpdir(), "django-platform-upgrade-"));
after(() => rmSync(work, { recursive: true, force: true }));

/**
 * The config changes docs/upgrading.md asks for, by release, as the stack's config after them, and
 * the command of the guide that makes each (checked to be on the page). A documentation range in
 * cluster.masterAuthorizedNetworks stands for the user's own office range.
 */
const CONFIG_CHANGES: Record<string, { readonly command: string; readonly overrides: Overrides }[]> = {
    "0.1.0": [
        { command: "pulumi config set --path workload.minReplicas 2", overrides: { "django-platform:workload": { minReplicas: 2 } } },
        { command: "pulumi config set --path 'cluster.masterAuthorizedNetworks[0].cidr' <office CIDR>", overrides: { "django-platform:cluster": { masterAuthorizedNetworks: [{ cidr: "85.214.0.0/24", name: "office" }] } } },
    ],
};

const short = (urn: string): string => urn.split("::").slice(2).join("::");

/** Explicit cloud names of a resource (the inputs whose equality makes two URNs the same object). */
function cloudName(r: CapturedResource): string | undefined {
    const inputs = r.inputs as Record<string, unknown>;
    const metadata = inputs.metadata as Record<string, unknown> | undefined;
    const name = inputs.accountId ?? inputs.name ?? metadata?.name;
    return typeof name === "string" ? `${r.type} ${String(metadata?.namespace ?? inputs.project ?? "")}/${name}` : undefined;
}

/**
 * Renders this tree's program with a release's stack file and the guide's config changes. A
 * resource that an alias matches to one of `before` keeps that resource's cloud outputs (its
 * auto-name, address, …), as the engine keeps the object: the program is rendered a second time
 * with them, so that what depends on a renamed resource sees the values it would really get.
 */
async function renderNow(version: string, stackName: string, stackFile: string, before: readonly CapturedResource[]): Promise<CapturedResource[]> {
    const first = await renderOnce(version, stackName, stackFile);
    const old = new Map(before.map((r) => [r.urn, r]));
    const kept = new Map<string, Record<string, unknown>>();
    for (const r of first) {
        const match = (r.aliases ?? []).map((a) => old.get(a)).find((o) => o !== undefined && o.type === r.type);
        if (match) {
            kept.set(`${r.type}::${r.name}`, match.outputs);
        }
    }
    return kept.size === 0 ? first : renderOnce(version, stackName, stackFile, (type, name, outputs) => ({ ...outputs, ...(kept.get(`${type}::${name}`) ?? {}) }));
}

async function renderOnce(version: string, stackName: string, stackFile: string, patchOutputs?: (type: string, name: string, outputs: Record<string, unknown>) => Record<string, unknown>): Promise<CapturedResource[]> {
    const dir = join(work, `${version}-${stackName}`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `Pulumi.${stackName}.yaml`), stackFile);
    copyFileSync(join(REPO, "Pulumi.yaml"), join(dir, "Pulumi.yaml"));
    const stack = loadStackConfig({ stack: stackName, projectDir: dir });
    let config = stack.config;
    for (const change of CONFIG_CHANGES[version] ?? []) {
        config = applyOverrides(config, change.overrides);
    }
    const capture = await withoutStackTraces(() => runProgram({ project: stack.project, stack: stackName, config, secretKeys: stack.secretKeys, program: join(REPO, "index.ts"), patchOutputs }));
    return capture.resources;
}

const previous = releases()[releases().length - 1];

describe(`upgrading from ${previous.version} (commit ${previous.commit})`, () => {
    test("the fixture is of the release maint/releases.json records", () => {
        assert.ok(existsSync(fixtureFile(previous.version)), `run npm run gen:upgrade-fixture (no ${fixtureFile(previous.version)})`);
        const fixture = JSON.parse(readFileSync(fixtureFile(previous.version), "utf8")) as UpgradeFixture;
        assert.equal(fixture.commit, previous.commit);
        assert.deepEqual(Object.keys(fixture.stacks).sort(), [...UPGRADE_STACKS].sort());
    });

    test("docs/upgrading.md gives every config change the test makes", () => {
        assert.match(GUIDE, new RegExp(`^## ${previous.version.replaceAll(".", "\\.")} → `, "m"));
        for (const change of CONFIG_CHANGES[previous.version] ?? []) {
            assert.ok(GUIDE.includes(change.command), `docs/upgrading.md does not give \`${change.command}\``);
        }
    });

    for (const stackName of UPGRADE_STACKS) {
        test(`${stackName}: every URN change is listed, nothing data-bearing is replaced or deleted, renames carry aliases`, async (t) => {
            const fixture = JSON.parse(readFileSync(fixtureFile(previous.version), "utf8")) as UpgradeFixture;
            const before = fixture.stacks[stackName].resources;
            const now = await renderNow(previous.version, stackName, fixture.stacks[stackName].stackFile, before);
            // The engine takes an old resource at one of a new resource's aliases for that resource.
            // (The provider SDKs alias every resource to their own former type tokens: only aliases
            // that name a resource of the old stack count.)
            const oldStack = new Set(before.map((r) => r.urn));
            const aliasOf = new Map<string, string>();
            for (const r of now) {
                for (const alias of (r.aliases ?? []).filter((a) => oldStack.has(a) && a !== r.urn)) {
                    aliasOf.set(alias, r.urn);
                }
            }
            const moved = before.map((r) => (aliasOf.has(r.urn) ? { ...r, urn: aliasOf.get(r.urn) as string } : r));
            const nowUrns = new Set(now.map((r) => r.urn));
            const oldUrns = new Set(moved.map((r) => r.urn));
            const removed = moved.filter((r) => !nowUrns.has(r.urn));
            const added = now.filter((r) => !oldUrns.has(r.urn));
            const plan = planTransition(moved, now);
            const replaced = plan.steps.filter((s: Step) => s.action === "replace");
            for (const [alias, urn] of aliasOf) {
                t.diagnostic(`aliased: ${short(alias)} → ${short(urn)}`);
            }
            for (const r of removed) {
                t.diagnostic(`removed: ${short(r.urn)}${dataBearing(r) ? " (data-bearing)" : ""}`);
            }
            for (const r of added) {
                t.diagnostic(`added: ${short(r.urn)}`);
            }
            for (const s of replaced) {
                t.diagnostic(`replaced: ${short(s.urn)} (${s.changes.filter((c) => c.effect === "replace").map((c) => c.path).join(", ")})`);
            }

            // A data-bearing resource is neither replaced nor deleted by the upgrade.
            const lost = [
                ...replaced.filter((s) => s.before !== undefined && dataBearing(s.before) !== undefined).map((s) => `replaced: ${short(s.urn)} (${dataBearing(s.before as CapturedResource)})`),
                ...removed.filter((r) => r.custom && dataBearing(r) !== undefined).map((r) => `deleted: ${short(r.urn)} (${dataBearing(r)})`),
            ];
            assert.deepEqual(lost, [], "an upgrade would lose data; give the resource an alias or keep its inputs, or document a procedure and an exception here");

            // A resource that reappears under another URN with the same cloud name is a rename without an alias.
            const addedNames = new Map(added.filter((r) => r.custom).map((r) => [cloudName(r), r] as const).filter(([n]) => n !== undefined));
            const unaliased = removed.filter((r) => r.custom && cloudName(r) !== undefined && addedNames.has(cloudName(r))).map((r) => `${short(r.urn)} → ${short(addedNames.get(cloudName(r))!.urn)}`);
            assert.deepEqual(unaliased, [], "renamed without aliases: the engine would delete the old object and create the new one");

            // Every removed custom resource and every replaced one is on docs/upgrading.md.
            const undocumented = [...removed.filter((r) => r.custom), ...replaced.map((s) => s.before as CapturedResource)].filter((r) => !GUIDE.includes(`\`${r.name}\``)).map((r) => short(r.urn));
            assert.deepEqual(undocumented, [], `docs/upgrading.md (## ${previous.version} → …) must list these URN changes`);
            assert.ok(now.length > 50 && before.length > 50, "both renders hold the whole stack");
        });
    }
});
