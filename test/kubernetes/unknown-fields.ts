// Fields the Kubernetes API does not know. Its JSON schemas allow any extra property, and
// kubectl only warns before the API server drops it, so a misspelt `readinessprobe` would pass
// them; TypeScript's excess-property check over the same models (kubernetes-models' types)
// refuses it. The manifests are type-checked as literals in a virtual source file.
import { dirname } from 'node:path';
import ts from 'typescript';
import { packagePath } from '../../src/paths.js';

export interface Typed {
  name: string;
  object: unknown;
  /** Module and exported interface that types the object. */
  module: string;
  type: string;
}

/** One message per unknown field or mistyped value, prefixed with the object's name. */
export function unknownFields(objects: Typed[]): string[] {
  const file = packagePath('test', 'kubernetes', 'manifests.virtual.ts');
  // One object per line, so a diagnostic's line names its object.
  const source = objects
    .map((o, i) => `import type { ${o.type} as T${i} } from '${o.module}'; export const m${i}: T${i} = ${JSON.stringify(o.object)};`)
    .join('\n');
  const options: ts.CompilerOptions = {
    strict: true, noEmit: true, skipLibCheck: true, types: [],
    target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext,
  };
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (name, version, ...rest) =>
    name === file ? ts.createSourceFile(name, source, version) : getSourceFile.call(host, name, version, ...rest);
  host.fileExists = (name) => name === file || fileExists.call(host, name);
  host.readFile = (name) => (name === file ? source : readFile.call(host, name));
  host.getCurrentDirectory = () => dirname(file);
  const program = ts.createProgram([file], options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const line = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line : -1;
    return `${objects[line]?.name ?? d.file?.fileName ?? 'tsc'}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;
  });
}
