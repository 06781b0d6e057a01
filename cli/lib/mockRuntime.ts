/**
 * Runs Pulumi programs offline under `pulumi.runtime.setMocks` and records every resource the
 * program registers — custom and component — with what the engine would see: type, name, URN,
 * parent, provider, dependencies, inputs and (mocked) outputs.
 *
 * Shared by the test suite and the offline synth (`cli/synth.ts`), so both see one truth.
 */
import * as pulumi from "@pulumi/pulumi";
import * as settings from "@pulumi/pulumi/runtime/settings";
import { fakeOutputs, fakeInvoke } from "./mockValues";

/** One registered resource, as the mock monitor saw it. */
export interface CapturedResource {
    readonly urn: string;
    readonly type: string;
    readonly name: string;
    /** `true` for provider-backed resources, `false` for ComponentResources. */
    readonly custom: boolean;
    readonly parent?: string;
    /** Provider reference `urn::id`, when one was passed explicitly. */
    readonly provider?: string;
    /** URNs this resource depends on (`dependsOn` plus input dependencies), as the engine gets them. */
    readonly dependencies: string[];
    /** Plain input values (secrets unwrapped). */
    readonly inputs: Record<string, unknown>;
    /** Dotted input property paths whose values were Pulumi secrets. */
    readonly secretInputs: string[];
    /** Output property names the resource declares secret (`additionalSecretOutputs`, e.g. a password's `result`). */
    readonly secretOutputs?: string[];
    /** Mocked outputs: the inputs plus what the cloud would compute. */
    outputs: Record<string, unknown>;
    readonly id?: string;
    readonly protect: boolean;
    /** Input paths whose changes the engine ignores (`ignoreChanges`). */
    readonly ignoreChanges?: string[];
    /** `customTimeouts` as the engine gets them (Go duration strings; empty when unset). */
    readonly customTimeouts?: { readonly create: string; readonly update: string; readonly delete: string };
    /** `deleteBeforeReplace`. */
    readonly deleteBeforeReplace?: boolean;
    /** Input paths whose changes force a replacement (`replaceOnChanges`). */
    readonly replaceOnChanges?: string[];
    /** `retainOnDelete`: the engine drops the resource from the state instead of deleting it. */
    readonly retainOnDelete?: boolean;
    /** `import`: the id of an existing cloud resource the engine adopts instead of creating one. */
    readonly importId?: string;
    /** `aliases`, as URNs: the engine takes a resource of the state at one of them for this one. */
    readonly aliases?: string[];
}

/** One provider function call (invoke), e.g. `gcp:container/getCluster:getCluster`. */
export interface CapturedInvoke {
    readonly token: string;
    readonly inputs: Record<string, unknown>;
}

/** The result of a mocked program run. */
export interface CaptureResult {
    readonly resources: CapturedResource[];
    readonly invokes: CapturedInvoke[];
    /** The program's module exports (stack outputs), resolved. */
    readonly stackOutputs: Record<string, unknown>;
}

/** Options for {@link runProgram}. */
export interface RunOptions {
    /** Project name; config keys without a namespace belong to it. */
    readonly project: string;
    /** Stack name. */
    readonly stack: string;
    /** Fully-qualified config (`project:key` / `gcp:project`) to raw string values, as the CLI passes them. */
    readonly config: Record<string, string>;
    /** Fully-qualified keys whose values are secrets. */
    readonly secretKeys?: string[];
    /** The program: a module path to `require`, or a function that registers resources. */
    readonly program: string | (() => unknown);
    /**
     * Changes the mocked outputs of a new resource (tests that need the cloud to answer
     * differently from {@link fakeOutputs}, e.g. another port). @default none
     */
    readonly patchOutputs?: (type: string, name: string, outputs: Record<string, unknown>) => Record<string, unknown>;
}

const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const SPECIAL_SIG = "4dabf18193072939515e22adb298388d";

/** Replaces Pulumi's serialized secret envelopes with their values, collecting the secret paths. */
function unwrapSecrets(value: unknown, path: string, secrets: string[]): unknown {
    if (Array.isArray(value)) {
        return value.map((v, i) => unwrapSecrets(v, `${path}[${i}]`, secrets));
    }
    if (value !== null && typeof value === "object") {
        const obj = value as Record<string, unknown>;
        if (obj[SPECIAL_SIG] === SECRET_SIG) {
            secrets.push(path);
            return unwrapSecrets(obj.value, path, []);
        }
        const out: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(obj)) {
            out[k] = unwrapSecrets(v, path ? `${path}.${k}` : k, secrets);
        }
        return out;
    }
    return value;
}

/** Builds the URN the mock monitor gives a resource (same algorithm as Pulumi's MockMonitor). */
function urnOf(stack: string, project: string, parent: string, type: string, name: string): string {
    let qualified = type;
    if (parent) {
        const parentType = parent.split("::")[2].split("$").pop();
        qualified = `${parentType}$${type}`;
    }
    return `urn:pulumi:${stack}::${project}::${qualified}::${name}`;
}

