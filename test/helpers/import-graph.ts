/**
 * The import graph of src/, from every import and export-from statement and every dynamic
 * import(), type-only ones included and marked: the architecture tests (no cycles, layers)
 * read it.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export const SRC = fileURLToPath(new URL('../../src', import.meta.url));

/** One import of a src module by another: `typeOnly` when nothing of it exists at run time. */
export interface ImportEdge {
  to: string;
  typeOnly: boolean;
}

/** Every .ts file under `dir` (declaration files aside). */
export function tsFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) tsFiles(p, out);
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** Module -> the src modules it imports (relative specifiers, `.js` mapped back to `.ts`). */
export function importEdges(files: readonly string[]): Map<string, ImportEdge[]> {
  const graph = new Map<string, ImportEdge[]>();
  for (const file of files) {
    const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, false);
    const edges = new Map<string, boolean>();
    const add = (spec: string, typeOnly: boolean): void => {
      if (!spec.startsWith('.')) return;
      const target = resolve(dirname(file), spec.replace(/\.js$/, '.ts'));
      const candidates = [target, target.replace(/\.ts$/, '') + '.ts', join(target.replace(/\.ts$/, ''), 'index.ts')];
      const hit = candidates.find((c) => c.endsWith('.ts') && existsSync(c));
      // A module imported both ways is a run-time dependency.
      if (hit) edges.set(hit, (edges.get(hit) ?? true) && typeOnly);
    };
    const visit = (node: ts.Node): void => {
      if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
        const c = node.importClause;
        const allTypes = !!c && (c.isTypeOnly || (!c.name && !!c.namedBindings && ts.isNamedImports(c.namedBindings) && c.namedBindings.elements.length > 0 && c.namedBindings.elements.every((e) => e.isTypeOnly)));
        add(node.moduleSpecifier.text, allTypes);
      } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) add(node.moduleSpecifier.text, node.isTypeOnly);
      // import('./x.js') and import type X = import('./x.js').Y
      else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteral(node.arguments[0])) add(node.arguments[0].text, false);
      else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) add(node.argument.literal.text, true);
      ts.forEachChild(node, visit);
    };
    visit(sf);
    graph.set(
      file,
      [...edges].map(([to, typeOnly]) => ({ to, typeOnly })),
    );
  }
  return graph;
}

/** Module -> the src modules it imports, type-only or not. */
export function importGraph(files: readonly string[]): Map<string, string[]> {
  return new Map([...importEdges(files)].map(([f, es]) => [f, es.map((e) => e.to)]));
}
