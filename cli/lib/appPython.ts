/**
 * The image's Python stack on this machine: the virtualenv `maint/install-deps.sh` creates in
 * `.venv/` from `app/requirements.lock` (the hash-locked pins `app/Dockerfile` installs), and the
 * environment the image gives every process besides what the pod spec sets.
 *
 * The image puts its venv first on PATH (`ENV PATH=/opt/venv/bin:$PATH`), so a container's
 * `python manage.py …` and `gunicorn …` resolve there; {@link imageBaseEnv} does the same with
 * this venv, so a rendered command runs here as written.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { PROJECT_DIR } from "./projectDir";

/** The project root: this repository's, or a consumer's through the bin (cli/lib/projectDir.ts). */
export const REPO_DIR = PROJECT_DIR;
/** The reference app's directory (the image's WORKDIR /app). */
export const APP_DIR = join(REPO_DIR, "app");
/** The virtualenv with the image's locked packages (maint/install-deps.sh). */
export const VENV_DIR = join(REPO_DIR, ".venv");
/** Its interpreter. */
export const VENV_PYTHON = join(VENV_DIR, "bin", "python");

/** Thrown when the venv is missing: names the command that creates it. */
export class MissingVenvError extends Error {}

/** The venv's interpreter; throws {@link MissingVenvError} with the fix when it is not there. */
export function venvPython(): string {
    if (!existsSync(VENV_PYTHON)) {
        throw new MissingVenvError(`${VENV_PYTHON} does not exist: run \`bash maint/install-deps.sh\` (it creates .venv/ from app/requirements.lock)`);
    }
    return VENV_PYTHON;
}

/**
 * What the image's process environment holds before Kubernetes adds the pod spec's env: the
 * `ENV` lines of app/Dockerfile (the venv first on PATH, unbuffered output, no bytecode writes on
 * the read-only root filesystem) and the python base image's `LANG=C.UTF-8`. Nothing from the
 * machine's own environment leaks in.
 */
export function imageBaseEnv(): Record<string, string> {
    return {
        PATH: `${join(VENV_DIR, "bin")}:/usr/bin:/bin`,
        LANG: "C.UTF-8",
        PYTHONDONTWRITEBYTECODE: "1",
        PYTHONUNBUFFERED: "1",
    };
}
