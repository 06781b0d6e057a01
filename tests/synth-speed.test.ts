/**
 * The pieces that keep synth fast, each checked for what it must keep doing (no timings here:
 * `npm run bench:synth` measures speed).
 */
import assert from "node:assert/strict";
import { findSourceMap } from "node:module";
import * as path from "node:path";
import { describe, it } from "node:test";
import { skipDependencySourceMaps } from "../cli/lib/dependencySourceMaps";
import { renderSvg } from "../cli/lib/graph";
import { median } from "../maint/bench-synth";

describe("dependency source maps", () => {
    it("are not read for node_modules, while the project's TypeScript keeps its maps", () => {
        assert.equal(process.sourceMapsEnabled, true, "tests run under tsx, which turns source maps on");
        skipDependencySourceMaps(); // idempotent: already installed by the import, or by maint/test.sh
        // A dependency file that names a .js.map, loaded anew (other test files of the same shard
        // may have loaded it already, with the skip installed first by maint/test.sh).
        const dependency = path.join(__dirname, "..", "node_modules", "@kubernetes-models", "validate", "dist", "utils.js");
        delete require.cache[dependency];
        require(dependency);
        assert.equal(findSourceMap(dependency), undefined);
        assert.equal(process.sourceMapsEnabled, true, "switched back on after the dependency loaded");
        const own = require.resolve("../cli/lib/cliIo");
        require(own);
        assert.notEqual(findSourceMap(own), undefined, "tsx's inline map of a project file is still read");
    });
});

describe("renderSvg (Graphviz in a worker thread)", () => {
    it("answers each request with its own drawing, reports DOT errors and keeps working after one", async () => {
        const [first, second] = await Promise.all([renderSvg("digraph { alpha -> beta }"), renderSvg("digraph { gamma }")]);
        assert.match(first, /<svg[\s\S]*<title>alpha<\/title>[\s\S]*<title>beta<\/title>/);
        assert.match(second, /<title>gamma<\/title>/);
        assert.doesNotMatch(second, /alpha/);
        await assert.rejects(renderSvg("digraph { a -> }"), /^Error: graphviz: syntax error in line 1/);
        assert.match(await renderSvg("digraph { again }"), /<title>again<\/title>/);
    });
});

describe("bench:synth", () => {
    it("compares medians", () => {
        assert.equal(median([3, 1, 2]), 2);
        assert.equal(median([4, 1, 3, 2]), 2.5);
        assert.equal(median([7]), 7);
    });
});
