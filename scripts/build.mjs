// `node scripts/build.mjs [--dashboard] [--force]`: builds what a start needs, once, however many
// processes start at the same moment. `npm run api`, `npm run worker` and `npm start` call it before
// they run dist/: it takes a lock (a directory, created atomically), rebuilds the server (the client
// package, then tsc) only when its sources changed since the last build, and the dashboard only when
// asked (the API and `npm start` ask; a worker never does) and when its sources changed. The
// dashboard is built beside web-dist/ and swapped in, so an API already serving it never finds its
// files half written or gone.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));
const lockDirectory = path.join(root, '.build-lock');
const lockWaitMs = 10 * 60 * 1000;

const shared = ['package.json', 'package-lock.json', 'packages/client/src', 'packages/client/package.json'];
const parts = {
  server: {
    sources: [...shared, 'src', 'tsconfig.json', 'packages/client/tsconfig.json'],
    stamp: 'dist/.build-stamp',
    build: () => {
      run('npm', ['run', '-s', 'build', '-w', '@trainer/client']);
      run(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json']);
    },
  },
  dashboard: {
    // The dashboard imports the domain's pure modules and the client's sources.
    sources: [...shared, 'web', 'src/domain'],
    stamp: 'web-dist/.build-stamp',
    build: buildDashboard,
  },
};

function run(command, commandArgs) {
  execFileSync(command, commandArgs, { cwd: root, stdio: 'inherit' });
}

/** Every file under `entries` with its size and modification time, hashed: changes when a source does. */
function fingerprint(entries) {
  const hash = createHash('sha256');
  const visit = (relative) => {
    const full = path.join(root, relative);
    let stat;
    try {
      stat = fs.statSync(full);
    } catch {
      return;
    }
    if (stat.isDirectory()) {
      for (const name of fs.readdirSync(full).sort())
        if (name !== 'node_modules' && name !== 'dist') visit(path.join(relative, name));
    } else hash.update(`${relative}\0${stat.size}\0${stat.mtimeMs}\n`);
  };
  for (const entry of entries) visit(entry);
  return hash.digest('hex');
}

function isCurrent(part) {
  try {
    return fs.readFileSync(path.join(root, part.stamp), 'utf8') === fingerprint(part.sources);
  } catch {
    return false;
  }
}

function buildDashboard() {
  const staging = path.join(root, `web-dist.building-${process.pid}`);
  const retired = path.join(root, `web-dist.old-${process.pid}`);
  run(process.execPath, [
    path.join(root, 'node_modules/vite/bin/vite.js'),
    'build',
    '--config',
    'web/vite.config.ts',
    '--logLevel',
    'warn',
    '--outDir',
    staging,
  ]);
  const target = path.join(root, 'web-dist');
  if (fs.existsSync(target)) fs.renameSync(target, retired);
  fs.renameSync(staging, target);
  fs.rmSync(retired, { recursive: true, force: true });
}

function ownerAlive(directory) {
  try {
    const pid = Number(fs.readFileSync(path.join(directory, 'pid'), 'utf8'));
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but is not ours. No pid file yet: its owner is writing it.
    return error?.code === 'EPERM' || (error?.code === 'ENOENT' && Date.now() - fs.statSync(directory).mtimeMs < 5000);
  }
}

async function withLock(work) {
  const deadline = Date.now() + lockWaitMs;
  let announced = false;
  for (;;) {
    try {
      fs.mkdirSync(lockDirectory);
      break;
    } catch (error) {
      if (error?.code !== 'EEXIST') throw error;
      let stale = false;
      try {
        stale = !ownerAlive(lockDirectory);
      } catch {
        continue; // the lock went away while it was looked at
      }
      if (stale) {
        fs.rmSync(lockDirectory, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`another build has held ${lockDirectory} for 10 minutes`);
      if (!announced) process.stderr.write('build: another process is building; waiting for it\n');
      announced = true;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  try {
    fs.writeFileSync(path.join(lockDirectory, 'pid'), String(process.pid));
    work();
  } finally {
    fs.rmSync(lockDirectory, { recursive: true, force: true });
  }
}

const wanted = args.has('--dashboard') ? [parts.server, parts.dashboard] : [parts.server];
if (args.has('--force') || !wanted.every(isCurrent)) {
  await withLock(() => {
    // Checked again under the lock: the process that held it may have just built the same sources.
    for (const part of wanted) {
      if (!args.has('--force') && isCurrent(part)) continue;
      const before = fingerprint(part.sources);
      part.build();
      fs.mkdirSync(path.dirname(path.join(root, part.stamp)), { recursive: true });
      fs.writeFileSync(path.join(root, part.stamp), before);
    }
  });
}
