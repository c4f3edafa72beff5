// Turns the TypeScript here (client.ts, apollo.ts, generated/, feed/) into build/*.js without
// type checking, which `tsc --noEmit` has done: TypeScript's own transpiler, file by file.
// Usage: node build.mjs
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import ts from 'typescript';

function sources(folder) {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const path = folder === '.' ? entry.name : join(folder, entry.name);
    if (entry.isDirectory()) return ['node_modules', 'build'].includes(entry.name) ? [] : sources(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

const built = sources('.');
for (const source of built) {
  const { outputText } = ts.transpileModule(readFileSync(source, 'utf8'), {
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, verbatimModuleSyntax: true },
    fileName: source,
  });
  const target = join('build', source.replace(/\.ts$/, '.js'));
  mkdirSync(dirname(target), { recursive: true });
  // Unchanged files are left alone: another test may be starting a client from build/ meanwhile.
  if (!existsSync(target) || readFileSync(target, 'utf8') !== outputText) writeFileSync(target, outputText);
}
console.log(JSON.stringify({ built }));
