/**
 * What a local run starts from: a stack rendered in this process (the program under Pulumi's
 * mocks, as `npm run synth` runs it, and its IAM step, which a person runs before `pulumi up`) —
 * its Kubernetes objects as manifests.yaml holds them and the IAM facts the stand-ins enforce — or
 * a manifests.yaml that synth wrote (objects only).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_DIR } from "../appPython";
import { renderIamStep } from "../iamStep";
import { runProgram, withoutStackTraces } from "../mockRuntime";
import { objectsOf, parseManifests, type K8sDoc } from "../renderedWorkloads";
import { loadStackConfig } from "../stackConfig";
import { stackIamOf, type StackIam } from "./stackIam";

/** A rendered stack. */
export interface RenderedStack {
    /** `staging`, or the manifests' instance label. */
    readonly name: string;
    readonly docs: K8sDoc[];
    readonly iam?: StackIam;
}

/** Renders a stack (by name or stack file). Throws ConfigError / StackFileError for bad config. */
export async function renderStack(options: { readonly stack?: string; readonly configFile?: string; readonly config?: Record<string, string> }): Promise<RenderedStack> {
    const stack = loadStackConfig({ stack: options.stack, configFile: options.configFile, projectDir: REPO_DIR });
    const config = options.config ?? stack.config;
    const capture = await withoutStackTraces(() => runProgram({ project: stack.project, stack: stack.stack, config, secretKeys: stack.secretKeys, program: join(REPO_DIR, "index.ts") }));
    const iamStep = await withoutStackTraces(() => renderIamStep({ stack: stack.stack, config }));
    return { name: stack.stack, docs: objectsOf(capture.resources), iam: stackIamOf([...capture.resources, ...iamStep.resources]) };
}

/** Reads synth's manifests.yaml (no IAM facts: the stand-ins then trust the annotations). */
export function readManifests(file: string): RenderedStack {
    const docs = parseManifests(readFileSync(file, "utf8"));
    const name = docs.map((d) => d.metadata.labels?.["app.kubernetes.io/instance"]).find(Boolean) ?? file;
    return { name, docs };
}
