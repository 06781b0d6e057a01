/**
 * The Pulumi project the commands work on. In this repository that is its root (the reference
 * consumer: `index.ts`, `Pulumi.yaml`, `Pulumi.<stack>.yaml`); run through the package's bin
 * (`django-platform synth …`) it is the consumer's project, the nearest directory at or above the
 * working directory that holds a `Pulumi.yaml`, which the bin passes in {@link PROJECT_DIR_ENV}.
 */
import * as path from "node:path";
import { PROJECT_DIR_ENV } from "./findProject";

/** The project directory: {@link PROJECT_DIR_ENV} when set, else this repository's root. */
export const PROJECT_DIR = process.env[PROJECT_DIR_ENV] ? path.resolve(process.env[PROJECT_DIR_ENV] as string) : path.resolve(__dirname, "..", "..");
