/**
 * The IAM step (iam/program.ts) rendered under mocks for a main stack's raw config: what the tests,
 * the type generator and `npm run local` read besides the main program's render (the accounts'
 * project grants and the grants on each account to itself, such as the URL signer role).
 */
import { validateConfig } from "../../config";
import { IAM_PROJECT } from "../../iam/config";
import { buildIam } from "../../iam/program";
import { runProgram, type CaptureResult } from "./mockRuntime";

/** The CI home project the IAM renders name the deployer in (the shipped stack files' bootstrap). */
export const RENDER_CI_PROJECT = "acme-django-ci";

/** Options of {@link renderIamStep}. */
export interface IamRenderOptions {
    /** The main stack's name. */
    readonly stack: string;
    /** The main stack's raw config (fully qualified keys, as the CLI passes them). */
    readonly config: Record<string, string>;
    /** The bootstrap's home project. @default {@link RENDER_CI_PROJECT} */
    readonly ciProject?: string;
    /** Import the accounts and project grants (migration). @default false */
    readonly adoptExisting?: boolean;
}

/** Runs the IAM step under mocks for the config of one main stack. */
export function renderIamStep(options: IamRenderOptions): Promise<CaptureResult> {
    return runProgram({
        project: IAM_PROJECT,
        stack: options.stack,
        config: {},
        secretKeys: [],
        program: () =>
            buildIam({
                ciProject: options.ciProject ?? RENDER_CI_PROJECT,
                stackFile: `Pulumi.${options.stack}.yaml`,
                adoptExisting: options.adoptExisting ?? false,
                platform: validateConfig(options.config, options.stack),
            }),
    });
}