/**
 * Runs `options.program` under Pulumi mocks and returns every resource it registered.
 * Errors thrown by the program (such as config validation errors) propagate unchanged.
 */
export async function runProgram(options: RunOptions): Promise<CaptureResult> {
    const resources: CapturedResource[] = [];
    const invokes: CapturedInvoke[] = [];
    const byUrn = new Map<string, CapturedResource>();

    pulumi.runtime.setAllConfig(options.config, options.secretKeys ?? []);
    await pulumi.runtime.setMocks(
        {
            newResource(args: pulumi.runtime.MockResourceArgs) {
                const state = fakeOutputs(args.type, args.name, args.inputs);
                return { id: `${args.name}-id`, state: options.patchOutputs ? options.patchOutputs(args.type, args.name, state) : state };
            },
            call(args: pulumi.runtime.MockCallArgs) {
                invokes.push({ token: args.token, inputs: args.inputs });
                return fakeInvoke(args.token, args.inputs);
            },
        },
        options.project,
        options.stack,
        false,
    );

    // Wrap the mock monitor so parent, provider, dependencies and protect are recorded too.
    const monitor = settings.getMonitor() as unknown as {
        registerResource(req: RegisterRequest, cb: (err: unknown, resp: unknown) => void): void;
        registerResourceOutputs(req: OutputsRequest, cb: (err: unknown, resp: unknown) => void): void;
    };
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req, cb) => {
        const parent = req.getParent();
        const urn = urnOf(options.stack, options.project, parent, req.getType(), req.getName());
        const secretInputs: string[] = [];
        const inputs = unwrapSecrets(req.getObject()?.toJavaScript() ?? {}, "", secretInputs) as Record<string, unknown>;
        const record: CapturedResource = {
            urn,
            type: req.getType(),
            name: req.getName(),
            custom: req.getCustom(),
            parent: parent || undefined,
            provider: req.getProvider() || undefined,
            dependencies: [...new Set(req.getDependenciesList())],
            inputs,
            secretInputs,
            secretOutputs: req.getAdditionalsecretoutputsList?.() ?? [],
            outputs: {},
            protect: req.getProtect?.() ?? false,
            ignoreChanges: req.getIgnorechangesList?.() ?? [],
            customTimeouts: {
                create: req.getCustomtimeouts?.()?.getCreate() ?? "",
                update: req.getCustomtimeouts?.()?.getUpdate() ?? "",
                delete: req.getCustomtimeouts?.()?.getDelete() ?? "",
            },
            deleteBeforeReplace: req.getDeletebeforereplace?.() ?? false,
            replaceOnChanges: req.getReplaceonchangesList?.() ?? [],
            retainOnDelete: req.getRetainondelete?.() ?? false,
            importId: req.getImportid?.() || undefined,
            aliases: aliasUrns(req, options, urn),
        };
        resources.push(record);
        byUrn.set(urn, record);
        register(req, (err, resp) => {
            if (!err && resp) {
                const r = resp as { getObject(): { toJavaScript(): unknown } | undefined; getId(): string };
                record.outputs = unwrapSecrets(r.getObject()?.toJavaScript() ?? {}, "", []) as Record<string, unknown>;
                (record as { id?: string }).id = r.getId() || undefined;
            }
            cb(err, resp);
        });
    };
    const registerOutputs = monitor.registerResourceOutputs.bind(monitor);
    monitor.registerResourceOutputs = (req, cb) => {
        const record = byUrn.get(req.getUrn());
        if (record && !record.custom) {
            record.outputs = unwrapSecrets(req.getOutputs()?.toJavaScript() ?? {}, "", []) as Record<string, unknown>;
        }
        registerOutputs(req, cb);
    };

    const exports = typeof options.program === "string" ? loadFresh(options.program) : await options.program();
    const stackOutputs = await resolveExports(exports);
    await (settings as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
    return { resources, invokes, stackOutputs };
}

/** Requires a module anew (a program registers its resources at load time). */
function loadFresh(modulePath: string): unknown {
    const resolved = require.resolve(modulePath);
    delete require.cache[resolved];
    return require(resolved);
}

/**
 * Runs `work` (a mocked program run, a policy run, a synth) without stack traces, for speed:
 * Pulumi captures one for every promise it creates (`debuggablePromise`, for its leak report),
 * more than half of a render's CPU time (more under tsx, which maps every frame through source
 * maps), and the policy runner's notApplicable() throws an Error
 * for every resource a policy skips. What runs and what it returns are the same either way
 * (Pulumi's source positions set their own limit); only errors made meanwhile have no stack. So
 * when `work` fails — rejects, or returns a result `failed` says is a failure — it is run once
 * more with stack traces: that run's result is returned, or its error thrown when it fails the
 * same way (same error class), so failures read as usual.
 * Pulumi also records every resource's source position from a full stack of its own (it lifts the
 * limit); meanwhile those stacks are formatted without source maps (tsx maps every frame, the mock
 * monitor throws positions away).
 * One at a time: the limit is process-wide, like the mock runtime.
 */
