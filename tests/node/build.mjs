// Turns client.ts and generated/*.ts into build/*.js without type checking (tsc --noEmit has
// done that): TypeScript's own transpiler, one file at a time.
// Usage: node build.mjs
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import ts from 'typescript';

const sources = ['client.ts', ...readdirSync('generated').filter((f) => f.endsWith('.ts')).map((f) => join('generated', f))];
for (const source of sources) {
  const { outputText } = ts.transpileModule(readFileSync(source, 'utf8'), {
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, verbatimModuleSyntax: true },
    fileName: source,
  });
  const target = join('build', source.replace(/\.ts$/, '.js'));
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, outputText);
}
console.log(JSON.stringify({ built: sources }));
