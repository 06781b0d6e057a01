/**
 * What `npm run local` needs on this machine, found before anything starts: each missing piece is
 * one line naming it and the fix (all of them come with `bash maint/install-deps.sh`).
 */
import { accessSync, constants, existsSync } from "node:fs";
import { delimiter, join } from "node:path";
import { REPO_DIR, VENV_PYTHON } from "../appPython";
import { FAKE_GCS_SERVER_VERSION } from "./gcs";
import { findPostgresBin, PG_ROOT } from "./postgres";
import { REDIS_CLI, REDIS_SERVER } from "./redis";

/** Where maint/install-deps.sh puts fake-gcs-server (`go install` with GOBIN there). */
export const FAKE_GCS_SERVER_BIN = join(REPO_DIR, ".tools", "bin", "fake-gcs-server");

/** The programs a local run uses. */
export interface LocalBinaries {
    readonly python: string;
    readonly postgresBin: string;
    readonly fakeGcsServer: string;
}

const INSTALL = "run `bash maint/install-deps.sh`";

function executable(path: string): boolean {
    try {
        accessSync(path, constants.X_OK);
        return true;
    } catch {
        return false;
    }
}

/** A program on PATH, or undefined. */
export function onPath(name: string, path = process.env.PATH ?? ""): string | undefined {
    return path.split(delimiter).filter(Boolean).map((dir) => join(dir, name)).find(executable);
}

/**
 * Finds every program; `problems` has one line per missing one. `FAKE_GCS_SERVER` in the
 * environment names another fake-gcs-server binary.
 */
export function findBinaries(env: NodeJS.ProcessEnv = process.env): { binaries?: LocalBinaries; problems: string[] } {
    const problems: string[] = [];
    if (!existsSync(VENV_PYTHON)) problems.push(`the app's Python (the image's locked packages) is missing: ${VENV_PYTHON} does not exist; ${INSTALL} (it creates .venv/ from app/requirements.lock)`);
    const postgresBin = findPostgresBin();
    if (!postgresBin) problems.push(`PostgreSQL is missing: no server under ${PG_ROOT}; ${INSTALL} (Debian's postgresql package)`);
    for (const [what, path] of [["redis-server", REDIS_SERVER], ["redis-cli", REDIS_CLI]] as const) {
        if (!executable(path)) problems.push(`${what} is missing: ${path} does not exist; ${INSTALL} (Debian's redis-server and redis-tools packages)`);
    }
    if (!onPath("openssl", "/usr/bin:/bin")) problems.push(`openssl is missing (it makes the local TLS certificates); ${INSTALL}`);
    const override = env.FAKE_GCS_SERVER;
    const fakeGcsServer = override ?? (executable(FAKE_GCS_SERVER_BIN) ? FAKE_GCS_SERVER_BIN : onPath("fake-gcs-server", env.PATH));
    if (!fakeGcsServer || !executable(fakeGcsServer)) {
        problems.push(`fake-gcs-server (the GCS emulator) is missing: ${override ? `FAKE_GCS_SERVER=${override} is not executable` : `${FAKE_GCS_SERVER_BIN} does not exist and none is on PATH`}; ${INSTALL} (it builds fsouza/fake-gcs-server ${FAKE_GCS_SERVER_VERSION} with go install)`);
    }
    if (problems.length > 0 || !postgresBin || !fakeGcsServer) return { problems };
    return { binaries: { python: VENV_PYTHON, postgresBin, fakeGcsServer }, problems };
}
