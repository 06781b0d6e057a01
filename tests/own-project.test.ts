/**
 * "Your own Django project": the guide (docs/your-app.md) and the second sample project
 * (tests/fixtures/otherapp: settings in shop.deploy.settings, WSGI in shop.deploy.wsgi) agree.
 * The project itself runs, deployed by a stack that names its modules (`workload.settingsModule`,
 * `workload.wsgiModule`), with every rendered workload, in tests/local-modes.test.ts
 * (`npm run local`), which copies app/gunicorn.conf.py, app/cloud_logging.py, app/web_worker.py and
 * app/resilience next to its manage.py as the guide's step 2 says.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { REPO } from "./lib/rendered";

const PROJECT_DIR = join(REPO, "tests", "fixtures", "otherapp");
/** The files docs/your-app.md step 2 has a project copy from app/, unchanged. */
const GUIDE_COPIES = ["gunicorn.conf.py", "cloud_logging.py", "web_worker.py", "resilience"];
const BLOCK_START = "# --- django-platform contract (docs/your-app.md) ---";
const BLOCK_END = "# --- end of the django-platform contract ---";

test("docs/your-app.md's step 2 names the files the test copies, which the fixture does not carry itself", () => {
  const guide = readFileSync(join(REPO, "docs", "your-app.md"), "utf8");
  for (const file of GUIDE_COPIES) {
    assert.ok(guide.includes(`\`app/${file}\``), `docs/your-app.md does not name app/${file}`);
    assert.ok(!existsSync(join(PROJECT_DIR, file)), `tests/fixtures/otherapp/${file} would shadow the copy of app/${file}`);
  }
});

test("docs/your-app.md gives exactly the settings block the second project runs with", () => {
  const settings = readFileSync(join(PROJECT_DIR, "shop", "deploy", "settings.py"), "utf8");
  const start = settings.indexOf(BLOCK_START);
  const end = settings.indexOf(BLOCK_END);
  assert.ok(start >= 0 && end > start, "settings.py marks the contract block");
  const block = settings.slice(start, end + BLOCK_END.length);
  const guide = readFileSync(join(REPO, "docs", "your-app.md"), "utf8");
  // Python code blocks of the guide, without the indentation of the list item they sit in.
  const blocks = [...guide.matchAll(/^( *)```python\n([\s\S]*?)^\1```$/gm)].map(([, indent = "", code = ""]) =>
    code.split("\n").map((line) => (line.startsWith(indent) ? line.slice(indent.length) : line)).join("\n"),
  );
  assert.ok(blocks.some((code) => code.includes(block)), "docs/your-app.md must contain the block of tests/fixtures/otherapp/shop/deploy/settings.py verbatim");
});
