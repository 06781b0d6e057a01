/**
 * Imported first by the command-line tools that load the Pulumi SDKs (synth): keeps Node from
 * reading the source maps of dependencies.
 *
 * tsx turns Node's source-map support on (`process.setSourceMapsEnabled(true)`) so that stack
 * traces point into the TypeScript sources. Node then reads and parses the `.js.map` file of every
 * module that names one when it compiles it: @pulumi/gcp, @pulumi/kubernetes, @grpc/grpc-js and
 * @opentelemetry/api ship over 3,000 such files, which adds about a fifth to loading the SDKs (measured:
 * 1.00 s → 1.20 s with `node --enable-source-maps`). Nobody debugs those files through their maps
 * here, so support is switched off while a module under `node_modules/` is compiled and loaded,
 * and back on afterwards: the project's own TypeScript keeps its mapped stack traces.
 *
 * Node 22.14 / 23.7 added the supported form of this, `module.setSourceMapsSupport(true, {
 * nodeModules: false })` (https://nodejs.org/api/module.html#modulesetsourcemapssupportenabled-options),
 * used when present; on Node 20 `Module.prototype._compile` (through which every CommonJS module is
 * compiled and run) is wrapped instead. If neither is there, nothing changes: only speed depends
 * on it.
 */
import Module from "node:module";
import * as path from "node:path";

const NODE_MODULES = `${path.sep}node_modules${path.sep}`;

interface Compilable {
    _compile(this: unknown, ...args: unknown[]): unknown;
}

let installed = false;

/** Switches source-map support off for modules under `node_modules/`; idempotent. Returns whether it acted. */
export function skipDependencySourceMaps(): boolean {
    if (installed || !process.sourceMapsEnabled) {
        return false;
    }
    installed = true;
    const setSupport = (Module as unknown as { setSourceMapsSupport?: (enabled: boolean, options?: { nodeModules?: boolean; generatedCode?: boolean }) => void }).setSourceMapsSupport;
    if (typeof setSupport === "function") {
        // What process.setSourceMapsEnabled(true) set, minus node_modules.
        setSupport.call(Module, true, { nodeModules: false, generatedCode: true });
        return true;
    }
    const proto = (Module as unknown as { prototype?: Partial<Compilable> }).prototype;
    const compile = proto?._compile;
    if (proto === undefined || typeof compile !== "function" || typeof process.setSourceMapsEnabled !== "function") {
        return false;
    }
    // Depth of nested dependency loads: a dependency's body requires other dependencies.
    let depth = 0;
    proto._compile = function compileWithoutDependencyMaps(this: unknown, ...args: unknown[]): unknown {
        const filename = args[1];
        if (typeof filename !== "string" || !filename.includes(NODE_MODULES)) {
            return compile.apply(this, args);
        }
        if (depth++ === 0) {
            process.setSourceMapsEnabled(false);
        }
        try {
            return compile.apply(this, args);
        } finally {
            if (--depth === 0) {
                process.setSourceMapsEnabled(true);
            }
        }
    };
    return true;
}

skipDependencySourceMaps();