export async function withoutStackTraces<T>(work: () => Promise<T>, failed: (result: T) => boolean = () => false): Promise<T> {
    const limit = Error.stackTraceLimit;
    const prepare = Error.prepareStackTrace;
    Error.stackTraceLimit = 0;
    if (prepare === undefined) {
        Error.prepareStackTrace = plainStack;
    }
    let threw = false;
    let failure: unknown;
    try {
        const result = await work();
        if (!failed(result)) {
            return result;
        }
    } catch (err) {
        threw = true;
        failure = err;
    } finally {
        Error.stackTraceLimit = limit;
        if (Error.prepareStackTrace === plainStack) {
            Error.prepareStackTrace = prepare;
        }
    }
    if (!threw) {
        return work();
    }
    try {
        await work();
    } catch (again) {
        if (again instanceof Error && failure instanceof Error && again.constructor === failure.constructor) {
            throw again;
        }
    }
    throw failure;
}

/** V8's own stack format (`Error: message` and one `    at …` line per frame), without source maps. */
function plainStack(error: Error, frames: NodeJS.CallSite[]): string {
    return `${Error.prototype.toString.call(error)}${frames.map((frame) => `\n    at ${frame}`).join("")}`;
}

/** Resolves a program's exports (Outputs, promises, plain values) into plain values. */
async function resolveExports(exports: unknown): Promise<Record<string, unknown>> {
    if (exports === null || typeof exports !== "object") {
        return {};
    }
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(exports as Record<string, unknown>)) {
        if (typeof value === "function") {
            continue;
        }
        const output: pulumi.Output<unknown> = pulumi.output(value as pulumi.Input<string>);
        out[key] = await new Promise((resolve) => output.apply(resolve));
    }
    return out;
}

interface RegisterRequest {
    getType(): string;
    getName(): string;
    getParent(): string;
    getCustom(): boolean;
    getProvider(): string;
    getDependenciesList(): string[];
    getProtect?(): boolean;
    getAdditionalsecretoutputsList?(): string[];
    getIgnorechangesList?(): string[];
    getCustomtimeouts?(): { getCreate(): string; getUpdate(): string; getDelete(): string } | undefined;
    getDeletebeforereplace?(): boolean;
    getReplaceonchangesList?(): string[];
    getRetainondelete?(): boolean | undefined;
    getImportid?(): string;
    getAliasesList?(): AliasRequest[];
    getAliasurnsList?(): string[];
    getObject(): { toJavaScript(): unknown } | undefined;
}

/** An alias as the SDK sends it: a URN, or a spec whose unset fields are the resource's own. */
interface AliasRequest {
    getUrn(): string;
    getSpec(): { getName(): string; getType(): string; getStack(): string; getProject(): string; getParenturn(): string; getNoparent(): boolean } | undefined;
}

/** The URNs of a request's aliases, as the engine resolves them (pulumi/pulumi pkg/resource/deploy alias specs). */
function aliasUrns(req: RegisterRequest, options: RunOptions, urn: string): string[] | undefined {
    const urns = [...(req.getAliasurnsList?.() ?? [])];
    for (const alias of req.getAliasesList?.() ?? []) {
        const spec = alias.getSpec();
        if (alias.getUrn()) {
            urns.push(alias.getUrn());
        } else if (spec) {
            const parent = spec.getNoparent() ? "" : spec.getParenturn() || req.getParent();
            urns.push(urnOf(spec.getStack() || options.stack, spec.getProject() || options.project, parent, spec.getType() || req.getType(), spec.getName() || req.getName()));
        }
    }
    return urns.length > 0 ? urns.filter((u) => u !== urn) : undefined;
}

interface OutputsRequest {
    getUrn(): string;
    getOutputs(): { toJavaScript(): unknown } | undefined;
}

/** Finds resources by type token, and optionally by an exact logical name. */
export function findAll(resources: readonly CapturedResource[], type: string, name?: string): CapturedResource[] {
    return resources.filter((r) => r.type === type && (name === undefined || r.name === name));
}

/** Finds exactly one resource by type (and name); throws with the candidates when not exactly one. */
export function findOne(resources: readonly CapturedResource[], type: string, name?: string): CapturedResource {
    const found = findAll(resources, type, name);
    if (found.length !== 1) {
        const names = findAll(resources, type).map((r) => r.name);
        throw new Error(`expected one ${type}${name ? ` named ${name}` : ""}, found ${found.length} (have: ${names.join(", ") || "none"})`);
    }
    return found[0];
}
